"""Votes at a meeting, opened by its organizers in the room: a recommendation, a question with
options, or (at a conference) the election of council members.

The vote engine runs them like any other vote; what differs is who gets a ballot. A vote at a
conference is by organization (one vote per member organization, cast by its delegate); a vote
at a body's session is by person. Either way only those registered as present vote
(`bot.services.votes.presence`). When such a vote closes, the engine calls `on_vote_closed`:
the vote is recorded among the meeting's decisions, and an election seats its winners in the
council (`election.py`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiogram.utils.i18n import I18n
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.i18n import create_i18n
from bot.services import users
from bot.services.errors import InvalidInput, NotFound
from bot.services.meetings import access, election
from bot.services.votes import lifecycle, presence
from bot.services.votes.ballots import BallotButtons
from bot.services.votes.drafting import DraftInput, create_draft
from bot.texts import plain
from models import Outcome, User, Vote, VoteKind, VoterUnit
from models.base import utcnow
from models.meetings import Meeting, MeetingDecision, MeetingKind, MeetingStatus

SUBJECT = presence.MEETING_SUBJECT
# Voted in the room: half an hour unless the organizer says otherwise.
DEFAULT_DURATION = timedelta(minutes=30)
MIN_DURATION = timedelta(minutes=10)
MAX_DURATION = timedelta(hours=48)
QUERY_MAX = 100
# "45", "45 мин", "2 ч", "1.5 h", "90m": minutes unless hours are named.
_DURATION = re.compile(r"^\s*(\d{1,3}(?:[.,]\d)?)\s*([^\d\s.,]*)\.?\s*$")
_HOURS = ("ч", "час", "часа", "часов", "h", "hr", "hrs", "hour", "hours")
_MINUTES = ("", "м", "мин", "минут", "минуты", "минута", "m", "min", "mins", "minute", "minutes")


async def meeting_for_votes(
    session: AsyncSession, actor: User | None, meeting_id: int, *, lock: bool = False
) -> Meeting:
    """A published meeting whose votes this person organizes."""
    meeting = await access.get_for_organizer(session, actor, meeting_id, lock=lock)
    if meeting.status != MeetingStatus.PUBLISHED:
        raise InvalidInput("meetings-votes-not-published")
    return meeting


def unit_of(meeting: Meeting) -> VoterUnit:
    return VoterUnit.ORGANIZATION if meeting.kind == MeetingKind.CONFERENCE else VoterUnit.PERSON


def check_kind(meeting: Meeting, kind: VoteKind) -> VoteKind:
    """The council election belongs to a conference."""
    if kind == VoteKind.ELECTION and meeting.kind != MeetingKind.CONFERENCE:
        raise InvalidInput("meetings-votes-election-at-conference")
    return kind


async def present_seats(
    session: AsyncSession, meeting: Meeting, now: datetime | None = None
) -> int:
    """How many ballots a vote opened now would send: organizations or members present."""
    found = await presence.seats(
        session, meeting.id, unit_of(meeting), meeting.body_id, now or utcnow()
    )
    return len(found)


async def votes_of(session: AsyncSession, meeting_id: int) -> list[Vote]:
    rows = await session.scalars(
        select(Vote)
        .where(Vote.subject_type == SUBJECT, Vote.subject_id == meeting_id)
        .order_by(Vote.id)
    )
    return list(rows)


@dataclass(frozen=True)
class Panel:
    meeting: Meeting
    present: int  # ballots a vote opened now would send
    votes: list[Vote]


async def panel(session: AsyncSession, actor: User | None, meeting_id: int) -> Panel:
    """The organizer's votes panel: who is present to vote, and the votes held so far."""
    meeting = await meeting_for_votes(session, actor, meeting_id)
    return Panel(
        meeting, await present_seats(session, meeting), await votes_of(session, meeting.id)
    )


def parse_duration(text: str) -> timedelta:
    """How long a vote stays open, typed as minutes ("45", "45 мин") or hours ("2 ч", "1.5 h")."""
    match = _DURATION.match(text or "")
    unit = match.group(2).casefold() if match else None
    if match is None or unit not in (*_HOURS, *_MINUTES):
        raise InvalidInput("meetings-votes-bad-duration")
    amount = float(match.group(1).replace(",", "."))
    duration = timedelta(hours=amount) if unit in _HOURS else timedelta(minutes=amount)
    return check_duration(duration)


def check_duration(duration: timedelta) -> timedelta:
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise InvalidInput(
            "meetings-votes-bad-duration-range",
            minutes=int(MIN_DURATION.total_seconds() // 60),
            hours=int(MAX_DURATION.total_seconds() // 3600),
        )
    return duration


async def find_candidates(
    session: AsyncSession, actor: User | None, meeting_id: int, query: str
) -> list[User]:
    """Registered people an organizer may name as candidates (by name, @username or id)."""
    await meeting_for_votes(session, actor, meeting_id)
    if len(query) > QUERY_MAX:
        raise InvalidInput("meetings-votes-bad-query", max=QUERY_MAX)
    return await users.search_people(session, query)


async def candidate(
    session: AsyncSession, actor: User | None, meeting_id: int, user_id: int
) -> User:
    """A person picked as a candidate from the search results."""
    await meeting_for_votes(session, actor, meeting_id)
    person = await session.get(User, user_id)
    if person is None or not person.is_registered:
        raise NotFound("votes-candidate-not-found")
    return person


@dataclass
class MeetingVoteInput:
    kind: VoteKind
    question: str
    duration: timedelta = DEFAULT_DURATION
    options: list[str] = field(default_factory=list)
    candidates: list[int] = field(default_factory=list)  # an election's: user ids
    seats: int = 1
    term_until: datetime | None = None  # an election's: until when the elected serve
    addressee: str | None = None  # a recommendation's


async def open_at_meeting(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    data: MeetingVoteInput,
    *,
    timezone: str,
    buttons: BallotButtons,
    now: datetime | None = None,
) -> Vote:
    """Draft the vote and open it at once: ballots go to those present only. Refused when
    nobody is registered as present yet."""
    now = now or utcnow()
    meeting = await meeting_for_votes(session, actor, meeting_id, lock=True)
    kind = check_kind(meeting, data.kind)
    duration = check_duration(data.duration)
    if kind == VoteKind.ELECTION:
        if data.term_until is None:
            raise InvalidInput("meetings-votes-term-required")
        if data.term_until <= now:
            raise InvalidInput("bodies-term-past")
    if await present_seats(session, meeting, now) == 0:
        raise InvalidInput("meetings-votes-nobody-present")
    unit = unit_of(meeting)
    draft = await create_draft(
        session,
        actor,
        DraftInput(
            body_id=None if unit == VoterUnit.ORGANIZATION else meeting.body_id,
            kind=kind,
            question=data.question,
            closes_at=now + duration,
            options=data.options,
            candidates=data.candidates if kind == VoteKind.ELECTION else [],
            max_choices=data.seats,
            addressee=data.addressee,
            quorum=meeting.quorum,
            unit=unit,
            subject_type=SUBJECT,
            subject_id=meeting.id,
            term_until=data.term_until if kind == VoteKind.ELECTION else None,
        ),
    )
    return await lifecycle.open_vote(
        session, actor, draft.id, timezone=timezone, buttons=buttons, now=now
    )


# --- When a vote at a meeting closes --------------------------------------------------------------


async def on_vote_closed(session: AsyncSession, vote: Vote, *, timezone: str) -> None:
    """Called by the vote engine when a vote at a meeting closes: the vote becomes one of the
    meeting's decisions (the minutes list it) and an election's winners take their seats."""
    if vote.subject_type != SUBJECT or vote.subject_id is None:
        return
    meeting = await session.get(Meeting, vote.subject_id)
    if meeting is None:
        return
    elected = await election.seat_winners(session, vote, meeting, timezone=timezone)
    last = await session.scalar(
        select(func.max(MeetingDecision.position)).where(MeetingDecision.meeting_id == meeting.id)
    )
    session.add(
        MeetingDecision(
            meeting_id=meeting.id,
            position=(last or 0) + 1,
            text=decision_text(vote, [person.name or "" for person in elected], timezone),
            vote_id=vote.id,
        )
    )
    await session.flush()


def decision_text(vote: Vote, elected: list[str], timezone: str) -> str:
    """The decision as the minutes record it: the question, the outcome and the count."""
    result = vote.result or {}
    counts = result.get("counts", {})
    outcome = vote.outcome.value if vote.outcome else Outcome.REJECTED.value
    lines = [
        vote.question,
        _say(
            "meetings-votes-decision",
            outcome=_say(f"votes-outcome-{outcome}"),
            cast=result.get("cast", 0),
            eligible=result.get("eligible", 0),
        ),
    ]
    if vote.kind == VoteKind.RECOMMENDATION:
        lines.append(
            _say(
                "meetings-votes-decision-counts",
                yes=counts.get("0", 0),
                no=counts.get("1", 0),
                abstain=counts.get("2", 0),
            )
        )
    else:
        winners = set(result.get("winners", []))
        for option in vote.options:
            mark = "✅ " if option.position in winners else ""
            lines.append(f"{mark}{option.label}: {counts.get(str(option.position), 0)}")
    if elected and vote.term_until is not None:
        lines.append(
            _say(
                "meetings-votes-decision-elected",
                names=", ".join(elected),
                until=dates.local_day(vote.term_until, timezone).strftime("%d.%m.%Y"),
            )
        )
    return "\n".join(lines)


def _say(key: str, /, **params: object) -> str:
    """A text of the record in the language of whoever closed the vote (the scheduler's close
    is written in the Assembly's language); outside any update, in the default one."""
    if I18n.get_current(no_error=True) is not None:
        return plain(key, **params)
    with create_i18n().context():
        return plain(key, **params)
