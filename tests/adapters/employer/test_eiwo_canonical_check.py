"""Skipping the canonical build loses nothing: ``refusal_possible`` flags every e-IWO detail and every
acknowledgment the canonical model refuses, parse rejects exactly those with the error the eager build
gave, and the record built on demand is the one parse would have built."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from adapters.base import DeferredParsed, Parsed
from adapters.canonical import EmployerAck, IncomeWithholdingOrder
from adapters.employer import eiwo, eiwo_ack
from adapters.employer.eiwo_common import ModelRules
from adapters.errors import RecordError
from adapters.layout import Field, Layout

from ..fixturekit import FIXTURES, run_parse

IWO, ACKS = FIXTURES / "employer" / "eiwo", FIXTURES / "employer" / "eiwo-ack"
IWO_ADAPTER, ACK_ADAPTER = eiwo.EiwoAdapter(), eiwo_ack.EiwoAckAdapter()


def candidates(f: Field) -> list[str]:
    """Replacement texts for one field: blank and the values the canonical model is strictest about."""
    n = f.length
    out = [" " * n]
    if f.type in ("alnum", "alpha"):
        texts = ("A@B", "A B@C", "@X", "Z", "ZZ", "KS", " X", "X*Y", "X\\Y", "0")
        out += [s.ljust(n) for s in texts if len(s) <= n]
    elif f.type in ("digits", "ssn", "numeric"):
        out += ["0" * n, ("07" + "1" * n)[:n], ("48" + "1" * n)[:n], "9" * n]
    elif f.type == "amount":
        out += ["0" * n, "1".rjust(n, "0")]
    elif f.type == "code":
        out += [c.ljust(n, f.pad) for c in f.codes]
    elif f.type == "date":
        out += ["0" * n, "20240229", "20991231"]
    return out


def put(line: bytes, layout: Layout, texts: Mapping[str, str]) -> bytes:
    """``line`` with the named fields' raw text replaced (padded with blanks to the field's width)."""
    for f in layout.data_fields:
        if f.name in texts:
            line = line[: f.start - 1] + texts[f.name].ljust(f.length).encode() + line[f.end :]
    return line


def records(folder: Any, names: tuple[str, ...], code: bytes) -> list[bytes]:
    return [r for name in names for r in (folder / name).read_bytes().split(b"\n") if r[:3] == code]


def mutations(bases: list[bytes], layout: Layout) -> Iterator[bytes]:
    """Each candidate text of each field, put into two of the valid ``bases`` (taking turns)."""
    turn = 0
    for f in layout.data_fields:
        for text in candidates(f):
            for _ in range(2):
                turn += 1
                yield put(bases[turn % len(bases)], layout, {f.name: text})


def envelope(folder: Any, name: str, record: bytes) -> bytes:
    """A file of one record between a fixture's file header and trailer, without a batch header: no
    batch EIN, so the FEIN reaches the canonical check (the missing batch header is a file fault)."""
    lines = (folder / name).read_bytes().split(b"\n")
    return b"\n".join((lines[0], record, lines[-2], b""))


# --------------------------------------------------------------------------- e-IWO detail

DTL_BASES = records(
    IWO,
    ("iwo-all-actions-one-employer.txt", "iwo-contacts-and-notice-texts.txt", "iwo-six-children.txt"),
    b"DTL",
)
CHILD_PARTS = ("last_name", "first_name", "middle_name", "suffix", "birth_date")
CONTACT_ADDRESS = [f"employer_contact_{p}" for p in ("address_line1", "address_line2", "city", "state", "zip", "zip4")]


def dtl_multi_field() -> Iterator[bytes]:
    """What one mutation never makes: a child slot or the employer contact's address with parts but
    without what the model needs."""
    for base, slot in itertools.product(DTL_BASES, (1, 3, 6)):
        names = {f"child{slot}_{p}": "" for p in CHILD_PARTS}
        for part, text in (("middle_name", "ANN"), ("suffix", "JR"), ("birth_date", "20150101"), ("last_name", "X")):
            yield put(base, eiwo.DETAIL, names | {f"child{slot}_{part}": text})
    for base in DTL_BASES:
        blank = dict.fromkeys(CONTACT_ADDRESS, "")
        for name, text in (("state", "KS"), ("zip4", "1234"), ("state", "ZZ"), ("city", "TOPEKA")):
            yield put(base, eiwo.DETAIL, blank | {f"employer_contact_{name}": text})
    for base in DTL_BASES:  # an action code with what it requires, whatever the base
        for action in ("ORG", "LUM", "TRM"):
            amounts = {"lump_sum_amount": "00000150000" if action == "LUM" else "0" * 11}
            yield put(base, eiwo.DETAIL, {"action_code": action, **amounts})


DTL_MUTATED = [*mutations(DTL_BASES, eiwo.DETAIL), *dtl_multi_field()]


def detail_data(raw: bytes) -> dict[str, Any]:
    """The data of one detail as parse checks it before the canonical check (raises ``RecordError``)."""
    data = eiwo.DETAIL.parse(raw)
    eiwo.check_detail(data)
    return data


def parse_detail(raw: bytes) -> Any:
    """The result parse gives for one detail; None when it reads as a Portal result (text in the filler:
    that path is unchanged)."""
    parsed = run_parse(IWO_ADAPTER, envelope(IWO, "iwo-org-single.txt", raw))
    (result,) = [r for r in (*parsed.parsed, *parsed.rejected) if r.type in ("detail", "result_detail")]
    return None if result.type == "result_detail" else result


def only_record(outcome_of: Any, rtype: str) -> Any:
    (found,) = [r for r in (*outcome_of.parsed, *outcome_of.rejected) if r.type == rtype]
    return found


def test_detail_canonical_is_built_on_first_read_from_the_data_as_parsed() -> None:
    parsed = run_parse(IWO_ADAPTER, (IWO / "iwo-six-children.txt").read_bytes())
    detail = only_record(parsed, "detail")
    assert isinstance(detail, DeferredParsed)
    expected = eiwo.order_from_dtl(detail.data)
    detail.data["case_id"] = "CHANGED"
    detail.data["employer_fein"] = "000000000"
    first = detail.canonical
    assert first == expected and detail.canonical is first and first.case_id != "CHANGED"


# --------------------------------------------------------------------------- acknowledgments

ACK_BASES = records(
    ACKS,
    (
        "ack-accepted.txt",
        "ack-accepted-wrong-fein.txt",
        "ack-rejected-multiple-iwo.txt",
        "ack-rejected-not-employed.txt",
        "emp-terminated.txt",
        "emp-lump-sum.txt",
    ),
    b"ACK",
)
NCP_ADDRESS = [f"ncp_{p}" for p in ("address_line1", "address_line2", "city", "state", "zip", "zip4")]
NEW_EMPLOYER = ["new_employer_name"] + [
    f"new_employer_{p}" for p in ("address_line1", "address_line2", "city", "state", "zip", "zip4")
]
NAMES = ("employee_last_name", "employee_first_name", "employee_middle_name", "employee_suffix")


def ack_multi_field() -> Iterator[bytes]:
    """An employee without a name, addresses and a new employer with parts missing, and every
    action/status/reason combination carrying the data its reason needs."""
    for base in ACK_BASES:
        unnamed = dict.fromkeys(NAMES, "")
        for extra in ({}, {"employee_ssn": ""}, {"employee_middle_name": "Q"}, {"employee_suffix": "JR"}):
            yield put(base, eiwo_ack.ACK, unnamed | extra)
        for name, text in (("state", "KS"), ("zip4", "1234"), ("state", "ZZ"), ("zip", "66603")):
            yield put(base, eiwo_ack.ACK, dict.fromkeys(NCP_ADDRESS, "") | {f"ncp_{name}": text})
        for name, text in (("city", "TOPEKA"), ("state", "KS"), ("name", "OTHER CO")):
            yield put(base, eiwo_ack.ACK, dict.fromkeys(NEW_EMPLOYER, "") | {f"new_employer_{name}": text})
    codes = itertools.product(("ORG", "AMD", "TRM", "LUM", "EMP"), "ARTLS", (" ", *"BDMNOSUWXZ"))
    for (action, status, reason), base in zip(codes, itertools.cycle(ACK_BASES), strict=False):
        needs = {
            "corrected_fein": "481234567" if reason == "W" else "",
            "multi_iwo_state": "MO" if reason == "M" else "",
        }
        yield put(
            base,
            eiwo_ack.ACK,
            {"action_code": action, "disposition_status": status, "disposition_reason": reason} | needs,
        )


ACK_MUTATED = [*mutations(ACK_BASES, eiwo_ack.ACK), *ack_multi_field()]


def ack_data(raw: bytes) -> dict[str, Any]:
    """The data of one ACK as parse checks it before the canonical check (raises ``RecordError``)."""
    data = eiwo_ack.ACK.parse(raw)
    data["disposition_status"] = eiwo_ack._first(data["disposition_status"])
    data["disposition_reason"] = eiwo_ack._first(data["disposition_reason"])
    eiwo_ack.check_ack(data)
    return data


def parse_ack(raw: bytes) -> Any:
    return only_record(run_parse(ACK_ADAPTER, envelope(ACKS, "ack-accepted.txt", raw)), "ack")


# --------------------------------------------------------------------------- both forms


@dataclasses.dataclass(frozen=True)
class Form:
    """One record kind under test: its mutated lines and how parse reads them, step by step."""

    mutated: list[bytes]
    checked: Callable[[bytes], dict[str, Any]]  # layout and rules, before the canonical check
    build: Callable[[dict[str, Any]], Any]  # the eager canonical build parse did (raises RecordError)
    refusal_possible: Callable[[dict[str, Any]], bool]
    parse_one: Callable[[bytes], Any]
    refusals: tuple[str, ...]  # every kind of refusal the model has for this record

    def eager(self, raw: bytes) -> Any:
        """What parse gave for one record before it deferred the canonical record: it, or the error."""
        try:
            return self.build(self.checked(raw))
        except RecordError as err:
            return err


DETAIL_FORM = Form(
    DTL_MUTATED,
    detail_data,
    eiwo.to_order,
    eiwo.refusal_possible,
    parse_detail,
    (
        "FEIN prefix is not one the IRS assigns",
        "state must be a USPS two-letter code",
        "employee_contact_email (positions",
        "employer_contact_email (positions",
        "a name needs a first or a last part",
        "a person needs an SSN, a name or a member id",
        "an address needs at least a line, a city or a postal code",
        "document_date (positions",
    ),
)
ACK_FORM = Form(
    ACK_MUTATED,
    ack_data,
    eiwo_ack.ack_from_record,
    eiwo_ack.refusal_possible,
    parse_ack,
    (
        "case_id (positions",
        "employer_fein (positions",
        "corrected_fein (positions",
        "state must be a USPS two-letter code",
        "a name needs a first or a last part",
        "a person needs an SSN, a name or a member id",
        "an address needs at least a line, a city or a postal code",
        "an employer needs a FEIN or a name",
    ),
)
FORMS = pytest.mark.parametrize("form", [DETAIL_FORM, ACK_FORM], ids=["detail", "ack"])


@FORMS
def test_the_mutations_reach_every_refusal_the_model_has(form: Form) -> None:
    found = {r.message for r in map(form.eager, form.mutated) if isinstance(r, RecordError)}
    for why in form.refusals:
        assert any(why in message for message in found), why


@FORMS
def test_refusal_possible_flags_every_record_the_model_refuses(form: Form) -> None:
    flagged = refused = 0
    for raw in form.mutated:
        try:
            data = form.checked(raw)
        except RecordError:
            continue
        possible = form.refusal_possible(data)
        flagged += possible
        try:
            form.build(data)
        except RecordError:
            refused += 1
            assert possible, f"refused but not flagged: {raw[:12]!r}"
    assert 0 < refused <= flagged


def outcome(result: Any) -> Any:
    """A parse result as a caller sees it: the canonical record, or the error."""
    if isinstance(result, Parsed):
        return result.canonical
    return (result.code, result.message, result.field)


@FORMS
def test_parse_rejects_and_builds_exactly_what_the_eager_parse_did(form: Form) -> None:
    deferred = 0
    for raw in form.mutated:
        result = form.parse_one(raw)
        if result is None:
            continue
        deferred += isinstance(result, DeferredParsed)
        expected = form.eager(raw)
        if isinstance(expected, RecordError):
            assert outcome(result) == (expected.code, expected.message, expected.field)
        else:
            assert outcome(result) == expected
    assert deferred > len(form.mutated) // 3


def test_ack_canonical_is_built_on_first_read_from_the_data_as_parsed() -> None:
    result = only_record(run_parse(ACK_ADAPTER, (ACKS / "ack-rejected-not-employed.txt").read_bytes()), "ack")
    assert isinstance(result, DeferredParsed)
    expected = eiwo_ack.ack_from_record(result.data)
    result.data["case_id"] = "*"
    first = result.canonical
    assert first == expected and result.canonical is first and first.case_id != "*"


# --------------------------------------------------------------------------- the model's own rules


@pytest.mark.parametrize(
    ("rules", "key", "ok"),
    [
        (eiwo._ORDER_RULES, ("ORG", False), True),
        (eiwo._ORDER_RULES, ("LUM", False), False),  # a LUM order needs a lump sum
        (eiwo._ORDER_RULES, ("LUM", True), True),
        (eiwo._ORDER_RULES, ("EMP", True), False),  # an acknowledgment action
        (eiwo._ORDER_RULES, ("XYZ", False), False),  # a code the model's type refuses
        (eiwo_ack._ACK_RULES, ("ORG", "R", "Z", False, False), False),  # Z answers TRM only
        (eiwo_ack._ACK_RULES, ("TRM", "R", "Z", False, False), True),
        (eiwo_ack._ACK_RULES, ("ORG", "A", "W", False, False), False),  # W needs the corrected FEIN
        (eiwo_ack._ACK_RULES, ("ORG", "A", "W", True, False), True),
        (eiwo_ack._ACK_RULES, ("EMP", "T", None, False, False), True),
    ],
)
def test_model_rules_are_the_models_validators(rules: ModelRules, key: tuple[Any, ...], ok: bool) -> None:
    assert rules[key] is ok


KEYS = [
    (IncomeWithholdingOrder, eiwo._ORDER_RULES, [("ORG", False), ("LUM", True), ("LUM", False)]),
    (EmployerAck, eiwo_ack._ACK_RULES, [("TRM", "R", "Z", False, False), ("ORG", "A", "W", True, False)]),
    (EmployerAck, eiwo_ack._ACK_RULES, [("ORG", "R", "M", False, True), ("EMP", "L", None, False, False)]),
]


@pytest.mark.parametrize(("model", "rules", "keys"), KEYS)
def test_model_rules_read_no_field_outside_their_key(
    model: type[Any], rules: ModelRules, keys: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The validators run on a record that holds only the key's fields: a rule reading another field
    would see its default, so it would have to join the key. Every field they read is recorded."""
    read: set[str] = set()
    get: Callable[[Any, str], Any] = object.__getattribute__

    def spy(self: Any, name: str) -> Any:
        if name in model.model_fields:
            read.add(name)
        return get(self, name)

    monkeypatch.setattr(model, "__getattribute__", spy)
    for key in keys:
        rules._judge(key)
    monkeypatch.undo()
    assert read and read <= {*rules.codes, *rules.given}


def test_a_rule_table_looser_than_the_model_still_rejects_what_the_model_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The code tables agree with the model's rules today; edited to disagree, parse still rejects."""
    monkeypatch.setitem(eiwo.ACTIONS, "LUM", ((), ()))  # LUM no longer requires its lump sum
    lum = put(DTL_BASES[3], eiwo.DETAIL, {"lump_sum_amount": "0" * 11})
    result = only_record(run_parse(IWO_ADAPTER, envelope(IWO, "iwo-org-single.txt", lum)), "detail")
    expected = DETAIL_FORM.eager(lum)
    assert isinstance(expected, RecordError) and "a LUM e-IWO needs a lump_sum_amount" in expected.message
    assert outcome(result) == (expected.code, expected.message, expected.field)
    rule = eiwo_ack.DISPOSITIONS[("R", "Z")]
    monkeypatch.setitem(eiwo_ack.DISPOSITIONS, ("R", "Z"), dataclasses.replace(rule, actions=frozenset({"ORG"})))
    org_z = put(ACK_BASES[0], eiwo_ack.ACK, {"disposition_status": "R", "disposition_reason": "Z"})
    result = only_record(run_parse(ACK_ADAPTER, envelope(ACKS, "ack-accepted.txt", org_z)), "ack")
    expected = ACK_FORM.eager(org_z)
    assert isinstance(expected, RecordError) and "reason Z is valid only in answer to TRM" in expected.message
    assert outcome(result) == (expected.code, expected.message, expected.field)
