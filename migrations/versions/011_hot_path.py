"""hot path: a page of non-voters in roll order from an index; the holders of a role by index;
how far a message queued in the background has got

Revision ID: 011
Revises: 010
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "011"
down_revision: str | None = "010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vote_voters") as batch:
        batch.drop_index("ix_vote_voters_turnout")
        batch.create_index("ix_vote_voters_waiting", ["vote_id", "voted", "id"])
    with op.batch_alter_table("user_roles") as batch:
        batch.create_index("ix_user_roles_role", ["role", "user_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("queued_up_to", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("queued_up_to")
    with op.batch_alter_table("user_roles") as batch:
        batch.drop_index("ix_user_roles_role")
    with op.batch_alter_table("vote_voters") as batch:
        batch.drop_index("ix_vote_voters_waiting")
        batch.create_index("ix_vote_voters_turnout", ["vote_id", "voted"])
