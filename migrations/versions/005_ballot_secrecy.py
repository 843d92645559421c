"""ballot secrecy: receipts apart from ballots, a final ballot's confirmation

Revision ID: 005
Revises: 004
Create Date: 2026-12-07 14:30:00.000000

A receipt is now a hash of the code and its owner's id and names the vote, not the ballot, so
`ballots.receipt_hash` goes. The codes were never kept, so receipts given before this revision
cannot be carried over: they are no longer recognised (the ballots themselves stay counted).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "005"
down_revision: str | None = "004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite rebuilds `ballots` to drop a column; with foreign keys on, dropping the old table would
# cascade to `ballot_choices`, so the choices wait in a temporary table meanwhile.
KEEP_CHOICES = "CREATE TEMP TABLE _ballot_choices_005 AS SELECT * FROM ballot_choices"
PUT_BACK_CHOICES = (
    "INSERT INTO ballot_choices (ballot_id, option_id, vote_id) "
    "SELECT ballot_id, option_id, vote_id FROM _ballot_choices_005"
)


def _rebuild_ballots(change) -> None:  # type: ignore[no-untyped-def]
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(KEEP_CHOICES)
    with op.batch_alter_table(
        "ballots", schema=None, table_kwargs={"sqlite_with_rowid": False}
    ) as batch_op:
        change(batch_op)
    if sqlite:
        op.execute("DELETE FROM ballot_choices")
        op.execute(PUT_BACK_CHOICES)
        op.execute("DROP TABLE _ballot_choices_005")


def upgrade() -> None:
    op.create_table(
        "vote_receipts",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vote_id"],
            ["votes.id"],
            name=op.f("fk_vote_receipts_vote_id_votes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_vote_receipts")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("vote_receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vote_receipts_vote_id"), ["vote_id"], unique=False)

    with op.batch_alter_table("vote_voters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirm_hash", sa.String(length=64), nullable=True))

    def drop_receipt(batch_op) -> None:  # type: ignore[no-untyped-def]
        batch_op.drop_constraint(batch_op.f("uq_ballots_receipt_hash"), type_="unique")
        batch_op.drop_column("receipt_hash")

    _rebuild_ballots(drop_receipt)


def downgrade() -> None:
    def add_receipt(batch_op) -> None:  # type: ignore[no-untyped-def]
        batch_op.add_column(sa.Column("receipt_hash", sa.String(length=64), nullable=True))

    _rebuild_ballots(add_receipt)
    # The old schema wants a unique hash per ballot; the codes are gone, so each ballot gets a
    # placeholder no code hashes to (its own random key).
    op.execute("UPDATE ballots SET receipt_hash = id")

    def require_receipt(batch_op) -> None:  # type: ignore[no-untyped-def]
        batch_op.alter_column("receipt_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_ballots_receipt_hash"), ["receipt_hash"])

    _rebuild_ballots(require_receipt)

    with op.batch_alter_table("vote_voters", schema=None) as batch_op:
        batch_op.drop_column("confirm_hash")

    with op.batch_alter_table("vote_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vote_receipts_vote_id"))

    op.drop_table("vote_receipts")
