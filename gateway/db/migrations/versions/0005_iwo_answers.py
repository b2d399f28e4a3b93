"""Employers' answers to income withholding notices: an e-IWO acknowledgment matched to its notice
by document tracking id records the disposition (``A`` accepted, ``R`` rejected), the reason code,
when it came and the exchange it came in.

Written out in full rather than importing the models (see 0001).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("iwo_notices") as batch:
        batch.add_column(sa.Column("answer", sa.String(1), nullable=True))
        batch.add_column(sa.Column("answer_reason", sa.String(1), nullable=True))
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("answer_exchange_id", big_id, nullable=True))
        batch.create_foreign_key(
            "fk_iwo_notices_answer_exchange_id_exchanges",
            "exchanges",
            ["answer_exchange_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("iwo_notices") as batch:
        batch.drop_constraint("fk_iwo_notices_answer_exchange_id_exchanges", type_="foreignkey")
        batch.drop_column("answer_exchange_id")
        batch.drop_column("answered_at")
        batch.drop_column("answer_reason")
        batch.drop_column("answer")
