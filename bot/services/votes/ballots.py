"""Ballots: the ballot message, casting, changing a ballot, receipts, a conference delegate's proxy.

One ballot per voter is kept by the database: casting starts with a compare-and-set on the
voter's roll row (`voted` false → true), so concurrent presses queue behind one another and only
the first one writes a ballot; an open vote's ballot also carries a unique `voter_id`. A secret
ballot carries neither the voter nor a time (see models/votes.py).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.votes.access import get
from models import Ballot, BallotChoice, User, Vote, VoteOption, VoterUnit, VoteStatus, VoteVoter
from models.base import utcnow

# A longer text does not fit a phone screen under the buttons: it goes as a document.
INLINE_TEXT_MAX = 1500
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed back

# Builds the ballot's buttons (rows of {"text" | "text_key", "data"}); the keyboards module
# knows the callback format, so the service stays free of aiogram.
BallotButtons = Callable[[Vote], list[list[dict[str, str]]]]


def needs_document(vote: Vote) -> bool:
    return len(vote.text) > INLINE_TEXT_MAX


def ballot_params(vote: Vote, timezone: str) -> dict[str, Any]:
    """What the ballot message says, for `votes-ballot` (user text stays raw: t() escapes it)."""
    text = vote.text
    if needs_document(vote):
        text = text[:300].rstrip() + "…"
    if vote.secret:
        note = "votes-note-secret"
    elif vote.changeable:
        note = "votes-note-changeable"
    else:
        note = "votes-note-final"
    return {
        "number": vote.id,
        "question": vote.question,
        "text": f"{text}\n\n" if text else "",
        "closes_at": dates.moment_param(vote.closes_at, timezone),
        "note_key": note,
        "seats": vote.max_choices,
    }


def ballot_key(vote: Vote) -> str:
    return "votes-ballot-many" if vote.max_choices > 1 else "votes-ballot"


@dataclass(frozen=True)
class Cast:
    vote: Vote
    positions: tuple[int, ...]
    receipt: str | None  # the receipt code, given once, with the first ballot
    changed: bool


def new_receipt() -> str:
    code = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(12))
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def receipt_hash(code: str) -> str:
    normalized = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalized.encode()).hexdigest()


def _check_open(vote: Vote, now: datetime) -> None:
    if vote.status == VoteStatus.CANCELLED:
        raise InvalidInput("votes-cancelled")
    if vote.status == VoteStatus.DRAFT:
        raise NotFound("votes-not-found")
    if vote.status == VoteStatus.CLOSED or vote.closes_at <= now:
        raise InvalidInput("votes-closed")


def _chosen(vote: Vote, positions: Sequence[int]) -> list[VoteOption]:
    by_position = {option.position: option for option in vote.options}
    wanted = sorted(set(positions))
    if not wanted or any(p not in by_position for p in wanted):
        raise InvalidInput("votes-bad-choice")
    if len(wanted) > vote.max_choices:
        raise InvalidInput("votes-too-many", n=vote.max_choices)
    return [by_position[p] for p in wanted]


async def check_voter(
    session: AsyncSession, actor: User | None, vote_id: int, now: datetime | None = None
) -> Vote:
    """The vote, if this person may vote in it now (for a button that only changes the
    ballot's look, such as ticking a candidate)."""
    vote = await get(session, vote_id)
    _check_open(vote, now or utcnow())
    seat = await session.scalar(
        select(VoteVoter.id).where(
            VoteVoter.vote_id == vote.id, VoteVoter.user_id == (actor.id if actor else -1)
        )
    )
    if seat is None:
        raise NotAllowed("votes-not-eligible")
    return vote


async def cast(
    session: AsyncSession,
    actor: User | None,
    vote_id: int,
    positions: Sequence[int],
    now: datetime | None = None,
) -> Cast:
    now = now or utcnow()
    vote = await get(session, vote_id)
    _check_open(vote, now)
    options = _chosen(vote, positions)
    user_id = actor.id if actor is not None and actor.deleted_at is None else -1
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # Presses of one voter queue on their roll row before anything else is locked, so the
        # locks are always taken in one order (roll row, ballot, audit head): no deadlock.
        await session.execute(
            select(VoteVoter.id)
            .where(VoteVoter.vote_id == vote.id, VoteVoter.user_id == user_id)
            .with_for_update()
        )
    # On SQLite this is the transaction's first write: presses queue on the database lock.
    seat_id = await session.scalar(
        update(VoteVoter)
        .where(
            VoteVoter.vote_id == vote.id,
            VoteVoter.user_id == user_id,
            VoteVoter.voted.is_(False),
        )
        .values(voted=True, voted_at=None if vote.secret else now)
        .returning(VoteVoter.id)
        .execution_options(synchronize_session=False)
    )
    chosen = tuple(option.position for option in options)
    if seat_id is not None:
        code = new_receipt()
        ballot_id = secrets.token_hex(16)
        await session.execute(
            insert(Ballot).values(
                id=ballot_id,
                vote_id=vote.id,
                voter_id=None if vote.secret else seat_id,
                receipt_hash=receipt_hash(code),
            )
        )
        await _write_choices(session, vote.id, ballot_id, options)
        if not vote.secret:
            await audit.record(session, actor, "vote.cast", "vote", vote.id, options=list(chosen))
        return Cast(vote, chosen, code, changed=False)
    seat = await session.scalar(
        select(VoteVoter).where(VoteVoter.vote_id == vote.id, VoteVoter.user_id == user_id)
    )
    if seat is None:
        raise NotAllowed("votes-not-eligible")
    if vote.secret or not vote.changeable:
        raise InvalidInput("votes-already-voted")
    ballot = await session.scalar(select(Ballot).where(Ballot.voter_id == seat.id))
    if ballot is None:  # the roll says voted but no ballot: cannot happen inside a transaction
        raise InvalidInput("votes-already-voted")
    current = await ballot_positions(session, ballot.id)
    if current == chosen:
        return Cast(vote, chosen, None, changed=False)
    await session.execute(delete(BallotChoice).where(BallotChoice.ballot_id == ballot.id))
    await _write_choices(session, vote.id, ballot.id, options)
    seat.voted_at = now
    await session.flush()
    await audit.record(session, actor, "vote.change", "vote", vote.id, options=list(chosen))
    return Cast(vote, chosen, None, changed=True)


async def _write_choices(
    session: AsyncSession, vote_id: int, ballot_id: str, options: Sequence[VoteOption]
) -> None:
    await session.execute(
        insert(BallotChoice),
        [{"ballot_id": ballot_id, "option_id": o.id, "vote_id": vote_id} for o in options],
    )


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
    positions: tuple[int, ...]


async def check_receipt(session: AsyncSession, code: str) -> Receipt:
    """The ballot a receipt code belongs to: proof it is in the count, shown to the code's
    holder only."""
    ballot = await session.scalar(select(Ballot).where(Ballot.receipt_hash == receipt_hash(code)))
    if ballot is None:
        raise NotFound("votes-receipt-unknown")
    return Receipt(await get(session, ballot.vote_id), await ballot_positions(session, ballot.id))


async def hand_to_proxy(
    session: AsyncSession, actor: User | None, vote_id: int, proxy_id: int
) -> VoteVoter:
    """A conference delegate hands their organization's vote to a proxy, before voting."""
    vote = await get(session, vote_id)
    if vote.unit != VoterUnit.ORGANIZATION:
        raise InvalidInput("votes-no-proxy")
    if vote.status != VoteStatus.OPEN:
        raise InvalidInput("votes-not-open")
    seat = await session.scalar(
        select(VoteVoter).where(
            VoteVoter.vote_id == vote.id, VoteVoter.user_id == (actor.id if actor else -1)
        )
    )
    if actor is None or seat is None:
        raise NotAllowed("votes-not-eligible")
    if seat.voted:
        raise InvalidInput("votes-already-voted")
    proxy = await session.get(User, proxy_id)
    if proxy is None or proxy.deleted_at is not None or not proxy.is_registered:
        raise NotFound("votes-proxy-not-found")
    holds = await session.scalar(
        select(VoteVoter.id).where(VoteVoter.vote_id == vote.id, VoteVoter.user_id == proxy.id)
    )
    if holds is not None:
        raise InvalidInput("votes-proxy-has-seat")
    seat.user_id = proxy.id
    await session.flush()
    await audit.record(
        session,
        actor,
        "vote.proxy",
        "vote",
        vote.id,
        organization_id=seat.organization_id,
        proxy_id=proxy.id,
    )
    return seat
