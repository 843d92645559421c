"""Moving a project between statuses: the move is checked against the rules, recorded in the
project's history and the audit log, and told to its people. Submission keeps the version."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, roles
from bot.services.errors import InvalidInput
from bot.services.projects import access, deadlines, notices
from bot.services.projects.rules import EDITABLE, IllegalTransition, may_move, slug
from models import Role, User
from models.base import utcnow
from models.projects import (
    Project,
    ProjectEvent,
    ProjectEventKind,
    ProjectNeed,
    ProjectStatus,
    ProjectVersion,
)

S = ProjectStatus
# The fields a version keeps (and the passport shows).
VERSIONED = (
    "title",
    "summary",
    "district_id",
    "programme_id",
    "goals",
    "budget",
    "budget_sources",
    "wanted",
    "starts_on",
    "ends_on",
)
# What must be filled before a project is submitted.
REQUIRED = ("title", "summary", "goals", "starts_on", "ends_on")


async def record(
    session: AsyncSession,
    actor: User | None,
    project: Project,
    kind: ProjectEventKind,
    *,
    text: str | None = None,
    from_status: ProjectStatus | None = None,
    to_status: ProjectStatus | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
) -> ProjectEvent:
    event = ProjectEvent(
        project_id=project.id,
        kind=kind,
        actor_id=actor.id if actor is not None else None,
        version=project.version,
        from_status=from_status,
        to_status=to_status,
        text=text,
        subject_type=subject_type,
        subject_id=subject_id,
    )
    session.add(event)
    project.updated_at = utcnow()
    await session.flush()
    return event


async def move(
    session: AsyncSession,
    actor: User | None,
    project: Project,
    to: ProjectStatus,
    *,
    text: str | None = None,
    notify: bool = True,
    now: datetime | None = None,
) -> ProjectEvent:
    """The one way a project's status changes; an illegal move raises IllegalTransition."""
    if not may_move(project.status, to):
        raise IllegalTransition(number=project.id)
    now = now or utcnow()
    before = project.status
    project.status = to
    if to == S.SUBMITTED:
        project.submitted_at = now
    elif to in (S.RECOMMENDED, S.RETURNED, S.REJECTED):
        project.decided_at = now
    elif to == S.IN_PROGRESS:
        project.started_at = now
    elif to == S.COMPLETED:
        project.completed_at = now
    event = await record(
        session,
        actor,
        project,
        ProjectEventKind.STATUS,
        text=text,
        from_status=before,
        to_status=to,
    )
    await audit.record(
        session, actor, "project.status", "project", project.id, to=to.value, before=before.value
    )
    if notify:
        await notices.to_everyone(
            session,
            project,
            f"projects-notice-status-{slug(to)}",
            exclude=[actor.id] if actor is not None else [],
            text=text or "",
        )
    return event


def snapshot(project: Project, need_ids: list[int]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in VERSIONED:
        value = getattr(project, name)
        data[name] = value.isoformat() if isinstance(value, date) else value
    data["needs"] = need_ids
    return data


async def need_ids(session: AsyncSession, project_id: int) -> list[int]:
    rows = await session.scalars(
        select(ProjectNeed.need_id)
        .where(ProjectNeed.project_id == project_id)
        .order_by(ProjectNeed.need_id)
    )
    return list(rows)


def missing_fields(project: Project) -> list[str]:
    missing = [name for name in REQUIRED if not getattr(project, name)]
    if project.starts_on and project.ends_on and project.ends_on < project.starts_on:
        missing.append("ends_on")
    return missing


async def submit(session: AsyncSession, actor: User | None, project_id: int) -> Project:
    """A draft (or a project returned for revision) goes to review: its fields are checked,
    kept as a new version, and the executive committee is asked to assign it."""
    project = await access.get(session, project_id, lock=True)
    actor = await access.require_owner(session, actor, project)
    if project.status not in EDITABLE:
        raise IllegalTransition(number=project.id)
    missing = missing_fields(project)
    if missing:
        raise InvalidInput("projects-submit-missing", fields=", ".join(missing))
    resubmitted = project.status == S.RETURNED
    project.version += 1
    session.add(
        ProjectVersion(
            project_id=project.id,
            version=project.version,
            data=snapshot(project, await need_ids(session, project.id)),
        )
    )
    await move(session, actor, project, S.SUBMITTED)
    await audit.record(
        session, actor, "project.submit", "project", project.id, version=project.version
    )
    overseers = await roles.holders(session, Role.EXECUTIVE)
    key = "projects-notice-resubmitted" if resubmitted else "projects-notice-submitted"
    await notices.to_people(session, project, overseers, key, version=project.version)
    return project


async def versions(session: AsyncSession, project_id: int) -> list[ProjectVersion]:
    rows = await session.scalars(
        select(ProjectVersion)
        .where(ProjectVersion.project_id == project_id)
        .order_by(ProjectVersion.version)
    )
    return list(rows)


async def withdraw(
    session: AsyncSession, actor: User | None, project_id: int, reason: str | None = None
) -> Project:
    """Its organization withdraws it, at any point before completion."""
    project = await access.get(session, project_id, lock=True)
    actor = await access.require_owner(session, actor, project)
    await move(session, actor, project, S.WITHDRAWN, text=reason)
    await deadlines.cancel_all(session, project.id)
    return project


async def history(session: AsyncSession, project_id: int) -> list[ProjectEvent]:
    rows = await session.scalars(
        select(ProjectEvent).where(ProjectEvent.project_id == project_id).order_by(ProjectEvent.id)
    )
    return list(rows)
