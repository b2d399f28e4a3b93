"""The canonical model: what every partner format is translated to and from (design.md §4).

Adapters turn partner bytes into these records and back; the gateway matches, stores and routes only
these. One shared model means a new partner format needs one adapter, not one per pair of formats
(``csgate convert`` goes A → canonical → B), and case logic never learns a byte position.

Rules every record follows, and why:

* **Money is ``Decimal``, whole cents, never ``float``.** A binary fraction cannot hold most cent
  values exactly, and a ledger that is off by a cent per payment is wrong by the thousand. Money
  fields accept ``Decimal``, ``int`` or text such as ``"12.34"`` and refuse floats outright.
* **Dates are ``datetime.date``, given as a ``date`` or ISO ``"YYYY-MM-DD"`` text only.** pydantic
  reads ``"20240115"`` as a Unix timestamp and ``"00000000"`` as 1970-01-01
  (shared/specs/performance-ceilings.md, "Facts found on the way"), and Python 3.11's own
  ``date.fromisoformat`` accepts the compact form too. Fixed-width formats each have their own date
  layout (``CCYYMMDD``, ``YYMMDD``, ``MMDDCCYY``), so adapters convert them explicitly and the model
  refuses anything ambiguous.
* **Closed code lists are ``StrEnum``s.** Where one format owns a code list (DED application ids,
  e-IWO action codes, offset transaction types) the enum values are that format's codes; where a
  concept crosses formats (address type, order frequency, assistance type) the values are lower-case
  words and each adapter maps its own letters. Long or unconfirmed lists that agencies must be able to
  edit (FCR locate source agencies) stay plain strings, with the table in ``mappings/codes/``.
* **Identifiers are checked the way their issuers define them** (python-stdnum ``us.ssn``,
  ``us.ein``, ``us.itin``) so a transposed or placeholder number is caught at the edge, not after it
  has been matched against a case.
* **Personal data does not leak into logs.** ``repr``/``str`` of every model masks SSNs
  (``***-**-1234``), names (initials) and other personal fields, and validation errors never echo
  the input value (``hide_input_in_errors``).
* **Every model has a ``kind`` literal** so any record round-trips through JSON and one
  ``TypeAdapter`` (``CANONICAL``) validates any top-level record: see ``to_json_dict`` /
  ``from_json_dict``.

Adding a record type: subclass ``CanonicalModel`` with a unique ``kind`` literal and add it to
``CanonicalRecord``; the round-trip test requires a sample of every member.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Final, Literal, Self, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.us import ein as stdnum_ein
from stdnum.us import itin as stdnum_itin
from stdnum.us import ssn as stdnum_ssn

from adapters.layout import is_valid_ssn

# =========================================================================== personal-data masking


class Pii(enum.Enum):
    """How a personal-data field is shown by ``repr``/``str``; attached to a type with ``Annotated``."""

    SSN = "ssn"  # ***-**-1234: the last four are what payroll staff and caseworkers confirm a person by
    NAME = "name"  # initial only: enough to tell two records apart in a log, not to identify anyone
    SECRET = "secret"  # hidden entirely: dates of birth, address lines, phone numbers, free text


def masked_ssn(ssn: str | None) -> str:
    """The only form an SSN may take in logs, messages and screens: ``***-**-1234``.

    The last four digits are kept because that is how people confirm an identity without disclosing
    it. Anything that is not exactly nine digits (after dropping hyphens and spaces) is masked
    completely, so a malformed value, which might be a different person's number mistyped, is never
    echoed back even in part.
    """
    digits = (ssn or "").replace("-", "").replace(" ", "")
    if len(digits) == 9 and digits.isascii() and digits.isdigit():
        return f"***-**-{digits[-4:]}"
    return "***-**-****"


def _initial(name: str) -> str:
    return f"{name[0]}." if name else name


def _mask(kind: Pii, value: Any) -> Any:
    if value is None or isinstance(value, BaseModel):  # nested models mask themselves
        return value
    if isinstance(value, list | tuple):
        return [_mask(kind, v) for v in value]
    if isinstance(value, dict):
        return dict.fromkeys(value, "***")  # keys are field names, never personal data
    if kind is Pii.SSN:
        return masked_ssn(str(value))
    if kind is Pii.NAME:
        return _initial(str(value))
    return "***"


def _pii_marker(annotation: Any) -> Pii | None:
    """The ``Pii`` marker inside an annotation, looking through ``X | None`` and ``list[X]``."""
    if get_origin(annotation) is Annotated:
        for meta in annotation.__metadata__:
            if isinstance(meta, Pii):
                return meta
    for arg in get_args(annotation):
        found = _pii_marker(arg)
        if found is not None:
            return found
    return None


@cache
def _pii_fields(model: type[BaseModel]) -> dict[str, Pii]:
    """Which fields of ``model`` are personal data, worked out once per class."""
    found: dict[str, Pii] = {}
    for name, info in model.model_fields.items():
        marker = next((m for m in info.metadata if isinstance(m, Pii)), None) or _pii_marker(info.annotation)
        if marker is not None:
            found[name] = marker
    return found


# =========================================================================== base class


class CanonicalModel(BaseModel):
    """Base of every canonical record.

    ``extra="forbid"`` makes a misspelt field an error instead of silently lost data;
    ``str_strip_whitespace=False`` because fixed-width adapters decide what padding means, not the
    model; ``hide_input_in_errors`` keeps SSNs and names out of validation messages, which end up in
    logs and reject reports. ``repr``/``str`` mask every field typed with a ``Pii`` marker.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=False, str_strip_whitespace=False, hide_input_in_errors=True, defer_build=True
    )

    kind: str
    """The record's tag; each subclass narrows it to a ``Literal`` with a default, unique per class."""

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        pii = _pii_fields(type(self))
        for name, value in super().__repr_args__():
            marker = pii.get(name) if name is not None else None
            yield name, value if marker is None else _mask(marker, value)


# =========================================================================== value types

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(?::[0-9]{2})?")
_MONEY_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]{1,2})?")
CENT: Final = Decimal("0.01")


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ValueError("expected a date, got a datetime; pass .date() so no time or zone is lost silently")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return dt.date.fromisoformat(value)  # still refuses 2024-02-30
    raise ValueError(
        "expected a date or ISO 'YYYY-MM-DD' text; compact 'YYYYMMDD' text and numbers are refused "
        "(pydantic would read them as Unix timestamps): convert fixed-width dates in the adapter"
    )


def _to_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str) and _ISO_TIME.fullmatch(value):
        return dt.time.fromisoformat(value)
    raise ValueError("expected a time or ISO 'HH:MM[:SS]' text; convert fixed-width 'HHMMSS' in the adapter")


def _to_money(value: Any) -> Decimal:
    # Text (JSON, XML) and Decimal (fixed-width parsers) first: they are nearly every amount.
    if isinstance(value, str):
        if not _MONEY_TEXT.fullmatch(value):
            raise ValueError(
                "money text must look like '1234.56': optional '-', at most two decimals, "
                "no spaces, commas, signs or exponent"
            )
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("money must be a finite amount")
        amount = value
    elif isinstance(value, bool | float):  # bool is an int subclass; a float cannot hold cents exactly
        raise ValueError("money must be a Decimal, an int or decimal text like '12.34', never a float")
    elif isinstance(value, int):
        amount = Decimal(value)
    else:
        raise ValueError("money must be a Decimal, an int or decimal text like '12.34'")
    try:
        cents = amount.quantize(CENT)
    except InvalidOperation:
        raise ValueError("money amount is too large") from None
    if cents != amount:
        raise ValueError("money has at most two decimal places (whole cents)")
    # One representation per value: JSON output and digests never differ between 5, 5.0 and -0.
    return cents.copy_abs() if cents.is_zero() else cents


def _to_nonnegative_money(value: Any) -> Decimal:
    amount = _to_money(value)
    if amount < 0:
        raise ValueError("money must not be negative")
    return amount


def _nine_digits(value: Any, what: str) -> str:
    if not isinstance(value, str) or len(value) != 9 or not (value.isascii() and value.isdigit()):
        # ints are refused too: they lose leading zeros (an SSN in area 001 or a FEIN with prefix 01)
        raise ValueError(f"{what} must be text of exactly 9 digits, without hyphens or spaces")
    return value


def _check_ssn(value: Any) -> str:
    number = _nine_digits(value, "SSN")
    if is_valid_ssn(number) is None:  # the stdnum us.ssn rules as one compiled regex (layout.SSN_RE)
        raise ValueError(
            "SSN breaks SSA rules (area 000, 666 or 9xx; group 00; serial 0000; or a number SSA lists as never valid)"
        )
    return number


def _check_taxpayer_id(value: Any) -> str:
    number = _nine_digits(value, "SSN/ITIN")
    try:
        (stdnum_itin if number.startswith("9") else stdnum_ssn).validate(number)
    except StdnumValidationError:
        raise ValueError("neither a valid SSN nor a valid ITIN") from None
    return number


@cache
def _fein_prefix_assigned(prefix: str) -> bool:
    # stdnum's EIN check is a lookup of the two-digit campus prefix and nothing else, so its answer is
    # cached per prefix: 100 entries at most, and the lookup was the slowest step of a wage record.
    return stdnum_ein.is_valid(prefix + "0000000")


def _check_fein(value: Any) -> str:
    number = _nine_digits(value, "FEIN")
    if not _fein_prefix_assigned(number[:2]):
        raise ValueError("FEIN prefix is not one the IRS assigns")
    return number


def _check_case_id(value: Any) -> str:
    # The rules e-IWO DTL field 7, DED02 and CSENet have in common: the DED delimiters '*' and '\' would
    # break the payment addenda, and a leading space cannot survive fixed-width padding. CSENet's own
    # extra ban on all-zero ids is the CSENet adapter's check (a DED case id has no such rule).
    if not isinstance(value, str) or not 1 <= len(value) <= 20:
        raise ValueError("case id must be text of 1-20 characters")
    if value[0] == " " or "*" in value or "\\" in value:
        raise ValueError("case id must not start with a space or contain '*' or '\\'")
    return value


# USPS two-letter codes: states, DC, territories, freely associated states and military post offices.
# Kept here rather than in a CSV so validating a record never needs file I/O.
# fmt: off
USPS_STATE_CODES: Final = frozenset({
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
    "AS", "GU", "MP", "PR", "VI", "UM", "FM", "MH", "PW", "AA", "AE", "AP",
})
# fmt: on


def _check_usps_state(value: Any) -> str:
    if not isinstance(value, str) or value not in USPS_STATE_CODES:
        raise ValueError("state must be a USPS two-letter code in upper case")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_to_date)]
"""A date given as ``date`` or ISO ``YYYY-MM-DD`` text; compact digit strings and numbers are refused."""
PersonalDate = Annotated[dt.date, BeforeValidator(_to_date), Pii.SECRET]
"""An ``IsoDate`` that identifies a person (birth, death) and is hidden in ``repr``."""
IsoTime = Annotated[dt.time, BeforeValidator(_to_time)]
Money = Annotated[Decimal, BeforeValidator(_to_money)]
"""Signed whole-cent amount (arrears balances and adjustments can be negative)."""
NonNegativeMoney = Annotated[Decimal, BeforeValidator(_to_nonnegative_money)]
"""``Money`` that may not be negative, checked by the same function: beside a validator function pydantic
applies a ``ge`` constraint as a second Python function, one more call per amount."""
Ssn = Annotated[str, BeforeValidator(_check_ssn), Pii.SSN]
"""Nine digits passing python-stdnum ``us.ssn`` (no 000/666/9xx area, 00 group, 0000 serial)."""
TaxpayerId = Annotated[str, BeforeValidator(_check_taxpayer_id), Pii.SSN]
"""An SSN or, for the offset program, an ITIN (FOP accepts "valid SSN or ITIN", agency-formats.md §5.2)."""
Fein = Annotated[str, BeforeValidator(_check_fein)]
"""Employer FEIN, nine digits with an IRS-assigned prefix (python-stdnum ``us.ein``)."""
CaseId = Annotated[str, BeforeValidator(_check_case_id)]
UspsState = Annotated[str, BeforeValidator(_check_usps_state)]
Zip5 = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$"), Pii.SECRET]
Zip4 = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$"), Pii.SECRET]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9]{10}$"), Pii.SECRET]
"""Ten digits, area code first; adapters join split area-code/number fields (e-IWO ACK 464-473)."""
StateFips = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
LocatorCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}[0-9A-Z]{3}(?:[0-9A-Z]{2})?$")]
"""FIPS locator code: state (2 digits) + county (3; tribes and countries use letters) + optional local
office suffix (2), agency-formats.md §1.2. The 5-character form omits the suffix."""
Text = Annotated[str, StringConstraints(pattern=r"\S")]
"""Non-blank text. Blank fixed-width fields become ``None`` in the adapter, never ``""``."""
NameText = Annotated[str, StringConstraints(pattern=r"\S"), Pii.NAME]
SecretText = Annotated[str, StringConstraints(pattern=r"\S"), Pii.SECRET]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$"), Pii.SECRET]
Year = Annotated[int, Field(ge=1900, le=2099)]
Quarter = Annotated[int, Field(ge=1, le=4)]
Extra = Annotated[dict[str, JsonValue], Pii.SECRET]
"""Format-specific leftovers keyed by the mapping's field names. Values must be JSON-native (dates and
money as ISO/decimal text) so the record still round-trips; ``repr`` shows the keys only."""


# =========================================================================== enums: people, places, cases


class ParticipantRole(enum.StrEnum):
    """A person's role in a case. Adapters map FCR ``NP``/``CP``/``CH``/``PF`` and CSENet relationship
    ``A``/``C``/``D``/``P``/``S`` (``S`` second adult/caretaker → ``OTHER``) onto these."""

    NCP = "NCP"  # noncustodial parent (obligor)
    CP = "CP"  # custodial party (obligee)
    CHILD = "CHILD"
    PF = "PF"  # putative father, IV-D cases only
    OTHER = "OTHER"


class Sex(enum.StrEnum):
    """Sex as the formats report it; ``None`` on the field when not reported (FCR space)."""

    MALE = "M"
    FEMALE = "F"
    OTHER = "O"  # CSENet: other, unborn or unknown


class AddressType(enum.StrEnum):
    """What an address is for; the same person can have several, each from a different source."""

    RESIDENTIAL = "residential"
    MAILING = "mailing"
    EMPLOYER = "employer"  # an employer's business address
    PAYROLL = "payroll"  # where income-withholding orders go (new-hire optional address, W4 554-751)
    PAYMENT = "payment"  # where support payments are sent (SDU, e-IWO payee, CSENet case block)
    CONTACT = "contact"  # a caseworker or agency contact
    OTHER = "other"


class Confirmation(enum.StrEnum):
    """Whether a source verified what it reports (CSENet confirmed indicators ``Y``/``N``/``P``)."""

    VERIFIED = "verified"
    NOT_VERIFIED = "not_verified"
    PARTIAL = "partial"  # partial address only


class IvdCaseType(enum.StrEnum):
    """IV-D (the agency provides services: FCR ``F``) or non-IV-D (a private case the state only records:
    FCR ``N``, CSENet ``V``); FPLS locate purposes and FCR rules differ between the two."""

    IV_D = "IV-D"
    NON_IV_D = "NON-IV-D"


class AssistanceType(enum.StrEnum):
    """Public-assistance category of a case (CSENet case type; UIFSA heading checkbox); it decides
    offset thresholds and who receives assigned arrears."""

    TANF = "tanf"
    FOSTER_CARE = "foster_care"
    MEDICAID_ONLY = "medicaid_only"
    FORMER_ASSISTANCE = "former_assistance"
    NEVER_ASSISTANCE = "never_assistance"
    NON_TANF = "non_tanf"  # CSENet N, obsolete since FPLS 01-01; kept so older transactions still parse
    TANF_ARREARS_ONLY = "tanf_arrears_only"  # CSENet R, obsolete
    FOSTER_CARE_ARREARS_ONLY = "foster_care_arrears_only"  # CSENet C, obsolete


class CaseStatus(enum.StrEnum):
    """Open or closed in the reporting state (CSENet Case-Status, Information Status-Change-Code)."""

    OPEN = "open"
    CLOSED = "closed"


# =========================================================================== enums: orders and payments


class Frequency(enum.StrEnum):
    """How often an amount is due. CSENet letters W/B/S/M/Q/E/A are confirmed; e-IWO letters other than
    ``M`` are not (employer-formats.md §1.5), so each adapter maps its own codes."""

    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    SEMIMONTHLY = "semimonthly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"
    OTHER = "other"  # the paper IWO's "other" box


class ControllingOrder(enum.StrEnum):
    """Whether an order controls under UIFSA's one-order rule (CSENet Controlling-Order-Flag ``P``/``D``)."""

    PRESUMED = "presumed"
    DETERMINED = "determined"  # a tribunal has determined it (Notice of Determination of Controlling Order)


class OrderType(enum.StrEnum):
    """Who issued a support order (CSENet Order-Type ``A``/``J``/``P``)."""

    ADMINISTRATIVE = "administrative"
    JUDICIAL = "judicial"
    PATERNITY = "paternity"


class DebtType(enum.StrEnum):
    """What an order is for (CSENet Debt-Type ``CS``/``SS``/``MS``)."""

    CHILD_SUPPORT = "child_support"
    SPOUSAL_SUPPORT = "spousal_support"
    MEDICAL_SUPPORT = "medical_support"


class ArrearsCategory(enum.StrEnum):
    """Which debt an arrears balance belongs to; assigned (TANF, foster care) arrears go to the state."""

    TANF = "tanf"
    NON_TANF = "non_tanf"
    FOSTER_CARE = "foster_care"
    MEDICAL = "medical"
    SPOUSAL = "spousal"
    INTEREST = "interest"
    OTHER = "other"


class MedicalSupportIndicator(enum.StrEnum):
    """DED06: whether the employer offers family medical coverage (employer-formats.md §2.1)."""

    YES = "Y"
    NO = "N"
    NOT_APPLICABLE = "W"  # later X12 releases: medical disposition does not apply to this deduction


class DedApplicationId(enum.StrEnum):
    """DED01 application identifier, X12 element 1511 (employer-formats.md §2.3, all 13 codes)."""

    CS = "CS"  # child support, employer withholding
    II = "II"  # interstate income withholding
    IT = "IT"  # interstate state tax offset
    IO = "IO"  # interstate, all others
    RI = "RI"  # interstate cost recovery, income withholding
    RT = "RT"  # interstate cost recovery, state tax offset
    RO = "RO"  # interstate cost recovery, all others
    IF = "IF"  # interstate FIDM collections
    RF = "RF"  # interstate cost recovery, FIDM
    UI = "UI"  # unemployment insurance payment
    DP = "DP"  # noncustodial parent or third-party payor
    FD = "FD"  # FI-to-FI transfer requested by a child support agency
    UC = "UC"  # unemployment compensation (X12 008050+; accept inbound, send only on request)


class CollectionSource(enum.StrEnum):
    """Where an interstate collection came from (CSENet Payment-Source)."""

    WAGE_ASSIGNMENT = "wage_assignment"  # A
    GARNISHMENT = "garnishment"  # G
    FEDERAL_TAX_OFFSET = "federal_tax_offset"  # I (IRS)
    STATE_TAX_OFFSET = "state_tax_offset"  # S
    UI_INTERCEPT = "ui_intercept"  # U
    NORMAL = "normal"  # N
    WORKERS_COMP = "workers_comp"  # W
    OTHER = "other"  # O


class PaymentMethod(enum.StrEnum):
    """How an interstate collection was forwarded (CSENet Interstate-Payment-Method)."""

    EFT = "eft"
    MANUAL = "manual"
    OTHER = "other"  # used for IRS offset money, which is not forwarded


# =========================================================================== enums: e-IWO


class EiwoActionCode(enum.StrEnum):
    """e-IWO Document Action Code (DTL 7-9, ACK 4-6), employer-formats.md §1.6 and §1.7.1."""

    ORG = "ORG"  # original: a new order for this case
    AMD = "AMD"  # amended
    TRM = "TRM"  # terminate withholding
    LUM = "LUM"  # withhold from a coming lump-sum payment
    EMP = "EMP"  # employer-initiated notice; acknowledgments only


class AckDisposition(enum.StrEnum):
    """ACK Record Disposition Status (154-155): ``A``/``R`` answer an order; ``T``/``L``/``S`` are the
    events of an employer-initiated (``EMP``) notice (employer-formats.md §1.7.2)."""

    ACCEPTED = "A"
    REJECTED = "R"
    TERMINATED = "T"
    LUMP_SUM = "L"
    SUSPENDED = "S"


class AckReason(enum.StrEnum):
    """ACK Disposition Reason Code (156-158); blank is ``None`` on the field."""

    NAME_MISMATCH = "B"  # SSN matches an employee, name differs
    DUPLICATE = "D"
    MULTIPLE_IWO = "M"  # same order already held from another state
    NOT_EMPLOYED = "N"
    OTHER = "O"
    SUSPENDED = "S"  # not currently on payroll
    UNKNOWN_EMPLOYEE = "U"
    WRONG_FEIN = "W"
    UNABLE_TO_PROCESS = "X"
    NO_IWO_TO_TERMINATE = "Z"  # only in answer to TRM


# Valid status/reason pairs (employer-formats.md §1.7.2, Kansas's matrix); Z is further limited to TRM.
ACK_REASONS: Final[Mapping[AckDisposition, frozenset[AckReason | None]]] = {
    AckDisposition.ACCEPTED: frozenset({None, AckReason.NAME_MISMATCH, AckReason.SUSPENDED, AckReason.WRONG_FEIN}),
    AckDisposition.REJECTED: frozenset(AckReason),
}
EMP_DISPOSITIONS: Final = frozenset({AckDisposition.TERMINATED, AckDisposition.LUMP_SUM, AckDisposition.SUSPENDED})


# =========================================================================== enums: federal programs


class OffsetCaseType(enum.StrEnum):
    """Federal offset Case Type Indicator: TANF cases offset at $150 arrears, non-TANF at $500."""

    TANF = "A"
    NON_TANF = "N"


class OffsetTransactionType(enum.StrEnum):
    """Federal offset Transaction Type, agency-formats.md §5.3."""

    ADD = "A"
    DELETE = "D"
    MODIFY = "M"  # change the arrears amount
    LOCAL_CODE = "L"
    REPLACE_EXCLUSIONS = "R"
    STATE_PAYMENT = "S"
    TRANSFER = "T"  # administrative review in the order state
    NAME_CHANGE = "B"
    CASE_ID_CHANGE = "C"
    ADDRESS_CHANGE = "Z"
    UPDATE = "U"  # appears in the 2013 chart; meaning unconfirmed


class OffsetExclusion(enum.StrEnum):
    """Federal offset exclusion codes, agency-formats.md §5.4: remedies this debt must not be sent to."""

    ADM = "ADM"  # all administrative offset
    RET = "RET"  # federal retirement
    SAL = "SAL"  # federal salary
    VEN = "VEN"  # vendor / miscellaneous payments
    TAX = "TAX"  # federal tax refund offset
    PAS = "PAS"  # passport denial
    FIN = "FIN"  # multistate financial institution data match
    INS = "INS"  # insurance match
    DCK = "DCK"  # debt check (FOP 05-01); the code itself is unconfirmed


class LocateRequestType(enum.StrEnum):
    """FCR Locate Request Type (agency-formats.md §4.3); it must agree with the authorized purpose."""

    CS = "CS"  # IV-D child support
    AD = "AD"  # exists (FCR 07-01); meaning unconfirmed
    PK = "PK"  # parental kidnapping
    CV = "CV"  # child custody or visitation


class AuthorizedPurpose(enum.StrEnum):
    """Why FPLS data may be requested (SSA §453(a)(2), §463); results may be shown only for it (§4.8)."""

    CHILD_SUPPORT = "child_support"
    PARENTAL_KIDNAPPING = "parental_kidnapping"
    CUSTODY_VISITATION = "custody_visitation"


class RequesterCategory(enum.StrEnum):
    """Who asked for a locate, per the authorized-person lists of SSA §453(c) and §463(d)(2)."""

    IV_D_AGENCY = "iv_d_agency"
    COURT = "court"
    AGENT_OF_CHILD = "agent_of_child"  # resident parent, guardian or their attorney (non-TANF)
    CHILD_WELFARE_AGENCY = "child_welfare_agency"  # state IV-B / IV-E
    CUSTODY_ENFORCEMENT_AGENT = "custody_enforcement_agent"  # state agent under §463
    FEDERAL_AGENT = "federal_agent"  # U.S. attorney or federal agent, kidnapping cases


class LocateMatchType(enum.StrEnum):
    """Why a locate result arrived (FCR ``FN`` NDNH Match Type ``L``/``N``/``P``)."""

    LOCATE_RESPONSE = "locate_response"  # answer to a locate request (also CSENet LO1 P)
    NDNH_PROACTIVE = "ndnh_proactive"  # new NDNH data matched a registered person
    FCR_PROACTIVE = "fcr_proactive"  # a person or case changed on the FCR and matched NDNH data


class FviStatus(enum.StrEnum):
    """Family Violence Indicator effect on a locate result (agency-formats.md §4.7)."""

    NONE = "none"
    BLOCKED = "blocked"  # disclosure prohibited: the result carries no location
    OVERRIDE = "override"  # released under a court's FV override order; for the court only


# =========================================================================== enums: interstate


class CsenetFunction(enum.StrEnum):
    """CSENet Functional-Type-Code (header 35-37)."""

    LO1 = "LO1"  # quick locate
    CSI = "CSI"  # case status information
    ENF = "ENF"  # enforcement
    EST = "EST"  # establishment
    PAT = "PAT"  # paternity
    COL = "COL"  # collection
    MSC = "MSC"  # managing state cases


class CsenetAction(enum.StrEnum):
    """CSENet Action-Code (header 34)."""

    REQUEST = "R"
    ACKNOWLEDGMENT = "A"
    PROVIDE = "P"
    REMINDER = "M"
    UPDATE = "U"
    CANCEL = "C"


class UifsaFormType(enum.StrEnum):
    """The OMB 0970-0085 intergovernmental forms (agency-formats.md §2.3)."""

    TRANSMITTAL_1 = "transmittal-1"
    TRANSMITTAL_2 = "transmittal-2"
    TRANSMITTAL_3 = "transmittal-3"
    UNIFORM_SUPPORT_PETITION = "uniform-support-petition"
    GENERAL_TESTIMONY = "general-testimony"
    DECLARATION_PARENTAGE = "declaration-parentage"
    NOTICE_CONTROLLING_ORDER = "notice-controlling-order"
    REGISTRATION_TRANSMITTAL = "registration-transmittal"
    LOCATE_REQUEST = "locate-request"
    PERSONAL_INFORMATION_311 = "personal-information-311"
    CONFIDENTIAL_INFORMATION = "confidential-information"
    CHANGE_PAYMENT_LOCATION_319 = "change-payment-location-319"


# =========================================================================== building blocks


class PersonName(CanonicalModel):
    """A person's name split into parts, as every format that names people sends it.

    Aliases, obligees and wage-record employees use it too. An organisation named where a person is
    expected (e-IWO obligee, DTL 323-379) goes in ``last``.
    """

    kind: Literal["person_name"] = "person_name"
    first: NameText | None = None
    middle: NameText | None = None
    last: NameText | None = None
    suffix: Text | None = None

    @model_validator(mode="after")
    def _named(self) -> Self:
        if self.first is None and self.last is None:
            raise ValueError("a name needs a first or a last part")
        return self


class Address(CanonicalModel):
    """A postal address as one source reported it, on one date.

    The gateway keeps every address with its ``source`` and ``as_of`` instead of overwriting one
    "current" address, because locate work weighs sources against each other (a confirmed CSENet
    address beats an old W-4) and FVI rules may forbid showing some of them.
    """

    kind: Literal["address"] = "address"
    address_type: AddressType = AddressType.RESIDENTIAL
    line1: SecretText | None = None
    line2: SecretText | None = None
    line3: SecretText | None = None  # W4: military designation or Canadian province
    city: SecretText | None = None
    state: UspsState | None = None
    zip5: Zip5 | None = None
    zip4: Zip4 | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = "US"  # FIPS PUB 10-4 country code
    foreign_postal_code: SecretText | None = None
    source: Text | None = None  # who reported it: adapter key or partner id, e.g. "eiwo-ack", "fcr:H98"
    as_of: IsoDate | None = None  # date learned or effective
    end_date: IsoDate | None = None  # date found invalid (CSENet last-known addresses)
    confirmed: Confirmation | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not (self.line1 or self.line2 or self.city or self.zip5 or self.foreign_postal_code):
            raise ValueError("an address needs at least a line, a city or a postal code")
        if self.as_of and self.end_date and self.end_date < self.as_of:
            raise ValueError("address end_date is before as_of")
        return self


class Contact(CanonicalModel):
    """Someone to call about a case or an order: a payroll office, a caseworker, a state contact.

    ``name`` is the name as a single text (e-IWO contact names are one 57-byte field);
    ``name_parts`` holds it split when the format splits it (CSENet case contact).
    """

    kind: Literal["contact"] = "contact"
    name: NameText | None = None
    name_parts: PersonName | None = None
    phone: Phone | None = None
    phone_extension: Text | None = None
    fax: Phone | None = None
    email: Email | None = None
    address: Address | None = None


class QuarterWage(CanonicalModel):
    """Wages one employer paid in one calendar quarter, as a locate source reports them
    (CSENet NCP Locate Wage-Qtr/Year/Amount)."""

    kind: Literal["quarter_wage"] = "quarter_wage"
    year: Year
    quarter: Quarter
    amount: NonNegativeMoney


class PeriodicAmount(CanonicalModel):
    """An amount due per period, such as "$250.00 monthly". Formats always pair the two (e-IWO
    amount + frequency fields, CSENet Order-Freq + Order-Freq-Amount) and require the frequency once
    the amount is above zero, so the model keeps them together."""

    kind: Literal["periodic_amount"] = "periodic_amount"
    amount: NonNegativeMoney
    frequency: Frequency | None = None

    @model_validator(mode="after")
    def _frequency_when_due(self) -> Self:
        if self.amount > 0 and self.frequency is None:
            raise ValueError("a non-zero periodic amount needs a frequency")
        return self


class ArrearsBalance(CanonicalModel):
    """Past-due support of one category over one period (CSENet Order block 98-209)."""

    kind: Literal["arrears_balance"] = "arrears_balance"
    category: ArrearsCategory
    amount: Money
    from_date: IsoDate | None = None
    thru_date: IsoDate | None = None

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.from_date and self.thru_date and self.thru_date <= self.from_date:
            raise ValueError("arrears thru_date must be after from_date")
        return self


# =========================================================================== core records


class Employer(CanonicalModel):
    """An employer (or other income payor) as a source reported it.

    Comes from new-hire W-4 records, e-IWOs and acknowledgments, quarterly wage records, CSENet NCP
    locate and participant blocks, and FCR locate responses. Like ``Address``, it carries ``source``,
    ``as_of``, ``end_date``, ``confirmed`` and ``reported_wages`` because the same employer reported by
    different sources at different times is evidence to weigh, not a record to overwrite.
    """

    kind: Literal["employer"] = "employer"
    fein: Fein | None = None
    state_ein: Text | None = None
    name: Text | None = None
    addresses: list[Address] = Field(default_factory=list)
    phone: Phone | None = None
    payroll_contact: Contact | None = None
    source: Text | None = None
    as_of: IsoDate | None = None  # employment effective date, or date reported
    end_date: IsoDate | None = None  # employment ended / found invalid
    confirmed: Confirmation | None = None
    reported_wages: list[QuarterWage] = Field(default_factory=list)

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if self.fein is None and self.name is None:
            raise ValueError("an employer needs a FEIN or a name")
        return self


class Person(CanonicalModel):
    """A person known to the agency: a case participant, an employee, a claimant, a locate subject.

    ``role`` is the part played in a case and is ``None`` where the record is not about a case (a new
    hire, a wage record). ``family_violence`` is the FVI (FCR ``FV``): when set, this person's
    location must not be disclosed without a court override (agency-formats.md §4.7).

    ``repr``/``str`` are masked (SSN as ``***-**-1234``, names as initials, birth date, addresses and
    phones hidden) so that an accidental log line never carries personal data; use the attributes or
    ``to_json_dict`` for the real values.
    """

    kind: Literal["person"] = "person"
    role: ParticipantRole | None = None
    ssn: Ssn | None = None
    name: PersonName | None = None
    aliases: list[PersonName] = Field(default_factory=list)
    alias_ssns: list[Ssn] = Field(default_factory=list)
    dob: PersonalDate | None = None
    dod: PersonalDate | None = None
    sex: Sex | None = None
    place_of_birth: SecretText | None = None
    addresses: list[Address] = Field(default_factory=list)
    employers: list[Employer] = Field(default_factory=list)
    home_phone: Phone | None = None
    work_phone: Phone | None = None
    member_id: Text | None = None  # the state's person id (FCR Member ID)
    family_violence: bool = False
    extra: Extra = Field(default_factory=dict)  # e.g. CSENet physical description, participant status

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if self.ssn is None and self.name is None and self.member_id is None:
            raise ValueError("a person needs an SSN, a name or a member id")
        return self


Participant = Person
"""Alias used where a ``Person`` is read as a case participant; the same class."""


class Order(CanonicalModel):
    """A support order: what a tribunal ordered, and how much is past due.

    Amounts come in frequency/amount pairs because every format carries them that way (e-IWO DTL
    27-43, CSENet Order block). ``per_period_amounts`` is the total withholding restated per pay cycle
    (e-IWO DTL 45-48), so an employer with a biweekly payroll does not have to convert.
    """

    kind: Literal["order"] = "order"
    order_id: Text | None = None  # court/administrative order number (e-IWO Order Identifier, CSENet)
    tribunal_number: Text | None = None  # tribunal case number / docket
    issuing_fips: LocatorCode | None = None
    issuing_tribunal: Text | None = None
    order_type: OrderType | None = None
    debt_type: DebtType | None = None
    filing_date: IsoDate | None = None  # date established
    start_date: IsoDate | None = None  # accrual start (CSENet Order-Effective-Date)
    end_date: IsoDate | None = None
    cancel_date: IsoDate | None = None
    current_support: PeriodicAmount | None = None
    past_due_support: PeriodicAmount | None = None  # arrears payment per period
    current_medical: PeriodicAmount | None = None  # cash medical support
    past_due_medical: PeriodicAmount | None = None
    current_spousal: PeriodicAmount | None = None
    past_due_spousal: PeriodicAmount | None = None
    other: PeriodicAmount | None = None
    other_description: Text | None = None
    total: PeriodicAmount | None = None
    per_period_amounts: dict[Frequency, NonNegativeMoney] = Field(default_factory=dict)
    arrears_total: Money | None = None  # may be negative (CSENet chart C-9: a credit balance)
    arrears_over_12_weeks: bool | None = None
    arrears_by_type: list[ArrearsBalance] = Field(default_factory=list)
    medical_ordered: bool | None = None
    last_payment_date: IsoDate | None = None
    controlling: ControllingOrder | None = None
    new_order: bool | None = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        for later in (self.end_date, self.cancel_date):
            if self.start_date and later and later <= self.start_date:
                raise ValueError("order end/cancel date must be after its start date")
        return self


class Case(CanonicalModel):
    """A child support case: its id and jurisdiction, type, participants and orders.

    FVI flags live on each participant (``Person.family_violence``) because the FCR sets them per
    person in a case; ``family_violence_persons`` lists them. The payment and contact fields come from
    the CSENet case block and UIFSA headings; ``case_id`` is optional because a CSENet quick-locate
    request is sent before the other state has a case.
    """

    kind: Literal["case"] = "case"
    case_id: CaseId | None = None
    fips: LocatorCode | None = None
    case_type: IvdCaseType | None = None
    assistance_type: AssistanceType | None = None
    status: CaseStatus | None = None
    has_order: bool | None = None  # FCR Order Indicator: the state has an order, details or not
    participants: list[Person] = Field(default_factory=list)
    orders: list[Order] = Field(default_factory=list)
    payment_address: Address | None = None
    payment_fips: LocatorCode | None = None
    contact: Contact | None = None
    responding_tribunal_number: Text | None = None
    initiating_tribunal_number: Text | None = None
    state_with_cej: UspsState | None = None  # continuing exclusive jurisdiction
    nondisclosure_finding: bool | None = None
    user_field: Text | None = None  # FCR: the state's own value, echoed back
    previous_case_id: CaseId | None = None  # FCR change: the id the case was added under

    @property
    def family_violence_persons(self) -> list[Person]:
        """Participants whose location must not be disclosed."""
        return [p for p in self.participants if p.family_violence]


# =========================================================================== employer exchanges


class IncomeWithholdingOrder(CanonicalModel):
    """An e-IWO document: the order telling an employer to withhold support (DTL record, Chart D-3,
    employer-formats.md §1.5-§1.6).

    The obligation amounts are in ``order``; the rest is what the employer needs to act: whom to pay
    (``payee_*``, whose remittance FIPS goes into DED08 of every payment), within how many days, the
    CCPA limit, and the state's contacts. The Portal's edit results on an ``S`` file fill
    ``portal_errors``. Fields without a canonical home (batch control numbers, fields a later
    Appendix D adds) go in ``extra``.
    """

    kind: Literal["income_withholding_order"] = "income_withholding_order"
    document_tracking_id: Text  # DTL 1548-1577; the ACK echoes it, the join key back to this order
    action: EiwoActionCode
    document_date: IsoDate
    issuing_state_name: Text  # full name of the issuing state/tribe/territory (DTL 18-52)
    issuing_jurisdiction_name: Text | None = None  # county/city/district/tribe
    case_id: CaseId
    employer: Employer
    employee: Person  # the obligor
    obligee: PersonName | None = None  # the CP, or an organisation in `last`
    children: list[Person] = Field(default_factory=list, max_length=6)
    order: Order
    governing_law_state_name: Text | None = None  # whose law governs (DTL 625-659)
    begin_withholding_within_days: int | None = Field(default=None, ge=0)
    start_instructions: Text | None = None
    start_date: IsoDate | None = None
    send_payment_within_days: int | None = Field(default=None, ge=0)
    ccpa_limit_percent: int | None = Field(default=None, ge=0, le=100)
    payee_name: Text | None = None  # SDU or tribal payee
    payee_address: Address | None = None
    payee_fips: LocatorCode | None = None  # remittance FIPS; becomes DED08 on payments
    remittance_id: Text | None = None  # quoted by the employer when remitting
    government_official_name: Text | None = None
    official_title: Text | None = None
    send_copy_to_employee: bool | None = None
    penalty_text: Text | None = None
    anti_discrimination_text: Text | None = None
    payee_limits_text: Text | None = None
    employee_contact: Contact | None = None  # the state's contact for the employee
    employer_contact: Contact | None = None  # the state's contact for the employer
    lump_sum_amount: NonNegativeMoney | None = None  # required with LUM
    document_image_text: Text | None = None
    portal_errors: list[Text] = Field(default_factory=list, max_length=2)  # failing element names (S file)
    portal_more_errors: bool = False  # the Portal's multiple-error indicator `T`
    extra: Extra = Field(default_factory=dict)

    @model_validator(mode="after")
    def _action_rules(self) -> Self:
        if self.action is EiwoActionCode.EMP:
            raise ValueError("EMP is an acknowledgment action; an e-IWO is ORG, AMD, TRM or LUM")
        if self.action is EiwoActionCode.LUM and not self.lump_sum_amount:
            raise ValueError("a LUM e-IWO needs a lump_sum_amount above zero")
        return self


class EmployerAck(CanonicalModel):
    """An employer's acknowledgment of an e-IWO, or an employer-initiated notice (ACK record,
    Chart D-4, employer-formats.md §1.7).

    Answers to an order have disposition ``A``/``R`` and echo ``document_tracking_id``; notices
    (action ``EMP``) report a termination, a coming lump sum or a suspension, matched on the SSN. The
    status/reason combinations and the data each reason requires are checked here so every adapter
    and the API enforce the same rules.
    """

    kind: Literal["employer_ack"] = "employer_ack"
    action: EiwoActionCode
    case_id: CaseId | None = None
    employer_fein: Fein | None = None
    employee: Person  # names, SSN, and on termination the last known address and phone
    document_tracking_id: Text | None = None
    order_id: Text | None = None
    disposition: AckDisposition
    reason: AckReason | None = None
    termination_date: IsoDate | None = None
    final_payment_date: IsoDate | None = None
    final_payment_amount: NonNegativeMoney | None = None
    new_employer: Employer | None = None
    lump_sum_date: IsoDate | None = None
    lump_sum_amount: NonNegativeMoney | None = None
    lump_sum_type: Text | None = None  # free text: bonus, commission, severance ...
    corrected_fein: Fein | None = None  # required with reason W
    multi_iwo_state: UspsState | None = None  # required with reason M
    portal_errors: list[Text] = Field(default_factory=list, max_length=2)  # K file
    portal_more_errors: bool = False
    extra: Extra = Field(default_factory=dict)

    @model_validator(mode="after")
    def _disposition_rules(self) -> Self:
        if self.action is EiwoActionCode.EMP:
            if self.disposition not in EMP_DISPOSITIONS:
                raise ValueError("an EMP notice has disposition T, L or S")
            if self.reason is not None:  # the event is the disposition itself (§1.7.2)
                raise ValueError("an EMP notice carries no reason code")
            return self
        allowed = ACK_REASONS.get(self.disposition)
        if allowed is None:
            raise ValueError("an answer to an e-IWO has disposition A or R")
        if self.reason not in allowed:
            raise ValueError("invalid disposition/reason combination")
        if self.reason is AckReason.NO_IWO_TO_TERMINATE and self.action is not EiwoActionCode.TRM:
            raise ValueError("reason Z is valid only in answer to TRM")
        if self.reason is AckReason.WRONG_FEIN and self.corrected_fein is None:
            raise ValueError("reason W needs corrected_fein")
        if self.reason is AckReason.MULTIPLE_IWO and self.multi_iwo_state is None:
            raise ValueError("reason M needs multi_iwo_state")
        return self


class NewHire(CanonicalModel):
    """A new-hire (W-4) report: employer → State Directory of New Hires → NDNH (employer-formats.md §3).

    A new-hire match must lead to an income-withholding notice within two business days of its entry
    in the SDNH (42 U.S.C. 653a(g)(1)), so the employer's payroll/IWO address
    (``address_type=PAYROLL``) travels with the employer. Salary and medical insurance are optional
    state extensions (W4 752-801, unconfirmed).
    """

    kind: Literal["new_hire"] = "new_hire"
    employee: Person
    employer: Employer
    hire_date: IsoDate
    state_of_hire: UspsState | None = None
    salary: NonNegativeMoney | None = None
    salary_frequency: Frequency | None = None
    medical_insurance_available: bool | None = None
    extra: Extra = Field(default_factory=dict)

    @model_validator(mode="after")
    def _reportable(self) -> Self:
        if self.employee.ssn is None:
            raise ValueError("a new-hire report needs the employee's SSN")
        if self.employer.fein is None:
            raise ValueError("a new-hire report needs the employer's FEIN")
        return self


class Payment(CanonicalModel):
    """A child support payment: one NACHA CCD+ entry with its ``DED`` addenda (employer-formats.md §2).

    ``ncp_name`` is the 10-character DED07 form (first 7 letters of the last name, first 3 of the first
    name, comma-separated when the last name is short), not a full name. Originator fields come from
    the NACHA batch header and entry detail so a payment can be traced back to its file.
    """

    kind: Literal["payment"] = "payment"
    application_id: DedApplicationId = DedApplicationId.CS
    case_id: CaseId  # DED02: case or court order number, as the receiving state chooses
    pay_date: IsoDate  # DED03
    amount: NonNegativeMoney  # DED04; zero only when reporting a termination
    ssn: Ssn  # DED05
    medical_support: MedicalSupportIndicator  # DED06
    ncp_name: Annotated[str, StringConstraints(pattern=r"^[^*\\]{1,10}$"), Pii.NAME] | None = None  # DED07
    fips: LocatorCode | None = None  # DED08, 5 or 7 characters
    employment_termination: bool = False  # DED09
    employer_fein: Fein | None = None
    company_name: Text | None = None  # batch header 5-20
    company_identification: Text | None = None  # batch header 41-50
    effective_date: IsoDate | None = None  # batch header effective entry date
    trace_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{15}$")] | None = None

    @model_validator(mode="after")
    def _zero_only_on_termination(self) -> Self:
        if not self.amount and not self.employment_termination:
            raise ValueError("a zero payment is allowed only when it reports an employment termination")
        return self


# =========================================================================== labor-department data


class WageRecord(CanonicalModel):
    """One employee's wages from one employer for one quarter: NDNH Quarterly Wage (QW) data,
    filed by state workforce agencies and returned through FCR proactive matches
    (agency-formats.md §3). Flat rather than nested because QW files run to millions of rows."""

    kind: Literal["wage_record"] = "wage_record"
    employee_ssn: Ssn
    employee_name: PersonName | None = None
    employer_fein: Fein | None = None
    employer_state_ein: Text | None = None
    employer_name: Text | None = None
    employer_address: Address | None = None
    year: Year
    quarter: Quarter
    wage_amount: NonNegativeMoney
    processed_date: IsoDate | None = None
    extra: Extra = Field(default_factory=dict)  # e.g. verification request code, military status

    @model_validator(mode="after")
    def _employer_identified(self) -> Self:
        if self.employer_fein is None and self.employer_state_ein is None and self.employer_name is None:
            raise ValueError("a wage record needs the employer's FEIN, state EIN or name")
        return self


class UIClaim(CanonicalModel):
    """An unemployment-insurance claim with the benefit paid in a quarter: NDNH UI data from a state
    workforce agency (SWA), agency-formats.md §3. UI benefits can be withheld for support (DED ``UI``)."""

    kind: Literal["ui_claim"] = "ui_claim"
    claimant_ssn: Ssn
    claimant_name: PersonName | None = None
    claimant_address: Address | None = None
    benefit_amount: NonNegativeMoney
    year: Year  # reporting period
    quarter: Quarter
    claim_date: IsoDate | None = None
    processed_date: IsoDate | None = None
    swa_state_fips: StateFips | None = None  # NDNH transmitter state code (FIPS, not USPS)
    extra: Extra = Field(default_factory=dict)


# =========================================================================== federal offset


class OffsetCase(CanonicalModel):
    """A case submitted to, or changed in, the federal offset program (Case Submission and Update
    record, agency-formats.md §5.2). One submission feeds tax refund offset, administrative offset,
    passport denial and FIDM unless ``exclusions`` opt out."""

    kind: Literal["offset_case"] = "offset_case"
    submitting_state: UspsState  # USPS code here, unlike most OCSE files
    local_code: Text | None = None
    ssn: TaxpayerId
    case_id: CaseId | None = None
    ncp_name: PersonName
    arrears_amount: NonNegativeMoney | None = None  # whole dollars on the wire
    transaction_type: OffsetTransactionType
    case_type: OffsetCaseType | None = None
    transfer_state: UspsState | None = None
    transfer_local_code: Text | None = None
    process_year: Year | None = None  # offset year a state payment applies to
    address: Address | None = None
    pre_offset_notice_date: IsoDate | None = None
    exclusions: list[OffsetExclusion] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _transaction_rules(self) -> Self:
        t = self.transaction_type
        if t in (OffsetTransactionType.ADD, OffsetTransactionType.CASE_ID_CHANGE) and self.case_id is None:
            raise ValueError("transaction types A and C need case_id")
        if t is OffsetTransactionType.ADD and (self.ncp_name.first is None or self.arrears_amount is None):
            raise ValueError("an Add needs the NCP's first name and the arrears amount")
        if t is OffsetTransactionType.STATE_PAYMENT and self.process_year is None:
            raise ValueError("a state payment (S) needs process_year")
        if t is OffsetTransactionType.TRANSFER and self.transfer_state is None:
            raise ValueError("a transfer (T) needs transfer_state")
        if self.exclusions and t not in (OffsetTransactionType.ADD, OffsetTransactionType.REPLACE_EXCLUSIONS):
            raise ValueError("exclusions are valid only on A and R transactions")
        if len(set(self.exclusions)) != len(self.exclusions):
            raise ValueError("exclusions repeat a code")
        return self


class OffsetCollection(CanonicalModel):
    """An offset collection or adjustment reported back to the state (Collection and Adjustment
    record, agency-formats.md §5.6). A record is either a collection or an adjustment (reversal),
    never both; joint-return money may be held up to six months."""

    kind: Literal["offset_collection"] = "offset_collection"
    submitting_state: UspsState
    local_code: Text | None = None
    ssn: TaxpayerId
    case_id: CaseId
    ncp_name: PersonName
    certified_arrears: Money | None = None
    collection_amount: NonNegativeMoney = Decimal("0.00")
    adjustment_amount: NonNegativeMoney = Decimal("0.00")
    offset_date: IsoDate | None = None
    tax_year: Year | None = None
    case_type: OffsetCaseType | None = None
    joint_return: bool | None = None
    injured_spouse: bool | None = None  # position 225: an injured-spouse claim was processed
    trace_number: Text | None = None  # TOP trace number
    extra: Extra = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind_of_amount(self) -> Self:
        if self.collection_amount and self.adjustment_amount:
            raise ValueError("a record carries a collection or an adjustment, not both")
        return self


# =========================================================================== locate


class LocateRequest(CanonicalModel):
    """A request to find a person, sent to the FCR (``FP`` record), to another state (CSENet LO1 R) or
    on the Child Support Locate Request form (agency-formats.md §4.3, §4.8).

    Federal law limits who may ask and why, and results may only be shown for the purpose asked, so
    ``purpose`` is required and must agree with the FCR ``request_type``.
    """

    kind: Literal["locate_request"] = "locate_request"
    person: Person
    case_id: CaseId | None = None
    request_type: LocateRequestType = LocateRequestType.CS
    purpose: AuthorizedPurpose
    requester: RequesterCategory | None = None
    sources: list[Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3}$")]] = Field(
        default_factory=lambda: ["ALL"], min_length=1, max_length=8
    )  # "ALL" or agency codes from mappings/codes/fcr_locate_agency.csv
    irs_1099: bool = False
    extra: Extra = Field(default_factory=dict)

    @model_validator(mode="after")
    def _purpose_matches_type(self) -> Self:
        expected = _PURPOSE_OF_TYPE.get(self.request_type)
        if expected is not None and self.purpose is not expected:
            raise ValueError(f"locate request type {self.request_type} is for purpose {expected}")
        return self


_PURPOSE_OF_TYPE: Final[Mapping[LocateRequestType, AuthorizedPurpose]] = {
    LocateRequestType.CS: AuthorizedPurpose.CHILD_SUPPORT,
    LocateRequestType.PK: AuthorizedPurpose.PARENTAL_KIDNAPPING,
    LocateRequestType.CV: AuthorizedPurpose.CUSTODY_VISITATION,
}


class LocateResult(CanonicalModel):
    """What a locate source found about a person: FCR ``FF``/``FN``/``FK`` responses and proactive
    matches, CSENet LO1 responses and NCP Locate blocks (agency-formats.md §1.5, §4.5-§4.6).

    ``source_agency_code`` names the federal source (``H98`` NDNH QW, ``E05`` SVES Title II, ... from
    ``mappings/codes/fcr_locate_agency.csv``); ``returned_by`` names the channel it came through. A
    result whose ``fvi`` is ``BLOCKED`` carries no location (nor income record) at all: the model refuses
    one that does, so an adapter cannot pass a protected address on by mistake.
    """

    kind: Literal["locate_result"] = "locate_result"
    person: Person | None = None  # identity as matched, plus aliases and phones when reported
    case_id: CaseId | None = None
    source_agency_code: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{3}$")] | None = None
    returned_by: Text | None = None  # channel: adapter key or partner id, e.g. "fcr", "csenet:06000"
    match_type: LocateMatchType | None = None
    date_reported: IsoDate | None = None
    addresses: list[Address] = Field(default_factory=list)
    employers: list[Employer] = Field(default_factory=list)
    confidence: Confirmation | None = None
    fvi: FviStatus = FviStatus.NONE
    response_code: Text | None = None  # FCR locate response code (06, 10, 39 ...)
    name_match_code: Text | None = None  # FPLS/NDNH name sent/matched indicator
    # the income record an NDNH match reports (FCR FN: QW wage, UI claim or W-4 new hire), §3.4
    income: WageRecord | UIClaim | NewHire | None = None
    extra: Extra = Field(default_factory=dict)

    @model_validator(mode="after")
    def _blocked_means_empty(self) -> Self:
        if self.fvi is FviStatus.BLOCKED:
            p = self.person
            located = p is not None and bool(p.addresses or p.employers or p.home_phone or p.work_phone)
            if self.addresses or self.employers or self.income or located:
                raise ValueError("a result blocked by the family violence indicator must carry no location")
        return self


# =========================================================================== interstate


class Collection(CanonicalModel):
    """A collection reported between states (CSENet Collection block, 70 bytes); negative amounts
    report adjustments (COL P CITAX)."""

    kind: Literal["collection"] = "collection"
    collection_date: IsoDate | None = None
    posting_date: IsoDate | None = None
    amount: Money
    source: CollectionSource | None = None
    method: PaymentMethod | None = None
    rdfi_id: Text | None = None
    rdfi_account: SecretText | None = None


class InterstateTransaction(CanonicalModel):
    """One CSENet transaction: the header plus the data blocks it announces (agency-formats.md §1).

    Case ids and FIPS codes are from the point of view of the state holding the record (the CSENet
    server swaps them on delivery): ``case_id``/``local_fips`` are ours, ``other_*`` the partner's.
    There are no block-indicator fields: the adapter derives them from which blocks are present, so they
    cannot disagree. Function/action/reason combinations are validated by the CSENet adapter against IGD
    Appendix B; the model checks only the reason's shape.
    """

    kind: Literal["interstate_transaction"] = "interstate_transaction"
    serial_number: int = Field(ge=1, le=999_999_999_999)
    function: CsenetFunction
    action: CsenetAction
    reason: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{5}$")] | None = None
    local_fips: LocatorCode
    other_fips: LocatorCode
    case_id: CaseId | None = None
    other_case_id: CaseId | None = None
    transaction_date: IsoDate
    action_resolution_date: IsoDate | None = None
    attachments: bool = False
    sent_date: IsoDate | None = None  # outbound header tail
    sent_time: IsoTime | None = None
    received_date: IsoDate | None = None  # inbound header tail
    received_time: IsoTime | None = None
    case: Case | None = None
    ncp: Person | None = None  # NCP Identification block
    ncp_locate: LocateResult | None = None  # NCP Locate block
    participants: list[Person] = Field(default_factory=list, max_length=9)
    orders: list[Order] = Field(default_factory=list, max_length=9)
    collections: list[Collection] = Field(default_factory=list, max_length=9)
    status_change: CaseStatus | None = None  # Information block
    new_case_id: CaseId | None = None
    information_text: list[SecretText] = Field(default_factory=list, max_length=5)
    extra: Extra = Field(default_factory=dict)

    @model_validator(mode="after")
    def _attachments_listed(self) -> Self:
        if self.attachments and not self.information_text:
            raise ValueError("attachments=True needs information_text listing the attachments")
        return self


class UifsaAgency(CanonicalModel):
    """One side of a UIFSA form heading ("To" = responding, "From" = initiating): the agency and its
    identifiers for the case (agency-formats.md §2.2)."""

    kind: Literal["uifsa_agency"] = "uifsa_agency"
    name: Text | None = None
    address: Address | None = None
    locator_code: LocatorCode | None = None
    state: UspsState | None = None
    case_id: CaseId | None = None
    tribunal_number: Text | None = None


class UifsaForm(CanonicalModel):
    """A UIFSA intergovernmental form (OMB 0970-0085): a document, not a data format
    (agency-formats.md §2). The common heading is modelled; each form's own sections go in ``body``
    keyed by section/item. ``transaction_serial`` links the form to the CSENet transaction whose
    Information block announced it as an attachment."""

    kind: Literal["uifsa_form"] = "uifsa_form"
    form: UifsaFormType
    form_date: IsoDate | None = None
    petitioner: PersonName | None = None
    petitioner_tribe: Text | None = None
    respondent: PersonName | None = None
    respondent_tribe: Text | None = None
    case_type: IvdCaseType | None = None
    assistance_type: AssistanceType | None = None
    responding: UifsaAgency | None = None
    initiating: UifsaAgency | None = None
    payment_name: Text | None = None  # "Send Payments To" payee: an SDU or agency, not a person
    payment_address: Address | None = None
    payment_locator_code: LocatorCode | None = None
    payment_state: UspsState | None = None
    nondisclosure_attached: bool = False
    sent_via_ede: bool = False
    sent_via_csenet: bool = False
    confidential_info_attached: bool = False
    transaction_serial: int | None = Field(default=None, ge=1, le=999_999_999_999)
    body: Extra = Field(default_factory=dict)


# =========================================================================== one union, JSON helpers

CanonicalRecord = Annotated[
    Person
    | Employer
    | Order
    | Case
    | IncomeWithholdingOrder
    | EmployerAck
    | NewHire
    | Payment
    | WageRecord
    | UIClaim
    | OffsetCase
    | OffsetCollection
    | LocateRequest
    | LocateResult
    | InterstateTransaction
    | UifsaForm,
    Field(discriminator="kind"),
]
"""Any top-level canonical record, told apart by ``kind``."""

CANONICAL: TypeAdapter[CanonicalRecord] = TypeAdapter(
    CanonicalRecord,
    config=ConfigDict(hide_input_in_errors=True, defer_build=True),  # a bad tag must not echo the record
)

RECORD_TYPES: Final[Mapping[str, type[CanonicalModel]]] = {
    cls.model_fields["kind"].default: cls for cls in get_args(get_args(CanonicalRecord)[0])
}
"""``kind`` → class, for callers that dispatch on the record kind."""


def to_json_dict(model: CanonicalModel) -> dict[str, Any]:
    """The record as JSON-native data (dates ISO, money as decimal text, enums as values), ``kind``
    included, ready for ``json.dumps``/``orjson`` and for ``from_json_dict``."""
    return model.model_dump(mode="json")


def from_json_dict(data: Mapping[str, Any]) -> CanonicalRecord:
    """Validate JSON data from ``to_json_dict`` (or the API) back into the record its ``kind`` names.

    Raises ``pydantic.ValidationError`` (a ``ValueError``) whose message carries no input values."""
    return CANONICAL.validate_python(data)


__all__ = [
    "ACK_REASONS",
    "CANONICAL",
    "CENT",
    "EMP_DISPOSITIONS",
    "RECORD_TYPES",
    "USPS_STATE_CODES",
    "AckDisposition",
    "AckReason",
    "Address",
    "AddressType",
    "ArrearsBalance",
    "ArrearsCategory",
    "AssistanceType",
    "AuthorizedPurpose",
    "CanonicalModel",
    "CanonicalRecord",
    "Case",
    "CaseId",
    "CaseStatus",
    "Collection",
    "CollectionSource",
    "Confirmation",
    "Contact",
    "ControllingOrder",
    "CsenetAction",
    "CsenetFunction",
    "DebtType",
    "DedApplicationId",
    "EiwoActionCode",
    "Email",
    "Employer",
    "EmployerAck",
    "Fein",
    "Frequency",
    "FviStatus",
    "IncomeWithholdingOrder",
    "InterstateTransaction",
    "IsoDate",
    "IsoTime",
    "IvdCaseType",
    "LocateMatchType",
    "LocateRequest",
    "LocateRequestType",
    "LocateResult",
    "LocatorCode",
    "MedicalSupportIndicator",
    "Money",
    "NewHire",
    "NonNegativeMoney",
    "OffsetCase",
    "OffsetCaseType",
    "OffsetCollection",
    "OffsetExclusion",
    "OffsetTransactionType",
    "Order",
    "OrderType",
    "Participant",
    "ParticipantRole",
    "Payment",
    "PaymentMethod",
    "PeriodicAmount",
    "Person",
    "PersonName",
    "PersonalDate",
    "Phone",
    "Pii",
    "QuarterWage",
    "RequesterCategory",
    "Sex",
    "Ssn",
    "StateFips",
    "TaxpayerId",
    "Text",
    "UIClaim",
    "UifsaAgency",
    "UifsaForm",
    "UifsaFormType",
    "UspsState",
    "WageRecord",
    "Zip4",
    "Zip5",
    "from_json_dict",
    "masked_ssn",
    "to_json_dict",
]
