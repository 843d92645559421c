"""Programmes: a district's development programme or a city-wide theme grouping projects. The
presidium and the executive committee make and edit them; only the presidium records the
council's decision that a district's programme may take projects where the district's
participants hold no controlling stake; a project's owners (while they edit it) or the overseers
put it into a programme."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.paging import Page, page_bounds
from bot.services.permissions import has_any_role, require_registered
from bot.services.projects import access
from bot.services.projects.rules import EDITABLE, TEXT_MAX, TITLE_MAX, clean
from models import District, Role, User
from models.base import utcnow
from models.projects import PUBLIC_STATUSES, Programme, Project, ProjectStatus

PER_PAGE = 8
PROJECTS_PER_PAGE = 8


@dataclass(frozen=True)
class ProgrammeRow:
    """A programme with the number of its projects in each status (drafts left out)."""

    programme: Programme
    district: District | None
    counts: dict[ProjectStatus, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ProgrammeScreen:
    row: ProgrammeRow
    projects: Page[Project]


def clean_title(text: str | None) -> str:
    return clean(text, limit=TITLE_MAX)


def clean_summary(text: str | None) -> str:
    return clean(text, limit=TEXT_MAX)


def may_make(user: User | None) -> bool:
    return has_any_role(user, *access.PROGRAMME_MAKERS)


def may_set_minority(user: User | None) -> bool:
    """The presidium records the council's decision (admins pass too)."""
    return has_any_role(user, Role.PRESIDIUM)


async def may_assign_some(session: AsyncSession, user: User | None) -> bool:
    """Whether the person could put any project into a programme: an overseer, or a
    representative of a member organization (its projects are checked one by one)."""
    return access.is_overseer(user) or bool(await access.represented(session, user))


async def _counts(
    session: AsyncSession, programme_ids: list[int]
) -> dict[int, dict[ProjectStatus, int]]:
    """One grouped query: each programme's public projects by status."""
    counts: dict[int, dict[ProjectStatus, int]] = {pid: {} for pid in programme_ids}
    if not programme_ids:
        return counts
    rows = await session.execute(
        select(Project.programme_id, Project.status, func.count())
        .where(Project.programme_id.in_(programme_ids), Project.status.in_(PUBLIC_STATUSES))
        .group_by(Project.programme_id, Project.status)
    )
    for programme_id, status, number in rows:
        if programme_id is not None:
            counts[programme_id][status] = number
    return counts


async def _rows(session: AsyncSession, programmes: list[Programme]) -> list[ProgrammeRow]:
    counts = await _counts(session, [p.id for p in programmes])
    district_ids = {p.district_id for p in programmes if p.district_id is not None}
    found: dict[int, District] = {}
    if district_ids:
        chosen = select(District).where(District.id.in_(district_ids))
        found = {d.id: d for d in await session.scalars(chosen)}
    return [
        ProgrammeRow(p, found.get(p.district_id) if p.district_id else None, counts[p.id])
        for p in programmes
    ]


async def listing(session: AsyncSession, user: User | None, page: int = 0) -> Page[ProgrammeRow]:
    """Every programme for any registered person: active first, district programmes by the
    district's number, then the city-wide themes."""
    require_registered(user)
    total = await session.scalar(select(func.count()).select_from(Programme)) or 0
    page, pages = page_bounds(page, total, PER_PAGE)
    programmes = list(
        await session.scalars(
            select(Programme)
            .outerjoin(District, District.id == Programme.district_id)
            .order_by(
                Programme.active.desc(),
                District.number.is_(None),
                District.number,
                Programme.title,
                Programme.id,
            )
            .limit(PER_PAGE)
            .offset(page * PER_PAGE)
        )
    )
    return Page(await _rows(session, programmes), page, pages, total)


def _visible_projects(user: User | None, organization_ids: list[int]) -> Select[Project]:
    statement = select(Project)
    if not access.is_overseer(user):
        # A draft is its organization's business only.
        statement = statement.where(
            or_(
                Project.status != ProjectStatus.DRAFT,
                Project.organization_id.in_(organization_ids),
            )
        )
    return statement


async def screen(
    session: AsyncSession, user: User | None, programme_id: int, page: int = 0
) -> ProgrammeScreen:
    """A programme with one page of the projects the person may see, newest first."""
    require_registered(user)
    programme = await access.get_programme(session, programme_id)
    (row,) = await _rows(session, [programme])
    own = [o.id for o in await access.represented(session, user)]
    visible = _visible_projects(user, own).where(Project.programme_id == programme.id)
    total = await session.scalar(select(func.count()).select_from(visible.subquery())) or 0
    page, pages = page_bounds(page, total, PROJECTS_PER_PAGE)
    projects = list(
        await session.scalars(
            visible.order_by(Project.id.desc())
            .limit(PROJECTS_PER_PAGE)
            .offset(page * PROJECTS_PER_PAGE)
        )
    )
    return ProgrammeScreen(row, Page(projects, page, pages, total))


async def create(
    session: AsyncSession,
    actor: User | None,
    title: str,
    summary: str,
    district_id: int | None,
) -> Programme:
    """The presidium or the executive committee opens a programme: a district's (district set)
    or a city-wide theme (None)."""
    actor = access.require_programme_maker(actor)
    title, summary = clean_title(title), clean_summary(summary)
    if district_id is not None and await session.get(District, district_id) is None:
        raise InvalidInput("districts-not-found")
    programme = Programme(
        title=title, summary=summary, district_id=district_id, created_by_id=actor.id
    )
    session.add(programme)
    await session.flush()
    await audit.record(
        session, actor, "programme.create", "programme", programme.id, district=district_id
    )
    return programme


async def edit(
    session: AsyncSession,
    actor: User | None,
    programme_id: int,
    *,
    title: str | None = None,
    summary: str | None = None,
) -> Programme:
    """A programme maker corrects the title or the summary."""
    actor = access.require_programme_maker(actor)
    programme = await access.get_programme(session, programme_id)
    if title is not None:
        programme.title = clean_title(title)
        await audit.record(
            session, actor, "programme.edit", "programme", programme.id, field="title"
        )
    if summary is not None:
        programme.summary = clean_summary(summary)
        await audit.record(
            session, actor, "programme.edit", "programme", programme.id, field="summary"
        )
    return programme


async def set_active(
    session: AsyncSession, actor: User | None, programme_id: int, active: bool
) -> Programme:
    """A programme maker closes a programme (it takes no new projects; its projects stay in it)
    or opens it again. Pressing twice changes nothing the second time."""
    actor = access.require_programme_maker(actor)
    programme = await access.get_programme(session, programme_id)
    if programme.active != active:
        programme.active = active
        await audit.record(
            session, actor, "programme.edit", "programme", programme.id, active=active
        )
    return programme


async def set_minority_allowed(
    session: AsyncSession, actor: User | None, programme_id: int, allowed: bool
) -> Programme:
    """The presidium records the council's decision that a district's programme may take
    projects where the district's participants hold no controlling stake (then the bot only
    warns); a city-wide theme has no district to hold it."""
    if actor is None or not may_set_minority(actor):
        raise NotAllowed()
    programme = await access.get_programme(session, programme_id)
    if programme.district_id is None:
        raise InvalidInput("projects-docs-minority-city-wide")
    if programme.minority_allowed != allowed:
        programme.minority_allowed = allowed
        await audit.record(
            session, actor, "programme.edit", "programme", programme.id, minority_allowed=allowed
        )
    return programme


async def assign(
    session: AsyncSession, actor: User | None, project_id: int, programme_id: int | None
) -> Project:
    """A project goes into a programme (None: out of any): its owners while they edit it, or
    the overseers at any time. A closed programme takes no project; a district's programme
    takes only projects of its district."""
    require_registered(actor)
    project = await access.visible(session, actor, project_id)
    project = await access.get(session, project_id, lock=True)
    if not access.is_overseer(actor):
        if not await access.is_owner(session, actor, project):
            raise NotAllowed()
        if project.status not in EDITABLE:
            raise InvalidInput("projects-docs-assign-not-editable", number=project.id)
    if programme_id is not None:
        programme = await access.get_programme(session, programme_id)
        if not programme.active:
            raise InvalidInput("projects-docs-programme-closed", title=programme.title)
        if programme.district_id is not None and project.district_id != programme.district_id:
            raise InvalidInput("projects-docs-programme-wrong-district", number=project.id)
    if project.programme_id != programme_id:
        before = project.programme_id
        project.programme_id = programme_id
        project.updated_at = utcnow()
        await audit.record(
            session,
            actor,
            "project.edit",
            "project",
            project.id,
            field="programme",
            to=programme_id,
            before=before,
        )
    return project


async def remove(
    session: AsyncSession, actor: User | None, project_id: int, programme_id: int
) -> Project:
    """A project leaves the programme it is in, under the same rules as going into one."""
    require_registered(actor)
    project = await access.visible(session, actor, project_id)
    if project.programme_id != programme_id:
        raise InvalidInput("projects-docs-not-in-programme", number=project.id)
    return await assign(session, actor, project_id, None)
