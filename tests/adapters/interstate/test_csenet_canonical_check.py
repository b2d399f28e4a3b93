"""Skipping the canonical build loses nothing: ``refusal_possible`` flags every transaction the canonical
model refuses, parse rejects exactly those, render refuses exactly those, the canonical record built on
demand is the one parse would have built, and the rules and the check read only the fields render
reads back from its own output."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import adapters
from adapters.base import DeferredParsed
from adapters.errors import LayoutError, RecordError
from adapters.interstate import csenet_canonical_check
from adapters.interstate.csenet import CsenetAdapter
from adapters.interstate.csenet_canonical import from_canonical, to_canonical
from adapters.interstate.csenet_canonical_check import REFUSAL_FIELDS, check_code_tables, refusal_possible
from adapters.interstate.csenet_rules import INDICATORS, RULE_FIELDS, check_transaction
from adapters.layout import Field, Layout

from ..fixturekit import FIXTURES, run_parse

_REGISTERED = adapters.get("csenet")
assert isinstance(_REGISTERED, CsenetAdapter)
A: CsenetAdapter = _REGISTERED
HERE = FIXTURES / "interstate" / "csenet"
SINGLES = sorted(
    p
    for p in HERE.glob("*.txt")
    if not p.name.startswith(("invalid", "server-error")) and not any(k in p.name for k in ("batch", "padded"))
)


def candidates(f: Field) -> list[str]:
    """Replacement texts for one field: blank and the values the canonical model is strictest about."""
    n = f.length
    out = [" " * n]
    if f.type in ("alnum", "alpha"):
        out += [s.ljust(n) for s in ("A@B", "A B@C", "@X", "Z") if len(s) <= n]
    elif f.type in ("digits", "ssn", "numeric"):
        out += ["0" * n, ("07" + "1" * n)[:n], "9" * n]
    elif f.type == "amount":
        out += ["-" + "1".rjust(n - 4, "0") + ".00", "+" + "1".rjust(n - 4, "0") + ".00"]
    elif f.type == "code":
        out += [f.codes[0].ljust(n, f.pad), f.codes[-1].ljust(n, f.pad)]
    elif f.type == "date":
        out += ["20240229"[:n]]
    return out


def layouts_of(line: bytes) -> Iterator[tuple[int, Layout]]:
    """``(offset, layout)`` of the header and each block of one transaction line."""
    data = A.decode(line)
    header = A.headers[data["direction"]]
    yield 0, header
    offset = header.length
    for block in A.blocks:
        value = data[block.key]
        for _ in value if block.repeats else ([value] if value is not None else []):
            yield offset, block.layout
            offset += block.length


def mutations() -> Iterator[bytes]:
    """Each candidate text of each field of the header and every block, put into two of the valid
    single-transaction fixtures that hold that layout (taking turns, so every fixture is used)."""
    turns: dict[str, int] = {}
    holders: dict[str, list[tuple[bytes, int, Layout]]] = {}
    for path in SINGLES:
        line = path.read_bytes().rstrip(b"\r\n")
        for offset, layout in layouts_of(line):
            holders.setdefault(layout.name, []).append((line, offset, layout))
    for name, found in holders.items():
        for f in found[0][2].data_fields:
            if f.name.endswith("_ind") and name.startswith("header"):
                continue  # the block indicators frame the line; counts have their own tests
            for text in candidates(f):
                for _ in range(2):
                    turn = turns[name] = turns.get(name, -1) + 1
                    line, offset, _layout = found[turn % len(found)]
                    start = offset + f.start - 1
                    yield line[:start] + text.encode() + line[start + f.length :]
    for line in nameless_participants():
        yield line


def nameless_participants() -> Iterator[bytes]:
    """A participant with neither name nor SSN: three fields at once, which one mutation never makes."""
    layout = next(b.layout for b in A.blocks if b.key == "participants")
    blank = {f.name: f for f in layout.data_fields if f.name in ("name_last", "name_first", "ssn")}
    for path in SINGLES:
        line = path.read_bytes().rstrip(b"\r\n")
        for offset, found in layouts_of(line):
            if found is layout:
                for f in blank.values():
                    start = offset + f.start - 1
                    line = line[:start] + b" " * f.length + line[start + f.length :]
                yield line
                break


MUTATED = list(mutations())


class Recording(dict[str, Any]):
    """A dict that remembers the keys read through ``get`` and ``[]``."""

    def __init__(self, values: dict[str, Any], log: set[str]) -> None:
        super().__init__(values)
        self.log = log

    def get(self, key: str, default: Any = None) -> Any:
        self.log.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.log.add(key)
        return super().__getitem__(key)


def recorded(data: dict[str, Any]) -> tuple[Recording, dict[str, set[str]]]:
    reads: dict[str, set[str]] = {"header": set(), **{key: set() for key in INDICATORS}}
    wrapped = dict(data)
    for key in INDICATORS:
        value = data[key]
        if isinstance(value, list):
            wrapped[key] = [Recording(v, reads[key]) for v in value]
        elif value is not None:
            wrapped[key] = Recording(value, reads[key])
    return Recording(wrapped, reads["header"]), reads


def test_the_mutations_reach_every_refusal_the_model_has() -> None:
    refusals = set()
    for line in MUTATED:
        try:
            A.canonical(A.decode(line))
        except RecordError as err:
            if err.code == "CANONICAL_INVALID":
                refusals.add(err.message)
    for why in ("fein: Value error, FEIN prefix", "amount: Value error, money must not be", "a person needs an SSN"):
        assert any(why in message for message in refusals), why


def test_refusal_possible_flags_every_transaction_the_model_refuses() -> None:
    flagged = refused = 0
    for line in MUTATED:
        try:
            data = A.decode(line)
        except RecordError:
            continue
        possible = refusal_possible(data)
        flagged += possible
        try:
            to_canonical(data)
        except ValueError:
            refused += 1
            assert possible, f"refused but not flagged: {line[:40]!r}"
    assert 0 < refused <= flagged


def test_parse_rejects_and_builds_exactly_what_the_eager_canonical_did() -> None:
    for line in MUTATED:
        outcome = run_parse(A, line + b"\n")
        try:
            expected: Any = A.canonical(A.decode(line))
        except RecordError as err:
            expected = err
        if isinstance(expected, RecordError):
            (bad,) = outcome.rejected
            assert (bad.code, bad.message, bad.field) == (expected.code, expected.message, expected.field)
        else:
            (good,) = outcome.parsed
            assert good.canonical == expected


def test_render_refuses_exactly_what_parse_rejects() -> None:
    for line in MUTATED:
        try:
            data = A.decode(line)
        except RecordError:
            continue
        try:
            expected: RecordError | None = None
            A.canonical(data)
        except RecordError as err:
            expected = err
        if expected is None:
            assert A.decode(A.render_transaction(data).rstrip(b"\n")) == data
        else:
            with pytest.raises(RecordError) as info:
                A.render_transaction(data)
            assert (info.value.code, info.value.message) == (expected.code, expected.message)


def test_rules_and_the_check_read_only_the_fields_render_reads_back() -> None:
    allowed = {key: set(RULE_FIELDS[key]) | set(REFUSAL_FIELDS.get(key, ())) for key in RULE_FIELDS}
    allowed["header"] |= {"direction", *INDICATORS}
    seen: dict[str, set[str]] = {key: set() for key in allowed}
    for line in MUTATED:
        try:
            data = A.decode(line)
        except RecordError:
            continue
        wrapped, reads = recorded(data)
        list(check_transaction(wrapped))
        refusal_possible(wrapped)
        for key, names in reads.items():
            seen[key] |= names
    assert {key: names - allowed[key] for key, names in seen.items()} == {key: set() for key in allowed}
    assert seen["ncp_locate"] and seen["orders"] and seen["information"]


def test_canonical_is_built_on_first_read_from_the_data_as_parsed() -> None:
    line = (HERE / "enf-request-wage-withholding-attachments-outbound.txt").read_bytes()
    (parsed,) = run_parse(A, line).parsed
    assert isinstance(parsed, DeferredParsed)
    expected = A.canonical(A.decode(line.rstrip(b"\n")))
    parsed.data["case_id"] = "CHANGED"
    parsed.data["participants"][0]["ssn"] = None
    first = parsed.canonical
    assert first == expected and parsed.canonical is first
    assert first.case_id != "CHANGED" and first.participants[0].ssn is not None


def test_a_code_the_model_refuses_stops_the_adapter_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    real = csenet_canonical_check.load_code_rows

    def tampered(table: str) -> dict[str, dict[str, str]]:
        rows = dict(real(table))
        if table == "csenet_frequency":
            rows["Q"] = {"code": "Q", "canonical": "quarterly-ish"}
        return rows

    monkeypatch.setattr(csenet_canonical_check, "load_code_rows", tampered)
    with pytest.raises(LayoutError, match=r"csenet_frequency\.csv canonical 'Q'"):
        check_code_tables.__wrapped__()
    check_code_tables()  # the real tables, as loaded


def test_negative_periodic_amount_is_flagged() -> None:
    data = A.decode((HERE / "enf-request-wage-withholding-attachments-outbound.txt").read_bytes().rstrip(b"\n"))
    assert not refusal_possible(data)
    data["orders"] = [dict(data["orders"][0], order_arrears_freq_amount=Decimal("-1.00"))]
    assert refusal_possible(data)


@pytest.mark.parametrize("text", ["A B@EXAMPLE.ORG", "X@Y@Z", "@X"])
def test_an_internet_address_the_email_type_refuses_is_kept_as_text(text: str) -> None:
    data = A.decode((HERE / "enf-request-wage-withholding-attachments-outbound.txt").read_bytes().rstrip(b"\n"))
    data["case"] = dict(data["case"], internet_address=text)
    txn = to_canonical(data)
    assert txn.case is not None and txn.case.contact is not None and txn.case.contact.email is None
    assert txn.extra["case"]["internet_address"] == text
    again = from_canonical(txn, "outbound")
    assert again["case"]["internet_address"] == text


def test_an_email_address_is_the_contact_email() -> None:
    data = A.decode((HERE / "enf-request-wage-withholding-attachments-outbound.txt").read_bytes().rstrip(b"\n"))
    data["case"] = dict(data["case"], internet_address="CASEWORKER@EXAMPLE.ORG")
    txn = to_canonical(data)
    assert txn.case is not None and txn.case.contact is not None
    assert txn.case.contact.email == "CASEWORKER@EXAMPLE.ORG" and "case" not in txn.extra
