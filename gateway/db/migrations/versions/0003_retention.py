"""Retention: ``exchanges.purged_at`` marks an exchange whose contents were destroyed under its
partner's ``retention_days``, and an index finds a partner's oldest exchanges without a scan.

Written out in full rather than importing the models (see 0001).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exchanges") as batch:
        batch.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_exchanges_partner_id_created_at", "exchanges", ["partner_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_exchanges_partner_id_created_at", table_name="exchanges")
    with op.batch_alter_table("exchanges") as batch:
        batch.drop_column("purged_at")
