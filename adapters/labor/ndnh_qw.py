"""NDNH Quarterly Wage (QW) files: a state workforce agency's wages paid, per employer, per quarter.

Spec: SSA §453A(g)(2)(B), 45 CFR 303.108; data elements and format rules from the NDNH Guide for Data
Submission v13.x (shared/specs/agency-formats.md §3.1-§3.3). Layout: ``mappings/labor/ndnh-qw/`` —
PROVISIONAL (the Appendix E charts are not public here; every position is UNCONFIRMED), replaceable
by an agency without code changes as long as the fields in ``FIELD_RULES`` keep their names.

A transmission is a header, then per employer an employer record followed by its employees' wage
records, then a trailer with the employer count, employee count and wage total. Records:
``header``, ``employer`` (canonical ``Employer``, validated when read), ``wage`` (canonical
``WageRecord`` carrying its employer's FEIN, state EIN, name and address, built on first access) and
``trailer``. A wage record before any employer of its transmission is rejected
(``WAGE_WITHOUT_EMPLOYER``), as is one whose employer record was rejected (``EMPLOYER_REJECTED``):
without its employer a wage cannot be attributed. Employer addresses are domestic (USPS state and
ZIP) or foreign (FIPS PUB 10-4 country code, no state), §3.3.

Registered as ``ndnh-qw`` (ASCII lines) and ``ndnh-qw-ebcdic`` (cp037 fixed-length records), see
``adapters.labor.ndnh`` for encodings and the transmission rules both share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ValidationError

from adapters.base import DeferredParsed, Rejected, Result, SourceInfo
from adapters.canonical import AddressType, Employer, PersonName, WageRecord
from adapters.errors import RecordError
from adapters.labor.ndnh import (
    ADDRESS_RULES,
    NAME_RULES,
    PERIOD_RULES,
    TEXT,
    NdnhAdapter,
    NdnhParser,
    address_fields,
    extra_fields,
    record_error,
)
from adapters.labor.ndnh_spec import FieldRule

# The fields the adapter reads, by role; any other field of an agency's layout is carried as data.
FIELD_RULES: Mapping[str, Mapping[str, FieldRule]] = {
    "header": {
        "transmitter_state_code": FieldRule(("code", "digits"), length=2),
        "transmitter_agency_code": FieldRule(TEXT),
    },
    "employer": {
        "employer_fein": FieldRule(("digits",), length=9),
        "employer_state_ein": FieldRule(TEXT),
        "employer_name": FieldRule(TEXT),
        **ADDRESS_RULES,
    },
    "wage": {
        "employee_ssn": FieldRule(("ssn",), required=True),
        "wage_amount": FieldRule(("amount",), required=True),
        **PERIOD_RULES,
        **NAME_RULES,
    },
}
WAGE_MAPPED = frozenset({"employee_ssn", "wage_amount", "reporting_year", "reporting_quarter", *NAME_RULES})
EMPLOYER_MAPPED = frozenset({"employer_fein", "employer_state_ein", "employer_name", *ADDRESS_RULES})
# canonical Employer path -> layout field, to name the field when the model refuses a value
EMPLOYER_NAMES = {
    "fein": "employer_fein",
    "state_ein": "employer_state_ein",
    "name": "employer_name",
    "addresses.country": "country_code",
    **{
        f"addresses.{attr}": name
        for name, attr in (
            ("address_line1", "line1"),
            ("address_line2", "line2"),
            ("address_line3", "line3"),
            ("city", "city"),
            ("state", "state"),
            ("zip5", "zip5"),
            ("zip4", "zip4"),
            ("foreign_postal_code", "foreign_postal_code"),
        )
    },
}

SOURCE = SourceInfo(
    document="NDNH Guide for Data Submission, Appendix E (QW input records) — PROVISIONAL csgate layout",
    version="csgate provisional 1 (rules of GDS v13.4, 2022)",
    status="unconfirmed",
    notes="positions/identifiers UNCONFIRMED, replace mappings/labor/ndnh-qw from GDS Appendix E; "
    "format rules CONFIRMED (agency-formats.md §3.3)",
)


@dataclass(frozen=True, slots=True)
class EmployerLink:
    """The employer record a wage record belongs to; ``model`` is None when that record was rejected."""

    line: int
    model: Employer | None
    extra: dict[str, Any] = field(default_factory=dict)


def wage_record(data: dict[str, Any], link: EmployerLink) -> WageRecord:
    """The canonical wage record: the employee's data plus its employer's identity and address."""
    emp = link.model
    assert emp is not None  # a wage record of a rejected employer is itself rejected
    first, last = data.get("first_name"), data.get("last_name")
    name = PersonName(first=first, middle=data.get("middle_name"), last=last) if first or last else None
    extra = extra_fields(data, WAGE_MAPPED)
    if link.extra:
        extra["employer"] = link.extra
    return WageRecord(
        employee_ssn=data["employee_ssn"],
        employee_name=name,
        employer_fein=emp.fein,
        employer_state_ein=emp.state_ein,
        employer_name=emp.name,
        employer_address=emp.addresses[0] if emp.addresses else None,
        year=data["reporting_year"],
        quarter=int(data["reporting_quarter"]),
        wage_amount=data["wage_amount"],
        extra=extra,
    )


class _QwParser(NdnhParser):
    a: NdnhQwAdapter
    employer: EmployerLink | None = None

    def opened(self) -> None:
        super().opened()
        self.employer = None  # employer linkage never crosses a transmission

    def on_employer(self, line_no: int, raw: bytes) -> Result:
        data = self.take("employer", line_no, raw)
        if isinstance(data, Rejected):
            self.employer = EmployerLink(line_no, None)
            return data
        try:
            model = self.a.employer(data)
        except RecordError as err:
            self.employer = EmployerLink(line_no, None)
            return self.reject(line_no, err, "employer", raw)
        self.employer = EmployerLink(line_no, model, extra_fields(data, EMPLOYER_MAPPED))
        return self.parsed("employer", data, line_no, model)

    def on_wage(self, line_no: int, raw: bytes) -> Result:
        data = self.take("wage", line_no, raw)
        if isinstance(data, Rejected):
            return data
        link = self.employer
        if link is None:
            return self.fail(
                line_no,
                "WAGE_WITHOUT_EMPLOYER",
                "wage record before any employer record of its transmission: it cannot be attributed to an employer",
                "wage",
            )
        if link.model is None:
            return self.fail(
                line_no,
                "EMPLOYER_REJECTED",
                f"the employer record on line {link.line} was rejected, so this wage record has no valid employer",
                "wage",
            )
        err = self.a.check("wage", data)
        if err is not None:
            return self.reject(line_no, err, "wage", raw)
        self.record_no += 1
        return DeferredParsed(self.record_no, "wage", data, line_no, wage_record, data, link)


class NdnhQwAdapter(NdnhAdapter):
    """NDNH quarterly wage file, ASCII, one record per line."""

    key: ClassVar[str] = "ndnh-qw"
    title: ClassVar[str] = "NDNH Quarterly Wage (QW) file from a state workforce agency (ASCII; provisional layout)"
    source: ClassVar[SourceInfo] = SOURCE
    folder: ClassVar[str] = "labor/ndnh-qw"
    name: ClassVar[str] = "ndnh-qw"
    roles: ClassVar[tuple[str, ...]] = ("header", "employer", "wage", "trailer")
    field_rules: ClassVar[Mapping[str, Mapping[str, FieldRule]]] = FIELD_RULES
    follows: ClassVar[Mapping[str, str]] = {"wage": "employer"}
    parser = _QwParser

    def check(self, role: str, data: Mapping[str, Any]) -> RecordError | None:
        if role == "header":
            return self.transmitter(data)
        if role == "employer":
            return self.employer_address(data)
        return super().check(role, data)

    def transmitter(self, data: Mapping[str, Any]) -> RecordError | None:
        """States give their FIPS code, federal agencies their agency code: one of the two (§3.3)."""
        if data.get("transmitter_state_code") or data.get("transmitter_agency_code"):
            return None
        return record_error(
            "TRANSMITTER_ID",
            "the header needs the transmitter state code (states) or the transmitter agency code (federal agencies)",
            self.spec.field("header", "transmitter_state_code"),
        )

    def employer_address(self, data: Mapping[str, Any]) -> RecordError | None:
        """A US address has a USPS state and ZIP; a foreign one a FIPS country code and neither (§3.3)."""
        f = self.spec.field("employer", "state")
        if f is None or data.get("address_line1") is None:
            return None
        country, state, zip5 = data.get("country_code"), data.get("state"), data.get("zip5")
        if country and country != "US":
            if state or zip5:
                return record_error(
                    "FOREIGN_ADDRESS",
                    "a foreign employer address (country code given) carries no USPS state or ZIP code",
                    f,
                )
        elif not state or not zip5:
            return record_error(
                "ADDRESS_INCOMPLETE",
                "a US employer address needs a USPS state code and a ZIP "
                "code (foreign addresses give a FIPS country code instead)",
                f,
            )
        return None

    def employer(self, data: Mapping[str, Any]) -> Employer:
        """The canonical employer, validated once per employer record and shared by its wage records."""
        err = self.check("employer", data)
        if err is not None:
            raise err
        address = address_fields(data, AddressType.EMPLOYER, self.name)
        try:
            return Employer(
                fein=data.get("employer_fein"),
                state_ein=data.get("employer_state_ein"),
                name=data.get("employer_name"),
                addresses=[address] if address else [],
                source=self.name,
            )
        except ValidationError as exc:
            raise self.canonical_error(exc, "employer", EMPLOYER_NAMES) from None


class NdnhQwEbcdicAdapter(NdnhQwAdapter):
    """The same QW file in EBCDIC (cp037), fixed-length records back to back, as the NDNH takes it."""

    key: ClassVar[str] = "ndnh-qw-ebcdic"
    title: ClassVar[str] = "NDNH Quarterly Wage (QW) file, EBCDIC cp037 fixed-length records (provisional layout)"
    default_encoding: ClassVar[str] = "cp037"
