"""Case feed: a case's own record (orders, payment address) as encrypted JSON; a participant's
member id (the state's person id the FCR knows it by); on each address or
employer found for a person, the exchange it came from and a keyed fingerprint of its content, unique
per person, so the same finding reported again is not stored twice; ``exchanges.fed_at`` marks an
inbound exchange whose records have been matched to cases, and ``staged_records.subject_bidx`` the
blind index of the SSN a staged record is about, so matching joins on it; ``iwo_notices`` holds the income
withholding orders a new-hire match calls for, until they are queued to the employer.

Written out in full rather than importing the models (see 0001).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("data_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("key_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("member_id", sa.String(15), nullable=True))
    with op.batch_alter_table("addresses") as batch:
        batch.add_column(sa.Column("fingerprint", sa.LargeBinary(32), nullable=True))
        batch.add_column(sa.Column("exchange_id", big_id, nullable=True))
        batch.create_foreign_key(
            "fk_addresses_exchange_id_exchanges", "exchanges", ["exchange_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_unique_constraint("uq_addresses_person_id_fingerprint", ["person_id", "fingerprint"])
    with op.batch_alter_table("exchanges") as batch:
        batch.add_column(sa.Column("fed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("staged_records") as batch:
        batch.add_column(sa.Column("subject_bidx", sa.LargeBinary(32), nullable=True))
    op.create_index("ix_staged_records_subject_bidx", "staged_records", ["subject_bidx"])
    op.create_table(
        "iwo_notices",
        sa.Column("id", big_id, nullable=False),
        sa.Column("case_id", big_id, nullable=False),
        sa.Column("person_id", big_id, nullable=False),
        sa.Column("document_tracking_id", sa.String(30), nullable=False),
        sa.Column("employer_fein", sa.String(9), nullable=False),
        sa.Column("data_enc", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("source_exchange_id", big_id, nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exchange_id", big_id, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_iwo_notices_case_id_cases", ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name="fk_iwo_notices_person_id_persons", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_exchange_id"],
            ["exchanges.id"],
            name="fk_iwo_notices_source_exchange_id_exchanges",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"], name="fk_iwo_notices_exchange_id_exchanges", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_iwo_notices"),
        sa.UniqueConstraint("document_tracking_id", name="uq_iwo_notices_document_tracking_id"),
    )
    op.create_index("ix_iwo_notices_status", "iwo_notices", ["status"])


def downgrade() -> None:
    op.drop_index("ix_iwo_notices_status", table_name="iwo_notices")
    op.drop_table("iwo_notices")
    op.drop_index("ix_staged_records_subject_bidx", table_name="staged_records")
    with op.batch_alter_table("staged_records") as batch:
        batch.drop_column("subject_bidx")
    with op.batch_alter_table("exchanges") as batch:
        batch.drop_column("fed_at")
    with op.batch_alter_table("addresses") as batch:
        batch.drop_constraint("uq_addresses_person_id_fingerprint", type_="unique")
        batch.drop_constraint("fk_addresses_exchange_id_exchanges", type_="foreignkey")
        batch.drop_column("exchange_id")
        batch.drop_column("fingerprint")
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("member_id")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("key_id")
        batch.drop_column("data_enc")
