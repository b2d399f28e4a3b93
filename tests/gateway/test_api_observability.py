"""Operations: JSON log lines without personal data (the SSN filter over message, arguments, extra
fields and exceptions) and the per-process Prometheus counters."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from gateway.observability import METRICS, configure_logging, contains_pii, mask_pii


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging("INFO", stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_log_lines_are_json_with_extra_fields(log_stream: io.StringIO) -> None:
    logging.getLogger("gateway.test").info("file taken in", extra={"partner": "acme", "records": 9})
    [line] = lines(log_stream)
    assert line["msg"] == "file taken in" and line["level"] == "INFO" and line["logger"] == "gateway.test"
    assert (line["partner"], line["records"]) == ("acme", 9) and str(line["ts"]).endswith("+00:00")


def test_ssn_shaped_values_never_reach_the_log(log_stream: io.StringIO) -> None:
    log = logging.getLogger("gateway.test")
    log.warning("record for %s rejected", "212-34-5671", extra={"detail": {"ssn": "212345671", "n": [401223344]}})
    try:
        raise ValueError("bad SSN 523 45 6789 in field ssn")
    except ValueError:
        log.exception("parse failed")
    text = log_stream.getvalue()
    for ssn in ("212-34-5671", "212345671", "401223344", "523 45 6789"):
        assert ssn not in text
    first, second = lines(log_stream)
    assert first["msg"] == "record for ***-**-**** rejected"
    assert first["detail"] == {"ssn": "***-**-****", "n": ["***-**-****"]}
    assert second["error"] == "ValueError: bad SSN ***-**-**** in field ssn"


def test_digests_and_trace_numbers_are_not_mistaken_for_ssns() -> None:
    digest = "e5cd237979c0956874369c43e8bcfe5a0eda05c7e1d7af93a0b12575f92cf499"
    assert mask_pii(f"sha256 {digest} trace 076401250000001") == f"sha256 {digest} trace 076401250000001"
    assert contains_pii({"a": ["x", {"b": "123-45-6789"}]}) and not contains_pii({"a": 12345})


def test_counters_are_labelled_by_partner_direction_and_outcome() -> None:
    before = METRICS.files.labels("obs-test", "inbound", "processed")._value.get()
    METRICS.files.labels("obs-test", "inbound", "processed").inc()
    assert METRICS.files.labels("obs-test", "inbound", "processed")._value.get() == before + 1
    names = {metric.name for collector in METRICS.collectors() for metric in collector.describe()}
    assert {"csgate_files", "csgate_records", "csgate_rejects", "csgate_bytes", "csgate_exchange_seconds"} <= names
