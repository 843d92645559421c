"""A project's consortium: the organizations and citizens that carry it out, their roles and
what each contributes (money, work, premises, equipment, other; valued in roubles; a resource
from the resources database may be pledged).

A citizen volunteers from the card and may leave; the project's owners invite approved
organizations, whose representatives accept or decline; owners set roles and remove anyone but
the lead; each participant (its representatives, or the citizen) keeps its own contributions.
Every change of who is active or of a contribution's value is judged by the district-majority
rule (`stakes`), under a lock on the project so that two changes are judged one after the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, organizations
from bot.services.errors import DomainError, InvalidInput, NotAllowed, NotFound
from bot.services.permissions import require_registered
from bot.services.projects import access, lifecycle, notices, stakes
from bot.services.projects.rules import clean
from models import Organization, OrganizationStatus, Representative, User
from models.base import utcnow
from models.projects import (
    ParticipantStatus,
    Project,
    ProjectContribution,
    ProjectEventKind,
    ProjectParticipant,
    ProjectStatus,
)

S = ProjectStatus
P = ParticipantStatus
# A finished or refused project's consortium is history: nobody joins or changes it.
CLOSED = frozenset({S.REJECTED, S.WITHDRAWN, S.REPORTED})
# A volunteer joins a public project that is still alive.
NOT_FOR_VOLUNTEERS = CLOSED | {S.DRAFT}
VOLUNTEER = "volunteer"  # the role a citizen joins with (shown in the reader's language)
ROLE_MAX = 100
SEARCH_LIMIT = 8
INVITES_SHOWN = 10  # the oldest first; answering them brings the next

Buttons = list[list[dict[str, str]]]
InviteButtons = Callable[[ProjectParticipant], Buttons]


class AlreadyAnswered(DomainError):
    key = "projects-team-already-answered"


class ProjectClosed(DomainError):
    key = "projects-team-closed"


@dataclass(frozen=True)
class Outcome:
    """What a change did: the participant it touched and whether the council's allowance of a
    minority let it through (the person is warned)."""

    participant: ProjectParticipant
    warning: bool = False
    changed: bool = True


@dataclass
class Member:
    participant: ProjectParticipant
    name: str | None  # the organization's or the citizen's name; None for an erased person
    contributions: list[ProjectContribution] = field(default_factory=list)


@dataclass
class Team:
    project: Project
    members: list[Member]
    stakes: stakes.Stakes
    owner: bool  # the viewer owns the project
    mine: set[int]  # participants the viewer speaks for
    volunteering: bool  # the viewer takes part as a citizen


async def get_participant(
    session: AsyncSession, participant_id: int, *, lock: bool = False
) -> ProjectParticipant:
    """A consortium row by id, or "not found"."""
    statement = select(ProjectParticipant).where(ProjectParticipant.id == participant_id)
    if lock:
        statement = statement.with_for_update()
    participant = await session.scalar(statement)
    if participant is None:
        raise NotFound("projects-team-participant-not-found")
    return participant


async def speaks_for(
    session: AsyncSession, user: User | None, participant: ProjectParticipant
) -> bool:
    """The citizen themself, or a representative of the participating organization."""
    if user is None or user.deleted_at is not None:
        return False
    if participant.user_id is not None:
        return participant.user_id == user.id
    if participant.organization_id is None:
        return False
    return await access.represents(session, user, participant.organization_id)


def require_open(project: Project) -> None:
    """A finished or refused project's consortium no longer changes."""
    if project.status in CLOSED:
        raise ProjectClosed(number=project.id)


async def _names(session: AsyncSession, participants: list[ProjectParticipant]) -> dict[int, str]:
    org_ids = {p.organization_id for p in participants if p.organization_id is not None}
    user_ids = {p.user_id for p in participants if p.user_id is not None}
    names: dict[int, str] = {}
    orgs = {}
    if org_ids:
        orgs = {
            o.id: o.name
            for o in await session.scalars(select(Organization).where(Organization.id.in_(org_ids)))
        }
    people = {}
    if user_ids:
        people = {
            u.id: u.name
            for u in await session.scalars(select(User).where(User.id.in_(user_ids)))
            if u.deleted_at is None and u.name
        }
    for p in participants:
        if p.organization_id is not None and p.organization_id in orgs:
            names[p.id] = orgs[p.organization_id]
        elif p.user_id is not None and p.user_id in people:
            names[p.id] = people[p.user_id]
    return names


async def team(session: AsyncSession, viewer: User | None, project_id: int) -> Team:
    """The consortium as the viewer may see it: active and invited participants with their
    contributions, and the stakes."""
    project = await access.visible(session, viewer, project_id)
    participants = list(
        await session.scalars(
            select(ProjectParticipant)
            .where(
                ProjectParticipant.project_id == project.id,
                ProjectParticipant.status.in_((P.ACTIVE, P.INVITED)),
            )
            .order_by(ProjectParticipant.lead.desc(), ProjectParticipant.id)
        )
    )
    contributions = list(
        await session.scalars(
            select(ProjectContribution)
            .where(ProjectContribution.project_id == project.id)
            .order_by(ProjectContribution.id)
        )
    )
    by_participant: dict[int, list[ProjectContribution]] = {}
    for contribution in contributions:
        by_participant.setdefault(contribution.participant_id, []).append(contribution)
    names = await _names(session, participants)
    members = [Member(p, names.get(p.id), by_participant.get(p.id, [])) for p in participants]
    mine: set[int] = set()
    if viewer is not None and viewer.deleted_at is None:
        # One query for the viewer's organizations, not one per participant.
        represented = set(
            await session.scalars(
                select(Representative.organization_id).where(Representative.user_id == viewer.id)
            )
        )
        mine = {
            p.id
            for p in participants
            if (p.user_id is not None and p.user_id == viewer.id)
            or (p.user_id is None and p.organization_id in represented)
        }
    volunteering = viewer is not None and any(
        m.participant.user_id == viewer.id and m.participant.status == P.ACTIVE for m in members
    )
    return Team(
        project,
        members,
        await stakes.compute(session, project),
        await access.is_owner(session, viewer, project),
        mine,
        volunteering,
    )


# --- Citizens ---------------------------------------------------------------------------------


async def volunteer(session: AsyncSession, user: User | None, project_id: int) -> Outcome:
    """A registered citizen joins as a volunteer, counting for their own district."""
    person = require_registered(user)
    project = await access.get(session, project_id, lock=True)
    if not await access.may_see(session, person, project):
        raise NotFound("projects-not-found", number=project_id)
    if project.status in NOT_FOR_VOLUNTEERS:
        raise ProjectClosed(number=project.id)
    row = await session.scalar(
        select(ProjectParticipant).where(
            ProjectParticipant.project_id == project.id, ProjectParticipant.user_id == person.id
        )
    )
    if row is not None and row.status == P.ACTIVE:
        return Outcome(row, changed=False)
    before = await stakes.compute(session, project)
    if row is None:
        row = ProjectParticipant(project_id=project.id, user_id=person.id)
        session.add(row)
    row.status = P.ACTIVE
    row.role = VOLUNTEER
    row.district_id = person.district_id
    row.answered_at = utcnow()
    await session.flush()
    # Contributions kept from an earlier stint count again.
    value = await _value(session, row.id)
    warning = stakes.judge(
        before, before.with_value(row.id, value, local=stakes.is_local(before, row))
    )
    await lifecycle.record(session, person, project, ProjectEventKind.JOINED, subject_id=row.id)
    await audit.record(session, person, "project.join", "project", project.id, participant=row.id)
    await notices.to_owners(session, project, "projects-team-notice-volunteer", exclude=[person.id])
    return Outcome(row, warning)


async def _value(session: AsyncSession, participant_id: int) -> int:
    rows = await session.scalars(
        select(ProjectContribution.value).where(
            ProjectContribution.participant_id == participant_id
        )
    )
    return sum(rows)


async def _deactivate(
    session: AsyncSession,
    actor: User,
    project: Project,
    participant: ProjectParticipant,
    status: ParticipantStatus,
) -> bool:
    """The participant stops being active, if the rule allows; returns the warning flag."""
    warning = False
    if participant.status == P.ACTIVE:
        before = await stakes.compute(session, project)
        warning = stakes.judge(before, before.without(participant.id))
        await lifecycle.record(
            session, actor, project, ProjectEventKind.LEFT, subject_id=participant.id
        )
    participant.status = status
    participant.answered_at = utcnow()
    await session.flush()
    return warning


async def leave(session: AsyncSession, user: User | None, participant_id: int) -> Outcome:
    """A participant leaves: the citizen themself, or an organization's representative; the lead
    organization cannot leave its own project."""
    participant = await get_participant(session, participant_id)
    project = await access.get(session, participant.project_id, lock=True)
    if user is None or not await speaks_for(session, user, participant):
        raise NotAllowed()
    if participant.lead:
        raise NotAllowed("projects-team-lead-stays")
    if participant.status != P.ACTIVE:
        return Outcome(participant, changed=False)
    require_open(project)
    warning = await _deactivate(session, user, project, participant, P.LEFT)
    await audit.record(
        session, user, "project.leave", "project", project.id, participant=participant.id
    )
    await notices.to_owners(session, project, "projects-team-notice-left", exclude=[user.id])
    return Outcome(participant, warning)


# --- Organizations ----------------------------------------------------------------------------


async def search_organizations(
    session: AsyncSession, actor: User | None, project_id: int, query: str
) -> list[Organization]:
    """Approved organizations whose name holds `query`, not yet in the consortium."""
    project = await require_inviter(session, actor, project_id)
    text = (query or "").strip()
    if not text or len(text) > 200:
        raise InvalidInput("projects-team-search-empty")
    taken = set(
        await session.scalars(
            select(ProjectParticipant.organization_id).where(
                ProjectParticipant.project_id == project.id,
                ProjectParticipant.status.in_((P.ACTIVE, P.INVITED)),
                ProjectParticipant.organization_id.is_not(None),
            )
        )
    )
    page = await organizations.directory(session, query=text, per_page=SEARCH_LIMIT + len(taken))
    return [o for o in page.items if o.id not in taken][:SEARCH_LIMIT]


async def require_inviter(session: AsyncSession, actor: User | None, project_id: int) -> Project:
    """An owner of a project whose consortium still changes (before the invitation dialog)."""
    project = await access.get(session, project_id)
    await access.require_owner(session, actor, project)
    require_open(project)
    return project


async def invite(
    session: AsyncSession,
    actor: User | None,
    project_id: int,
    organization_id: int,
    buttons: InviteButtons | None = None,
) -> Outcome:
    """An owner invites an approved organization; its representatives are asked to answer."""
    project = await access.get(session, project_id, lock=True)
    owner = await access.require_owner(session, actor, project)
    require_open(project)
    organization = await session.get(Organization, organization_id)
    if organization is None or organization.status != OrganizationStatus.APPROVED:
        raise NotFound("projects-team-organization-not-found")
    row = await session.scalar(
        select(ProjectParticipant).where(
            ProjectParticipant.project_id == project.id,
            ProjectParticipant.organization_id == organization.id,
        )
    )
    if row is not None and row.status in (P.ACTIVE, P.INVITED):
        return Outcome(row, changed=False)
    if row is None:
        row = ProjectParticipant(project_id=project.id, organization_id=organization.id)
        session.add(row)
    row.status = P.INVITED
    row.district_id = organization.district_id
    row.invited_by_id = owner.id
    row.answered_at = None
    await session.flush()
    await audit.record(
        session,
        owner,
        "project.invite",
        "project",
        project.id,
        participant=row.id,
        organization_id=organization.id,
    )
    reps = await session.scalars(
        select(Representative.user_id).where(Representative.organization_id == organization.id)
    )
    await notices.queue(
        session,
        project,
        "projects-team-notice-invited",
        list(reps),
        {"organization": organization.name},
        buttons=buttons(row) if buttons is not None else None,
    )
    return Outcome(row)


async def answer_invite(
    session: AsyncSession, actor: User | None, participant_id: int, accept: bool
) -> Outcome:
    """A representative of the invited organization accepts (its contributions start to count,
    if the rule allows) or declines."""
    participant = await get_participant(session, participant_id)
    project = await access.get(session, participant.project_id, lock=True)
    participant = await get_participant(session, participant_id, lock=True)
    if (
        actor is None
        or participant.organization_id is None
        or not await access.represents(session, actor, participant.organization_id)
    ):
        raise NotAllowed()
    if participant.status != P.INVITED:
        raise AlreadyAnswered()
    require_open(project)
    warning = False
    if accept:
        before = await stakes.compute(session, project)
        after = before.with_value(
            participant.id,
            await _value(session, participant.id),
            local=stakes.is_local(before, participant),
        )
        warning = stakes.judge(before, after)
        participant.status = P.ACTIVE
        await lifecycle.record(
            session, actor, project, ProjectEventKind.JOINED, subject_id=participant.id
        )
    else:
        participant.status = P.DECLINED
    participant.answered_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        actor,
        "project.answer_invite",
        "project",
        project.id,
        participant=participant.id,
        accepted=accept,
    )
    organization = await session.get(Organization, participant.organization_id)
    await notices.to_owners(
        session,
        project,
        "projects-team-notice-accepted" if accept else "projects-team-notice-declined",
        exclude=[actor.id],
        organization=organization.name if organization else "",
    )
    return Outcome(participant, warning)


@dataclass(frozen=True)
class Invitation:
    participant: ProjectParticipant
    project: Project
    organization: Organization


async def pending_invites(session: AsyncSession, user: User | None) -> list[Invitation]:
    """The invitations waiting for an answer from the organizations the person represents."""
    person = require_registered(user)
    rows = await session.execute(
        select(ProjectParticipant, Project, Organization)
        .join(Project, Project.id == ProjectParticipant.project_id)
        .join(Organization, Organization.id == ProjectParticipant.organization_id)
        .join(Representative, Representative.organization_id == Organization.id)
        .where(
            Representative.user_id == person.id,
            ProjectParticipant.status == P.INVITED,
            Project.status.not_in(CLOSED),
        )
        .order_by(ProjectParticipant.id)
        .limit(INVITES_SHOWN)
    )
    return [Invitation(p, project, o) for p, project, o in rows.all()]


# --- Owners -----------------------------------------------------------------------------------


async def _owned_participant(
    session: AsyncSession, actor: User | None, participant_id: int
) -> tuple[User, Project, ProjectParticipant]:
    participant = await get_participant(session, participant_id)
    project = await access.get(session, participant.project_id, lock=True)
    owner = await access.require_owner(session, actor, project)
    return owner, project, participant


async def set_role(
    session: AsyncSession, actor: User | None, participant_id: int, role: str
) -> ProjectParticipant:
    """An owner names a participant's role in the consortium."""
    owner, project, participant = await _owned_participant(session, actor, participant_id)
    require_open(project)
    if participant.status not in (P.ACTIVE, P.INVITED):
        raise NotFound("projects-team-participant-not-found")
    participant.role = clean(role, limit=ROLE_MAX)
    await session.flush()
    await audit.record(
        session, owner, "project.role", "project", project.id, participant=participant.id
    )
    return participant


async def remove(session: AsyncSession, actor: User | None, participant_id: int) -> Outcome:
    """An owner removes a participant (never the lead), or takes back an invitation."""
    owner, project, participant = await _owned_participant(session, actor, participant_id)
    if participant.lead:
        raise NotAllowed("projects-team-lead-stays")
    if participant.status not in (P.ACTIVE, P.INVITED):
        return Outcome(participant, changed=False)
    require_open(project)
    warning = await _deactivate(session, owner, project, participant, P.LEFT)
    await audit.record(
        session,
        owner,
        "project.leave",
        "project",
        project.id,
        participant=participant.id,
        removed=True,
    )
    people: list[int] = []
    if participant.user_id is not None:
        people = [participant.user_id]
    elif participant.organization_id is not None:
        people = list(
            await session.scalars(
                select(Representative.user_id).where(
                    Representative.organization_id == participant.organization_id
                )
            )
        )
    await notices.queue(
        session, project, "projects-team-notice-removed", [p for p in people if p != owner.id], {}
    )
    return Outcome(participant, warning)
