"""`make demo` end to end: a real scheduled exchange between a folder partner and an SFTP partner
with envelopes, acknowledged; a new-hire report matched to a case, its income withholding order
delivered to the e-IWO partner, the case read with the protected parent withheld; the exchange log
printed and the audit log verified; exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from exchange_kit import ROOT

from gateway.db import migrate


def test_demo_runs_a_scheduled_exchange_end_to_end(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSGATE_")}
    done = subprocess.run(
        [sys.executable, "-m", "gateway.demo", "--data-dir", str(tmp_path / "demo")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()
    for line in (
        "database",
        f"at revision {migrate.head()}",
        "picked up on a scheduled slot",
        "acknowledged ({'accepted': 1})",
        "case extract loaded: 1 case, 3 participants",
        "income withholding notice NH",
        "delivered to eiwo-portal on its slot: 1 order (ORG)",
        "CP    BLAIR TESTER (SSN ...3344): withheld: family violence indicator",
        "NCP   ALEX TESTER (SSN ...5671): employer from new-hire",
        "operator, overview: 0 dead letters, 0 open alerts, 0 overdue acknowledgments, 0 files in quarantine",
        "1 participant withheld (FVI), the others shown",
        "audit log OK",
        "entry 0 included",
        "open alerts: 0",
        "demo OK",
    ):
        assert line in out, line
    log = (tmp_path / "demo" / "gateway.log").read_text()
    assert '"msg":"schedule fired"' in log and "212345671" not in log and "SAMPLEJAN" not in log
    assert "TESTER" not in log and "401223344" not in log
