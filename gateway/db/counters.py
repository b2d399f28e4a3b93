"""Named counters: numbers a partner requires unique (CSENet transaction serials, FCR batch numbers),
handed out so that two requests at the same moment never get the same one.

``take`` increments the counter's row with ``UPDATE ... RETURNING`` in the caller's transaction:
the row's write lock (PostgreSQL) or the database's (SQLite) holds a second taker until the first
commits, and it then reads the new value. A counter's first use seeds it with ``start``, what the
history already used (e.g. how many such files were sent before counters existed), so numbering
continues instead of starting over. A number taken by a transaction that rolls back is given again;
one taken and not used (a file refused after numbering) leaves a gap, which partners allow: they ask
for unique numbers, not consecutive ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gateway.db.models import Counter


def take(session: Session, name: str, count: int = 1, *, start: Callable[[], int] = lambda: 0) -> int:
    """The first of ``count`` consecutive numbers of counter ``name`` (the next after the last handed
    out, or after ``start()`` on first use). On SQLite, call it in a unit of work begun with
    ``writes_after_reading`` if the unit read before."""
    if count < 1:
        raise ValueError("take at least one number")
    bump = update(Counter).where(Counter.name == name).values(value=Counter.value + count).returning(Counter.value)
    last = _run(session, bump)
    if last is None:  # first use: seed it, unless a concurrent first use just did
        values = {"name": name, "value": start()}
        if session.get_bind().dialect.name == "postgresql":
            session.execute(pg_insert(Counter).values(**values).on_conflict_do_nothing(index_elements=["name"]))
        else:  # SQLite, the other backend
            session.execute(sqlite_insert(Counter).values(**values).on_conflict_do_nothing(index_elements=["name"]))
        last = _run(session, bump)
        assert last is not None
    return last - count + 1


def _run(session: Session, bump: Any) -> int | None:
    # a Core-style UPDATE: no ORM objects to keep in step with the row
    value = session.execute(bump, execution_options={"synchronize_session": False}).scalar()
    return None if value is None else int(value)
