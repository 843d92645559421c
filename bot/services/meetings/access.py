"""Who may organize a meeting, keep its minutes or see it, checked on the server for every action.

The presidium convenes conferences and the sessions of the council and the presidium; a
committee's (working group's, commission's) chair and secretary organize its meetings, as they
organize its votes (`bot.services.votes.access`). The minutes and the attendance are kept by the
organizers and the Secretariat. Admins pass every check (`has_any_role`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import NotAllowed, NotFound
from bot.services.permissions import PRESIDIUM, SECRETARIAT, has_any_role
from bot.services.votes.access import can_organize
from models import (
    Body,
    Membership,
    Organization,
    OrganizationStatus,
    Representative,
    User,
)
from models.base import utcnow
from models.meetings import Meeting, MeetingInvitee, MeetingKind, MeetingStatus


async def get(session: AsyncSession, meeting_id: int, *, lock: bool = False) -> Meeting:
    statement = select(Meeting).where(Meeting.id == meeting_id)
    if lock:
        statement = statement.with_for_update()
    meeting = await session.scalar(statement)
    if meeting is None:
        raise NotFound("meetings-not-found", number=meeting_id)
    return meeting


def convenes_conferences(user: User | None) -> bool:
    return has_any_role(user, *PRESIDIUM)


async def _memberships(session: AsyncSession, user: User, body_id: int) -> list[Membership]:
    rows = await session.scalars(
        select(Membership).where(Membership.user_id == user.id, Membership.body_id == body_id)
    )
    return list(rows)


async def organizes(session: AsyncSession, user: User | None, meeting: Meeting) -> bool:
    if user is None or user.deleted_at is not None:
        return False
    if meeting.kind == MeetingKind.CONFERENCE or meeting.body_id is None:
        return convenes_conferences(user)
    body = await session.get(Body, meeting.body_id)
    return can_organize(user, body, await _memberships(session, user, meeting.body_id))


async def require_organizer(session: AsyncSession, user: User | None, meeting: Meeting) -> User:
    if user is None or not await organizes(session, user, meeting):
        raise NotAllowed()
    return user


async def get_for_organizer(
    session: AsyncSession, actor: User | None, meeting_id: int, *, lock: bool = False
) -> Meeting:
    meeting = await get(session, meeting_id, lock=lock)
    await require_organizer(session, actor, meeting)
    return meeting


async def keeps_minutes(session: AsyncSession, user: User | None, meeting: Meeting) -> bool:
    """The organizers and the Secretariat register attendance and publish the minutes."""
    return has_any_role(user, *SECRETARIAT) or await organizes(session, user, meeting)


async def get_for_secretary(
    session: AsyncSession, actor: User | None, meeting_id: int, *, lock: bool = False
) -> Meeting:
    meeting = await get(session, meeting_id, lock=lock)
    if not await keeps_minutes(session, actor, meeting):
        raise NotAllowed()
    return meeting


async def invitee(
    session: AsyncSession, user: User | None, meeting_id: int
) -> MeetingInvitee | None:
    if user is None:
        return None
    found: MeetingInvitee | None = await session.scalar(
        select(MeetingInvitee).where(
            MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.user_id == user.id
        )
    )
    return found


async def represented(session: AsyncSession, user: User | None) -> list[Organization]:
    """The approved member organizations this person represents (who may name delegates)."""
    if user is None or user.deleted_at is not None:
        return []
    rows = await session.scalars(
        select(Organization)
        .join(Representative, Representative.organization_id == Organization.id)
        .where(
            Representative.user_id == user.id,
            Organization.status == OrganizationStatus.APPROVED,
        )
        .order_by(Organization.id)
    )
    return list(rows)


@dataclass(frozen=True)
class Viewer:
    """What the person looking at a meeting's card may do there."""

    organizer: bool = False
    secretary: bool = False
    invitee: MeetingInvitee | None = None
    # At a conference: the member organizations this person represents (they name delegates).
    organizations: list[Organization] = field(default_factory=list)

    @property
    def invited(self) -> bool:
        return self.invitee is not None


async def viewer(session: AsyncSession, user: User | None, meeting: Meeting) -> Viewer:
    organizer = await organizes(session, user, meeting)
    secretary = organizer or has_any_role(user, *SECRETARIAT)
    organizations: list[Organization] = []
    if meeting.kind == MeetingKind.CONFERENCE:
        organizations = await represented(session, user)
    return Viewer(
        organizer=organizer,
        secretary=secretary,
        invitee=await invitee(session, user, meeting.id),
        organizations=organizations,
    )


async def get_for_viewer(
    session: AsyncSession, actor: User | None, meeting_id: int
) -> tuple[Meeting, Viewer]:
    """A meeting and what this person may do with it. A draft is its organizers' alone; a
    conference is public to every registered person (it is posted in the channel too); a body's
    session is for those invited, its members, the organizers and the Secretariat."""
    meeting = await get(session, meeting_id)
    if actor is None or not actor.is_registered:
        raise NotAllowed()
    seen = await viewer(session, actor, meeting)
    if seen.secretary:
        if meeting.status == MeetingStatus.DRAFT and not seen.organizer:
            raise NotAllowed()
        return meeting, seen
    if meeting.status == MeetingStatus.DRAFT:
        raise NotAllowed()
    if meeting.kind == MeetingKind.CONFERENCE or seen.invited:
        return meeting, seen
    if meeting.body_id is not None:
        now = utcnow()
        member = await session.scalar(
            select(Membership.id).where(
                Membership.body_id == meeting.body_id,
                Membership.user_id == actor.id,
                (Membership.until.is_(None)) | (Membership.until > now),
            )
        )
        if member is not None:
            return meeting, seen
    raise NotAllowed()
