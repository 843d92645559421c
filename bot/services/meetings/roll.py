"""Who is invited to a meeting, fixed when it is published.

A session invites the members of the body that sits (current seats: an elected term that ended
is no seat). A conference invites the council's members and each approved member organization's
delegates: the ones it named (`meeting_delegates`), or, until it names any, its head (else its
earliest representative), who can then name others. Guests are invited by name by the organizer
and kept whatever else changes. One row per person: a council member who is also an
organization's delegate is invited as the delegate, since they cast their organization's vote."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import bodies
from models import (
    BodyKind,
    Membership,
    Organization,
    OrganizationStatus,
    Representative,
    RepresentativeRole,
    User,
)
from models.base import utcnow
from models.meetings import (
    InviteReason,
    Meeting,
    MeetingDelegate,
    MeetingInvitee,
    MeetingKind,
)


async def _members(session: AsyncSession, body_id: int, now: datetime) -> list[int]:
    rows = await session.scalars(
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.body_id == body_id,
            User.deleted_at.is_(None),
            (Membership.until.is_(None)) | (Membership.until > now),
        )
        .distinct()
    )
    return list(rows)


async def delegates(session: AsyncSession, meeting_id: int) -> dict[int, list[int]]:
    """The delegates each organization named for this conference: organization id → user ids."""
    rows = await session.execute(
        select(MeetingDelegate.organization_id, MeetingDelegate.user_id)
        .where(MeetingDelegate.meeting_id == meeting_id)
        .order_by(MeetingDelegate.id)
    )
    named: dict[int, list[int]] = {}
    for organization_id, user_id in rows:
        named.setdefault(organization_id, []).append(user_id)
    return named


async def organization_delegates(session: AsyncSession, meeting_id: int) -> dict[int, list[int]]:
    """Each approved member organization's delegates at a conference: the named ones, or its
    head (else its earliest representative) until it names any."""
    named = await delegates(session, meeting_id)
    rows = await session.execute(
        select(Organization.id, Representative.user_id)
        .join(Representative, Representative.organization_id == Organization.id)
        .join(User, User.id == Representative.user_id)
        .where(Organization.status == OrganizationStatus.APPROVED, User.deleted_at.is_(None))
        .order_by(
            Organization.id,
            Representative.role != RepresentativeRole.HEAD,
            Representative.added_at,
        )
    )
    result: dict[int, list[int]] = {}
    for organization_id, user_id in rows:
        if organization_id in named:
            continue
        result.setdefault(organization_id, [user_id])
    for organization_id, people in named.items():
        result[organization_id] = list(people)
    return result


async def expected(
    session: AsyncSession, meeting: Meeting
) -> dict[int, tuple[InviteReason, int | None]]:
    """Who should be invited now, apart from guests: user id → (reason, organization id)."""
    now = utcnow()
    wanted: dict[int, tuple[InviteReason, int | None]] = {}
    if meeting.kind == MeetingKind.CONFERENCE:
        council = await bodies.single(session, BodyKind.COUNCIL)
        for user_id in await _members(session, council.id, now):
            wanted[user_id] = (InviteReason.MEMBER, None)
        for organization_id, people in (await organization_delegates(session, meeting.id)).items():
            for user_id in people:
                current = wanted.get(user_id)
                if current is None or current[1] is None:
                    wanted[user_id] = (InviteReason.DELEGATE, organization_id)
    elif meeting.body_id is not None:
        for user_id in await _members(session, meeting.body_id, now):
            wanted[user_id] = (InviteReason.MEMBER, None)
    return wanted


async def sync(session: AsyncSession, meeting: Meeting) -> tuple[list[int], list[int]]:
    """Bring the invitees in line with who should be invited: returns (added, removed) user ids.
    Guests stay; a person who is no longer expected (a delegate replaced) is removed."""
    wanted = await expected(session, meeting)
    current = {
        row.user_id: row
        for row in await session.scalars(
            select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting.id)
        )
    }
    added: list[int] = []
    for user_id, (reason, organization_id) in wanted.items():
        row = current.get(user_id)
        if row is None:
            session.add(
                MeetingInvitee(
                    meeting_id=meeting.id,
                    user_id=user_id,
                    reason=reason,
                    organization_id=organization_id,
                )
            )
            added.append(user_id)
        elif row.reason != InviteReason.GUEST:
            row.reason, row.organization_id = reason, organization_id
    removed = [
        user_id
        for user_id, row in current.items()
        if user_id not in wanted and row.reason != InviteReason.GUEST
    ]
    if removed:
        await session.execute(
            delete(MeetingInvitee).where(
                MeetingInvitee.meeting_id == meeting.id, MeetingInvitee.user_id.in_(removed)
            )
        )
    await session.flush()
    return sorted(added), sorted(removed)


async def invitee_ids(session: AsyncSession, meeting_id: int) -> list[int]:
    rows = await session.scalars(
        select(MeetingInvitee.user_id)
        .where(MeetingInvitee.meeting_id == meeting_id)
        .order_by(MeetingInvitee.user_id)
    )
    return list(rows)
