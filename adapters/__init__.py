"""Adapter registry: adapters are found by entry-point name in the group ``csgate.adapters``.

``available()`` lists them, ``get(key)`` returns one instance, ``detect(head)`` names the first
adapter that recognises a file. A plugin that fails to import is an error, not a silent omission:
an agency must never lose a format because a dependency went missing.

``get`` loads only the adapter asked for: loading one compiles its layouts and schemas, and a command
that handles one format (``csgate parse --format nacha-ded``) should not pay for the other twenty.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from adapters.base import Adapter
from adapters.errors import AdapterLoadError, UnknownAdapterError

GROUP = "csgate.adapters"


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in sorted(entry_points(group=GROUP), key=lambda ep: ep.name)}


@cache
def _load(key: str) -> Adapter:
    """The one instance of the adapter registered as ``key``, checked against the contract."""
    ep = _entry_points()[key]
    try:
        adapter = ep.load()()
    except Exception as exc:  # a broken plugin must fail loudly, naming itself
        raise AdapterLoadError(f"adapter plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
    if getattr(adapter, "key", None) != ep.name:
        raise AdapterLoadError(
            f"adapter plugin {ep.name!r} declares key {getattr(adapter, 'key', None)!r}; they must match"
        )
    if not isinstance(adapter, Adapter):
        raise AdapterLoadError(f"adapter plugin {ep.name!r} does not implement the Adapter protocol")
    return adapter


def reset() -> None:
    """Forget what was discovered and loaded (for tests that install or break a plugin)."""
    _entry_points.cache_clear()
    _load.cache_clear()


def available() -> list[Adapter]:
    """Every registered adapter, sorted by key."""
    return [_load(key) for key in _entry_points()]


def get(key: str) -> Adapter:
    """The adapter registered as ``key``; an unknown key names the known ones."""
    if key not in _entry_points():
        known = ", ".join(_entry_points()) or "(none)"
        raise UnknownAdapterError(f"unknown format {key!r}; known formats: {known}")
    return _load(key)


def detect(head: bytes) -> Adapter | None:
    """The first adapter (by key order) whose ``detect`` accepts ``head``; None when none does."""
    for adapter in available():
        try:
            if adapter.detect(head):
                return adapter
        except Exception:  # detection must never crash on junk; a faulty detector simply says no
            continue
    return None


__all__ = ["GROUP", "available", "detect", "get", "reset"]
