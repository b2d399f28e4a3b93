"""CSENet transactions: layouts against the charts, framing and direction, block counts, F/A/R and
indicator rules, amounts, the canonical mapping both ways and the CLI round trip."""

from __future__ import annotations

import logging
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import adapters
from adapters.base import Parsed
from adapters.canonical import CollectionSource, ParticipantRole
from adapters.errors import RecordError
from adapters.interstate.csenet import CsenetAdapter
from adapters.interstate.csenet_canonical import from_canonical
from adapters.interstate.csenet_rules import allowed_count, check_transaction, far_table
from gateway import cli

from ..fixturekit import FIXTURES, fixtures_for, run_parse

_REGISTERED = adapters.get("csenet")
assert isinstance(_REGISTERED, CsenetAdapter)
A: CsenetAdapter = _REGISTERED
HERE = FIXTURES / "interstate" / "csenet"
VALID = [f for f in fixtures_for("csenet") if f.valid]


def fixture(name: str) -> bytes:
    return (HERE / name).read_bytes()


def first(name: str) -> Parsed:
    out = run_parse(A, fixture(name))
    assert out.file_error is None and not out.rejected
    return out.parsed[0]


def data_of(name: str) -> dict[str, Any]:
    return dict(first(name).data)


# --------------------------------------------------------------------------- layouts against the charts


def test_block_and_header_lengths_are_the_charts() -> None:
    assert {b.key: b.length for b in A.blocks} == {
        "case": 351,
        "ncp_identification": 181,
        "ncp_locate": 1421,
        "participants": 341,
        "orders": 254,
        "collections": 70,
        "information": 416,
    }
    assert (A.headers["outbound"].length, A.headers["inbound"].length) == (127, 121)
    assert A.error_layout.length == 145


def test_both_headers_share_positions_1_to_96() -> None:
    def shared(d: str) -> list[tuple[str, int, int, str]]:
        return [(f.name, f.start, f.length, f.type) for f in A.headers[d].fields if f.end <= 96]

    assert shared("outbound") == shared("inbound")
    assert sum(f[2] for f in shared("inbound")) == 96


def test_three_employer_slots_have_one_layout() -> None:
    loc = next(b for b in A.blocks if b.key == "ncp_locate").layout

    def slot(prefix: str) -> list[tuple[int, str, int]]:
        fields = [f for f in loc.fields if f.name.startswith(prefix + "_") and f.name.split("_")[0] == prefix]
        return [(f.start - fields[0].start, f.type, f.length) for f in fields]

    assert [f.start for f in loc.fields if f.name.endswith("_ein")] == [491, 1028, 1200]
    assert slot("employer") == slot("employer2") == slot("employer3")
    assert sum(length for _, _, length in slot("employer2")) == 172


# --------------------------------------------------------------------------- direction and framing


@pytest.mark.parametrize(
    ("name", "direction"),
    [
        ("lo1-request-outbound.txt", "outbound"),
        ("lo1-response-nothing-found-inbound.txt", "inbound"),
        ("inbound-padded-end-marker.txt", "inbound"),
    ],
)
def test_direction_follows_the_header_length(name: str, direction: str) -> None:
    assert first(name).data["direction"] == direction


def test_padded_outbound_record_is_recognised_by_its_tail() -> None:
    line = fixture("csi-request-outbound.txt").rstrip(b"\n")
    padded = line + b"\r" + b" " * 300 + b"\n"
    assert run_parse(A, padded).parsed[0].data["direction"] == "outbound"


def test_a_configured_channel_overrides_the_guess() -> None:
    outbound = fixture("lo1-request-outbound.txt")
    out = run_parse(CsenetAdapter(channel="inbound"), outbound)
    assert not out.parsed and len(out.rejected) == 1  # read as a 121-byte header, every block is shifted
    assert run_parse(CsenetAdapter(channel="outbound"), outbound).parsed


def test_rendered_lengths_are_exact() -> None:
    for fx in VALID:
        for line in fx.path.read_bytes().replace(b"\r\n", b"\n").splitlines():
            head = 127 if line[126:127] == b"0" and not line[110:126].strip() else 121
            if line[14:17] != b"003":
                continue
            counts = [int(c) for c in line[89:96].decode()]
            sigma = sum(n * b.length for n, b in zip(counts, A.blocks, strict=True))
            assert len(line.rstrip(b"\r ")) <= head + sigma <= len(line)


# --------------------------------------------------------------------------- block counts


def test_block_count_mismatch_rejects_that_transaction_only() -> None:
    out = run_parse(A, fixture("invalid-header-count-mismatch.txt"))
    assert [p.line for p in out.parsed] == [1, 3]
    (bad,) = out.rejected
    assert (bad.code, bad.field, bad.line) == ("BLOCK_COUNT_MISMATCH", "participant_data_ind", 2)
    assert out.file_error is None


def test_missing_block_names_the_announced_kind() -> None:
    (bad,) = run_parse(A, fixture("invalid-collection-count-above-blocks.txt")).rejected
    assert (bad.code, bad.field) == ("BLOCK_COUNT_MISMATCH", "collection_data_ind")


def test_truncated_block_is_located() -> None:
    out = run_parse(A, fixture("invalid-truncated-block.txt"))
    (bad,) = out.rejected
    assert (bad.code, bad.field, bad.start) == ("TRUNCATED_BLOCK", "ncp_locate block", 1001)
    assert len(out.parsed) == 2


def test_render_refuses_an_indicator_that_disagrees_with_the_blocks() -> None:
    data = data_of("col-tax-offset-three-collections-inbound.txt")
    data["collection_data_ind"] = 2
    with pytest.raises(RecordError) as info:
        b"".join(A.render([{"type": "transaction", "data": data}]))
    assert info.value.code == "BLOCK_COUNT_MISMATCH"
    del data["collection_data_ind"]
    data["collections"] = data["collections"][:2]
    again = run_parse(A, b"".join(A.render([{"type": "transaction", "data": data}])))
    assert again.parsed[0].data["collection_data_ind"] == 2


def test_over_long_line_is_rejected_and_the_next_still_flows() -> None:
    good = fixture("csi-request-outbound.txt")
    out = run_parse(A, b"9" * 100_000 + b"\n" + good)
    assert [r.code for r in out.rejected] == ["RECORD_LENGTH"] and len(out.parsed) == 1


def test_blank_line_between_transactions_is_coded() -> None:
    good = fixture("csi-request-outbound.txt")
    out = run_parse(A, good + b"\n" + good.replace(b"000000001002", b"000000001009"))
    assert [r.code for r in out.rejected] == ["BLANK_LINE"] and len(out.parsed) == 2


# --------------------------------------------------------------------------- F/A/R and indicator rules


@pytest.mark.parametrize(
    ("function", "action", "reason", "code"),
    [
        ("ENF", "R", "LSADR", "FAR_INVALID"),  # a locate reason on an enforcement request
        ("LO1", "P", "ERWAG", "FAR_INVALID"),
        ("CSI", "R", None, "FAR_INVALID"),  # CSI needs a reason
        ("EST", "U", "SRPAT", "FAR_INVALID"),  # SRPAT is request-only
        ("ENF", "R", "ERWAG", None),
    ],
)
def test_function_action_reason_combinations(function: str, action: str, reason: str | None, code: str | None) -> None:
    data = data_of("enf-request-wage-withholding-attachments-outbound.txt")
    data.update(functional_type_code=function, action_code=action, action_reason=reason)
    faults = [f.code for f in check_transaction(data)]
    assert (faults[0] if faults else None) == code if code else "FAR_INVALID" not in faults


def test_render_refuses_an_invalid_combination_with_its_position() -> None:
    data = data_of("enf-request-wage-withholding-attachments-outbound.txt")
    data["action_reason"] = "LSADR"
    with pytest.raises(RecordError) as info:
        A.render_transaction(data)
    assert (info.value.code, info.value.field, info.value.start, info.value.end) == (
        "FAR_INVALID",
        "action_reason",
        76,
        80,
    )


def test_far_table_has_every_family_and_lo1_ack_is_inbound_only() -> None:
    table = far_table()
    assert {f for f, _, _ in table} == {"LO1", "CSI", "ENF", "EST", "PAT", "COL", "MSC"}
    assert len(table) == 187
    assert not table[("LO1", "A", None)].outbound
    assert all(far.outbound for key, far in table.items() if key != ("LO1", "A", None))


@pytest.mark.parametrize(
    ("block", "far", "expected"),
    [
        ("participants", ("ENF", "R", "ERWAG"), (2, 9)),
        ("orders", ("ENF", "U", "ERALL"), (1, 9)),
        ("case", ("CSI", "P", "FSINF"), (1, 1)),
        ("case", ("CSI", "P", "FUINF"), (0, 1)),
        ("case", ("MSC", "P", "GSC02"), (1, 1)),
        ("case", ("ENF", "A", None), (0, 1)),
        ("ncp_identification", ("COL", "P", "CISUB"), (1, 1)),
        ("ncp_locate", ("LO1", "P", "LUALL"), (0, 0)),
        ("ncp_locate", ("LO1", "P", "LSEMP"), (1, 1)),
        ("collections", ("COL", "P", "CITAX"), (1, 9)),
        ("information", ("MSC", "P", "REJCT"), (1, 1)),
    ],
)
def test_indicator_rules_from_the_table(
    block: str, far: tuple[str, str, str | None], expected: tuple[int, int]
) -> None:
    assert allowed_count(block, *far)[:2] == expected


def test_indicator_rule_fault_names_the_indicator_position() -> None:
    (bad,) = run_parse(A, fixture("invalid-indicator-rule-enf-request-without-order.txt")).rejected
    assert (bad.code, bad.field, bad.start) == ("INDICATOR_RULE", "order_data_ind", 94)


# --------------------------------------------------------------------------- amounts


def test_signed_amounts_and_negative_adjustment() -> None:
    cols = data_of("col-tax-offset-three-collections-inbound.txt")["collections"]
    assert [c["payment_amount"] for c in cols] == [Decimal("1432.17"), Decimal("88.00"), Decimal("-50.00")]
    order = data_of("enf-request-wage-withholding-attachments-outbound.txt")["orders"][0]
    assert order["order_arrears_total_amount"] == Decimal("-125.00")
    line = fixture("enf-request-wage-withholding-attachments-outbound.txt")
    assert b"-00000125.00" in line and b"+00000450.00" in line


def test_implied_decimal_variant_is_read_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="adapters.interstate.csenet"):
        implied = data_of("col-implied-decimal-amounts-inbound.txt")
    assert implied["collections"] == data_of("col-tax-offset-three-collections-inbound.txt")["collections"]
    assert sum("implied-decimal" in r.getMessage() for r in caplog.records) == 2
    assert b"000000143217" not in A.render_transaction(implied)  # written back in the explicit form


# --------------------------------------------------------------------------- canonical


def test_canonical_carries_case_persons_orders_collections_and_locate() -> None:
    txn = first("enf-request-wage-withholding-attachments-outbound.txt").canonical
    assert txn.case is not None and txn.case.case_id == "KS0001234567" and txn.case.payment_fips == "20177"
    assert txn.ncp is not None and txn.ncp.ssn == "212345671" and txn.ncp.alias_ssns == ["345678912"]
    assert [p.role for p in txn.participants] == [ParticipantRole.CP, ParticipantRole.CHILD]
    assert txn.orders[0].arrears_total == Decimal("-125.00") and txn.orders[0].issuing_fips == "20177"
    assert txn.attachments and txn.information_text[0].startswith("ATTACHED")
    loc = first("lo1-response-three-employers-inbound.txt").canonical.ncp_locate
    assert [e.source for e in loc.employers] == [
        "csenet:employer",
        "csenet:employer2",
        "csenet:employer3",
        "csenet:last_employer",
    ]
    assert loc.employers[1].reported_wages[0].amount == Decimal("1200.00")
    assert loc.returned_by == "CSENet 29095" and loc.match_type is not None
    col = first("col-tax-offset-three-collections-inbound.txt").canonical.collections
    assert [c.source for c in col] == [
        CollectionSource.FEDERAL_TAX_OFFSET,
        CollectionSource.STATE_TAX_OFFSET,
        CollectionSource.FEDERAL_TAX_OFFSET,
    ]


@pytest.mark.parametrize("fx", [f for f in VALID if "server-error" not in f.path.name], ids=str)
def test_canonical_to_data_and_back_is_lossless(fx: Any) -> None:
    for parsed in run_parse(A, fx.path.read_bytes()).parsed:
        txn = parsed.canonical
        line = A.render_transaction(from_canonical(txn, "outbound"))
        assert A.canonical(A.decode(line.rstrip(b"\n"))) == txn


def test_render_from_canonical_only() -> None:
    txn = first("lo1-request-outbound.txt").canonical
    line = b"".join(A.render([{"type": "transaction", "canonical": txn}]))
    assert line == fixture("lo1-request-outbound.txt")


def test_canonical_refusal_is_a_coded_reject() -> None:
    data = data_of("enf-request-wage-withholding-attachments-outbound.txt")
    data["ncp_locate"] = dict(data["ncp_locate"], employer_ein="071234567")  # IRS never assigns prefix 07
    with pytest.raises(RecordError) as info:
        A.render_transaction(data)
    assert info.value.code == "CANONICAL_INVALID" and "071234567" not in info.value.message


# --------------------------------------------------------------------------- server error file


def test_server_error_records() -> None:
    out = run_parse(A, fixture("server-error-file.txt"))
    assert [p.type for p in out.parsed] == ["server_error", "server_error"]
    assert [p.data["error_code"] for p in out.parsed] == ["E569", "W012"]
    assert out.parsed[0].data["erred_serial_number"] == "000000001003"


# --------------------------------------------------------------------------- CLI


def csgate(capsys: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes]:
    """Run the CLI in-process (a subprocess would spend seconds importing); exit code and stdout bytes."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        cli.main(list(args))
    return int(info.value.code or 0), capsys.readouterr().out


@pytest.mark.parametrize(
    "name", ["outbound-daily-batch.txt", "lo1-response-three-employers-inbound.txt", "server-error-file.txt"]
)
def test_cli_parse_then_render_gives_the_same_bytes(
    name: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    code, parsed = csgate(capsysbinary, "parse", "--format", "csenet", str(HERE / name))
    assert code == 0, parsed[-500:]
    jsonl = tmp_path / "parsed.jsonl"
    jsonl.write_bytes(parsed)
    code, rendered = csgate(capsysbinary, "render", "--format", "csenet", str(jsonl))
    assert code == 0, rendered[-500:]
    assert rendered == fixture(name)


def test_cli_reports_rejects_and_file_errors(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out = csgate(capsysbinary, "parse", "--format", "csenet", str(HERE / "invalid-file-cut-mid-transaction.txt"))
    assert code == 2
    lines = out.decode().splitlines()
    assert '"TRUNCATED_BLOCK"' in lines[1] and '"file_error"' in lines[-1]
    code, out = csgate(capsysbinary, "detect", str(HERE / "csi-request-outbound.txt"))
    assert (code, out.strip()) == (0, b"csenet")


def test_a_large_file_streams_in_bounded_memory(tmp_path: Path) -> None:
    """6,000 transactions (about 10 MB) parse with a few MB held: each is checked and dropped."""
    line = fixture("lo1-response-three-employers-inbound.txt").rstrip(b"\n")
    path = tmp_path / "daily.txt"
    n = 6_000
    with path.open("wb") as fh:  # fresh serial numbers (positions 18-29), as a sender's day would hold
        for i in range(n):
            fh.write(line[:17] + b"%012d" % (i + 1) + line[29:] + b"\n")
    good = 0
    tracemalloc.start()
    try:
        with path.open("rb") as fh:
            for r in A.parse(fh):
                assert isinstance(r, Parsed), r
                good += 1
                if good % 2_000 == 0:
                    assert r.canonical is not None  # built mid-stream, dropped with the record
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert good == n
    size = path.stat().st_size
    assert peak < 4 << 20 and peak < size / 3, (peak, size)
