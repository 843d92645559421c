"""Votes: drafting, opening (the roll is fixed), casting, counting, closing, and the rules.

One ballot per voter is kept by the database: casting starts with a compare-and-set on the
voter's roll row (`voted` false → true), so concurrent presses queue behind one another and only
the first one writes a ballot; an open vote's ballot also carries a unique `voter_id`. A secret
ballot carries neither the voter nor a time (see models/votes.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.services import audit, bodies, notices, recommendations, schedule
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.permissions import has_any_role
from bot.services.vote_documents import text_docx
from models import (
    Ballot,
    BallotChoice,
    Body,
    BodyKind,
    Majority,
    MemberRole,
    Membership,
    OptionKind,
    Organization,
    OrganizationStatus,
    Outbox,
    Outcome,
    Quorum,
    Representative,
    RepresentativeRole,
    Role,
    ScheduledJob,
    Topic,
    User,
    Vote,
    VoteKind,
    VoteOption,
    VoterUnit,
    VoteStatus,
    VoteVoter,
)
from models.base import utcnow

QUESTION_MAX = 300
TEXT_MAX = 20_000
OPTION_MAX = 100
OPTIONS_MAX = 10
ADDRESSEE_MAX = 200
# A longer text does not fit a phone screen under the buttons: it goes as a document.
INLINE_TEXT_MAX = 1500
MIN_DURATION = timedelta(minutes=10)

CLOSE_KIND = "vote.close"
# Separate kinds, so scheduling one never moves the other (schedule() keeps one per kind).
REMINDERS = {"vote.remind_24h": timedelta(hours=24), "vote.remind_1h": timedelta(hours=1)}

DEFAULT_OPTIONS = (OptionKind.FOR, OptionKind.AGAINST, OptionKind.ABSTAIN)
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed back
ORGANIZER_ROLES = (Role.PRESIDIUM,)
ORGANIZING_MEMBERS = (MemberRole.CHAIR, MemberRole.SECRETARY)

# Builds the ballot's buttons (rows of {"text" | "text_key", "data"}); the keyboards module
# knows the callback format, so the service stays free of aiogram.
BallotButtons = Callable[[Vote], list[list[dict[str, str]]]]


# --- The rules -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    quorum_met: bool
    winners: tuple[int, ...]  # option positions


def quorum_met(quorum: Quorum, eligible: int, cast: int) -> bool:
    if eligible <= 0 or cast <= 0:
        return False
    if quorum == Quorum.MORE_THAN_HALF:
        return cast * 2 > eligible
    if quorum == Quorum.TWO_THIRDS:
        return cast * 3 >= eligible * 2
    if quorum == Quorum.ONE_THIRD:
        return cast * 3 >= eligible
    return True


def passes(majority: Majority, votes: int, eligible: int, cast: int) -> bool:
    """Whether `votes` for an option are enough under the majority rule."""
    if votes <= 0:
        return False
    if majority == Majority.OF_ELIGIBLE:
        return votes * 2 > eligible
    if majority == Majority.TWO_THIRDS:
        return votes * 3 >= cast * 2
    return votes * 2 > cast


def decide(
    kind: VoteKind,
    quorum: Quorum,
    majority: Majority,
    max_choices: int,
    options: Sequence[tuple[int, OptionKind]],
    counts: dict[int, int],
    eligible: int,
    cast: int,
) -> Decision:
    """The outcome from the count: `options` are (position, kind), `counts` votes per position,
    `cast` the number of ballots. Ties never win: a seat or a choice needs a clear lead."""
    if not quorum_met(quorum, eligible, cast):
        return Decision(Outcome.NO_QUORUM, False, ())
    if kind == VoteKind.RECOMMENDATION:
        for position, option_kind in options:
            if option_kind == OptionKind.FOR:
                if passes(majority, counts.get(position, 0), eligible, cast):
                    return Decision(Outcome.ADOPTED, True, (position,))
        return Decision(Outcome.REJECTED, True, ())
    ranked = sorted(
        (position for position, option_kind in options if option_kind == OptionKind.CHOICE),
        key=lambda position: -counts.get(position, 0),
    )
    seats = max(1, max_choices)
    winners: list[int] = []
    for position in ranked:
        if len(winners) == seats or not passes(majority, counts.get(position, 0), eligible, cast):
            break
        winners.append(position)
    if winners and len(ranked) > len(winners):
        # A tie across the last seat: nobody tied with the first one left out takes it.
        left_out = counts.get(ranked[len(winners)], 0)
        winners = [position for position in winners if counts.get(position, 0) != left_out]
    return Decision(Outcome.ADOPTED if winners else Outcome.REJECTED, True, tuple(winners))


# --- Drafting ----------------------------------------------------------------------------------


def can_organize(user: User | None, body: Body | None, memberships: Sequence[Membership]) -> bool:
    """The presidium and admins organize every vote; a committee's chair and secretary their
    committee's."""
    if has_any_role(user, *ORGANIZER_ROLES):
        return True
    if user is None or body is None or body.kind in (BodyKind.COUNCIL, BodyKind.PRESIDIUM):
        return False
    return any(
        m.body_id == body.id and m.user_id == user.id and m.role in ORGANIZING_MEMBERS
        for m in memberships
    )


async def organizable_bodies(session: AsyncSession, user: User | None) -> list[Body]:
    """The bodies whose votes this person may organize, the council first."""
    if user is None:
        return []
    if has_any_role(user, *ORGANIZER_ROLES):
        await bodies.single(session, BodyKind.COUNCIL)  # the council is always there to choose
        rows = await session.scalars(
            select(Body)
            .where(Body.kind.not_in([BodyKind.SECRETARIAT, BodyKind.EXECUTIVE]))
            .order_by(Body.kind != BodyKind.COUNCIL, Body.id)
        )
        return list(rows)
    rows = await session.scalars(
        select(Body)
        .join(Membership, Membership.body_id == Body.id)
        .where(
            Membership.user_id == user.id,
            Membership.role.in_(ORGANIZING_MEMBERS),
            Body.kind.not_in([BodyKind.COUNCIL, BodyKind.PRESIDIUM]),
        )
        .order_by(Body.id)
    )
    return list(rows)


async def _require_organizer(session: AsyncSession, user: User | None, vote: Vote) -> User:
    body = await session.get(Body, vote.body_id) if vote.body_id is not None else None
    memberships: list[Membership] = []
    if user is not None and body is not None:
        memberships = list(
            await session.scalars(
                select(Membership).where(
                    Membership.user_id == user.id, Membership.body_id == body.id
                )
            )
        )
    if user is None or not can_organize(user, body, memberships):
        raise NotAllowed()
    return user


def _clean_line(value: str) -> str:
    return " ".join(value.split())


@dataclass
class DraftInput:
    body_id: int | None
    kind: VoteKind
    question: str
    closes_at: datetime
    text: str = ""
    options: list[str] = field(default_factory=list)  # custom options or candidates
    max_choices: int = 1
    addressee: str | None = None
    secret: bool = False
    changeable: bool = True
    quorum: Quorum = Quorum.MORE_THAN_HALF
    majority: Majority = Majority.OF_CAST
    unit: VoterUnit = VoterUnit.PERSON
    subject_type: str | None = None
    subject_id: int | None = None


def check_question(value: str) -> str:
    value = _clean_line(value)
    if not value or len(value) > QUESTION_MAX:
        raise InvalidInput("votes-bad-question", max=QUESTION_MAX)
    return value


def check_text(value: str) -> str:
    value = value.strip()
    if len(value) > TEXT_MAX:
        raise InvalidInput("votes-bad-text", max=TEXT_MAX)
    return value


def check_options(lines: Sequence[str]) -> list[str]:
    options = [_clean_line(line) for line in lines if line.strip()]
    if not 2 <= len(options) <= OPTIONS_MAX:
        raise InvalidInput("votes-bad-options", max=OPTIONS_MAX)
    if any(len(option) > OPTION_MAX for option in options):
        raise InvalidInput("votes-option-too-long", max=OPTION_MAX)
    if len({option.casefold() for option in options}) != len(options):
        raise InvalidInput("votes-options-repeat")
    return options


def check_addressee(value: str) -> str:
    value = _clean_line(value)
    if not value or len(value) > ADDRESSEE_MAX:
        raise InvalidInput("votes-bad-addressee", max=ADDRESSEE_MAX)
    return value


def check_seats(value: int | str, options: int) -> int:
    """How many candidates each voter may tick: at least one, fewer than the candidates."""
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) < options:
        raise InvalidInput("votes-bad-seats", max=options - 1)
    return int(text)


def check_closes_at(closes_at: datetime, now: datetime | None = None) -> datetime:
    now = now or utcnow()
    if closes_at.tzinfo is None or closes_at < now + MIN_DURATION:
        raise InvalidInput("votes-closes-too-soon", minutes=int(MIN_DURATION.total_seconds() // 60))
    if closes_at > now + timedelta(days=90):
        raise InvalidInput("votes-closes-too-late")
    return closes_at


async def create_draft(session: AsyncSession, actor: User | None, data: DraftInput) -> Vote:
    """A vote in draft: nobody sees it until it is opened."""
    question = check_question(data.question)
    text = check_text(data.text)
    if data.unit == VoterUnit.ORGANIZATION:
        if not has_any_role(actor, *ORGANIZER_ROLES):
            raise NotAllowed()
        body_id = None
    else:
        body = await session.get(Body, data.body_id) if data.body_id is not None else None
        if body is None:
            raise NotFound("votes-body-not-found")
        if actor is None or body not in await organizable_bodies(session, actor):
            raise NotAllowed()
        body_id = body.id
    check_closes_at(data.closes_at)
    vote = Vote(
        kind=data.kind,
        body_id=body_id,
        unit=data.unit,
        subject_type=data.subject_type,
        subject_id=data.subject_id,
        question=question,
        text=text,
        # A secret ballot cannot be changed: finding it again would need a link to the voter.
        secret=data.secret,
        changeable=data.changeable and not data.secret,
        quorum=data.quorum,
        majority=data.majority,
        closes_at=data.closes_at,
        created_by_id=actor.id if actor else None,
    )
    if data.kind == VoteKind.RECOMMENDATION:
        vote.addressee = check_addressee(data.addressee or "")
        vote.options = [
            VoteOption(position=index, kind=kind) for index, kind in enumerate(DEFAULT_OPTIONS)
        ]
        vote.max_choices = 1
    else:
        labels = check_options(data.options)
        vote.options = [VoteOption(position=i, label=label) for i, label in enumerate(labels)]
        vote.max_choices = 1
        if data.kind == VoteKind.ELECTION:
            vote.max_choices = check_seats(data.max_choices, len(labels))
    session.add(vote)
    await session.flush()
    await audit.record(session, actor, "vote.draft", "vote", vote.id, question=question)
    return vote


async def get(session: AsyncSession, vote_id: int) -> Vote:
    vote = await session.get(Vote, vote_id)
    if vote is None:
        raise NotFound("votes-not-found")
    return vote


async def get_for_organizer(session: AsyncSession, actor: User | None, vote_id: int) -> Vote:
    vote = await get(session, vote_id)
    await _require_organizer(session, actor, vote)
    return vote


async def get_for_viewer(
    session: AsyncSession, actor: User | None, vote_id: int
) -> tuple[Vote, bool]:
    """The vote and whether this person organizes it. Voters and the Secretariat may see a vote
    that is not a draft; anyone else is refused."""
    vote = await get(session, vote_id)
    try:
        await _require_organizer(session, actor, vote)
        return vote, True
    except NotAllowed:
        pass
    seen = await is_voter(session, actor, vote.id) or has_any_role(actor, Role.SECRETARIAT)
    if vote.status == VoteStatus.DRAFT or not seen:
        raise NotAllowed()
    return vote, False


async def closed_for_viewer(session: AsyncSession, actor: User | None, vote_id: int) -> Vote:
    """A vote whose protocol this person may have: closed, and theirs to see."""
    vote, _ = await get_for_viewer(session, actor, vote_id)
    if vote.status != VoteStatus.CLOSED:
        raise InvalidInput("votes-not-closed")
    return vote


async def delete_draft(session: AsyncSession, actor: User | None, vote_id: int) -> None:
    vote = await get_for_organizer(session, actor, vote_id)
    if vote.status != VoteStatus.DRAFT:
        raise InvalidInput("votes-not-draft")
    await session.delete(vote)
    await session.flush()
    await audit.record(session, actor, "vote.delete_draft", "vote", vote_id)


# --- Opening -----------------------------------------------------------------------------------


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
        "closes": schedule.local_time(vote.closes_at, timezone),
        "note_key": note,
        "seats": vote.max_choices,
    }


def ballot_key(vote: Vote) -> str:
    return "votes-ballot-many" if vote.max_choices > 1 else "votes-ballot"


async def _fill_roll(session: AsyncSession, vote: Vote, now: datetime) -> int:
    """Fix the roll: the body's members at this moment, or each member organization's delegate
    (its head, else another representative) in a conference vote."""
    if vote.unit == VoterUnit.PERSON:
        source = (
            select(Membership.user_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.body_id == vote.body_id,
                User.deleted_at.is_(None),
                (Membership.until.is_(None)) | (Membership.until > now),
            )
            .distinct()
        )
        people = list(await session.scalars(source))
        session.add_all(VoteVoter(vote_id=vote.id, user_id=user_id) for user_id in people)
        await session.flush()
        return len(people)
    rows = await session.execute(
        select(Organization.id, Representative.user_id, Representative.role)
        .join(Representative, Representative.organization_id == Organization.id)
        .join(User, User.id == Representative.user_id)
        .where(Organization.status == OrganizationStatus.APPROVED, User.deleted_at.is_(None))
        .order_by(Organization.id, Representative.role != RepresentativeRole.HEAD)
    )
    taken: set[int] = set()
    seated: set[int] = set()
    for organization_id, user_id, _role in rows:
        if organization_id in seated or user_id in taken:
            continue
        session.add(VoteVoter(vote_id=vote.id, user_id=user_id, organization_id=organization_id))
        seated.add(organization_id)
        taken.add(user_id)
    await session.flush()
    return len(seated)


async def open_vote(
    session: AsyncSession,
    actor: User | None,
    vote_id: int,
    *,
    timezone: str,
    buttons: BallotButtons,
    now: datetime | None = None,
) -> Vote:
    """Fix the roll, send each voter a ballot through the delivery engine, and put the close and
    the reminders in the schedule. A long text goes with the ballot as a document."""
    now = now or utcnow()
    vote = await get_for_organizer(session, actor, vote_id)
    if vote.status != VoteStatus.DRAFT:
        raise InvalidInput("votes-not-draft")
    check_closes_at(vote.closes_at, now)
    eligible = await _fill_roll(session, vote, now)
    if eligible == 0:
        raise InvalidInput("votes-nobody-eligible")
    vote.eligible_count = eligible
    vote.status = VoteStatus.OPEN
    vote.opened_at = now
    await session.flush()
    await _schedule(session, vote, now)
    outbox = Outbox(
        kind="ballot",
        topic=Topic.DUTY,
        text_key=ballot_key(vote),
        text_params=ballot_params(vote, timezone),
        buttons=buttons(vote),
        author_id=actor.id if actor else None,
    )
    if needs_document(vote):
        outbox.media_kind = "document"
        outbox.media_data = text_docx(vote.question, vote.text)
        outbox.media_name = f"vote-{vote.id}.docx"
    await delivery.enqueue(session, outbox, {"users": await _roll_user_ids(session, vote.id)})
    await audit.record(
        session, actor, "vote.open", "vote", vote.id, eligible=eligible, secret=vote.secret
    )
    return vote


async def _schedule(session: AsyncSession, vote: Vote, now: datetime) -> None:
    await schedule.schedule(session, CLOSE_KIND, "vote", vote.id, vote.closes_at)
    for kind, before in REMINDERS.items():
        due = vote.closes_at - before
        if due > now:
            await schedule.schedule(session, kind, "vote", vote.id, due)
        else:
            await schedule.cancel(session, "vote", vote.id, kind)


async def extend(
    session: AsyncSession, actor: User | None, vote_id: int, closes_at: datetime
) -> Vote:
    """Move the close later; the reminders move with it and still go only to non-voters."""
    vote = await get_for_organizer(session, actor, vote_id)
    if vote.status != VoteStatus.OPEN:
        raise InvalidInput("votes-not-open")
    if closes_at <= vote.closes_at:
        raise InvalidInput("votes-extend-later")
    check_closes_at(closes_at)
    vote.closes_at = closes_at
    await session.flush()
    await _schedule(session, vote, utcnow())
    await audit.record(session, actor, "vote.extend", "vote", vote.id, closes=closes_at.isoformat())
    return vote


async def _roll_user_ids(session: AsyncSession, vote_id: int, *, voted: bool | None = None) -> list:
    query = select(VoteVoter.user_id).where(VoteVoter.vote_id == vote_id)
    if voted is not None:
        query = query.where(VoteVoter.voted.is_(voted))
    return list(await session.scalars(query.order_by(VoteVoter.id)))


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


# --- Casting -----------------------------------------------------------------------------------


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


# --- Counting and closing ----------------------------------------------------------------------


@dataclass(frozen=True)
class Turnout:
    eligible: int
    voted: int


async def turnout(session: AsyncSession, vote_id: int) -> Turnout:
    rows = await session.execute(
        select(VoteVoter.voted, func.count())
        .where(VoteVoter.vote_id == vote_id)
        .group_by(VoteVoter.voted)
    )
    counts = {bool(voted): n for voted, n in rows}
    return Turnout(counts.get(True, 0) + counts.get(False, 0), counts.get(True, 0))


def tally_query(vote_id: int) -> Any:
    """Votes per option, counted inside the database over ix_ballot_choices_tally."""
    return (
        select(BallotChoice.option_id, func.count())
        .where(BallotChoice.vote_id == vote_id)
        .group_by(BallotChoice.option_id)
    )


def non_voters_query(vote_id: int) -> Any:
    return (
        select(User.id, User.name)
        .join(VoteVoter, VoteVoter.user_id == User.id)
        .where(VoteVoter.vote_id == vote_id, VoteVoter.voted.is_(False))
        .order_by(User.name, User.id)
    )


async def tally(session: AsyncSession, vote: Vote) -> dict[int, int]:
    """Votes per option position."""
    by_id = {option.id: option.position for option in vote.options}
    rows = await session.execute(tally_query(vote.id))
    return {by_id[option_id]: n for option_id, n in rows}


async def non_voters(
    session: AsyncSession, actor: User | None, vote_id: int
) -> list[tuple[int, str]]:
    """Who has not voted yet: what organizers see, open or secret, before the close."""
    vote = await get_for_organizer(session, actor, vote_id)
    rows = await session.execute(non_voters_query(vote.id))
    return [(user_id, name or "—") for user_id, name in rows]


def _decision(vote: Vote, counts: dict[int, int], cast_count: int) -> Decision:
    return decide(
        vote.kind,
        vote.quorum,
        vote.majority,
        vote.max_choices,
        [(option.position, option.kind) for option in vote.options],
        counts,
        vote.eligible_count,
        cast_count,
    )


# Renders the tally as a bar chart (PNG); the app passes one that writes labels in its language.
ChartMaker = Callable[[Vote], bytes | None]


async def close(
    session: AsyncSession,
    vote: Vote,
    *,
    timezone: str,
    reply_days: int = 30,
    chart: ChartMaker | None = None,
    now: datetime | None = None,
) -> Vote:
    """Count, apply the rules, record the result, tell every eligible voter; an adopted
    recommendation enters the registry."""
    now = now or utcnow()
    if vote.status != VoteStatus.OPEN:
        return vote
    counts = await tally(session, vote)
    voted = (await turnout(session, vote.id)).voted
    decision = _decision(vote, counts, voted)
    vote.status = VoteStatus.CLOSED
    vote.closed_at = now
    vote.outcome = decision.outcome
    vote.result = {
        "eligible": vote.eligible_count,
        "cast": voted,
        "counts": {str(position): counts.get(position, 0) for position in _positions(vote)},
        "winners": list(decision.winners),
        "quorum_met": decision.quorum_met,
    }
    await session.flush()
    for kind in REMINDERS:
        await schedule.cancel(session, "vote", vote.id, kind)
    await schedule.cancel(session, "vote", vote.id, CLOSE_KIND)
    recommendation = None
    if vote.kind == VoteKind.RECOMMENDATION and decision.outcome == Outcome.ADOPTED:
        recommendation = await recommendations.register(session, vote, now, reply_days)
    outbox = results_outbox(vote, timezone, recommendation_number=recommendation)
    # Drawing takes a moment: in a thread, so the bot keeps answering meanwhile.
    image = await asyncio.to_thread(chart, vote) if chart is not None else None
    if image:
        outbox.media_kind, outbox.media_data = "photo", image
        outbox.media_name = f"vote-{vote.id}.png"
    await delivery.enqueue(session, outbox, {"users": await _roll_user_ids(session, vote.id)})
    await audit.record(
        session,
        None,
        "vote.close",
        "vote",
        vote.id,
        outcome=decision.outcome.value,
        cast=voted,
        eligible=vote.eligible_count,
    )
    return vote


def _positions(vote: Vote) -> list[int]:
    return [option.position for option in vote.options]


def option_label_param(option: VoteOption) -> str:
    return option.label or f"votes-option-{option.kind.value}"


def results_outbox(
    vote: Vote, timezone: str, *, recommendation_number: Any = None, topic: Topic = Topic.DUTY
) -> Outbox:
    """The results message: outcome, turnout, the tally; in each recipient's language."""
    result = vote.result or {}
    params: dict[str, Any] = {
        "number": vote.id,
        "question": vote.question,
        "outcome_key": f"votes-outcome-{vote.outcome.value if vote.outcome else 'rejected'}",
        "cast": result.get("cast", 0),
        "eligible": result.get("eligible", 0),
        "closed": schedule.local_time(vote.closed_at or utcnow(), timezone),
        "rule_key": f"votes-majority-{vote.majority.value}",
        "quorum_key": f"votes-quorum-{vote.quorum.value}",
    }
    if vote.kind == VoteKind.RECOMMENDATION:
        counts = result.get("counts", {})
        key = "votes-results-recommendation"
        params.update(
            {
                "yes": counts.get("0", 0),
                "no": counts.get("1", 0),
                "abstain": counts.get("2", 0),
                "registry": str(recommendation_number.number) if recommendation_number else "—",
            }
        )
    else:
        key = "votes-results-choice"
        counts = result.get("counts", {})
        winners = set(result.get("winners", []))
        lines = []
        for option in vote.options:
            mark = "✅ " if option.position in winners else ""
            lines.append(f"{mark}{option.label}: {counts.get(str(option.position), 0)}")
        params["tally"] = "\n".join(lines)
    return Outbox(kind="results", topic=topic, text_key=key, text_params=params)


async def announce_results(
    session: AsyncSession, actor: User | None, vote_id: int, timezone: str
) -> Outbox:
    """The presidium tells everyone (beyond the voters) how a closed vote went."""
    vote = await get(session, vote_id)
    if not has_any_role(actor, *ORGANIZER_ROLES):
        raise NotAllowed()
    if vote.status != VoteStatus.CLOSED:
        raise InvalidInput("votes-not-closed")
    number = None
    if vote.kind == VoteKind.RECOMMENDATION:
        number = await recommendations.for_vote(session, vote.id)
    outbox = results_outbox(vote, timezone, recommendation_number=number, topic=Topic.ANNOUNCEMENTS)
    outbox.kind = "announcement"
    outbox.author_id = actor.id if actor else None
    await delivery.enqueue(session, outbox, {"everyone": True})
    await audit.record(session, actor, "vote.announce", "vote", vote.id, total=outbox.total)
    return outbox


async def close_early(
    session: AsyncSession,
    actor: User | None,
    vote_id: int,
    *,
    timezone: str,
    reply_days: int = 30,
    chart: ChartMaker | None = None,
) -> Vote:
    """Organizers may close before the time only once every eligible voter has voted."""
    vote = await get_for_organizer(session, actor, vote_id)
    if vote.status != VoteStatus.OPEN:
        raise InvalidInput("votes-not-open")
    count = await turnout(session, vote.id)
    if count.voted < count.eligible:
        raise InvalidInput("votes-not-all-voted", n=count.eligible - count.voted)
    await audit.record(session, actor, "vote.close_early", "vote", vote.id)
    return await close(session, vote, timezone=timezone, reply_days=reply_days, chart=chart)


async def cancel(session: AsyncSession, actor: User | None, vote_id: int) -> Vote:
    """Call off an open vote: nothing is counted, voters are told."""
    vote = await get_for_organizer(session, actor, vote_id)
    if vote.status != VoteStatus.OPEN:
        raise InvalidInput("votes-not-open")
    vote.status = VoteStatus.CANCELLED
    vote.closed_at = utcnow()
    await schedule.cancel(session, "vote", vote.id)
    await session.flush()
    people = list(
        await session.scalars(
            select(User).where(User.id.in_(await _roll_user_ids(session, vote.id)))
        )
    )
    await notices.notify(
        session, people, "votes-cancelled-notice", number=vote.id, question=vote.question
    )
    await audit.record(session, actor, "vote.cancel", "vote", vote.id)
    return vote


# --- Scheduled work ------------------------------------------------------------------------------


async def run_close(
    session: AsyncSession,
    job: ScheduledJob,
    *,
    timezone: str,
    reply_days: int,
    chart: ChartMaker | None,
) -> dict[str, Any]:
    vote = await session.get(Vote, job.object_id)
    if vote is None or vote.status != VoteStatus.OPEN:
        return {"skipped": "not open"}
    if vote.closes_at > utcnow():
        # Moved later meanwhile: the job for the new time is already in the schedule.
        return {"skipped": "extended"}
    await close(session, vote, timezone=timezone, reply_days=reply_days, chart=chart)
    return {"outcome": vote.outcome.value if vote.outcome else None}


async def run_reminder(
    session: AsyncSession, job: ScheduledJob, *, timezone: str, buttons: BallotButtons
) -> dict[str, Any]:
    """Remind those who have not voted — only them — with the ballot's buttons again."""
    vote = await session.get(Vote, job.object_id)
    if vote is None or vote.status != VoteStatus.OPEN:
        return {"skipped": "not open"}
    waiting = await _roll_user_ids(session, vote.id, voted=False)
    if not waiting:
        return {"reminded": 0}
    params = ballot_params(vote, timezone)
    outbox = Outbox(
        kind="reminder",
        topic=Topic.DUTY,
        text_key="votes-reminder",
        text_params={"number": vote.id, "question": vote.question, "closes": params["closes"]},
        buttons=buttons(vote),
    )
    await delivery.enqueue(session, outbox, {"users": waiting})
    return {"reminded": outbox.total}


# --- Listing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyVote:
    vote: Vote
    voted: bool


async def open_for_voter(session: AsyncSession, user: User) -> list[MyVote]:
    rows = await session.execute(
        select(Vote, VoteVoter.voted)
        .join(VoteVoter, VoteVoter.vote_id == Vote.id)
        .where(VoteVoter.user_id == user.id, Vote.status == VoteStatus.OPEN)
        .order_by(Vote.closes_at)
    )
    return [MyVote(vote, voted) for vote, voted in rows]


async def organized(session: AsyncSession, user: User | None, limit: int = 20) -> list[Vote]:
    """Recent votes of the bodies this person organizes, newest first."""
    ids = [body.id for body in await organizable_bodies(session, user)]
    query = select(Vote).order_by(Vote.id.desc()).limit(limit)
    if has_any_role(user, *ORGANIZER_ROLES):
        rows = await session.scalars(query)
    else:
        rows = await session.scalars(query.where(Vote.body_id.in_(ids)))
    return list(rows)


async def recent_closed_for(session: AsyncSession, user: User, limit: int = 5) -> list[Vote]:
    rows = await session.scalars(
        select(Vote)
        .join(VoteVoter, VoteVoter.vote_id == Vote.id)
        .where(VoteVoter.user_id == user.id, Vote.status == VoteStatus.CLOSED)
        .order_by(Vote.closed_at.desc())
        .limit(limit)
    )
    return list(rows)


async def is_voter(session: AsyncSession, user: User | None, vote_id: int) -> bool:
    if user is None:
        return False
    found = await session.scalar(
        select(VoteVoter.id).where(VoteVoter.vote_id == vote_id, VoteVoter.user_id == user.id)
    )
    return found is not None


@dataclass(frozen=True)
class RollEntry:
    name: str
    positions: tuple[int, ...] | None  # None: did not vote


async def roll_call(session: AsyncSession, vote: Vote) -> list[RollEntry]:
    """An open vote's roll call, for its protocol; a secret vote has none."""
    if vote.secret:
        return []
    seats = await session.execute(
        select(VoteVoter.id, User.name, Organization.name, Ballot.id)
        .join(User, User.id == VoteVoter.user_id)
        .outerjoin(Organization, Organization.id == VoteVoter.organization_id)
        .outerjoin(Ballot, Ballot.voter_id == VoteVoter.id)
        .where(VoteVoter.vote_id == vote.id)
        .order_by(User.name, VoteVoter.id)
    )
    choices: dict[str, list[int]] = {}
    rows = await session.execute(
        select(BallotChoice.ballot_id, VoteOption.position)
        .join(VoteOption, VoteOption.id == BallotChoice.option_id)
        .where(BallotChoice.vote_id == vote.id)
        .order_by(VoteOption.position)
    )
    for ballot_id, position in rows:
        choices.setdefault(ballot_id, []).append(position)
    entries = []
    for _seat, name, organization, ballot_id in seats:
        shown = f"{organization} ({name})" if organization else (name or "—")
        positions = tuple(choices.get(ballot_id, ())) if ballot_id else None
        entries.append(RollEntry(shown, positions))
    return entries
