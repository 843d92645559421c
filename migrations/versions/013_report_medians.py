"""the needs report's city medians: the durations in order, with their moments

Revision ID: 013
Revises: 012
Create Date: 2026-12-08 02:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "013"
down_revision: str | None = "012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_needs_decision_order", "needs", ["decision_seconds", "decided_at"])
    op.create_index("ix_needs_resolution_order", "needs", ["resolution_seconds", "resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_needs_resolution_order", table_name="needs")
    op.drop_index("ix_needs_decision_order", table_name="needs")
