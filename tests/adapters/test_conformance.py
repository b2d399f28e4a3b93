"""The conformance suite every registered adapter gets for free (design.md §3, python-stdnum style).

Nothing here names a format: adding an adapter (entry point + fixtures + expect.toml) is enough to
run it through every check.
"""

from __future__ import annotations

import random
from importlib.metadata import entry_points
from typing import Any

import pytest

import adapters
from adapters.base import Adapter, Direction, render_checked
from adapters.errors import AdapterLoadError, RecordError, UnknownAdapterError

from .fixturekit import Fixture, as_render_input, crashers_for, fixtures_for, run_parse

ADAPTERS = adapters.available()
KEYS = [a.key for a in ADAPTERS]
ALL_FIXTURES = [f for k in KEYS for f in fixtures_for(k)]
VALID = [f for f in ALL_FIXTURES if f.valid]


def by_key(key: str) -> Adapter:
    return adapters.get(key)


def test_registry_is_the_entry_point_group() -> None:
    names = sorted(ep.name for ep in entry_points(group=adapters.GROUP))
    assert names == KEYS and names, "every adapter is registered by entry point, and there is one at least"


@pytest.mark.parametrize("key", KEYS)
def test_key_title_direction_source(key: str) -> None:
    a = by_key(key)
    assert a.key == key
    assert a.title and isinstance(a.direction, Direction)
    assert a.source.document and a.source.version
    assert a.source.status in {"confirmed", "derived", "unconfirmed", "choice", "mixed"}


def test_unknown_key_lists_the_known_ones() -> None:
    with pytest.raises(UnknownAdapterError) as info:
        adapters.get("no-such-format")
    assert all(k in str(info.value) for k in KEYS)


def test_broken_plugin_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    class EP:
        name, value = "broken", "adapters.nowhere:Nothing"

        def load(self) -> None:
            raise ImportError("no module named adapters.nowhere")

    monkeypatch.setattr(adapters, "entry_points", lambda group: [EP()])
    adapters.reset()
    try:
        with pytest.raises(AdapterLoadError, match="broken"):
            adapters.available()
        with pytest.raises(AdapterLoadError, match="broken"):
            adapters.get("broken")
    finally:
        monkeypatch.undo()
        adapters.reset()


def test_get_loads_only_the_adapter_asked_for() -> None:
    adapters.reset()
    try:
        adapters.get("nacha-ded")
        assert adapters._load.cache_info().currsize == 1
    finally:
        adapters.reset()


@pytest.mark.parametrize("key", KEYS)
def test_ships_fixtures(key: str) -> None:
    fixtures = fixtures_for(key)
    assert any(f.valid for f in fixtures), f"{key}: no valid fixture"
    assert any(not f.valid for f in fixtures), f"{key}: no invalid fixture named for its fault"


@pytest.mark.parametrize("fx", ALL_FIXTURES, ids=str)
def test_fixture_gives_expected_outcome(fx: Fixture) -> None:
    out = run_parse(by_key(fx.key), fx.path.read_bytes())
    assert out.exit == fx.exit, f"exit {out.exit}, codes {sorted(out.codes)}"
    missing = set(fx.codes) - out.codes
    assert not missing, f"expected codes {sorted(missing)} not reported; got {sorted(out.codes)}"
    for r in out.rejected:
        assert r.code and r.code.upper() == r.code and r.record_no > 0
    if fx.valid:
        assert out.parsed


@pytest.mark.parametrize("fx", [f for f in ALL_FIXTURES if not f.valid], ids=str)
def test_no_personal_data_in_errors(fx: Fixture) -> None:
    out = run_parse(by_key(fx.key), fx.path.read_bytes())
    for message in out.messages():
        for token in fx.pii:
            assert token not in message, f"personal value leaked into an error message: {message!r}"


@pytest.mark.parametrize("fx", [f for f in VALID if f.detect], ids=str)
def test_detect_own_and_only_own(fx: Fixture) -> None:
    head = fx.path.read_bytes()[: 64 << 10]
    assert by_key(fx.key).detect(head), "adapter does not recognise its own fixture"
    others = [a.key for a in ADAPTERS if a.key != fx.key and a.detect(head)]
    assert not others, f"other adapters claim this fixture: {others}"


@pytest.mark.parametrize("fx", [f for f in VALID if getattr(by_key(f.key), "round_trip", True)], ids=str)
def test_parse_render_parse_round_trip(fx: Fixture) -> None:
    a = by_key(fx.key)
    first = run_parse(a, fx.path.read_bytes())
    rendered = b"".join(a.render(as_render_input(first.parsed)))
    second = run_parse(a, rendered)
    assert second.exit == 0, sorted(second.codes)
    assert [(p.type, p.data) for p in second.parsed] == [(p.type, p.data) for p in first.parsed]


def _junk(key: str) -> list[bytes]:
    rng = random.Random(f"junk-{key}")
    inputs = [b"", b"\n", b"\x00" * 100, b"\xff" * 5000, bytes(range(256)) * 4]
    inputs += [rng.randbytes(rng.randint(1, 3000)) for _ in range(20)]
    for fx in fixtures_for(key)[:6]:
        data = fx.path.read_bytes()
        inputs += [data[: rng.randint(0, len(data))] for _ in range(5)]
        for _ in range(5):
            flipped = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                if flipped:
                    flipped[rng.randrange(len(flipped))] = rng.randrange(256)
            inputs.append(bytes(flipped))
    return inputs


@pytest.mark.parametrize("key", KEYS)
def test_junk_gives_coded_errors_never_exceptions(key: str) -> None:
    a = by_key(key)
    for data in _junk(key) + [p.read_bytes() for p in crashers_for(key)]:
        out = run_parse(a, data)  # raises (fails the test) on any exception but FileStructureError
        for p in out.parsed:
            p.canonical  # noqa: B018 - a record that parsed has a canonical form (or none): reading never raises
        for r in out.rejected:
            assert r.code and r.message
        if out.file_error is not None:
            assert out.file_error.code and out.file_error.message
        a.detect(data[:4096])  # detection never raises on junk


@pytest.mark.parametrize("key", [k for k in KEYS if crashers_for(k)])
def test_kept_crashers_leak_no_personal_data(key: str) -> None:
    """Inputs ``make fuzz`` kept are mutated fixtures: their messages must not hold the fixtures' personal values."""
    tokens = {t for fx in fixtures_for(key) for t in fx.pii if t}
    for path in crashers_for(key):
        for message in run_parse(by_key(key), path.read_bytes()).messages():
            leaked = [t for t in tokens if t in message]
            assert not leaked, f"{path.name}: personal value in {message!r}"


HOSTILE = (["ZQXHOSTILE"], {"k": "ZQXHOSTILE"}, 1.5, "ZQXHOSTILE\x00")


@pytest.mark.parametrize("key", [k for k in KEYS if getattr(by_key(k), "round_trip", True)])
def test_render_of_a_hostile_value_is_refused_with_a_record_error(key: str) -> None:
    """A value of a type or form no field takes, in place of a parsed one, is written correctly or refused
    by the adapter's own checks with a coded ``RecordError`` (``render_checked`` need not step in), never
    echoed back."""
    fx = next(f for f in fixtures_for(key) if f.valid)
    records = [{"type": p.type, "data": p.data} for p in run_parse(by_key(key), fx.path.read_bytes()).parsed]
    firsts = {r["type"]: i for i, r in reversed(list(enumerate(records)))}
    for i in firsts.values():
        names = sorted(records[i]["data"])
        for name in names[:: max(1, len(names) // 8)]:
            for value in HOSTILE:
                changed = [dict(r, data=dict(r["data"])) for r in records]
                changed[i]["data"][name] = value
                try:
                    b"".join(render_checked(by_key(key), changed))
                except RecordError as exc:  # the adapter's own field check, not render_checked's net
                    assert exc.code != "RENDER_INPUT" and "ZQXHOSTILE" not in str(exc), (name, str(exc))


class _Careless:
    """An adapter whose renderer lets Python's own error out, quoting the value, as a missed check would."""

    key = "careless"

    def __init__(self, refuse: RecordError | None = None) -> None:
        self.refuse = refuse

    def render(self, records: Any) -> Any:
        for r in records:
            if self.refuse is not None:
                raise self.refuse
            yield str(int(r["data"]["count"])).encode()


def test_render_checked_codes_a_stray_exception_without_the_value() -> None:
    records = [{"type": "row", "data": {"count": "7"}}, {"type": "row", "data": {"count": "JANE DOE"}}]
    with pytest.raises(RecordError) as info:
        b"".join(render_checked(_Careless(), records))  # type: ignore[arg-type]
    assert info.value.code == "RENDER_INPUT" and "JANE" not in str(info.value)
    assert "2 input record(s)" in str(info.value) and "'row'" in str(info.value)
    refused = RecordError("OWN_CODE", "an adapter's own refusal", field="count")
    with pytest.raises(RecordError) as own:  # passes unchanged
        b"".join(render_checked(_Careless(refuse=refused), records))  # type: ignore[arg-type]
    assert own.value is refused
