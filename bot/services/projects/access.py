"""Who may do what with a project, checked on the server for every action: the representatives
of its organization own it; the executive committee assigns and oversees; the assigned
committee's members review and its chair proposes the outcome; the presidium puts it to the
council. Admins pass every check (`has_any_role`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import NotAllowed, NotFound
from bot.services.permissions import has_any_role
from models import (
    Body,
    BodyKind,
    MemberRole,
    Membership,
    Organization,
    OrganizationStatus,
    Representative,
    Role,
    User,
)
from models.base import utcnow
from models.projects import Programme, Project, ProjectStatus

# The executive committee oversees every project; the Secretariat helps it.
OVERSEERS = (Role.EXECUTIVE, Role.SECRETARIAT)
# Programmes are created by the council's presidium or the executive committee.
PROGRAMME_MAKERS = (Role.PRESIDIUM, Role.EXECUTIVE)


async def get(session: AsyncSession, project_id: int, *, lock: bool = False) -> Project:
    statement = select(Project).where(Project.id == project_id)
    if lock:
        statement = statement.with_for_update()
    project = await session.scalar(statement)
    if project is None:
        raise NotFound("projects-not-found", number=project_id)
    return project


async def get_programme(session: AsyncSession, programme_id: int) -> Programme:
    programme = await session.get(Programme, programme_id)
    if programme is None:
        raise NotFound("projects-programme-not-found", number=programme_id)
    return programme


async def represented(session: AsyncSession, user: User | None) -> list[Organization]:
    """The approved member organizations the user represents (those they may propose for)."""
    if user is None or user.deleted_at is not None:
        return []
    rows = await session.scalars(
        select(Organization)
        .join(Representative, Representative.organization_id == Organization.id)
        .where(
            Representative.user_id == user.id,
            Organization.status == OrganizationStatus.APPROVED,
        )
        .order_by(Organization.name)
    )
    return list(rows)


async def represents(session: AsyncSession, user: User | None, organization_id: int) -> bool:
    if user is None or user.deleted_at is not None:
        return False
    found = await session.scalar(
        select(Representative.user_id).where(
            Representative.user_id == user.id, Representative.organization_id == organization_id
        )
    )
    return found is not None


async def is_owner(session: AsyncSession, user: User | None, project: Project) -> bool:
    """A representative of the project's organization (or an admin)."""
    if user is None or user.deleted_at is not None:
        return False
    if Role.ADMIN in user.role_set:
        return True
    return await represents(session, user, project.organization_id)


async def require_owner(session: AsyncSession, user: User | None, project: Project) -> User:
    if user is None or not await is_owner(session, user, project):
        raise NotAllowed()
    return user


def is_overseer(user: User | None) -> bool:
    return has_any_role(user, *OVERSEERS)


def require_overseer(user: User | None) -> User:
    if user is None or not is_overseer(user):
        raise NotAllowed()
    return user


def require_programme_maker(user: User | None) -> User:
    if user is None or not has_any_role(user, *PROGRAMME_MAKERS):
        raise NotAllowed()
    return user


async def committee_role(
    session: AsyncSession, user: User | None, body_id: int | None
) -> MemberRole | None:
    """The user's seat in a committee (chair, secretary, member), if current."""
    if user is None or body_id is None or user.deleted_at is not None:
        return None
    now = utcnow()
    role = await session.scalar(
        select(Membership.role)
        .join(Body, Body.id == Membership.body_id)
        .where(
            Membership.body_id == body_id,
            Membership.user_id == user.id,
            Body.kind != BodyKind.COUNCIL,
            (Membership.until.is_(None)) | (Membership.until > now),
        )
    )
    return role


async def require_reviewer(session: AsyncSession, user: User | None, project: Project) -> User:
    """A member of the committee the project is assigned to (overseers too)."""
    if user is None:
        raise NotAllowed()
    if is_overseer(user):
        return user
    if await committee_role(session, user, project.committee_id) is None:
        raise NotAllowed()
    return user


async def require_chair(session: AsyncSession, user: User | None, project: Project) -> User:
    """The chair of the assigned committee (or an admin)."""
    if user is None:
        raise NotAllowed()
    if Role.ADMIN in user.role_set and user.deleted_at is None:
        return user
    if await committee_role(session, user, project.committee_id) != MemberRole.CHAIR:
        raise NotAllowed()
    return user


async def may_see(session: AsyncSession, user: User | None, project: Project) -> bool:
    """Everything but a draft is public; a draft is its organization's and the overseers'."""
    if project.status != ProjectStatus.DRAFT:
        return True
    return is_overseer(user) or await is_owner(session, user, project)


async def visible(session: AsyncSession, user: User | None, project_id: int) -> Project:
    """The project if this person may see it; a draft of someone else's is "not found"."""
    project = await get(session, project_id)
    if not await may_see(session, user, project):
        raise NotFound("projects-not-found", number=project_id)
    return project
