"""Adapter registry: adapters are found by entry-point name in the group ``csgate.adapters``.

``available()`` lists them, ``get(key)`` returns one instance, ``detect(head)`` names the first
adapter that recognises a file. A plugin that fails to import is an error, not a silent omission:
an agency must never lose a format because a dependency went missing.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from adapters.base import Adapter
from adapters.errors import AdapterLoadError, UnknownAdapterError

GROUP = "csgate.adapters"


@cache
def _registry() -> dict[str, Adapter]:
    found: dict[str, Adapter] = {}
    for ep in entry_points(group=GROUP):
        try:
            cls = ep.load()
            adapter = cls()
        except Exception as exc:  # a broken plugin must fail loudly, naming itself
            raise AdapterLoadError(f"adapter plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if getattr(adapter, "key", None) != ep.name:
            raise AdapterLoadError(
                f"adapter plugin {ep.name!r} declares key {getattr(adapter, 'key', None)!r}; they must match"
            )
        if not isinstance(adapter, Adapter):
            raise AdapterLoadError(f"adapter plugin {ep.name!r} does not implement the Adapter protocol")
        found[ep.name] = adapter
    return dict(sorted(found.items()))


def available() -> list[Adapter]:
    """Every registered adapter, sorted by key."""
    return list(_registry().values())


def get(key: str) -> Adapter:
    """The adapter registered as ``key``; an unknown key names the known ones."""
    reg = _registry()
    try:
        return reg[key]
    except KeyError:
        raise UnknownAdapterError(f"unknown format {key!r}; known formats: {', '.join(reg) or '(none)'}") from None


def detect(head: bytes) -> Adapter | None:
    """The first adapter (by key order) whose ``detect`` accepts ``head``; None when none does."""
    for adapter in _registry().values():
        try:
            if adapter.detect(head):
                return adapter
        except Exception:  # detection must never crash on junk; a faulty detector simply says no
            continue
    return None


__all__ = ["GROUP", "available", "detect", "get"]
