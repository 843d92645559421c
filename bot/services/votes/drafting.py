"""Drafting a vote: the checks on what an organizer types, creating and deleting a draft."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.votes.access import get_for_organizer, organizable_bodies, organizes_every_vote
from models import (
    Body,
    Majority,
    OptionKind,
    Quorum,
    User,
    Vote,
    VoteKind,
    VoteOption,
    VoterUnit,
    VoteStatus,
)
from models.base import utcnow

QUESTION_MAX = 300
TEXT_MAX = 20_000
OPTION_MAX = 100
OPTIONS_MAX = 10
ADDRESSEE_MAX = 200
MIN_DURATION = timedelta(minutes=10)
DEFAULT_OPTIONS = (OptionKind.FOR, OptionKind.AGAINST, OptionKind.ABSTAIN)


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
    # An election among registered people (user ids): each option is one of them, by name.
    candidates: list[int] = field(default_factory=list)
    # Until when the elected serve (a conference electing council members).
    term_until: datetime | None = None
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


def _candidate_label(person: User) -> str:
    return _clean_line(person.name or "")[:OPTION_MAX] or f"#{person.id}"


async def check_candidates(session: AsyncSession, user_ids: Sequence[int]) -> list[User]:
    """Candidates who are registered, living people, each once, as many as options may be."""
    if not 2 <= len(user_ids) <= OPTIONS_MAX:
        raise InvalidInput("votes-bad-options", max=OPTIONS_MAX)
    if len(set(user_ids)) != len(user_ids):
        raise InvalidInput("votes-options-repeat")
    people = []
    for user_id in user_ids:
        person = await session.get(User, user_id)
        if person is None or person.deleted_at is not None or not person.is_registered:
            raise NotFound("votes-candidate-not-found")
        people.append(person)
    return people


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
        if not organizes_every_vote(actor):
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
    elif data.candidates:
        if data.kind != VoteKind.ELECTION:
            raise InvalidInput("votes-bad-options", max=OPTIONS_MAX)
        people = await check_candidates(session, data.candidates)
        vote.options = [
            VoteOption(position=i, label=_candidate_label(person), candidate_id=person.id)
            for i, person in enumerate(people)
        ]
        vote.max_choices = check_seats(data.max_choices, len(people))
    else:
        labels = check_options(data.options)
        vote.options = [VoteOption(position=i, label=label) for i, label in enumerate(labels)]
        vote.max_choices = 1
        if data.kind == VoteKind.ELECTION:
            vote.max_choices = check_seats(data.max_choices, len(labels))
    vote.term_until = data.term_until
    session.add(vote)
    await session.flush()
    await audit.record(session, actor, "vote.draft", "vote", vote.id, question=question)
    return vote


async def delete_draft(session: AsyncSession, actor: User | None, vote_id: int) -> None:
    vote = await get_for_organizer(session, actor, vote_id)
    if vote.status != VoteStatus.DRAFT:
        raise InvalidInput("votes-not-draft")
    await session.delete(vote)
    await session.flush()
    await audit.record(session, actor, "vote.delete_draft", "vote", vote_id)
