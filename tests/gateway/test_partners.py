"""Partner registry: the TOML schema and its errors, schedules and deadlines, the file checks, the
database mirror on both backends, and ``csgate partners check|list|load``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from adapters.base import Direction
from gateway.cli import app
from gateway.config import get_settings
from gateway.db import migrate
from gateway.db.models import Partner
from gateway.db.session import make_engine, session_scope
from gateway.errors import ConfigError
from gateway.partners.registry import (
    PartnerConfigError,
    check_partners,
    enabled_partners,
    get_partner,
    load_partners,
    read_partners,
)
from gateway.partners.schedule import add_business_days, crontab_trigger, federal_holidays, is_business_day
from gateway.security.envelope import load_certificate
from gateway.transports import open_transport
from gateway.transports.memory import reset_memory_stores

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "fixtures" / "gateway" / "partners-example.toml"
FORMATS = {
    "eiwo": Direction.BOTH,
    "eiwo-ack": Direction.BOTH,
    "fcr-input": Direction.OUTBOUND,
    "fcr-response": Direction.INBOUND,
    "nacha-ded": Direction.BOTH,
}
NOW = datetime.now(UTC)

MINIMAL = """
[[partner]]
id = "acme"
name = "Acme"
kind = "employer"
retention_days = 365
[partner.formats]
inbound = ["eiwo-ack"]
outbound = ["eiwo"]
[partner.transport]
url = "memory://acme"
inbound_dir = "outbox"
outbound_dir = "inbox"
[partner.keys]
envelope = true
certificate = "{cert}"
"""


@pytest.fixture
def cert(tmp_path: Path) -> Path:
    target = tmp_path / "keys" / "acme.pem"
    target.parent.mkdir()
    shutil.copy(ROOT / "fixtures" / "keys" / "TEST-ONLY-acme-payroll.crt", target)
    return target


def write(tmp_path: Path, text: str, name: str = "partners.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def minimal(tmp_path: Path, cert: Path, extra: str = "") -> Path:
    return write(tmp_path, MINIMAL.format(cert="keys/acme.pem") + extra)


# ---------------------------------------------------------------------------- the file


def test_example_file_is_valid_against_the_registered_adapters(tmp_path: Path) -> None:
    partners = read_partners(EXAMPLE)
    assert [p.id for p in partners] == ["acme-payroll", "ocse-fpls", "tx-oag"]
    problems = check_partners(partners, key_dir=tmp_path / "keys", now=NOW)
    assert [p.severity for p in problems] == ["warning"] * 3  # our credentials are not on this machine
    acme = partners[0]
    assert acme.keys.certificate == str(ROOT / "fixtures" / "keys" / "TEST-ONLY-acme-payroll.crt")
    assert acme.transport.url_for("inbound") == "sftp://csgate@sftp.acme.example:22/exchange/to-agency"
    creds = acme.transport.credentials(tmp_path / "keys")
    assert (creds.key_file, creds.cert_file) == (tmp_path / "keys" / "acme-sftp.key", None)
    assert partners[1].transport.credentials(tmp_path).cert_file == tmp_path / "ocse-mtls.crt"


def test_relative_paths_follow_the_file_and_memory_transports_open(tmp_path: Path, cert: Path) -> None:
    reset_memory_stores()
    (partner,) = read_partners(minimal(tmp_path, cert), formats=FORMATS)
    assert partner.keys.certificate == str(cert)
    with open_transport(partner.transport.url_for("outbound")) as transport:
        transport.put("order.txt", b"x")
        assert transport.url == "memory://acme/inbox"
    reset_memory_stores()


def test_every_schema_error_is_reported_with_partner_and_field(tmp_path: Path, cert: Path) -> None:
    bad = MINIMAL.format(cert="keys/acme.pem").replace('kind = "employer"', 'kind = "bank"')
    bad = bad.replace('outbound = ["eiwo"]', 'outbound = ["eiwo", "fcr-response", "nope"]')
    bad = bad.replace('url = "memory://acme"', 'url = "sftp://csgate:hunter2@host/x"\ncolour = "blue"')
    bad += '\n[partner.ack]\nformat = "nacha-ded"\ndeadline_hours = 4\ndeadline_business_days = 1\n'
    bad += '\n[[partner]]\nid = "Bad Id"\nname = "x"\nkind = "sdu"\nretention_days = 0\nschedule = "0 6 * *"\n'
    with pytest.raises(PartnerConfigError) as raised:
        read_partners(write(tmp_path, bad), formats=FORMATS)
    found = {(p.partner, p.where): p.message for p in raised.value.problems}
    assert "Input should be" in found["acme", "kind"]
    assert "'fcr-response' is inbound-only" in found["acme", "formats"]
    assert "unknown format 'nope'" in found["acme", "formats"]
    assert "password" in found["acme", "transport.url"]
    assert "Extra inputs" in found["acme", "transport.colour"]
    assert "exactly one" in found["acme", "ack"]
    assert "pattern" in found["Bad Id", "id"]
    assert "5 fields" in found["Bad Id", "schedule"]
    assert ("Bad Id", "formats") in found and ("Bad Id", "retention_days") in found
    assert all(p.severity == "error" for p in raised.value.problems)
    assert "hunter2" not in str(raised.value.problems)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('url = "memory://acme"', 'url = "https://partner.example/x"'), "needs `credential`"),
        (('outbound_dir = "inbox"', 'outbound_dir = "outbox"'), "must differ"),
        (('inbound_dir = "outbox"', 'inbound_dir = "../up"'), "must be relative"),
        (("envelope = true", "envelope = true\nour_key_id = 0"), "greater than or equal to 1"),
        (('certificate = "keys/acme.pem"', ""), "needs the partner's `certificate`"),
        (("retention_days = 365", 'retention_days = 365\ntimezone = "Mars/Olympus"'), "unknown time zone"),
        (("retention_days = 365", 'retention_days = 365\nschedule = "0 6 * * 1-8"'), "out of range"),
        (('inbound = ["eiwo-ack"]', 'inbound = ["eiwo-ack", "eiwo-ack"]'), "twice"),
    ],
)
def test_schema_rules(tmp_path: Path, cert: Path, change: tuple[str, str], message: str) -> None:
    text = MINIMAL.format(cert="keys/acme.pem").replace(*change)
    with pytest.raises(PartnerConfigError) as raised:
        read_partners(write(tmp_path, text), formats=FORMATS)
    assert any(message in p.message for p in raised.value.problems), raised.value.problems


def test_ack_must_be_an_inbound_format_and_duplicate_ids_are_refused(tmp_path: Path, cert: Path) -> None:
    text = MINIMAL.format(cert="keys/acme.pem") + '[partner.ack]\nformat = "eiwo"\ndeadline_hours = 48\n'
    with pytest.raises(PartnerConfigError, match=r"formats\.inbound"):
        read_partners(write(tmp_path, text), formats=FORMATS)
    twice = MINIMAL.format(cert="keys/acme.pem") * 2
    with pytest.raises(PartnerConfigError, match="appears twice"):
        read_partners(write(tmp_path, twice), formats=FORMATS)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        read_partners(tmp_path / "absent.toml")
    assert raised.value.code == "PARTNERS_MISSING"
    with pytest.raises(PartnerConfigError, match="not valid TOML"):
        read_partners(write(tmp_path, "[[partner]\n"))


# ---------------------------------------------------------------------------- schedules, deadlines


def _fires(expr: str, start: datetime, count: int, timezone: str = "UTC") -> list[datetime]:
    trigger, out, previous = crontab_trigger(expr, timezone), [], None
    for _ in range(count):
        previous = trigger.get_next_fire_time(previous, previous + timedelta(seconds=1) if previous else start)
        out.append(previous)
    return out


def test_crontab_weekdays_mean_what_cron_means() -> None:
    saturday = datetime(2024, 1, 6, tzinfo=UTC)
    assert [d.strftime("%a") for d in _fires("0 6 * * 1-5", saturday, 6)] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]
    assert {d.strftime("%a") for d in _fires("0 6 * * 0", saturday, 3)} == {"Sun"}
    assert {d.strftime("%a") for d in _fires("0 6 * * 7", saturday, 3)} == {"Sun"}
    assert [d.strftime("%a") for d in _fires("0 6 * * */2", saturday, 4)] == ["Sat", "Sun", "Tue", "Thu"]
    assert {d.strftime("%a") for d in _fires("0 6 * * sat,sun", saturday, 4)} == {"Sat", "Sun"}


def test_crontab_runs_in_the_partner_time_zone() -> None:
    (first,) = _fires("30 22 * * *", datetime(2024, 7, 1, tzinfo=UTC), 1, "America/New_York")
    # 00:00 UTC is 20:00 the evening before in New York (EDT, UTC-4): 22:30 that evening comes first
    assert first.astimezone(UTC) == datetime(2024, 7, 1, 2, 30, tzinfo=UTC)


def test_business_day_deadlines_skip_weekends(tmp_path: Path) -> None:
    friday = datetime(2024, 1, 5, 15, tzinfo=UTC)
    assert add_business_days(friday, 1) == datetime(2024, 1, 8, 15, tzinfo=UTC)
    assert add_business_days(friday, 5) == datetime(2024, 1, 12, 15, tzinfo=UTC)
    acme = read_partners(EXAMPLE)[0]  # 2 business days, America/Chicago
    # Friday 23:00 in Chicago is Saturday 05:00 UTC: the deadline counts Chicago's days
    assert acme.ack_deadline(datetime(2024, 1, 6, 5, tzinfo=UTC)) == datetime(2024, 1, 10, 5, tzinfo=UTC)
    fpls = read_partners(EXAMPLE)[1]  # 72 hours
    assert fpls.ack_deadline(friday) == friday + timedelta(hours=72)
    assert read_partners(EXAMPLE)[2].ack_deadline(friday) is None


def test_federal_holidays_as_observed() -> None:
    assert sorted(federal_holidays(2026)) == [
        date(2026, 1, 1), date(2026, 1, 19), date(2026, 2, 16), date(2026, 5, 25), date(2026, 6, 19),
        date(2026, 7, 3),  # July 4 is a Saturday
        date(2026, 9, 7), date(2026, 10, 12), date(2026, 11, 11), date(2026, 11, 26), date(2026, 12, 25),
    ]  # fmt: skip
    # New Year's Day 2022 fell on a Saturday: observed on Friday, December 31, 2021, and 2022 has none
    assert date(2021, 12, 31) in federal_holidays(2021) and date(2022, 1, 1) not in federal_holidays(2022)
    assert not any(d.month == 1 and d.day < 10 for d in federal_holidays(2022))
    assert date(2020, 6, 19) not in federal_holidays(2020)  # Juneteenth from 2021
    assert date(2027, 7, 5) in federal_holidays(2027)  # July 4, 2027 is a Sunday


def test_business_days_skip_federal_holidays_and_the_agencys_own() -> None:
    wednesday = datetime(2026, 11, 25, 14, tzinfo=UTC)  # the day before Thanksgiving
    assert add_business_days(wednesday, 2) == datetime(2026, 11, 30, 14, tzinfo=UTC)
    assert add_business_days(wednesday, 2, holidays={date(2026, 11, 27)}) == datetime(2026, 12, 1, 14, tzinfo=UTC)
    christmas_eve = datetime(2027, 12, 23, 9, tzinfo=UTC)  # Thursday; Dec 24 and Dec 31 are observed holidays
    assert add_business_days(christmas_eve, 5) == datetime(2028, 1, 3, 9, tzinfo=UTC)
    assert not is_business_day(date(2027, 12, 31)) and is_business_day(date(2027, 12, 30))


# ---------------------------------------------------------------------------- checks of referenced files


def test_certificate_and_trust_file_checks(tmp_path: Path, cert: Path) -> None:
    (partner,) = read_partners(minimal(tmp_path, cert), formats=FORMATS)
    assert check_partners([partner], key_dir=tmp_path, now=NOW) == []
    expires = load_certificate(cert).not_valid_after_utc
    (problem,) = check_partners([partner], key_dir=tmp_path, now=expires + timedelta(days=1))
    assert (problem.severity, problem.where) == ("error", "keys.certificate")
    (warning,) = check_partners([partner], key_dir=tmp_path, now=expires - timedelta(days=10))
    assert warning.severity == "warning" and "expires" in warning.message
    cert.write_text("not a certificate")
    (broken,) = check_partners([partner], key_dir=tmp_path, now=NOW)
    assert broken.severity == "error" and "not a readable certificate" in broken.message


# ---------------------------------------------------------------------------- database mirror


def test_load_upserts_and_disables_partners_gone_from_the_file(db_url: str, tmp_path: Path, cert: Path) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        path = minimal(tmp_path, cert)
        with session_scope(engine) as session:
            report = load_partners(session, path, key_dir=tmp_path, formats=FORMATS, now=NOW)
        assert (report.added, report.updated, report.unchanged) == (["acme"], [], [])
        with session_scope(engine) as session:
            assert load_partners(session, path, key_dir=tmp_path, formats=FORMATS, now=NOW).unchanged == ["acme"]
        path.write_text(path.read_text().replace('name = "Acme"', 'name = "Acme Corp"'))
        with session_scope(engine) as session:
            assert load_partners(session, path, key_dir=tmp_path, formats=FORMATS, now=NOW).updated == ["acme"]
        with session_scope(engine) as session:
            loaded = get_partner(session, "acme")
            assert loaded.name == "Acme Corp" and loaded.keys.certificate == str(cert)
            assert [p.id for p in enabled_partners(session)] == ["acme"]
        other = MINIMAL.format(cert="keys/acme.pem").replace('id = "acme"', 'id = "beta"')
        with session_scope(engine) as session:
            report = load_partners(session, write(tmp_path, other), key_dir=tmp_path, formats=FORMATS, now=NOW)
        assert (report.added, report.disabled) == (["beta"], ["acme"])
        with session_scope(engine) as session:
            assert [p.id for p in enabled_partners(session)] == ["beta"]
            assert session.scalars(select(Partner.id).order_by(Partner.id)).all() == ["acme", "beta"]
            with pytest.raises(ConfigError) as raised:
                get_partner(session, "gamma")
        assert raised.value.code == "UNKNOWN_PARTNER"
    finally:
        engine.dispose()


def test_load_refuses_a_file_with_errors_and_changes_nothing(sqlite_url: str, tmp_path: Path, cert: Path) -> None:
    migrate.upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        cert.write_text("garbage")
        with pytest.raises(PartnerConfigError), session_scope(engine) as session:
            load_partners(session, minimal(tmp_path, cert), key_dir=tmp_path, formats=FORMATS, now=NOW)
        with session_scope(engine) as session:
            assert session.scalars(select(Partner)).all() == []
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("CSGATE_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CSGATE_DATABASE_URL", raising=False)
    monkeypatch.delenv("CSGATE_KEY_DIR", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_cli_check_list_and_load(cli_env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["partners", "check", "--file", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "3 partner(s), 0 error(s), 3 warning(s)" in result.output
    listed = runner.invoke(app, ["partners", "list", "--file", str(EXAMPLE), "--json"])
    assert [json.loads(line)["id"] for line in listed.output.splitlines()] == ["acme-payroll", "ocse-fpls", "tx-oag"]
    table = runner.invoke(app, ["partners", "list", "--file", str(EXAMPLE)])
    assert "0 6 * * 1-5 America/Chicago" in table.output and "eiwo-ack ≤2bd" in table.output

    not_ready = runner.invoke(app, ["partners", "load", "--file", str(EXAMPLE)])
    assert not_ready.exit_code == 78 and "csgate db upgrade" in not_ready.output
    migrate.upgrade(get_settings().database_url)
    loaded = runner.invoke(app, ["partners", "load", "--file", str(EXAMPLE)])
    assert loaded.exit_code == 0, loaded.output
    assert "added: acme-payroll, ocse-fpls, tx-oag" in loaded.output


def test_cli_check_reports_every_error_and_exits_1(cli_env: Path) -> None:
    bad = write(
        cli_env,
        EXAMPLE.read_text()
        .replace('kind = "federal"', 'kind = "galactic"')
        .replace('schedule = "0 6 * * 1-5"', 'schedule = "every morning"'),
    )
    result = CliRunner().invoke(app, ["partners", "check", "--file", str(bad)])
    assert result.exit_code == 1
    assert "[ocse-fpls] kind" in result.output and "[acme-payroll] schedule" in result.output
    missing = CliRunner().invoke(app, ["partners", "check", "--file", str(cli_env / "nope.toml")])
    assert missing.exit_code == 78 and "cannot read" in missing.output
