"""What a project's documents are made of: the passport (its fields, work plan, consortium,
reports and needs), the list of projects for /projects_export, and the council's portfolio by
district and status. None of it carries personal data: citizens in a consortium are counted,
never named, and no person responsible or author is shown.

The files themselves are drawn in bot/services/projects/files.py from words the caller gives in
the reader's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import NotAllowed
from bot.services.permissions import has_any_role
from bot.services.projects import access
from models import Body, District, Organization, Role, User
from models.needs import Need
from models.projects import (
    PUBLIC_STATUSES,
    ContributionKind,
    Milestone,
    ParticipantStatus,
    Programme,
    Project,
    ProjectContribution,
    ProjectNeed,
    ProjectParticipant,
    ProjectReport,
    ProjectStatus,
)

# Who reads the list of all projects and the portfolio: the council and those who run it.
READERS = frozenset({Role.COUNCIL, Role.PRESIDIUM, Role.EXECUTIVE, Role.SECRETARIAT})
NEED_SHOWN = 200


def require_reader(user: User | None) -> User:
    if user is None or not has_any_role(user, *READERS):
        raise NotAllowed()
    return user


@dataclass(frozen=True)
class Contribution:
    kind: ContributionKind
    value: int
    description: str


@dataclass(frozen=True)
class Member:
    """A member of the consortium: an organization by name, a citizen by no name at all."""

    organization: str | None  # None: a citizen
    district: District | None
    role: str
    lead: bool
    contributions: list[Contribution] = field(default_factory=list)


@dataclass(frozen=True)
class NeedLine:
    number: int
    category_ru: str
    category_en: str
    text: str


@dataclass(frozen=True)
class Passport:
    project: Project
    organization: str
    district: District | None
    programme: str | None
    committee: str | None
    milestones: list[Milestone]
    members: list[Member]
    reports: list[ProjectReport]
    needs: list[NeedLine]


async def passport(session: AsyncSession, user: User | None, project_id: int) -> Passport:
    """Everything the passport shows; a draft only for its owners and the overseers."""
    project = await access.visible(session, user, project_id)
    organization = await session.get(Organization, project.organization_id)
    district = await session.get(District, project.district_id) if project.district_id else None
    programme = await session.get(Programme, project.programme_id) if project.programme_id else None
    committee = await session.get(Body, project.committee_id) if project.committee_id else None
    milestones = list(
        await session.scalars(
            select(Milestone)
            .where(Milestone.project_id == project.id)
            .order_by(Milestone.due_on, Milestone.id)
        )
    )
    reports = list(
        await session.scalars(
            select(ProjectReport)
            .where(ProjectReport.project_id == project.id, ProjectReport.submitted_at.is_not(None))
            .order_by(ProjectReport.submitted_at, ProjectReport.id)
        )
    )
    needs = [
        NeedLine(
            need.id,
            need.category.name_ru,
            need.category.name_en,
            _short(need.description, NEED_SHOWN),
        )
        for need in await session.scalars(
            select(Need)
            .join(ProjectNeed, ProjectNeed.need_id == Need.id)
            .where(ProjectNeed.project_id == project.id)
            .order_by(Need.id)
        )
    ]
    return Passport(
        project=project,
        organization=organization.name if organization else "",
        district=district,
        programme=programme.title if programme else None,
        committee=committee.name if committee else None,
        milestones=milestones,
        members=await _members(session, project.id),
        reports=reports,
        needs=needs,
    )


async def _members(session: AsyncSession, project_id: int) -> list[Member]:
    rows = (
        await session.execute(
            select(ProjectParticipant, Organization.name, District)
            .outerjoin(Organization, Organization.id == ProjectParticipant.organization_id)
            .outerjoin(District, District.id == ProjectParticipant.district_id)
            .where(
                ProjectParticipant.project_id == project_id,
                ProjectParticipant.status == ParticipantStatus.ACTIVE,
            )
            .order_by(ProjectParticipant.lead.desc(), ProjectParticipant.id)
        )
    ).all()
    given: dict[int, list[Contribution]] = {}
    for item in await session.scalars(
        select(ProjectContribution)
        .where(ProjectContribution.project_id == project_id)
        .order_by(ProjectContribution.id)
    ):
        given.setdefault(item.participant_id, []).append(
            Contribution(item.kind, item.value, item.description)
        )
    return [
        Member(
            # A citizen's user id is never read here: nothing personal can leak into a file.
            organization=name if participant.organization_id is not None else None,
            district=district,
            role=participant.role,
            lead=participant.lead,
            contributions=given.get(participant.id, []),
        )
        for participant, name, district in rows
    ]


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- The list of projects ----------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRow:
    number: int
    title: str
    status: ProjectStatus
    organization: str
    district: District | None
    programme: str | None
    committee: str | None
    budget: int | None
    starts_on: date | None
    ends_on: date | None
    submitted_at: datetime | None
    milestones_done: int
    milestones_total: int
    progress: int | None


async def export(session: AsyncSession, user: User | None) -> list[ExportRow]:
    """Every project for the council and those who run it, oldest first, with its work plan
    done and its last reported progress; drafts only for the overseers (a draft is its
    organization's business until submitted)."""
    require_reader(user)
    statement = (
        select(Project, Organization.name, District, Programme.title, Body.name)
        .join(Organization, Organization.id == Project.organization_id)
        .outerjoin(District, District.id == Project.district_id)
        .outerjoin(Programme, Programme.id == Project.programme_id)
        .outerjoin(Body, Body.id == Project.committee_id)
        .order_by(Project.id)
    )
    if not access.is_overseer(user):
        statement = statement.where(Project.status.in_(PUBLIC_STATUSES))
    rows = (await session.execute(statement)).all()
    plans = {
        project_id: (done, total)
        for project_id, done, total in await session.execute(
            select(Milestone.project_id, func.count(Milestone.done_at), func.count()).group_by(
                Milestone.project_id
            )
        )
    }
    progress = await last_progress(session)
    return [
        ExportRow(
            number=project.id,
            title=project.title,
            status=project.status,
            organization=organization,
            district=district,
            programme=programme,
            committee=committee,
            budget=project.budget,
            starts_on=project.starts_on,
            ends_on=project.ends_on,
            submitted_at=project.submitted_at,
            milestones_done=plans.get(project.id, (0, 0))[0],
            milestones_total=plans.get(project.id, (0, 0))[1],
            progress=progress.get(project.id),
        )
        for project, organization, district, programme, committee in rows
    ]


async def last_progress(session: AsyncSession) -> dict[int, int]:
    """Each project's progress in its latest submitted report (one query, a window function
    both databases have)."""
    ranked = (
        select(
            ProjectReport.project_id,
            ProjectReport.progress,
            func.row_number()
            .over(
                partition_by=ProjectReport.project_id,
                order_by=(ProjectReport.submitted_at.desc(), ProjectReport.id.desc()),
            )
            .label("place"),
        )
        .where(ProjectReport.submitted_at.is_not(None), ProjectReport.progress.is_not(None))
        .subquery()
    )
    rows = await session.execute(
        select(ranked.c.project_id, ranked.c.progress).where(ranked.c.place == 1)
    )
    return {project_id: progress for project_id, progress in rows}


# --- The portfolio -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    number: int
    name: str


@dataclass(frozen=True)
class Portfolio:
    """Projects by district (None: city-wide, last) and status; drafts are not counted."""

    rows: list[tuple[Place | None, dict[ProjectStatus, int]]]

    @property
    def statuses(self) -> list[ProjectStatus]:
        """The statuses that have any project, in the lifecycle's order."""
        held = {status for _, counts in self.rows for status in counts}
        return [status for status in PUBLIC_STATUSES if status in held]

    def total(self, status: ProjectStatus | None = None) -> int:
        return sum(
            number
            for _, counts in self.rows
            for held, number in counts.items()
            if status is None or held == status
        )


async def portfolio(session: AsyncSession, user: User | None) -> Portfolio:
    """One grouped query: the number of projects of each district in each status."""
    require_reader(user)
    found = await session.execute(
        select(District.number, District.name, Project.status, func.count())
        .select_from(Project)
        .outerjoin(District, District.id == Project.district_id)
        .where(Project.status.in_(PUBLIC_STATUSES))
        .group_by(Project.district_id, District.number, District.name, Project.status)
    )
    by_place: dict[Place | None, dict[ProjectStatus, int]] = {}
    for number, name, status, count in found:
        place = Place(number, name) if number is not None else None
        by_place.setdefault(place, {})[status] = count
    # Districts by number, the city-wide projects last.
    order = sorted(by_place, key=lambda p: (p is None, p.number if p else 0))
    return Portfolio([(place, by_place[place]) for place in order])
