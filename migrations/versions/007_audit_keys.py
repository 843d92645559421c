"""audit keys and witnesses

Revision ID: 007
Revises: 006
Create Date: 2026-12-07 14:30:00.000000

Reserved for issue 10 (audit keys and witnesses); filled in by the change that needs it.
"""

from collections.abc import Sequence

revision: str = "007"
down_revision: str | None = "006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
