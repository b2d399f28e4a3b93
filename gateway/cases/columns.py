"""The encrypted columns of the case registry, named as ``FieldCipher`` binds them (``table.column``),
and ``participant``, the one reader of a stored participant: every module that writes or reads a
person agrees on them."""

from __future__ import annotations

from adapters.canonical import Person as CanonicalPerson
from gateway.db.models import Person
from gateway.exchanges.runtime import Runtime

CASE_AAD = "cases.data_enc"  # the case as imported, without its participants (canonical Case JSON)
SSN_AAD = "persons.ssn_enc"
DOB_AAD = "persons.dob_enc"
FIRST_AAD = "persons.first_name_enc"
LAST_AAD = "persons.last_name_enc"


def participant(rt: Runtime, row: Person) -> CanonicalPerson:
    """A stored participant decrypted back into the canonical ``Person`` it was imported as (role, SSN,
    name, birth date, member id, FVI)."""

    def text(blob: bytes | None, aad: str) -> str | None:
        return rt.cipher.decrypt_str(blob, aad) if blob else None

    first, last = text(row.first_name_enc, FIRST_AAD), text(row.last_name_enc, LAST_AAD)
    return CanonicalPerson(
        role=row.role,
        ssn=text(row.ssn_enc, SSN_AAD),
        name={"first": first, "last": last} if first or last else None,
        dob=text(row.dob_enc, DOB_AAD),
        member_id=row.member_id,
        family_violence=row.fvi,
    )
