"""A member organization names its delegates to a conference, from its own representatives.

Who names them: the organization's head; an organization with no head (its head's account was
erased) is not left without a voice, so any of its representatives may. Until the organization
names anyone its head (else its earliest representative) is its delegate (`roll`). Delegates
may be changed while the conference is announced and has not started; the invitations follow at
once: a new delegate gets the invitation with the answer buttons, and a former one is told they
no longer represent the organization there."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.meetings import access, answers, notify, roll
from bot.services.meetings.notify import NoticeButtons
from bot.services.notices import notify as notify_people
from models import Organization, RepresentativeRole, User
from models.meetings import Meeting, MeetingDelegate, MeetingKind, MeetingStatus

# More buttons than this would not fit a phone's screen (and a button's data holds the choice
# as bits of a 31-bit number).
MAX_SHOWN = 30


@dataclass(frozen=True)
class Delegation:
    """One organization's side of a conference, as its representative sees it."""

    meeting: Meeting
    organization: Organization
    representatives: list[User]  # living ones: the head first, then by when they joined
    delegates: list[int]  # user ids: named, or the default one
    named: bool  # whether the organization named them (not the default)
    can_name: bool
    several: bool  # the person represents several organizations (a way back to the choice)


@dataclass(frozen=True)
class Changed:
    delegates: list[int]
    invited: list[int]  # newly invited to the conference
    dropped: list[int]  # former delegates of this organization


def may_name(organization: Organization, user: User | None) -> bool:
    """The head names delegates; any representative, if the organization has no living head."""
    if user is None or user.deleted_at is not None:
        return False
    living = [r for r in organization.representatives if r.user.deleted_at is None]
    heads = [r for r in living if r.role == RepresentativeRole.HEAD]
    ours = [r for r in living if r.user_id == user.id]
    if not ours:
        return False
    return not heads or any(r.role == RepresentativeRole.HEAD for r in ours)


def representatives(organization: Organization) -> list[User]:
    living = [r for r in organization.representatives if r.user.deleted_at is None]
    living.sort(key=lambda r: (r.role != RepresentativeRole.HEAD, r.added_at, r.user_id))
    return [r.user for r in living]


async def _conference(session: AsyncSession, meeting_id: int, *, lock: bool = False) -> Meeting:
    meeting = await access.get(session, meeting_id, lock=lock)
    if meeting.kind != MeetingKind.CONFERENCE:
        raise InvalidInput("meetings-not-conference")
    return meeting


async def _organization(
    session: AsyncSession, actor: User | None, organization_id: int
) -> Organization:
    """An approved member organization the actor represents."""
    ours = {o.id: o for o in await access.represented(session, actor)}
    organization = ours.get(organization_id)
    if organization is None:
        raise NotAllowed()
    return organization


async def current(session: AsyncSession, meeting_id: int, organization_id: int) -> list[int]:
    return (await roll.organization_delegates(session, meeting_id)).get(organization_id, [])


async def choices(session: AsyncSession, actor: User | None, meeting_id: int) -> list[Organization]:
    """The organizations this person may open the delegates of at this conference."""
    meeting = await _conference(session, meeting_id)
    if meeting.status != MeetingStatus.PUBLISHED:
        raise InvalidInput("meetings-answers-closed")
    found = await access.represented(session, actor)
    if not found:
        raise NotAllowed()
    return found


async def delegation(
    session: AsyncSession, actor: User | None, meeting_id: int, organization_id: int
) -> Delegation:
    """An organization's delegates at a conference, for one of its representatives."""
    meeting = await _conference(session, meeting_id)
    ours = await access.represented(session, actor)
    organization = next((o for o in ours if o.id == organization_id), None)
    if organization is None:
        raise NotAllowed()
    if meeting.status != MeetingStatus.PUBLISHED:
        raise InvalidInput("meetings-answers-closed")
    named = await roll.delegates(session, meeting.id)
    return Delegation(
        meeting=meeting,
        organization=organization,
        representatives=representatives(organization),
        delegates=await current(session, meeting.id, organization.id),
        named=organization.id in named,
        can_name=may_name(organization, actor),
        several=len(ours) > 1,
    )


async def set_delegates(
    session: AsyncSession,
    actor: User | None,
    meeting_id: int,
    organization_id: int,
    user_ids: Iterable[int],
    *,
    timezone: str,
    buttons: NoticeButtons,
) -> Changed:
    """Name the organization's delegates (at least one, all its representatives); the new ones
    are invited, the former ones told."""
    meeting = await _conference(session, meeting_id, lock=True)
    organization = await _organization(session, actor, organization_id)
    if not may_name(organization, actor):
        raise NotAllowed("meetings-delegates-head-only")
    assert actor is not None
    answers.require_answerable(meeting)
    chosen = list(dict.fromkeys(user_ids))
    if not chosen:
        raise InvalidInput("meetings-delegates-none")
    eligible = {user.id for user in representatives(organization)}
    if any(user_id not in eligible for user_id in chosen):
        raise InvalidInput("meetings-delegates-not-representative")
    elsewhere = await session.scalar(
        select(MeetingDelegate.user_id).where(
            MeetingDelegate.meeting_id == meeting.id,
            MeetingDelegate.organization_id != organization.id,
            MeetingDelegate.user_id.in_(chosen),
        )
    )
    if elsewhere is not None:
        other = await session.get(User, elsewhere)
        name = (other.name if other is not None else None) or "—"
        raise InvalidInput("meetings-delegates-elsewhere", name=name)
    before = await current(session, meeting.id, organization.id)
    await session.execute(
        delete(MeetingDelegate).where(
            MeetingDelegate.meeting_id == meeting.id,
            MeetingDelegate.organization_id == organization.id,
        )
    )
    session.add_all(
        MeetingDelegate(
            meeting_id=meeting.id,
            organization_id=organization.id,
            user_id=user_id,
            named_by_id=actor.id,
        )
        for user_id in chosen
    )
    await session.flush()
    added, _removed = await roll.sync(session, meeting)
    if added:
        await notify.to_invitees(
            session,
            meeting,
            "meetings-notice-invited",
            timezone=timezone,
            buttons=buttons,
            users=added,
        )
    dropped = [user_id for user_id in before if user_id not in chosen]
    # Already invited (a council member), now their organization's voice too: told so.
    promoted = [user_id for user_id in chosen if user_id not in before and user_id not in added]
    starts_at = dates.moment_param(meeting.starts_at, timezone)
    for people, key in (
        (dropped, "meetings-delegates-dropped"),
        (promoted, "meetings-delegates-promoted"),
    ):
        await notify_people(
            session,
            await _users(session, people),
            key,
            number=meeting.id,
            title=meeting.title,
            organization=organization.name,
            starts_at=starts_at,
        )
    await audit.record(
        session,
        actor,
        "meeting.delegates",
        "meeting",
        meeting.id,
        organization=organization.id,
        delegates=chosen,
    )
    return Changed(delegates=chosen, invited=added, dropped=dropped)


async def _users(session: AsyncSession, ids: list[int]) -> list[User]:
    if not ids:
        return []
    return list(await session.scalars(select(User).where(User.id.in_(ids))))
