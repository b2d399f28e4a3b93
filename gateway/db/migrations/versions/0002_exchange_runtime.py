"""Exchange runtime: work queue, alerts, acknowledgment tracking; exchange columns for duplicates,
send attempts, the stored outbound payload and the awaited acknowledgment; a unique natural key on
staged records.

Written out in full rather than importing the models (see 0001).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, *, nullable: bool = True, default: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if default else None,
    )


def upgrade() -> None:
    with op.batch_alter_table("exchanges") as batch:
        batch.add_column(sa.Column("records_duplicate", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("payload_path", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("ack_format", sa.String(64), nullable=True))
        batch.add_column(_ts("ack_due_at"))
        batch.add_column(_ts("acked_at"))
    with op.batch_alter_table("staged_records") as batch:
        batch.create_unique_constraint("uq_staged_records_natural_key", ["natural_key"])

    op.create_table(
        "work_items",
        sa.Column("id", big_id, nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("job", sa.String(16), nullable=False),
        sa.Column("slot", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        _ts("claimed_at"),
        _ts("finished_at"),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        _ts("created_at", nullable=False, default=True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_work_items_partner_id_partners", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_work_items"),
        sa.UniqueConstraint("partner_id", "job", "slot", name="uq_work_items_partner_id_job_slot"),
    )
    op.create_index("ix_work_items_status", "work_items", ["status"])

    op.create_table(
        "alerts",
        sa.Column("id", big_id, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dedupe_key", sa.String(160), nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=True),
        sa.Column("exchange_id", big_id, nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        _ts("created_at", nullable=False, default=True),
        _ts("resolved_at"),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"], name="fk_alerts_exchange_id_exchanges", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("dedupe_key", name="uq_alerts_dedupe_key"),
    )
    op.create_index("ix_alerts_exchange_id", "alerts", ["exchange_id"])

    op.create_table(
        "ack_expectations",
        sa.Column("id", big_id, nullable=False),
        sa.Column("exchange_id", big_id, nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(128), nullable=False),
        _ts("matched_at"),
        sa.Column("matched_exchange_id", big_id, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name="fk_ack_expectations_exchange_id_exchanges",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["matched_exchange_id"],
            ["exchanges.id"],
            name="fk_ack_expectations_matched_exchange_id_exchanges",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ack_expectations"),
        sa.UniqueConstraint("exchange_id", "reference", name="uq_ack_expectations_exchange_id_reference"),
    )
    op.create_index("ix_ack_expectations_partner_id_reference", "ack_expectations", ["partner_id", "reference"])


def downgrade() -> None:
    op.drop_index("ix_ack_expectations_partner_id_reference", table_name="ack_expectations")
    op.drop_table("ack_expectations")
    op.drop_index("ix_alerts_exchange_id", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_work_items_status", table_name="work_items")
    op.drop_table("work_items")
    with op.batch_alter_table("staged_records") as batch:
        batch.drop_constraint("uq_staged_records_natural_key", type_="unique")
    with op.batch_alter_table("exchanges") as batch:
        batch.drop_column("acked_at")
        batch.drop_column("ack_due_at")
        batch.drop_column("ack_format")
        batch.drop_column("payload_path")
        batch.drop_column("attempts")
        batch.drop_column("records_duplicate")
