"""FCR records ⇄ the canonical model (agency-formats.md §4).

Inbound, every locate source's answer becomes a ``LocateResult`` carrying the source agency code,
the match type, the date reported and the Family Violence Indicator status: an ``FV`` on the record
means disclosure is prohibited, so the result is ``BLOCKED`` and carries no location (§4.7). NDNH
matches (``FN``) also carry the income record they report: a ``WageRecord`` (QW, ``H98``), a
``UIClaim`` (UI, ``H97``) or a ``NewHire`` (W-4, ``H99``), §3.4.

Outbound, ``LocateRequest``, ``Person`` and ``Case`` render as FCR input records, so the case feed can
build an FCR submission without knowing a byte position. Code meanings (participant roles, purposes,
match types) come from ``mappings/codes/fcr_*.csv``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

from adapters.canonical import (
    Address,
    AddressType,
    AuthorizedPurpose,
    Case,
    Employer,
    FviStatus,
    IvdCaseType,
    LocateMatchType,
    LocateRequest,
    LocateRequestType,
    LocateResult,
    NewHire,
    ParticipantRole,
    Person,
    PersonName,
    Sex,
    UIClaim,
    WageRecord,
)
from adapters.errors import RecordError
from adapters.federal.common import canonical, code_rows

RETURNED_BY = "fcr-response"  # the adapter key: the channel the result came through


@cache
def _column(table: str, column: str) -> dict[str, str]:
    return {code: row[column] for code, row in code_rows(table).items()}


def role_of(table: str, code: str | None) -> ParticipantRole | None:
    return ParticipantRole(_column(table, "role")[code]) if code else None


def participant_code(role: ParticipantRole | None) -> str:
    reverse = {v: k for k, v in _column("fcr_participant_type", "role").items()}
    if role is None or role.value not in reverse:
        raise RecordError(
            "RENDER_VALUE", "the FCR needs a participant role of NCP, CP, CHILD or PF", field="participant_type"
        )
    return reverse[role.value]


def purpose_of(request_type: str) -> AuthorizedPurpose:
    return AuthorizedPurpose(_column("fcr_locate_request_type", "purpose")[request_type])


def required_case_type(request_type: str) -> str:
    """The FCR case type a locate request type must agree with ('' = any), from the code table."""
    return _column("fcr_locate_request_type", "case_type")[request_type]


def match_type_of(table: str, code: str) -> LocateMatchType:
    return LocateMatchType(_column(table, "match_type")[code])


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else str(value) if isinstance(value, Decimal) else value


def _extra(d: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Format-specific leftovers, JSON-native so the canonical record still round-trips."""
    return {n: _iso(d[n]) for n in names if d.get(n) is not None}


def _name(d: Mapping[str, Any], prefix: str = "") -> PersonName | None:
    first, middle, last = (d.get(f"{prefix}{p}_name") for p in ("first", "middle", "last"))
    if first is None and last is None:
        return None
    return PersonName(first=first, middle=middle, last=last)


def _aliases(d: Mapping[str, Any], count: int) -> list[PersonName]:
    out = []
    for i in range(1, count + 1):
        first, middle, last = (d.get(f"additional_{p}_name_{i}") for p in ("first", "middle", "last"))
        if first is not None or last is not None:
            out.append(PersonName(first=first, middle=middle, last=last))
    return out


def _address(
    d: Mapping[str, Any], prefix: str, kind: AddressType, source: str, as_of: dt.date | None
) -> Address | None:
    lines = [d.get(f"{prefix}address_line_{i}") for i in (1, 2, 3)]
    city, zip5 = d.get(f"{prefix}city"), d.get(f"{prefix}zip5")
    if not (any(lines) or city or zip5):
        return None
    foreign = d.get("foreign_country") if not prefix else None
    return Address(
        address_type=kind,
        line1=lines[0],
        line2=lines[1],
        line3=lines[2],
        city=city,
        state=d.get(f"{prefix}state"),
        zip5=zip5,
        zip4=d.get(f"{prefix}zip4"),
        country=foreign or "US",
        foreign_postal_code=d.get("foreign_postal_code") if foreign else None,
        source=source,
        as_of=as_of,
    )


def _employer(d: Mapping[str, Any], address_prefix: str, source: str, as_of: dt.date | None) -> Employer | None:
    fein, name = d.get("employer_fein"), d.get("employer_name")
    if fein is None and name is None:
        return None
    address = _address(d, address_prefix, AddressType.EMPLOYER, source, as_of)
    return Employer(
        fein=fein,
        state_ein=d.get("employer_state_ein"),
        name=name,
        addresses=[address] if address else [],
        source=source,
        as_of=as_of,
    )


def _fvi(d: Mapping[str, Any]) -> FviStatus:
    return FviStatus.BLOCKED if d.get("family_violence") == "FV" else FviStatus.NONE


# --------------------------------------------------------------------------- inbound


def locate_response(d: Mapping[str, Any]) -> LocateResult:
    """``FF``: DoD/OPM, FBI, NSA, IRS, SSA or VA answered a locate request."""
    return canonical(
        lambda: _locate(
            d,
            LocateMatchType.LOCATE_RESPONSE,
            aliases=2,
            employer=True,
            extra=(
                "user_field",
                "address_format",
                "dod_eligibility",
                "dod_status",
                "dod_service",
                "annual_salary",
                "benefit_amount",
            ),
        )
    )


def sves_response(d: Mapping[str, Any]) -> LocateResult:
    """``FK``: SSA's SVES (Title II, Title XVI, prisoner) answered or matched proactively."""
    match = LocateMatchType.LOCATE_RESPONSE if d["match_type"] == "L" else LocateMatchType.FCR_PROACTIVE
    return canonical(
        lambda: _locate(
            d,
            match,
            aliases=0,
            employer=False,
            extra=(
                "user_field",
                "address_format",
                "monthly_benefit_amount",
                "benefit_start_date",
                "facility_name",
                "confinement_date",
                "release_date",
            ),
        )
    )


def _locate(
    d: Mapping[str, Any], match: LocateMatchType, *, aliases: int, employer: bool, extra: tuple[str, ...]
) -> LocateResult:
    agency, when, fvi = d["agency_code"], d.get("response_date"), _fvi(d)
    source = f"fcr:{agency}"
    address = _address(d, "", AddressType.RESIDENTIAL, source, when)
    emp = _employer(d, "employer_", source, when) if employer else None
    person = Person(
        ssn=d["ssn"],
        name=_name(d),
        aliases=_aliases(d, aliases),
        member_id=d.get("member_id"),
        dod=d.get("date_of_death"),
        family_violence=fvi is FviStatus.BLOCKED,
    )
    return LocateResult(
        person=person,
        case_id=d.get("case_id"),
        source_agency_code=agency,
        returned_by=RETURNED_BY,
        match_type=match,
        date_reported=when,
        addresses=[address] if address else [],
        employers=[emp] if emp else [],
        fvi=fvi,
        response_code=d.get("locate_response_code"),
        name_match_code=d.get("name_matched"),
        extra=_extra(d, extra),
    )


def ndnh_response(d: Mapping[str, Any]) -> LocateResult:
    """``FN``: NDNH W-4, QW or UI data, as a locate response or a proactive match (§3.4, §4.6b)."""
    return canonical(lambda: _ndnh(d))


def _period(d: Mapping[str, Any]) -> tuple[int, int]:
    period = d["reporting_period"]
    return int(period[:4]), int(period[4])


def _ndnh(d: Mapping[str, Any]) -> LocateResult:
    agency, when, fvi = d["agency_code"], d.get("processed_date"), _fvi(d)
    source = f"fcr:{agency}"
    name = _name(d)
    reported_name = _name(d, "returned_") or name
    income: WageRecord | UIClaim | NewHire | None = None
    addresses: list[Address] = []
    employers: list[Employer] = []
    extra = _extra(d, ("user_field", "reporting_state", "military_status"))
    if fvi is FviStatus.NONE and agency == "H97":
        claimant = _address(d, "", AddressType.RESIDENTIAL, source, when)
        addresses = [claimant] if claimant else []
        year, quarter = _period(d)
        income = UIClaim(
            claimant_ssn=d["ssn"],
            claimant_name=reported_name,
            claimant_address=claimant,
            benefit_amount=d["benefit_amount"],
            year=year,
            quarter=quarter,
            processed_date=when,
            swa_state_fips=d.get("reporting_state"),
        )
    elif fvi is FviStatus.NONE and agency in ("H98", "H99"):
        emp = _employer(d, "", source, when)
        employers = [emp] if emp else []
        if agency == "H98":
            year, quarter = _period(d)
            income = WageRecord(
                employee_ssn=d["ssn"],
                employee_name=reported_name,
                employer_fein=d.get("employer_fein"),
                employer_state_ein=d.get("employer_state_ein"),
                employer_name=d.get("employer_name"),
                employer_address=emp.addresses[0] if emp and emp.addresses else None,
                year=year,
                quarter=quarter,
                wage_amount=d["wage_amount"],
                processed_date=when,
                extra=extra,
            )
        elif emp is not None:
            income = NewHire(
                employee=Person(ssn=d["ssn"], name=reported_name), employer=emp, hire_date=d["hire_date"], extra=extra
            )
    person = Person(ssn=d["ssn"], name=name, member_id=d.get("member_id"), family_violence=fvi is FviStatus.BLOCKED)
    return LocateResult(
        person=person,
        case_id=d.get("case_id"),
        source_agency_code=agency,
        returned_by=RETURNED_BY,
        match_type=match_type_of("fcr_ndnh_match_type", d["match_type"]),
        date_reported=when,
        addresses=addresses,
        employers=employers,
        fvi=fvi,
        response_code=d.get("locate_response_code"),
        name_match_code=d.get("name_matched"),
        income=income,
        extra=extra,
    )


def proactive_match(d: Mapping[str, Any]) -> LocateResult:
    """``FT``: the person is registered on another case (another state's, or a query answer), §4.5."""
    return canonical(lambda: _proactive(d))


def _proactive(d: Mapping[str, Any]) -> LocateResult:
    fvi = _fvi(d)
    person = Person(
        ssn=d["ssn"],
        name=_name(d),
        aliases=_aliases(d, 4),
        member_id=d.get("member_id"),
        role=role_of("fcr_matched_participant", d.get("matched_participant_type")),
        dod=d.get("matched_date_of_death"),
        family_violence=fvi is FviStatus.BLOCKED,
    )
    extra = _extra(
        d,
        (
            "user_field",
            "matched_state",
            "matched_case_id",
            "matched_case_type",
            "matched_fips_county",
            "matched_registration_date",
            "matched_order_indicator",
            "matched_member_id",
        ),
    )
    associated = sum(1 for i in (1, 2, 3) if d.get(f"associated_{i}_ssn") or d.get(f"associated_{i}_last_name"))
    if associated:
        extra["associated_persons"] = associated
    return LocateResult(
        person=person,
        case_id=d.get("case_id"),
        returned_by=RETURNED_BY,
        match_type=match_type_of("fcr_ft_action", d["action_type"]),
        fvi=fvi,
        response_code=d.get("response_code"),
        extra=extra,
    )


def reconciliation(d: Mapping[str, Any]) -> Person:
    """``RS``: the person as the FCR holds them (primary SSN, SSA's date of birth, FVI)."""
    return canonical(
        lambda: Person(
            role=role_of("fcr_participant_type", d["participant_type"]),
            ssn=d.get("fcr_primary_ssn"),
            alias_ssns=[d["corrected_ssn"]]
            if d.get("corrected_ssn") and d["corrected_ssn"] != d.get("fcr_primary_ssn")
            else [],
            dob=d.get("date_of_birth"),
            sex=Sex(d["sex"]) if d.get("sex") else None,
            member_id=d["member_id"],
            family_violence=d.get("family_violence") == "FV",
            extra={"case_id": d["case_id"]},
        )
    )


# --------------------------------------------------------------------------- outbound: parse side


PERSON_EXTRA = (
    "action_type",
    "case_id",
    "previous_ssn",
    "irs_u_ssn",
    "new_member_id",
    "user_field",
    "fips_county",
    "state_country_of_birth",
    "father_first_name",
    "father_middle_initial",
    "father_last_name",
    "mother_first_name",
    "mother_middle_initial",
    "mother_maiden_name",
)


def input_case(d: Mapping[str, Any]) -> Case:
    """``FC``: a case registered, changed or deleted on the FCR."""
    return canonical(
        lambda: Case(
            case_id=d["case_id"],
            fips=f"{d['state_code']}{d['fips_county']}" if d.get("fips_county") else None,
            case_type=IvdCaseType(_column("fcr_case_type", "case_type")[d["case_type"]])
            if d.get("case_type")
            else None,
            has_order={"Y": True, "N": False}.get(d.get("order_indicator") or ""),
            user_field=d.get("user_field"),
            previous_case_id=d.get("previous_case_id"),
        )
    )


def input_person(d: Mapping[str, Any]) -> LocateRequest | Person:
    """``FP``: a ``LocateRequest`` when it asks for a locate, else the ``Person`` it adds/changes/deletes."""
    return canonical(lambda: _input_person(d))


def _input_person(d: Mapping[str, Any]) -> LocateRequest | Person:
    person = Person(
        role=role_of("fcr_participant_type", d["participant_type"]),
        ssn=d.get("ssn"),
        name=_name(d),
        aliases=_aliases(d, 4),
        alias_ssns=[s for s in (d.get("additional_ssn_1"), d.get("additional_ssn_2")) if s],
        dob=d.get("date_of_birth"),
        sex=Sex(d["sex"]) if d.get("sex") else None,
        place_of_birth=d.get("city_of_birth"),
        member_id=d["member_id"],
        family_violence=d.get("family_violence") == "FV",
        extra=_extra(d, PERSON_EXTRA),
    )
    request_type = d.get("locate_request_type")
    if request_type is None:
        return person
    sources = [s for s in (d.get(f"locate_source_{i}") for i in range(1, 9)) if s]
    return LocateRequest(
        person=person,
        case_id=d["case_id"],
        request_type=LocateRequestType(request_type),
        purpose=purpose_of(request_type),
        sources=sources or ["ALL"],
        irs_1099=d.get("irs_1099") == "Y",
        extra=_extra(d, ("bundle_results",)),
    )


INPUT_BUILDERS: Mapping[str, Callable[[Mapping[str, Any]], Any]] = {
    "input_case": input_case,
    "input_person": input_person,
}
RESPONSE_BUILDERS: Mapping[str, Callable[[Mapping[str, Any]], Any]] = {
    "locate_response": locate_response,
    "ndnh_response": ndnh_response,
    "sves_response": sves_response,
    "proactive_match": proactive_match,
    "reconciliation": reconciliation,
}


# --------------------------------------------------------------------------- outbound: render side


def to_input(model: Any, state_code: str) -> tuple[str, dict[str, Any]]:
    """A canonical ``LocateRequest``, ``Person`` or ``Case`` as an FCR input record ``(type, data)``."""
    if isinstance(model, Case):
        return "input_case", _case_data(model, state_code)
    if isinstance(model, LocateRequest):
        data = _person_data(model.person, model.case_id, state_code, "L")
        data.update(
            locate_request_type=model.request_type.value,
            irs_1099="Y" if model.irs_1099 else None,
            bundle_results=model.extra.get("bundle_results"),
        )
        for i, source in enumerate(model.sources, start=1):
            data[f"locate_source_{i}"] = source
        return "input_person", data
    if isinstance(model, Person):
        case_id = model.extra.get("case_id")
        return "input_person", _person_data(model, str(case_id) if case_id else None, state_code, "A")
    raise RecordError("RENDER_TYPE", f"fcr-input cannot render a canonical {type(model).__name__}")


def _case_data(case: Case, state_code: str) -> dict[str, Any]:
    reverse = {v: k for k, v in _column("fcr_case_type", "case_type").items()}
    return {
        "action_type": "A",
        "case_id": case.case_id,
        "state_code": state_code,
        "case_type": reverse[case.case_type.value] if case.case_type else None,
        "order_indicator": None if case.has_order is None else "Y" if case.has_order else "N",
        "fips_county": case.fips[2:5] if case.fips else None,
        "user_field": case.user_field,
        "previous_case_id": case.previous_case_id,
    }


def _person_data(p: Person, case_id: str | None, state_code: str, action: str) -> dict[str, Any]:
    data: dict[str, Any] = {k: p.extra.get(k) for k in PERSON_EXTRA}
    data["action_type"] = data["action_type"] or action
    data.update(
        case_id=case_id,
        state_code=state_code,
        participant_type=participant_code(p.role),
        family_violence="FV" if p.family_violence else None,
        member_id=p.member_id,
        sex=p.sex.value if p.sex else None,
        date_of_birth=p.dob,
        ssn=p.ssn,
        city_of_birth=p.place_of_birth,
    )
    if p.name is not None:
        data.update(first_name=p.name.first, middle_name=p.name.middle, last_name=p.name.last)
    for i, alias in enumerate(p.aliases, start=1):
        data.update(
            {
                f"additional_first_name_{i}": alias.first,
                f"additional_middle_name_{i}": alias.middle,
                f"additional_last_name_{i}": alias.last,
            }
        )
    for i, other in enumerate(p.alias_ssns, start=1):
        data[f"additional_ssn_{i}"] = other
    return data
