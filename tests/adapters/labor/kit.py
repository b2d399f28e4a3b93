"""Helpers shared by the NDNH QW and UI tests."""

from __future__ import annotations

import io
import random
import shutil
from pathlib import Path
from typing import Any

from adapters.base import Adapter, Parsed, Rejected, Result
from adapters.errors import FileStructureError
from adapters.labor.ndnh import NdnhAdapter
from adapters.layout import MAPPINGS_DIR

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures" / "labor"
ALT_LAYOUTS = Path(__file__).resolve().parent / "alt_layouts"


def drain(adapter: Adapter, data: bytes) -> tuple[list[Any], FileStructureError | None]:
    """Every result in order, then the file error raised after them (None when the file is sound).
    Typed ``Any``: the tests read ``canonical``/``data``/``code`` of results they know the kind of."""
    out: list[Any] = []
    try:
        for r in adapter.parse(io.BytesIO(data)):
            out.append(r)
    except FileStructureError as exc:
        return out, exc
    return out, None


def kinds(results: list[Result]) -> list[str]:
    """``type`` of each good record, ``!CODE`` for each rejected one: the shape of a parse at a glance."""
    return [r.type if isinstance(r, Parsed) else f"!{r.code}" for r in results]


def rejected(results: list[Result]) -> list[Rejected]:
    return [r for r in results if isinstance(r, Rejected)]


def parsed(results: list[Result]) -> list[Parsed]:
    return [r for r in results if isinstance(r, Parsed)]


def with_field(adapter: NdnhAdapter, data: bytes, line: int, role: str, name: str, text: str) -> bytes:
    """``data`` with one field of one line (1-based) overwritten, located by the adapter's layout."""
    f = adapter.spec.field(role, name)
    assert f is not None and len(text) == f.length
    lines = data.split(b"\n")
    lines[line - 1] = lines[line - 1][: f.start - 1] + text.encode("ascii") + lines[line - 1][f.end :]
    return b"\n".join(lines)


def swapped_mappings(tmp_path: Path, fmt: str) -> Path:
    """A copy of ``mappings/`` whose ``labor/<fmt>`` layout is replaced by the test's alternative one:
    what an agency does with its copy of the NDNH Guide, Appendix E."""
    root = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, root)
    shutil.rmtree(root / "labor" / fmt)
    shutil.copytree(ALT_LAYOUTS / fmt, root / "labor" / fmt)
    return root


def flipped(data: bytes, seed: str, count: int = 40) -> list[bytes]:
    """Copies of ``data`` with a few random bytes changed (deterministic)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        out.append(bytes(damaged))
    return out
