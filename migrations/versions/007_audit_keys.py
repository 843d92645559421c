"""audit keys and witnesses

Revision ID: 007
Revises: 006
Create Date: 2026-12-07 14:30:00.000000

Each audit entry names the key that signed it; the heads sent to the admins are kept. Entries
written before have no key_id: the bot seals them with its key at the next start, after checking
their old unkeyed chain.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "007"
down_revision: str | None = "006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
    op.create_table(
        "audit_witnesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("sent_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_witnesses")),
    )
    with op.batch_alter_table("audit_witnesses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_witnesses_seq"), ["seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_witnesses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_witnesses_seq"))
    op.drop_table("audit_witnesses")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("key_id")
