"""The command line's rich consoles, made on first use.

Importing rich (consoles, tables, progress bars) costs a noticeable share of a ``csgate`` start, and
most commands never print through it: ``csgate parse`` writes JSON Lines, errors are rare. So the
``csgate`` modules import rich only inside the code that prints with it, and take consoles from here.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def console(width: int | None = None) -> Console:
    """A console on standard output, ``width`` columns wide (default: the terminal's)."""
    from rich.console import Console

    return Console(width=width)


@cache
def err_console() -> Console:
    """The console on standard error, for one-line messages."""
    from rich.console import Console

    return Console(stderr=True)
