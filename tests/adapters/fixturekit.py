"""Fixture discovery shared by the conformance suite and format tests.

Convention: ``fixtures/<family>/<adapter key>/`` holds synthetic sample files and an ``expect.toml``
naming, per file, the exit code ``csgate parse`` must give (0 good, 1 some records rejected, 2 file
failure), the error codes it must report, and synthetic personal values (``pii``) that must never
appear in an error message. ``fixtures/crashers/<adapter key>/`` keeps inputs that once crashed a
parser, forever.
"""

from __future__ import annotations

import io
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.base import Adapter, Parsed, Rejected
from adapters.errors import FileStructureError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


@dataclass
class Fixture:
    path: Path
    key: str
    exit: int
    codes: list[str] = field(default_factory=list)
    pii: list[str] = field(default_factory=list)
    detect: bool = True

    @property
    def valid(self) -> bool:
        return self.exit == 0

    def __str__(self) -> str:
        return f"{self.key}/{self.path.name}"


def fixture_dir(key: str) -> Path | None:
    found = [p for p in FIXTURES.glob(f"*/{key}") if p.is_dir() and p.parent.name != "crashers"]
    return found[0] if found else None


def fixtures_for(key: str) -> list[Fixture]:
    folder = fixture_dir(key)
    if folder is None or not (folder / "expect.toml").is_file():
        return []
    expect = tomllib.loads((folder / "expect.toml").read_text(encoding="utf-8"))
    defaults = expect.pop("defaults", {})
    out = []
    for name, spec in sorted(expect.items()):
        path = folder / name
        assert path.is_file(), f"expect.toml names a missing fixture {path}"
        out.append(
            Fixture(
                path,
                key,
                int(spec["exit"]),
                list(spec.get("codes", [])),
                list(defaults.get("pii", [])) + list(spec.get("pii", [])),
                bool(spec.get("detect", defaults.get("detect", True))),
            )
        )
    return out


def crashers_for(key: str) -> list[Path]:
    folder = FIXTURES / "crashers" / key
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


@dataclass
class Outcome:
    parsed: list[Parsed]
    rejected: list[Rejected]
    file_error: FileStructureError | None

    @property
    def exit(self) -> int:
        return 2 if self.file_error else 1 if self.rejected else 0

    @property
    def codes(self) -> set[str]:
        codes = {r.code for r in self.rejected}
        if self.file_error is not None:
            codes.add(self.file_error.code)
            codes.update(c for c, _ in self.file_error.problems)
        return codes

    def messages(self) -> Iterator[str]:
        for r in self.rejected:
            yield r.message
        if self.file_error is not None:
            yield self.file_error.message
            yield from (m for _, m in self.file_error.problems)


def run_parse(adapter: Adapter, data: bytes) -> Outcome:
    """Drain a parse; any exception other than ``FileStructureError`` propagates (a test failure)."""
    parsed: list[Parsed] = []
    rejected: list[Rejected] = []
    try:
        for r in adapter.parse(io.BytesIO(data)):
            if isinstance(r, Parsed):
                parsed.append(r)
            else:
                assert isinstance(r, Rejected), f"parse yielded {type(r).__name__}"
                rejected.append(r)
    except FileStructureError as exc:
        return Outcome(parsed, rejected, exc)
    return Outcome(parsed, rejected, None)


def as_render_input(parsed: list[Parsed]) -> list[dict[str, Any]]:
    return [{"type": p.type, "data": p.data, "canonical": p.canonical} for p in parsed]
