"""Receipts: a code the voter gets with their first ballot, to check later that it is counted.

The code proves nothing to anyone else, so it cannot be sold: it is kept only as a hash of the
code together with its owner's id, and it names the vote, never the ballot. Someone else who
types the code hears "unknown", exactly as for a wrong code. The owner hears "counted"; only in
an open vote whose ballot can still be changed do they also see the current choice (a choice
that can change tomorrow proves nothing to a buyer, and an open vote's roll call is public).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import NotFound
from bot.services.votes.access import get
from models import Ballot, BallotChoice, User, Vote, VoteOption, VoteReceipt, VoteVoter

RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed back


def new_receipt() -> str:
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def receipt_hash(code: str, owner_id: int) -> str:
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(f"{normalized}:{owner_id}".encode()).hexdigest()


async def issue(session: AsyncSession, vote_id: int, owner_id: int) -> str:
    code = new_receipt()
    await session.execute(
        insert(VoteReceipt).values(code_hash=receipt_hash(code, owner_id), vote_id=vote_id)
    )
    return code


async def ballot_positions(session: AsyncSession, ballot_id: str) -> tuple[int, ...]:
    rows = await session.scalars(
        select(VoteOption.position)
        .join(BallotChoice, BallotChoice.option_id == VoteOption.id)
        .where(BallotChoice.ballot_id == ballot_id)
        .order_by(VoteOption.position)
    )
    return tuple(rows)


@dataclass(frozen=True)
class Receipt:
    vote: Vote
    positions: tuple[int, ...] | None  # the current choice, shown only where it proves nothing


async def check_receipt(session: AsyncSession, actor: User | None, code: str) -> Receipt:
    """Whether the actor's ballot with this receipt is counted."""
    owner = actor.id if actor is not None and actor.deleted_at is None else None
    vote_id = None
    if owner is not None:
        vote_id = await session.scalar(
            select(VoteReceipt.vote_id).where(VoteReceipt.code_hash == receipt_hash(code, owner))
        )
    if vote_id is None or owner is None:
        raise NotFound("votes-receipt-unknown")
    vote = await get(session, vote_id)
    positions = None
    if not vote.secret and vote.changeable:
        ballot_id = await session.scalar(
            select(Ballot.id)
            .join(VoteVoter, VoteVoter.id == Ballot.voter_id)
            .where(VoteVoter.vote_id == vote.id, VoteVoter.user_id == owner)
        )
        if ballot_id is not None:
            positions = await ballot_positions(session, ballot_id)
    return Receipt(vote, positions)
