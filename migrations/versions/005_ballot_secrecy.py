"""ballot secrecy

Revision ID: 005
Revises: 004
Create Date: 2026-12-07 14:30:00.000000

Reserved for issue 10 (ballot secrecy); filled in by the change that needs it.
"""

from collections.abc import Sequence

revision: str = "005"
down_revision: str | None = "004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
