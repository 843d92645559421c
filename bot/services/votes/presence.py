"""The roll of a vote opened at a meeting: only those registered as present vote there.

At a conference (one vote per organization) each approved member organization whose delegate is
present holds one seat, cast by its first delegate to be registered; at a body's session each
of its current members who is present holds one. Absent organizations and members get no ballot.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Membership, Organization, OrganizationStatus, User, VoterUnit
from models.meetings import MeetingInvitee

# The subject of a vote held at a meeting (`Vote.subject_id` is the meeting's id).
MEETING_SUBJECT = "meeting"

# (user id, organization id or None): one seat of the roll.
Seat = tuple[int, int | None]


async def seats(
    session: AsyncSession, meeting_id: int, unit: VoterUnit, body_id: int | None, now: datetime
) -> list[Seat]:
    """Who votes at the meeting now, one seat each, in a stable order."""
    if unit == VoterUnit.ORGANIZATION:
        return await _organizations(session, meeting_id)
    if body_id is None:
        return []
    rows = await session.scalars(
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .join(
            MeetingInvitee,
            (MeetingInvitee.user_id == Membership.user_id)
            & (MeetingInvitee.meeting_id == meeting_id),
        )
        .where(
            Membership.body_id == body_id,
            MeetingInvitee.present.is_(True),
            User.deleted_at.is_(None),
            (Membership.until.is_(None)) | (Membership.until > now),
        )
        .distinct()
        .order_by(Membership.user_id)
    )
    return [(user_id, None) for user_id in rows]


async def _organizations(session: AsyncSession, meeting_id: int) -> list[Seat]:
    rows = await session.execute(
        select(MeetingInvitee.organization_id, MeetingInvitee.user_id)
        .join(Organization, Organization.id == MeetingInvitee.organization_id)
        .join(User, User.id == MeetingInvitee.user_id)
        .where(
            MeetingInvitee.meeting_id == meeting_id,
            MeetingInvitee.present.is_(True),
            Organization.status == OrganizationStatus.APPROVED,
            User.deleted_at.is_(None),
        )
        # The first delegate registered casts the vote (a row marked without a time last).
        .order_by(
            MeetingInvitee.organization_id,
            MeetingInvitee.present_at.is_(None),
            MeetingInvitee.present_at,
            MeetingInvitee.id,
        )
    )
    found: list[Seat] = []
    seated: set[int] = set()
    taken: set[int] = set()
    for organization_id, user_id in rows:
        # A person holds at most one seat (the roll's unique constraint): one organization each.
        if organization_id is None or organization_id in seated or user_id in taken:
            continue
        found.append((user_id, organization_id))
        seated.add(organization_id)
        taken.add(user_id)
    return found
