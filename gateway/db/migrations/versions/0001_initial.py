"""Initial schema: partners, exchanges, staged records, rejects, quarantine, cases, persons,
addresses, audit log.

Written out in full rather than importing the models, so this revision keeps describing the
schema as it was when later revisions change the models.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, *, nullable: bool = False, default: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if default else None,
    )


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("config", json, nullable=False),
        _ts("created_at", default=True),
        _ts("updated_at", default=True),
        sa.PrimaryKeyConstraint("id", name="pk_partners"),
    )
    op.create_table(
        "exchanges",
        sa.Column("id", big_id, nullable=False),
        sa.Column("partner_id", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(512), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("records_good", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records_rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress", sa.BigInteger(), server_default="0", nullable=False),
        _ts("started_at", nullable=True),
        _ts("finished_at", nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        _ts("created_at", default=True),
        _ts("updated_at", default=True),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name="fk_exchanges_partner_id_partners", ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_exchanges"),
        sa.UniqueConstraint("partner_id", "direction", "sha256", name="uq_exchanges_partner_id_direction_sha256"),
    )
    op.create_index("ix_exchanges_status", "exchanges", ["status"])
    op.create_table(
        "staged_records",
        sa.Column("id", big_id, nullable=False),
        sa.Column("exchange_id", big_id, nullable=False),
        sa.Column("record_no", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("natural_key", sa.String(128), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"],
            ["exchanges.id"],
            name="fk_staged_records_exchange_id_exchanges",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_staged_records"),
        sa.UniqueConstraint("exchange_id", "record_no", name="uq_staged_records_exchange_id_record_no"),
    )
    op.create_table(
        "rejects",
        sa.Column("id", big_id, nullable=False),
        sa.Column("exchange_id", big_id, nullable=False),
        sa.Column("record_no", sa.BigInteger(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("field", sa.String(64), nullable=True),
        sa.Column("start_pos", sa.Integer(), nullable=True),
        sa.Column("end_pos", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"], name="fk_rejects_exchange_id_exchanges", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_rejects"),
    )
    op.create_index("ix_rejects_exchange_id_record_no", "rejects", ["exchange_id", "record_no"])
    op.create_table(
        "quarantine",
        sa.Column("id", big_id, nullable=False),
        sa.Column("exchange_id", big_id, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("reason_message", sa.Text(), nullable=False),
        sa.Column("stored_path", sa.String(1024), nullable=False),
        sa.Column("encrypted", sa.Boolean(), nullable=False),
        _ts("created_at", default=True),
        _ts("released_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["exchange_id"], ["exchanges.id"], name="fk_quarantine_exchange_id_exchanges", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_quarantine"),
    )
    op.create_index("ix_quarantine_exchange_id", "quarantine", ["exchange_id"])
    op.create_index("ix_quarantine_sha256", "quarantine", ["sha256"])
    op.create_table(
        "cases",
        sa.Column("id", big_id, nullable=False),
        sa.Column("state_case_id", sa.String(32), nullable=False),
        sa.Column("fips", sa.String(7), nullable=False),
        sa.Column("case_type", sa.String(16), nullable=False),
        sa.Column("caseworker", sa.String(64), nullable=True),
        _ts("created_at", default=True),
        _ts("updated_at", default=True),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("state_case_id", name="uq_cases_state_case_id"),
    )
    op.create_table(
        "persons",
        sa.Column("id", big_id, nullable=False),
        sa.Column("case_id", big_id, nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("ssn_enc", sa.LargeBinary(), nullable=True),
        sa.Column("ssn_bidx", sa.LargeBinary(32), nullable=True),
        sa.Column("last_name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("first_name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("dob_enc", sa.LargeBinary(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("fvi", sa.Boolean(), server_default=sa.false(), nullable=False),
        _ts("created_at", default=True),
        _ts("updated_at", default=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_persons_case_id_cases", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_persons"),
    )
    op.create_index("ix_persons_case_id", "persons", ["case_id"])
    op.create_index("ix_persons_ssn_bidx", "persons", ["ssn_bidx"])
    op.create_table(
        "addresses",
        sa.Column("id", big_id, nullable=False),
        sa.Column("person_id", big_id, nullable=False),
        sa.Column("data_enc", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        _ts("created_at", default=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["persons.id"], name="fk_addresses_person_id_persons", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_addresses"),
    )
    op.create_index("ix_addresses_person_id", "addresses", ["person_id"])
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        _ts("ts"),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("detail", json, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_entries"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("signature", sa.LargeBinary(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        _ts("ts"),
        sa.PrimaryKeyConstraint("tree_size", name="pk_audit_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_entries")
    op.drop_index("ix_addresses_person_id", table_name="addresses")
    op.drop_table("addresses")
    op.drop_index("ix_persons_ssn_bidx", table_name="persons")
    op.drop_index("ix_persons_case_id", table_name="persons")
    op.drop_table("persons")
    op.drop_table("cases")
    op.drop_index("ix_quarantine_sha256", table_name="quarantine")
    op.drop_index("ix_quarantine_exchange_id", table_name="quarantine")
    op.drop_table("quarantine")
    op.drop_index("ix_rejects_exchange_id_record_no", table_name="rejects")
    op.drop_table("rejects")
    op.drop_table("staged_records")
    op.drop_index("ix_exchanges_status", table_name="exchanges")
    op.drop_table("exchanges")
    op.drop_table("partners")
