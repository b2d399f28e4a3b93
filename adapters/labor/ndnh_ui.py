"""NDNH Unemployment Insurance (UI) files: claimants and the benefits a state paid them in a quarter.

Spec: SSA §453A(g)(2)(B), 45 CFR 303.108; data elements and format rules from the NDNH Guide for Data
Submission v13.x and its 2013 UI layout attachment (shared/specs/agency-formats.md §3.1-§3.3).
Layout: ``mappings/labor/ndnh-ui/`` — PROVISIONAL (every position UNCONFIRMED), replaceable by an
agency without code changes as long as the fields in ``FIELD_RULES`` keep their names.

A transmission is the "UI Transmitter Header Record" (every field completed), claimant records and a
trailer with the claimant count and benefit total. Records: ``header``, ``claim`` (canonical
``UIClaim`` with the transmitter's FIPS state, built on first access) and ``trailer``. UI benefits
can be withheld for support (DED application ``UI``), which is why the IV-D agency reads these.

Registered as ``ndnh-ui`` (ASCII lines) and ``ndnh-ui-ebcdic`` (cp037 fixed-length records), see
``adapters.labor.ndnh`` for encodings and the transmission rules both share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from adapters.base import DeferredParsed, Rejected, Result, SourceInfo
from adapters.canonical import Address, AddressType, PersonName, UIClaim
from adapters.labor.ndnh import (
    ADDRESS_RULES,
    NAME_RULES,
    PERIOD_RULES,
    NdnhAdapter,
    NdnhParser,
    address_fields,
    extra_fields,
)
from adapters.labor.ndnh_spec import FieldRule

NAME = "ndnh-ui"
# The fields the adapter reads, by role; any other field of an agency's layout is carried as data.
FIELD_RULES: Mapping[str, Mapping[str, FieldRule]] = {
    "header": {"transmitter_state_code": FieldRule(("code", "digits"), length=2)},
    "claim": {
        "claimant_ssn": FieldRule(("ssn",), required=True),
        "benefit_amount": FieldRule(("amount",), required=True),
        **PERIOD_RULES,
        **NAME_RULES,
        **ADDRESS_RULES,
    },
}
CLAIM_MAPPED = frozenset(
    {"claimant_ssn", "benefit_amount", "reporting_year", "reporting_quarter", *NAME_RULES, *ADDRESS_RULES}
)

SOURCE = SourceInfo(
    document="NDNH Guide for Data Submission, Appendix E (UI input records) — PROVISIONAL csgate layout",
    version="csgate provisional 1 (rules of GDS v13.4, 2022)",
    status="unconfirmed",
    notes="positions/identifiers UNCONFIRMED, replace mappings/labor/ndnh-ui from GDS Appendix E; "
    "format rules CONFIRMED (agency-formats.md §3.3)",
)


def ui_claim(data: dict[str, Any], header: dict[str, Any] | None) -> UIClaim:
    """The canonical claim; the claimant's address is the one the agency mails (a csgate choice)."""
    first, last = data.get("first_name"), data.get("last_name")
    name = PersonName(first=first, middle=data.get("middle_name"), last=last) if first or last else None
    address = address_fields(data, AddressType.MAILING, NAME)
    fips = (header or {}).get("transmitter_state_code")
    return UIClaim(
        claimant_ssn=data["claimant_ssn"],
        claimant_name=name,
        claimant_address=Address(**address) if address else None,
        benefit_amount=data["benefit_amount"],
        year=data["reporting_year"],
        quarter=int(data["reporting_quarter"]),
        swa_state_fips=fips if fips and fips.isdigit() else None,  # StateFips: two digits
        extra=extra_fields(data, CLAIM_MAPPED),
    )


class _UiParser(NdnhParser):
    def on_claim(self, line_no: int, raw: bytes) -> Result:
        data = self.take("claim", line_no, raw)
        if isinstance(data, Rejected):
            return data
        err = self.a.check("claim", data)
        if err is not None:
            return self.reject(line_no, err, "claim", raw)
        self.record_no += 1
        return DeferredParsed(self.record_no, "claim", data, line_no, ui_claim, data, self.header)


class NdnhUiAdapter(NdnhAdapter):
    """NDNH unemployment insurance file, ASCII, one record per line."""

    key: ClassVar[str] = "ndnh-ui"
    title: ClassVar[str] = (
        "NDNH Unemployment Insurance (UI) file from a state workforce agency (ASCII; provisional layout)"
    )
    source: ClassVar[SourceInfo] = SOURCE
    folder: ClassVar[str] = "labor/ndnh-ui"
    name: ClassVar[str] = NAME
    roles: ClassVar[tuple[str, ...]] = ("header", "claim", "trailer")
    field_rules: ClassVar[Mapping[str, Mapping[str, FieldRule]]] = FIELD_RULES
    parser = _UiParser


class NdnhUiEbcdicAdapter(NdnhUiAdapter):
    """The same UI file in EBCDIC (cp037), fixed-length records back to back, as the NDNH takes it."""

    key: ClassVar[str] = "ndnh-ui-ebcdic"
    title: ClassVar[str] = (
        "NDNH Unemployment Insurance (UI) file, EBCDIC cp037 fixed-length records (provisional layout)"
    )
    default_encoding: ClassVar[str] = "cp037"
