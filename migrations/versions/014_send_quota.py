"""the sending quota the replicas share on PostgreSQL without Redis (bot/delivery/quota.py)

Revision ID: 014
Revises: 013
Create Date: 2026-12-08 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "014"
down_revision: str | None = "013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_quota",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("stamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_send_quota")),
    )
    # Full (a burst is refilled within a twentieth of a second anyway), and not paused.
    op.execute(
        "INSERT INTO send_quota (name, tokens, stamp, paused_until) "
        "VALUES ('telegram', 1.0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )


def downgrade() -> None:
    op.drop_table("send_quota")
