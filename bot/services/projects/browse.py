"""Browsing projects (for every registered person): by status (the open ones by default),
district, programme and direction (the reviewing committee), newest first; a project's card;
following a project; the projects a person follows or takes part in.

A page is read on the indexes `ix_projects_status_district`, `ix_projects_programme_status` and
`ix_projects_committee_status`: for each status asked (and, with no other filter, each district),
the first `offset + per_page` ids come from the index already in order, and those short lists
are merged and cut to the page, so 20,000 projects cost what their first pages cost. The count
behind the pager stops at COUNT_CAP. Drafts are never listed: they are their owners' business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.paging import Page, page_bounds
from bot.services.permissions import has_any_role, require_registered
from bot.services.projects import access, lifecycle, stakes
from bot.services.projects.consortium import NOT_FOR_VOLUNTEERS
from bot.services.projects.rules import EDITABLE, OPEN
from models import Body, BodyKind, District, Organization, Representative, Role, User
from models.projects import (
    PUBLIC_STATUSES,
    ParticipantStatus,
    Programme,
    Project,
    ProjectFollower,
    ProjectParticipant,
    ProjectStatus,
)

S = ProjectStatus
OPEN_FILTER = "open"
ALL = "all"
STATUS_FILTERS = (OPEN_FILTER, *(s.value for s in PUBLIC_STATUSES), ALL)
OPEN_PUBLIC = tuple(s for s in PUBLIC_STATUSES if s in OPEN)
CITY_WIDE = -1  # the district filter's value for city-wide projects
COUNT_CAP = 1000
# The review panel is for these statuses; the plan and documents exist once it is public.
IN_REVIEW = frozenset({S.SUBMITTED, S.IN_REVIEW})


@dataclass(frozen=True)
class Filters:
    status: str = OPEN_FILTER
    district_id: int | None = None  # None: anywhere; CITY_WIDE: city-wide projects only
    programme_id: int | None = None
    committee_id: int | None = None

    def statuses(self) -> tuple[ProjectStatus, ...]:
        """The statuses the filter stands for (drafts never among them)."""
        if self.status == ALL:
            return PUBLIC_STATUSES
        if self.status in {s.value for s in PUBLIC_STATUSES}:
            return (ProjectStatus(self.status),)
        return OPEN_PUBLIC


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.district_id == CITY_WIDE:
        conditions.append(Project.district_id.is_(None))
    elif filters.district_id is not None:
        conditions.append(Project.district_id == filters.district_id)
    if filters.programme_id is not None:
        conditions.append(Project.programme_id == filters.programme_id)
    if filters.committee_id is not None:
        conditions.append(Project.committee_id == filters.committee_id)
    return conditions


async def count(session: AsyncSession, filters: Filters) -> int:
    """How many projects match, counted up to COUNT_CAP + 1."""
    capped = (
        select(Project.id)
        .where(Project.status.in_(filters.statuses()), *_conditions(filters))
        .limit(COUNT_CAP + 1)
        .subquery()
    )
    return await session.scalar(select(func.count()).select_from(capped)) or 0


def page_query(filters: Filters, offset: int, per_page: int) -> Select[Any]:
    """The ids of one page, newest first.

    Unfiltered, the newest projects are read from the primary key backwards, keeping those in
    the statuses asked for (most projects are in them, so a page costs a few dozen rows).
    Filtered by district, programme or direction, each status is one range of an index already
    in id order (ix_projects_status_district, ix_projects_programme_status,
    ix_projects_committee_status), read for a page's length and merged.
    """
    conditions = _conditions(filters)
    if not conditions:
        return (
            select(Project.id)
            .where(Project.status.in_(filters.statuses()))
            .order_by(Project.id.desc())
            .offset(offset)
            .limit(per_page)
        )
    parts = [
        select(
            select(Project.id.label("id"))
            .where(Project.status == status, *conditions)
            .order_by(Project.id.desc())
            .limit(offset + per_page)
            .subquery()
            .c.id
        )
        for status in filters.statuses()
    ]
    merged = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    return select(merged.c.id).order_by(merged.c.id.desc()).offset(offset).limit(per_page)


async def browse(
    session: AsyncSession, filters: Filters, page: int = 0, per_page: int = 8
) -> Page[Project]:
    """One page of public projects matching the filters, newest first."""
    total = await count(session, filters)
    page, pages = page_bounds(page, min(total, COUNT_CAP), per_page)
    ids = list(await session.scalars(page_query(filters, page * per_page, per_page)))
    return Page(await _load(session, ids), page, pages, total)


async def _load(session: AsyncSession, ids: list[int]) -> list[Project]:
    if not ids:
        return []
    found = {p.id: p for p in await session.scalars(select(Project).where(Project.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


async def programmes(session: AsyncSession) -> list[Programme]:
    """The active programmes a list may be filtered by."""
    rows = await session.scalars(
        select(Programme).where(Programme.active.is_(True)).order_by(Programme.id).limit(50)
    )
    return list(rows)


async def committees(session: AsyncSession) -> list[Body]:
    """The committees (the directions) a list may be filtered by."""
    rows = await session.scalars(
        select(Body).where(Body.kind == BodyKind.COMMITTEE).order_by(Body.id).limit(50)
    )
    return list(rows)


async def find_programme(session: AsyncSession, programme_id: int | None) -> Programme | None:
    """A programme by id; None for none or a forged one."""
    return None if programme_id is None else await session.get(Programme, programme_id)


async def find_committee(session: AsyncSession, committee_id: int | None) -> Body | None:
    """A committee by id; None for none, a forged id or a body of another kind."""
    if committee_id is None:
        return None
    body = await session.get(Body, committee_id)
    return body if body is not None and body.kind == BodyKind.COMMITTEE else None


# --- The card ---------------------------------------------------------------------------------


@dataclass
class Card:
    """What a project's card shows a given viewer, and which buttons it offers them."""

    project: Project
    organization: Organization | None
    district: District | None
    programme: Programme | None
    committee: Body | None
    need_ids: list[int]
    stakes: stakes.Stakes
    participants: int
    followers: int
    following: bool = False
    volunteering: bool = False
    may_volunteer: bool = False
    panels: list[str] = field(default_factory=list)


async def may_review(session: AsyncSession, user: User | None, project: Project) -> bool:
    """The overseers, the presidium and the assigned committee's members review."""
    if access.is_overseer(user) or has_any_role(user, Role.PRESIDIUM):
        return True
    return await access.committee_role(session, user, project.committee_id) is not None


async def card(session: AsyncSession, viewer: User | None, project_id: int) -> Card:
    """The card of a project the viewer may see (a stranger's draft is "not found")."""
    project = await access.visible(session, viewer, project_id)
    organization = await session.get(Organization, project.organization_id)
    district = await session.get(District, project.district_id) if project.district_id else None
    active = (ProjectParticipant.project_id == project.id) & (
        ProjectParticipant.status == ParticipantStatus.ACTIVE
    )
    participants = (
        await session.scalar(select(func.count()).select_from(ProjectParticipant).where(active))
        or 0
    )
    followers = (
        await session.scalar(
            select(func.count())
            .select_from(ProjectFollower)
            .where(ProjectFollower.project_id == project.id)
        )
        or 0
    )
    result = Card(
        project=project,
        organization=organization,
        district=district,
        programme=await find_programme(session, project.programme_id),
        committee=await session.get(Body, project.committee_id) if project.committee_id else None,
        need_ids=await lifecycle.need_ids(session, project.id),
        stakes=await stakes.compute(session, project),
        participants=participants,
        followers=followers,
    )
    registered = viewer is not None and viewer.is_registered
    if registered and viewer is not None:
        result.following = (
            await session.scalar(
                select(ProjectFollower.user_id).where(
                    ProjectFollower.project_id == project.id, ProjectFollower.user_id == viewer.id
                )
            )
            is not None
        )
        result.volunteering = (
            await session.scalar(
                select(ProjectParticipant.id).where(active, ProjectParticipant.user_id == viewer.id)
            )
            is not None
        )
        result.may_volunteer = not result.volunteering and project.status not in NOT_FOR_VOLUNTEERS
    result.panels = await panels(session, viewer, project)
    return result


async def panels(session: AsyncSession, viewer: User | None, project: Project) -> list[str]:
    """The panels the card offers this viewer (each panel checks again when opened)."""
    shown = []
    draft = project.status == S.DRAFT
    if project.status in EDITABLE and await access.is_owner(session, viewer, project):
        shown.append("edit")
    if project.status in IN_REVIEW and await may_review(session, viewer, project):
        shown.append("review")
    if not draft:
        shown.append("plan")
    shown.append("team")
    if not draft:
        shown.append("docs")
    return shown


# --- Following --------------------------------------------------------------------------------


async def follow(session: AsyncSession, user: User | None, project_id: int, on: bool) -> bool:
    """A registered person follows a project they may see (or stops); True if that changed."""
    person = require_registered(user)
    project = await access.visible(session, person, project_id)
    existing = await session.scalar(
        select(ProjectFollower.user_id).where(
            ProjectFollower.project_id == project.id, ProjectFollower.user_id == person.id
        )
    )
    if on:
        if existing is not None:
            return False
        try:
            async with session.begin_nested():
                session.add(ProjectFollower(project_id=project.id, user_id=person.id))
        except IntegrityError:  # the same press twice at once: one of them follows
            return False
        return True
    if existing is None:
        return False
    await session.execute(
        delete(ProjectFollower).where(
            ProjectFollower.project_id == project.id, ProjectFollower.user_id == person.id
        )
    )
    return True


async def followed(
    session: AsyncSession, user: User | None, page: int = 0, per_page: int = 8
) -> Page[Project]:
    """The public projects a person follows or takes part in (as a citizen or through an
    organization they represent), newest first."""
    person = require_registered(user)
    follows = select(ProjectFollower.project_id).where(ProjectFollower.user_id == person.id)
    takes_part = select(ProjectParticipant.project_id).where(
        ProjectParticipant.status == ParticipantStatus.ACTIVE,
        or_(
            ProjectParticipant.user_id == person.id,
            ProjectParticipant.organization_id.in_(
                select(Representative.organization_id).where(Representative.user_id == person.id)
            ),
        ),
    )
    condition = Project.status.in_(PUBLIC_STATUSES) & or_(
        Project.id.in_(follows), Project.id.in_(takes_part)
    )
    total = await session.scalar(select(func.count()).select_from(Project).where(condition)) or 0
    page, pages = page_bounds(page, total, per_page)
    rows = await session.scalars(
        select(Project)
        .where(condition)
        .order_by(Project.id.desc())
        .offset(page * per_page)
        .limit(per_page)
    )
    return Page(list(rows), page, pages, total)
