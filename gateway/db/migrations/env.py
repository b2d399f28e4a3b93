"""Alembic environment. There is no alembic.ini: ``gateway.db.migrate`` builds the configuration
and hands over an open connection, so migrations use the same engine setup (SQLite pragmas,
psycopg 3) as the running gateway and run in that connection's single transaction."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from gateway.db.models import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through gateway.db.migrate (csgate db upgrade); there is no alembic.ini")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
