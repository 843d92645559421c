"""one open contact request per resource offer and need (two presses at the same instant made
two requests)

Revision ID: 012
Revises: 011
Create Date: 2026-12-08 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "012"
down_revision: str | None = "011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status != 'declined'"


def upgrade() -> None:
    # A race before this index may have left two open requests for one pair: the first stays.
    op.execute(
        f"DELETE FROM resource_contacts WHERE {OPEN} AND id NOT IN "
        f"(SELECT min(id) FROM resource_contacts WHERE {OPEN} GROUP BY offer_id, need_id)"
    )
    op.create_index(
        "uq_resource_contacts_open",
        "resource_contacts",
        ["offer_id", "need_id"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("uq_resource_contacts_open", table_name="resource_contacts")
