"""The encrypted columns of the case registry, named as ``FieldCipher`` binds them (``table.column``):
one place, so every module that writes or reads a participant agrees on them."""

from __future__ import annotations

CASE_AAD = "cases.data_enc"  # the case as imported, without its participants (canonical Case JSON)
SSN_AAD = "persons.ssn_enc"
DOB_AAD = "persons.dob_enc"
FIRST_AAD = "persons.first_name_enc"
LAST_AAD = "persons.last_name_enc"
