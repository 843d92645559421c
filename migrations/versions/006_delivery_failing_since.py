"""delivery failing since

Revision ID: 006
Revises: 005
Create Date: 2026-12-07 14:30:00.000000

A delivery that keeps failing on the network stays pending for a day (`failing_since` says since
when), and a split message remembers how many of its parts went out (`parts_sent`), so a retry
sends only the rest.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "006"
down_revision: str | None = "005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failing_since", models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("parts_sent", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("parts_sent")
        batch_op.drop_column("failing_since")
