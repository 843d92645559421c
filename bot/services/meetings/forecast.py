"""What the invited answered, as the organizers and the Secretariat read it: totals, by person,
by organization (a conference), who has not answered; and, when votes are planned, whether
those coming make the meeting's quorum.

The forecast counts the voters the votes will count. A conference votes by member organization
(one vote each), so it counts the approved organizations that have a delegate, and an
organization is coming when any of its delegates said yes. A session counts the body's current
members who said yes. Guests never count. The quorum rule is the vote engine's
(`votes.rules.quorum_met`). Two days before the start the scheduler checks the forecast and
warns the organizers (the meeting's creator; at a conference also the presidium) when it says
there will be no quorum."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.services import roles
from bot.services.errors import InvalidInput
from bot.services.meetings import access, roll
from bot.services.notices import notify
from bot.services.paging import Page, page_bounds
from bot.services.votes.rules import quorum_met
from models import Organization, Role, ScheduledJob, User
from models.base import utcnow
from models.meetings import (
    Answer,
    InviteReason,
    Meeting,
    MeetingInvitee,
    MeetingKind,
    MeetingStatus,
)
from models.votes import Quorum
from scheduler import jobs

CHECK_KIND = "meeting.quorum_check"
CHECK_BEFORE = timedelta(days=2)
SUBJECT = "meeting"
PEOPLE_PER_PAGE = 20
ORGANIZATIONS_PER_PAGE = 8
# An organization's state, from its delegates' answers: coming if any comes, else maybe if any
# may, else unknown while any has not answered, else not coming.
ORDER = (Answer.YES, Answer.MAYBE, Answer.NONE, Answer.NO)


@dataclass(frozen=True)
class Forecast:
    eligible: int  # organizations (a conference) or members (a session) the votes count
    coming: int
    maybe: int  # not coming for sure, but said maybe
    needed: int | None  # how many make the quorum; None: nobody to count
    quorum: Quorum
    by_organization: bool

    @property
    def expected(self) -> bool:
        return self.needed is not None and self.coming >= self.needed

    @property
    def with_maybe(self) -> bool:
        return self.needed is not None and self.coming + self.maybe >= self.needed


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str
    answer: Answer
    organization: str | None  # the organization they are a delegate of


@dataclass(frozen=True)
class OrganizationRow:
    organization_id: int
    name: str
    answer: Answer  # the organization's state (ORDER)
    delegates: list[Person] = field(default_factory=list)


@dataclass(frozen=True)
class Overview:
    meeting: Meeting
    totals: Counter[Answer]
    invited: int
    forecast: Forecast | None  # only when votes are planned


def needed(quorum: Quorum, eligible: int) -> int | None:
    """The fewest of `eligible` that make the quorum (the vote engine's rule)."""
    for count in range(1, eligible + 1):
        if quorum_met(quorum, eligible, count):
            return count
    return None


def organization_answer(delegates: list[Answer]) -> Answer:
    for answer in ORDER:
        if answer in delegates:
            return answer
    return Answer.NONE


async def _rows(session: AsyncSession, meeting_id: int) -> list[MeetingInvitee]:
    return list(
        await session.scalars(select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting_id))
    )


async def forecast(session: AsyncSession, meeting: Meeting) -> Forecast:
    invitees = await _rows(session, meeting.id)
    if meeting.kind == MeetingKind.CONFERENCE:
        organizations = await roll.organization_delegates(session, meeting.id)
        answered = {row.user_id: row.answer for row in invitees}
        counted = [
            organization_answer([answered[user_id] for user_id in people if user_id in answered])
            for people in organizations.values()
        ]
        eligible = len(organizations)
    else:
        members = {
            user_id
            for user_id, (reason, _org) in (await roll.expected(session, meeting)).items()
            if reason == InviteReason.MEMBER
        }
        counted = [row.answer for row in invitees if row.user_id in members]
        eligible = len(members)
    return Forecast(
        eligible=eligible,
        coming=counted.count(Answer.YES),
        maybe=counted.count(Answer.MAYBE),
        needed=needed(meeting.quorum, eligible),
        quorum=meeting.quorum,
        by_organization=meeting.kind == MeetingKind.CONFERENCE,
    )


async def overview(session: AsyncSession, actor: User | None, meeting_id: int) -> Overview:
    """The totals of the answers and, when votes are planned, the quorum forecast."""
    meeting = await access.get_for_secretary(session, actor, meeting_id)
    invitees = await _rows(session, meeting.id)
    totals: Counter[Answer] = Counter(row.answer for row in invitees)
    return Overview(
        meeting=meeting,
        totals=totals,
        invited=len(invitees),
        forecast=await forecast(session, meeting) if meeting.votes_planned else None,
    )


async def _people(session: AsyncSession, meeting_id: int, *, silent: bool) -> list[Person]:
    statement = (
        select(MeetingInvitee, User.name, Organization.name)
        .join(User, User.id == MeetingInvitee.user_id)
        .outerjoin(Organization, Organization.id == MeetingInvitee.organization_id)
        .where(MeetingInvitee.meeting_id == meeting_id)
        .order_by(User.name_key, User.id)
    )
    if silent:
        statement = statement.where(MeetingInvitee.answer == Answer.NONE)
    rows = await session.execute(statement)
    return [
        Person(row.user_id, name or "—", row.answer, organization)
        for row, name, organization in rows
    ]


async def people(
    session: AsyncSession, actor: User | None, meeting_id: int, page: int, *, silent: bool = False
) -> tuple[Meeting, Page[Person]]:
    """Everyone invited with their answer (or only those who have not answered), by name."""
    meeting = await access.get_for_secretary(session, actor, meeting_id)
    found = await _people(session, meeting.id, silent=silent)
    page, pages = page_bounds(page, len(found), PEOPLE_PER_PAGE)
    start = page * PEOPLE_PER_PAGE
    return meeting, Page(found[start : start + PEOPLE_PER_PAGE], page, pages, len(found))


async def by_organization(
    session: AsyncSession, actor: User | None, meeting_id: int, page: int
) -> tuple[Meeting, Page[OrganizationRow], Counter[Answer]]:
    """A conference's member organizations with their delegates' answers; the counts of
    organizations by state come with the page."""
    meeting = await access.get_for_secretary(session, actor, meeting_id)
    if meeting.kind != MeetingKind.CONFERENCE:
        raise InvalidInput("meetings-not-conference")
    expected = await roll.organization_delegates(session, meeting.id)
    names = dict(
        (
            await session.execute(
                select(Organization.id, Organization.name).where(Organization.id.in_(expected))
            )
        ).all()
    )
    invited = {
        person.user_id: person for person in await _people(session, meeting.id, silent=False)
    }
    rows: list[OrganizationRow] = []
    for organization_id in sorted(expected, key=lambda o: (names.get(o, "").casefold(), o)):
        delegates = [
            invited[user_id] for user_id in expected[organization_id] if user_id in invited
        ]
        rows.append(
            OrganizationRow(
                organization_id,
                names.get(organization_id, "—"),
                organization_answer([person.answer for person in delegates]),
                delegates,
            )
        )
    counts: Counter[Answer] = Counter(row.answer for row in rows)
    page, pages = page_bounds(page, len(rows), ORGANIZATIONS_PER_PAGE)
    start = page * ORGANIZATIONS_PER_PAGE
    chunk = rows[start : start + ORGANIZATIONS_PER_PAGE]
    return meeting, Page(chunk, page, pages, len(rows)), counts


# --- The scheduled check ------------------------------------------------------------------------


async def schedule_check(session: AsyncSession, meeting: Meeting, now: datetime) -> None:
    """The check two days before the start (again after a move); none when that has passed."""
    due = meeting.starts_at - CHECK_BEFORE
    if meeting.status == MeetingStatus.PUBLISHED and due > now:
        await jobs.schedule(session, CHECK_KIND, SUBJECT, meeting.id, due)
    else:
        await jobs.cancel(session, SUBJECT, meeting.id, CHECK_KIND)


async def cancel_check(session: AsyncSession, meeting: Meeting) -> None:
    await jobs.cancel(session, SUBJECT, meeting.id, CHECK_KIND)


async def organizers(session: AsyncSession, meeting: Meeting) -> list[User]:
    """Who is warned: the meeting's creator; at a conference also the presidium."""
    people: dict[int, User] = {}
    if meeting.created_by_id is not None:
        creator = await session.get(User, meeting.created_by_id)
        if creator is not None and creator.deleted_at is None:
            people[creator.id] = creator
    if meeting.kind == MeetingKind.CONFERENCE:
        for holder in await roles.holders(session, Role.PRESIDIUM):
            people.setdefault(holder.id, holder)
    return list(people.values())


async def run_check(session: AsyncSession, job: ScheduledJob, *, timezone: str) -> dict[str, Any]:
    """Warn the organizers when those coming will not make the quorum."""
    meeting = await session.get(Meeting, job.object_id)
    if meeting is None or meeting.status != MeetingStatus.PUBLISHED:
        return {"skipped": "not on"}
    if meeting.starts_at - CHECK_BEFORE != job.due_at:
        return {"skipped": "moved"}
    if meeting.starts_at <= utcnow():
        return {"skipped": "started"}
    if not meeting.votes_planned:
        return {"skipped": "no votes"}
    found = await forecast(session, meeting)
    result: dict[str, Any] = {
        "eligible": found.eligible,
        "coming": found.coming,
        "maybe": found.maybe,
        "needed": found.needed,
    }
    if found.expected:
        return {**result, "quorum": True}
    people = await organizers(session, meeting)
    await notify(
        session,
        people,
        "meetings-answers-quorum-warning",
        kind_key=f"meetings-kind-{meeting.kind.value}",
        number=meeting.id,
        title=meeting.title,
        starts_at=dates.moment_param(meeting.starts_at, timezone),
        coming=found.coming,
        eligible=found.eligible,
        needed=found.needed if found.needed is not None else "—",
        maybe=found.maybe,
        rule_key=f"votes-quorum-{meeting.quorum.value}",
        unit_key=(
            "meetings-answers-unit-organizations"
            if found.by_organization
            else "meetings-answers-unit-members"
        ),
    )
    return {**result, "quorum": False, "warned": len(people)}
