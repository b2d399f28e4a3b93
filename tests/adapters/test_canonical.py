"""The canonical model's guarantees: strict dates and money, SSA/IRS identifier rules, masked personal
data, and a lossless JSON round trip for every record type through the one discriminated union.

All identifiers and names here are synthetic.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from adapters.canonical import (
    CANONICAL,
    RECORD_TYPES,
    Address,
    AddressType,
    ArrearsBalance,
    ArrearsCategory,
    CanonicalModel,
    Case,
    Collection,
    CollectionSource,
    Confirmation,
    Contact,
    CsenetAction,
    CsenetFunction,
    Employer,
    EmployerAck,
    Fein,
    Frequency,
    FviStatus,
    IncomeWithholdingOrder,
    InterstateTransaction,
    IsoDate,
    IvdCaseType,
    LocateMatchType,
    LocateRequest,
    LocateResult,
    Money,
    NewHire,
    NonNegativeMoney,
    OffsetCase,
    OffsetCollection,
    Order,
    ParticipantRole,
    Payment,
    PeriodicAmount,
    Person,
    PersonName,
    QuarterWage,
    Ssn,
    UIClaim,
    UifsaAgency,
    UifsaForm,
    WageRecord,
    from_json_dict,
    masked_ssn,
    to_json_dict,
)

SSN = "123456789"  # synthetic; passes SSA's structural rules
SSN_2 = "234567890"
FEIN = "951234567"  # synthetic; 95 is an IRS-assigned prefix
FEIN_2 = "271234567"
ITIN = "912703456"


# --------------------------------------------------------------------------- samples, one per record type


def _address(**kw: Any) -> Address:
    base: dict[str, Any] = {
        "line1": "100 SAMPLE ST",
        "city": "TOPEKA",
        "state": "KS",
        "zip5": "66603",
        "zip4": "1234",
        "source": "test",
        "as_of": dt.date(2024, 1, 15),
    }
    return Address(**(base | kw))


def _person(**kw: Any) -> Person:
    base: dict[str, Any] = {
        "role": ParticipantRole.NCP,
        "ssn": SSN,
        "name": PersonName(first="JANE", middle="Q", last="ROE"),
        "dob": dt.date(1990, 5, 17),
        "sex": "F",
        "addresses": [_address()],
        "home_phone": "7855550100",
    }
    return Person(**(base | kw))


def _employer(**kw: Any) -> Employer:
    base: dict[str, Any] = {
        "fein": FEIN,
        "name": "ACME WIDGETS INC",
        "addresses": [_address(address_type=AddressType.EMPLOYER, line1="1 FACTORY RD")],
        "payroll_contact": Contact(name="PAYROLL DESK", phone="7855550199", email="payroll@example.com"),
    }
    return Employer(**(base | kw))


def _order() -> Order:
    return Order(
        order_id="2023-DM-000123",
        issuing_fips="2017700",
        order_type="judicial",
        debt_type="child_support",
        start_date=dt.date(2023, 3, 1),
        current_support=PeriodicAmount(amount=Decimal("412.50"), frequency=Frequency.MONTHLY),
        past_due_support=PeriodicAmount(amount="50", frequency="monthly"),
        total=PeriodicAmount(amount=Decimal("462.50"), frequency=Frequency.MONTHLY),
        per_period_amounts={Frequency.WEEKLY: Decimal("106.73"), Frequency.BIWEEKLY: "213.46"},
        arrears_total=Decimal("-25.00"),
        arrears_by_type=[
            ArrearsBalance(
                category=ArrearsCategory.TANF,
                amount="1200.00",
                from_date="2022-01-01",
                thru_date="2022-12-31",
            )
        ],
        medical_ordered=True,
        controlling="determined",
    )


def _samples() -> list[CanonicalModel]:
    ncp = _person()
    child = _person(role=ParticipantRole.CHILD, ssn=SSN_2, name=PersonName(first="JO", last="ROE"), addresses=[])
    return [
        ncp,
        _employer(),
        _order(),
        Case(
            case_id="KS-000123",
            fips="20177",
            case_type=IvdCaseType.IV_D,
            assistance_type="tanf",
            status="open",
            participants=[ncp, child.model_copy(update={"family_violence": True})],
            orders=[_order()],
        ),
        IncomeWithholdingOrder(
            document_tracking_id="KS0000000000000000000000012345",
            action="ORG",
            document_date="2024-01-15",
            issuing_state_name="KANSAS",
            case_id="KS-000123",
            employer=_employer(),
            employee=ncp,
            obligee=PersonName(last="DOE", first="JOHN"),
            children=[child],
            order=_order(),
            begin_withholding_within_days=14,
            send_payment_within_days=7,
            ccpa_limit_percent=50,
            payee_name="KANSAS PAYMENT CENTER",
            payee_address=_address(address_type=AddressType.PAYMENT, line1="PO BOX 758599"),
            payee_fips="2000003",
            remittance_id="R-778899",
            extra={"penalty_text_variant": "2021", "copies": 2},
        ),
        EmployerAck(
            action="ORG",
            case_id="KS-000123",
            employer_fein=FEIN,
            employee=ncp,
            document_tracking_id="KS0000000000000000000000012345",
            disposition="R",
            reason="N",
            termination_date="2024-02-01",
            final_payment_date="2024-02-09",
            final_payment_amount="106.73",
            new_employer=_employer(fein=FEIN_2, name="OTHER CO"),
        ),
        NewHire(
            employee=ncp.model_copy(update={"role": None}),
            employer=_employer(),
            hire_date="2024-03-04",
            state_of_hire="KS",
            salary="52000",
            salary_frequency="annual",
            medical_insurance_available=True,
        ),
        Payment(
            case_id="KS-000123",
            pay_date=dt.date(2025, 1, 10),
            amount=Decimal("250.00"),
            ssn=SSN,
            medical_support="N",
            ncp_name="ROE,JAN",
            fips="20177",
            employer_fein=FEIN,
            company_identification="1951234567",
            effective_date=dt.date(2025, 1, 10),
            trace_number="091000010000001",
        ),
        WageRecord(
            employee_ssn=SSN,
            employee_name=PersonName(first="JANE", last="ROE"),
            employer_fein=FEIN,
            employer_name="ACME WIDGETS INC",
            year=2024,
            quarter=2,
            wage_amount="12345.67",
        ),
        UIClaim(
            claimant_ssn=SSN,
            claimant_name=PersonName(first="JANE", last="ROE"),
            claimant_address=_address(),
            benefit_amount="4200.00",
            year=2024,
            quarter=3,
            claim_date="2024-07-08",
            swa_state_fips="20",
        ),
        OffsetCase(
            submitting_state="KS",
            local_code="001",
            ssn=ITIN,
            case_id="KS-000123",
            ncp_name=PersonName(first="JANE", last="ROE"),
            arrears_amount="1500",
            transaction_type="A",
            case_type="N",
            address=_address(),
            exclusions=["PAS", "RET"],
        ),
        OffsetCollection(
            submitting_state="KS",
            ssn=SSN,
            case_id="KS-000123",
            ncp_name=PersonName(first="JANE", last="ROE"),
            certified_arrears="1500.00",
            collection_amount="812.34",
            tax_year=2024,
            joint_return=True,
            injured_spouse=False,
        ),
        LocateRequest(
            person=ncp,
            case_id="KS-000123",
            purpose="child_support",
            requester="iv_d_agency",
            sources=["ALL"],
        ),
        LocateResult(
            person=Person(ssn=SSN, name=PersonName(first="JANE", last="ROE")),
            source_agency_code="H98",
            returned_by="FCR",
            match_type=LocateMatchType.NDNH_PROACTIVE,
            date_reported="2024-08-01",
            employers=[_employer(reported_wages=[QuarterWage(year=2024, quarter=2, amount="12345.67")])],
            confidence=Confirmation.VERIFIED,
        ),
        InterstateTransaction(
            serial_number=42,
            function=CsenetFunction.ENF,
            action=CsenetAction.REQUEST,
            reason="ERWAG",
            local_fips="2017700",
            other_fips="06037",
            case_id="KS-000123",
            transaction_date="2024-05-01",
            sent_time="13:45:00",
            attachments=True,
            case=Case(case_type=IvdCaseType.IV_D, payment_address=_address(address_type=AddressType.PAYMENT)),
            ncp=ncp,
            ncp_locate=LocateResult(addresses=[_address(confirmed=Confirmation.PARTIAL)]),
            participants=[ncp, child],
            orders=[_order()],
            collections=[
                Collection(
                    collection_date="2024-04-15",
                    amount="-50.00",
                    source=CollectionSource.FEDERAL_TAX_OFFSET,
                    method="other",
                )
            ],
            information_text=["TRANSMITTAL 1 AND GENERAL TESTIMONY ATTACHED"],
        ),
        UifsaForm(
            form="transmittal-1",
            form_date="2024-05-01",
            petitioner=PersonName(first="JOHN", last="DOE"),
            respondent=PersonName(first="JANE", last="ROE"),
            case_type=IvdCaseType.IV_D,
            responding=UifsaAgency(name="LA COUNTY CSSD", locator_code="06037", state="CA"),
            initiating=UifsaAgency(name="KANSAS DCF", locator_code="2017700", case_id="KS-000123"),
            sent_via_csenet=True,
            transaction_serial=42,
            body={"section_1": {"actions": ["enforce", "income_withholding"]}, "arrears": "1500.00"},
        ),
    ]


SAMPLES = _samples()
SAMPLE = {s.kind: s for s in SAMPLES}


def _all_models(cls: type[CanonicalModel] = CanonicalModel) -> list[type[CanonicalModel]]:
    found = [m for sub in cls.__subclasses__() for m in (sub, *_all_models(sub))]
    return [m for m in found if m.__module__ == "adapters.canonical"]


def test_every_model_has_its_own_kind_with_a_default() -> None:
    # the default lets adapters omit `kind`; uniqueness keeps the JSON tag unambiguous
    kinds = [m.model_fields["kind"].default for m in _all_models()]
    assert all(isinstance(k, str) and k for k in kinds)
    assert len(kinds) == len(set(kinds)) > len(RECORD_TYPES)


def test_every_record_type_has_a_sample() -> None:
    # a new member of CanonicalRecord must get a sample here, or its round trip goes untested
    assert sorted(s.kind for s in SAMPLES) == sorted(RECORD_TYPES)
    assert all(type(s) is RECORD_TYPES[s.kind] for s in SAMPLES)


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: r.kind)
def test_json_round_trip_through_the_union(record: CanonicalModel) -> None:
    data = to_json_dict(record)
    assert data["kind"] == record.kind
    text = json.dumps(data)  # JSON-native: no Decimal, date or enum objects left
    back = from_json_dict(json.loads(text))
    assert type(back) is type(record)
    assert back == record
    assert to_json_dict(back) == data
    assert CANONICAL.validate_json(text) == record  # the JSON parser path, as the API uses it


def test_masking_is_only_in_repr_not_in_data() -> None:
    data = to_json_dict(SAMPLE["person"])
    assert data["ssn"] == SSN
    assert data["name"]["first"] == "JANE"
    assert data["dob"] == "1990-05-17"


# --------------------------------------------------------------------------- dates

DATE = TypeAdapter(IsoDate)


@pytest.mark.parametrize(
    "value",
    [
        "20240115",  # pydantic alone reads this as a Unix timestamp; Python 3.11 fromisoformat accepts it
        "00000000",  # pydantic alone makes this 1970-01-01
        "86400",
        20240115,
        1705276800,
        1705276800.0,
        "2024-1-15",
        "2024/01/15",
        "01152024",
        "2024-02-30",
        "2024-01-15T00:00:00",
        "",
        dt.datetime(2024, 1, 15, 12, 0),
    ],
)
def test_dates_refuse_compact_numbers_and_ambiguity(value: object) -> None:
    with pytest.raises(ValidationError):
        DATE.validate_python(value)


@pytest.mark.parametrize("value", ["2024-01-15", dt.date(2024, 1, 15)])
def test_dates_accept_iso_text_and_date(value: object) -> None:
    assert DATE.validate_python(value) == dt.date(2024, 1, 15)


def test_compact_date_in_a_record_names_the_fix() -> None:
    data = to_json_dict(SAMPLE["payment"]) | {"pay_date": "20250110"}
    with pytest.raises(ValidationError) as caught:
        from_json_dict(data)
    assert caught.value.errors()[0]["loc"] == ("payment", "pay_date")
    assert "YYYY-MM-DD" in str(caught.value)
    with pytest.raises(ValidationError):
        CANONICAL.validate_json(json.dumps(data))


# --------------------------------------------------------------------------- money

MONEY = TypeAdapter(Money)
NON_NEGATIVE = TypeAdapter(NonNegativeMoney)


@pytest.mark.parametrize(
    "value",
    [
        12.34,
        12.0,
        0.0,
        float("nan"),
        True,
        "12.345",
        "1e3",
        "1,000.00",
        " 12.34",
        "12.34 ",
        "$12.34",
        "+12.34",
        "",
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("0.001"),
        Decimal("1E+40"),
        None,
    ],
)
def test_money_refuses_floats_and_sloppy_text(value: object) -> None:
    with pytest.raises(ValidationError):
        MONEY.validate_python(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("12.34"), "12.34"),
        (12, "12.00"),
        ("12.3", "12.30"),
        ("-5", "-5.00"),
        (Decimal("7.50"), "7.50"),
        (Decimal("-0"), "0.00"),
        (Decimal("1E+2"), "100.00"),
    ],
)
def test_money_accepts_decimal_int_and_text_as_whole_cents(value: object, expected: str) -> None:
    amount = MONEY.validate_python(value)
    assert isinstance(amount, Decimal)
    assert str(amount) == expected


def test_non_negative_money_refuses_negatives() -> None:
    assert NON_NEGATIVE.validate_python("0") == Decimal("0.00")
    with pytest.raises(ValidationError):
        NON_NEGATIVE.validate_python("-0.01")


def test_json_number_with_a_fraction_is_a_float_and_refused() -> None:
    data = to_json_dict(SAMPLE["payment"])
    text = json.dumps(data).replace('"amount": "250.00"', '"amount": 250.5')
    assert '"amount": 250.5' in text
    with pytest.raises(ValidationError):
        CANONICAL.validate_json(text)


# --------------------------------------------------------------------------- identifiers

SSN_TYPE = TypeAdapter(Ssn)
FEIN_TYPE = TypeAdapter(Fein)


@pytest.mark.parametrize(
    "value",
    [
        "000456789",  # area 000
        "666456789",  # area 666
        "900456789",  # area 9xx
        "987654321",  # area 9xx (ITIN range is not an SSN)
        "123006789",  # group 00
        "123450000",  # serial 0000
        "078051120",  # SSA's list of numbers that were never valid
        "12345678",
        "1234567890",
        "123-45-6789",  # the canonical form has no hyphens
        " 12345678",
        "12345678A",
        "１２３４５６７８９",  # full-width digits are digits to str.isdigit, not to us
        123456789,  # an int would drop leading zeros
        None,
    ],
)
def test_ssn_rules(value: object) -> None:
    with pytest.raises(ValidationError):
        SSN_TYPE.validate_python(value)


def test_valid_synthetic_ssn_is_accepted_unchanged() -> None:
    assert SSN_TYPE.validate_python(SSN) == SSN
    assert Person(ssn=SSN).ssn == SSN


def test_offset_records_take_an_itin_where_other_records_do_not() -> None:
    assert OffsetCollection(submitting_state="KS", ssn=ITIN, case_id="C1", ncp_name=PersonName(last="ROE")).ssn == ITIN
    with pytest.raises(ValidationError):
        Person(ssn=ITIN)
    with pytest.raises(ValidationError):  # an ITIN with a group the IRS does not use
        OffsetCollection(submitting_state="KS", ssn="912933456", case_id="C1", ncp_name=PersonName(last="ROE"))


@pytest.mark.parametrize("value", [FEIN, FEIN_2])
def test_valid_fein(value: str) -> None:
    assert FEIN_TYPE.validate_python(value) == value


@pytest.mark.parametrize(
    "value",
    ["001234567", "071234567", "891234567", "95123456", "9512345678", "95-1234567", 951234567, "95123456X"],
)
def test_invalid_fein(value: object) -> None:
    with pytest.raises(ValidationError):
        FEIN_TYPE.validate_python(value)


@pytest.mark.parametrize("case_id", ["", " KS123", "KS*123", "KS\\123", "X" * 21, 123])
def test_case_id_rules(case_id: object) -> None:
    with pytest.raises(ValidationError):
        Case(case_id=case_id)


# --------------------------------------------------------------------------- personal data stays out of logs


def test_masked_ssn() -> None:
    assert masked_ssn(SSN) == "***-**-6789"
    assert masked_ssn("123-45-6789") == "***-**-6789"
    assert masked_ssn("12345") == "***-**-****"  # never part of a malformed number
    assert masked_ssn("") == "***-**-****"
    assert masked_ssn(None) == "***-**-****"


@pytest.mark.parametrize("show", [repr, str], ids=["repr", "str"])
def test_person_repr_and_str_are_masked(show: Callable[[object], str]) -> None:
    text = show(_person(aliases=[PersonName(first="JANIE", last="ROEBUCK")], extra={"race": "X"}))
    assert "***-**-6789" in text
    for secret in (SSN, "12345", "JANE", "ROE", "JANIE", "1990", "SAMPLE", "TOPEKA", "66603", "7855550100"):
        assert secret not in text
    assert "first='J.'" in text
    assert "extra={'race': '***'}" in text  # keys help debugging; values may be personal


def test_records_that_hold_people_or_ssns_are_masked_too() -> None:
    for record in SAMPLES:
        text = repr(record)
        assert SSN not in text, record.kind
        assert "JANE" not in text, record.kind
        assert "ROE" not in text, record.kind
    assert "***-**-6789" in repr(SAMPLE["wage_record"])  # WageRecord keeps the SSN flat


def test_validation_errors_do_not_echo_personal_data() -> None:
    with pytest.raises(ValidationError) as caught:
        Person(ssn="666123456", name=PersonName(first="JANE", last="ROE"))
    assert "666123456" not in str(caught.value)
    with pytest.raises(ValidationError) as caught:
        from_json_dict({"kind": "no_such_kind", "ssn": SSN, "name": "JANE ROE"})
    assert SSN not in str(caught.value)
    assert "JANE" not in str(caught.value)


# --------------------------------------------------------------------------- the union and strictness


def test_union_needs_a_known_kind_and_known_fields() -> None:
    good = to_json_dict(SAMPLE["payment"])
    for bad in (
        {k: v for k, v in good.items() if k != "kind"},
        good | {"kind": "payments"},
        good | {"ssn_number": SSN},  # a misspelt field is an error, not silently dropped
        good | {"kind": "wage_record"},  # the tag decides the type; a payment is not a wage record
    ):
        with pytest.raises(ValidationError):
            from_json_dict(bad)


def test_blank_text_must_be_none() -> None:
    with pytest.raises(ValidationError):
        Employer(fein=FEIN, name="   ")
    with pytest.raises(ValidationError):
        PersonName(first="", last="ROE")


# --------------------------------------------------------------------------- rules the model enforces


def _ack(**kw: Any) -> EmployerAck:
    base: dict[str, Any] = {"action": "ORG", "employee": Person(ssn=SSN), "disposition": "A"}
    return EmployerAck(**(base | kw))


@pytest.mark.parametrize(
    "kw",
    [
        {"disposition": "R"},  # a rejection needs a reason
        {"disposition": "A", "reason": "N"},  # N (no longer employed) is a rejection reason
        {"disposition": "R", "reason": "Z"},  # Z only answers TRM
        {"disposition": "A", "reason": "W"},  # W needs the corrected FEIN
        {"disposition": "R", "reason": "M"},  # M needs the other state
        {"disposition": "T"},  # T/L/S are EMP notice events
        {"action": "EMP", "disposition": "A"},
        {"action": "EMP", "disposition": "T", "reason": "N"},  # a notice's event is its disposition
    ],
)
def test_ack_disposition_rules(kw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _ack(**kw)


def test_ack_valid_combinations() -> None:
    assert _ack(action="TRM", disposition="R", reason="Z").reason == "Z"
    assert _ack(disposition="A", reason="W", corrected_fein=FEIN_2).corrected_fein == FEIN_2
    assert _ack(action="EMP", disposition="L", lump_sum_amount="900").lump_sum_amount == Decimal("900.00")


def test_iwo_action_rules() -> None:
    iwo = SAMPLE["income_withholding_order"]
    with pytest.raises(ValidationError):
        IncomeWithholdingOrder(**(dict(iwo) | {"action": "EMP"}))
    with pytest.raises(ValidationError):
        IncomeWithholdingOrder(**(dict(iwo) | {"action": "LUM"}))
    assert IncomeWithholdingOrder(**(dict(iwo) | {"action": "LUM", "lump_sum_amount": "500"})).action == "LUM"


def test_periodic_amount_needs_frequency_once_due() -> None:
    assert PeriodicAmount(amount=0).frequency is None
    with pytest.raises(ValidationError):
        PeriodicAmount(amount="10.00")


def test_zero_payment_only_reports_termination() -> None:
    data = to_json_dict(SAMPLE["payment"]) | {"amount": "0"}
    with pytest.raises(ValidationError):
        from_json_dict(data)
    payment = from_json_dict(data | {"employment_termination": True})
    assert isinstance(payment, Payment)
    assert payment.amount == Decimal("0.00")


def test_fvi_blocked_locate_result_carries_no_location() -> None:
    assert LocateResult(fvi=FviStatus.BLOCKED, returned_by="FCR").addresses == []
    with pytest.raises(ValidationError):
        LocateResult(fvi=FviStatus.BLOCKED, addresses=[_address()])
    with pytest.raises(ValidationError):
        LocateResult(fvi=FviStatus.BLOCKED, person=_person())  # the person's own addresses count too


def test_locate_purpose_must_match_request_type() -> None:
    with pytest.raises(ValidationError):
        LocateRequest(person=Person(ssn=SSN), request_type="CS", purpose="custody_visitation")
    assert LocateRequest(person=Person(ssn=SSN), request_type="PK", purpose="parental_kidnapping").sources == ["ALL"]


@pytest.mark.parametrize(
    "kw",
    [
        {"transaction_type": "A", "case_id": None},
        {"transaction_type": "A", "arrears_amount": None},
        {"transaction_type": "S"},  # a state payment needs the process year
        {"transaction_type": "T"},  # a transfer needs the transfer state
        {"transaction_type": "M", "exclusions": ["TAX"]},  # exclusions only on A and R
        {"exclusions": ["TAX", "TAX"]},
        {"submitting_state": "20"},  # FOP uses the USPS code, not FIPS
    ],
)
def test_offset_case_rules(kw: dict[str, Any]) -> None:
    base: dict[str, Any] = {
        "submitting_state": "KS",
        "ssn": SSN,
        "case_id": "C1",
        "ncp_name": PersonName(first="JANE", last="ROE"),
        "arrears_amount": "600",
        "transaction_type": "A",
    }
    with pytest.raises(ValidationError):
        OffsetCase(**(base | kw))


def test_offset_collection_is_collection_or_adjustment() -> None:
    with pytest.raises(ValidationError):
        OffsetCollection(
            submitting_state="KS",
            ssn=SSN,
            case_id="C1",
            ncp_name=PersonName(last="ROE"),
            collection_amount="10",
            adjustment_amount="10",
        )


def test_interstate_attachments_must_be_listed() -> None:
    data = to_json_dict(SAMPLE["interstate_transaction"]) | {"information_text": []}
    with pytest.raises(ValidationError):
        from_json_dict(data)


def test_people_and_employers_must_be_identifiable() -> None:
    with pytest.raises(ValidationError):
        Person(role="CP")
    with pytest.raises(ValidationError):
        Employer(state_ein="12345")
    with pytest.raises(ValidationError):
        WageRecord(employee_ssn=SSN, year=2024, quarter=1, wage_amount="1")


def test_case_lists_family_violence_participants() -> None:
    case = SAMPLE["case"]
    assert isinstance(case, Case)
    assert [p.ssn for p in case.family_violence_persons] == [SSN_2]


def test_unknown_state_and_bad_zip_are_refused() -> None:
    with pytest.raises(ValidationError):
        _address(state="XX")
    with pytest.raises(ValidationError):
        _address(state="ks")
    with pytest.raises(ValidationError):
        _address(zip5="6660")
