"""Ballots: the ballot message, confirming and casting, changing a ballot, a conference
delegate's proxy.

Casting holds the vote's lock (`box.lock_vote`), so the casts of one vote and its close queue
one behind another. One ballot per voter is kept by a compare-and-set on the voter's roll row
(`voted` false → true): only the first press writes a ballot; an open vote's ballot also carries
a unique `voter_id`. A secret ballot carries neither the voter nor a time, and its box is
rewritten whole at each cast (see box.py). A ballot that cannot be changed is cast only with the
one-time code of the confirmation screen the voter saw, for the choice that screen showed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, false, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.votes import box, receipts
from bot.services.votes.access import get
from bot.services.votes.receipts import ballot_positions
from models import Ballot, BallotChoice, User, Vote, VoteOption, VoterUnit, VoteStatus, VoteVoter
from models.base import utcnow

# A longer text does not fit a phone screen under the buttons: it goes as a document.
INLINE_TEXT_MAX = 1500

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


def is_final(vote: Vote) -> bool:
    """A ballot that cannot be changed (every secret one) is confirmed before it is cast."""
    return vote.secret or not vote.changeable


@dataclass(frozen=True)
class Cast:
    vote: Vote
    positions: tuple[int, ...]
    receipt: str | None  # the receipt code, given once, with the first ballot
    changed: bool


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


def _user_id(actor: User | None) -> int:
    return actor.id if actor is not None and actor.deleted_at is None else -1


def confirm_hash(code: str, positions: Sequence[int]) -> str:
    chosen = ",".join(str(p) for p in sorted(set(positions)))
    return hashlib.sha256(f"{code}:{chosen}".encode()).hexdigest()


async def check_voter(
    session: AsyncSession, actor: User | None, vote_id: int, now: datetime | None = None
) -> Vote:
    """The vote, if this person may vote in it now (for a button that only changes the
    ballot's look, such as ticking a candidate)."""
    vote = await get(session, vote_id)
    _check_open(vote, now or utcnow())
    seat = await session.scalar(
        select(VoteVoter.id).where(
            VoteVoter.vote_id == vote.id, VoteVoter.user_id == _user_id(actor)
        )
    )
    if seat is None:
        raise NotAllowed("votes-not-eligible")
    return vote


async def confirm(
    session: AsyncSession,
    actor: User | None,
    vote_id: int,
    positions: Sequence[int],
    now: datetime | None = None,
) -> str:
    """The confirmation screen of a final ballot: a one-time code for this choice, kept hashed
    with it on the voter's roll row. A newer screen replaces an older one."""
    vote = await get(session, vote_id)
    _check_open(vote, now or utcnow())
    options = _chosen(vote, positions)
    code = secrets.token_urlsafe(9)
    digest = confirm_hash(code, [option.position for option in options])
    seat = await session.scalar(
        update(VoteVoter)
        .where(
            VoteVoter.vote_id == vote.id,
            VoteVoter.user_id == _user_id(actor),
            VoteVoter.voted.is_(False),
        )
        .values(confirm_hash=digest)
        .returning(VoteVoter.id)
        .execution_options(synchronize_session=False)
    )
    if seat is None:
        await _refuse(session, vote, actor)
    return code


async def _refuse(session: AsyncSession, vote: Vote, actor: User | None) -> None:
    """Why a roll row was not there to write: no seat, or the ballot is cast already."""
    voted = await session.scalar(
        select(VoteVoter.voted).where(
            VoteVoter.vote_id == vote.id, VoteVoter.user_id == _user_id(actor)
        )
    )
    if voted is None:
        raise NotAllowed("votes-not-eligible")
    raise InvalidInput("votes-already-voted")


async def cast(
    session: AsyncSession,
    actor: User | None,
    vote_id: int,
    positions: Sequence[int],
    now: datetime | None = None,
    *,
    confirmation: str | None = None,
) -> Cast:
    """Cast (or change) the actor's ballot. A final ballot needs the code of its confirmation
    screen (`confirm`) and the choice that screen showed."""
    now = now or utcnow()
    vote = await box.lock_vote(session, vote_id)
    _check_open(vote, now)
    options = _chosen(vote, positions)
    chosen = tuple(option.position for option in options)
    user_id = _user_id(actor)
    condition = [
        VoteVoter.vote_id == vote.id,
        VoteVoter.user_id == user_id,
        VoteVoter.voted.is_(False),
    ]
    if is_final(vote):
        # Without a confirmation nothing matches, and the reason is told below.
        digest = confirm_hash(confirmation, chosen) if confirmation else None
        condition.append(VoteVoter.confirm_hash == digest if digest else false())
    seat_id = await session.scalar(
        update(VoteVoter)
        .where(*condition)
        .values(voted=True, voted_at=None if vote.secret else now, confirm_hash=None)
        .returning(VoteVoter.id)
        .execution_options(synchronize_session=False)
    )
    if seat_id is not None:
        code = await receipts.issue(session, vote.id, user_id)
        if vote.secret:
            await box.rewrite(session, vote.id, [option.id for option in options])
            return Cast(vote, chosen, code, changed=False)
        ballot_id = secrets.token_hex(16)
        await session.execute(
            insert(Ballot).values(id=ballot_id, vote_id=vote.id, voter_id=seat_id)
        )
        await _write_choices(session, vote.id, ballot_id, options)
        await audit.record(session, actor, "vote.cast", "vote", vote.id, options=list(chosen))
        return Cast(vote, chosen, code, changed=False)
    seat = await session.scalar(
        select(VoteVoter).where(VoteVoter.vote_id == vote.id, VoteVoter.user_id == user_id)
    )
    if seat is None:
        raise NotAllowed("votes-not-eligible")
    if is_final(vote):
        if seat.voted:
            raise InvalidInput("votes-already-voted")
        raise InvalidInput("votes-confirm-again")  # a wrong or an old confirmation
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
    seat.confirm_hash = None  # a confirmation screen belongs to the one who saw it
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
