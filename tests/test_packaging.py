"""The wheel carries what an installed gateway reads at run time: every layout and code table of
``mappings/`` (found beside ``adapters/``, see ``adapters.layout.MAPPINGS_DIR``), the database
migrations and the web console's templates and stylesheet. A file left out works in a checkout and
fails only once installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("mappings", "gateway/console/templates", "gateway/console/static", "gateway/db/migrations")


def test_the_wheel_ships_the_mappings_migrations_and_console(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: an in-tree build would leave build/ behind, and reuse it next time
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in ("gateway", "adapters", "mappings"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = out.glob("csgate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        str(path.relative_to(ROOT))
        for folder in SHIPPED
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and path.suffix in (".toml", ".csv", ".xsd", ".html", ".css", ".py", ".mako", ".ini")
    }
    assert len(wanted) > 150
    assert sorted(wanted - names) == []
