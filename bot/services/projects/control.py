"""The executive committee's control list: every running project (recommended, in progress,
completed and owing its report), those with overdue milestones or missing reports first (the
oldest overdue date first), then the rest by number.

A project's earliest open deadline is kept on the project (`next_due_on`, by the plan's service),
so the overdue projects are one range of `ix_projects_status_next_due`, read in order; only the
page's projects have their overdue items counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from bot.services.paging import Page, page_bounds
from bot.services.projects import access, deadlines
from models import User
from models.projects import Milestone, Project, ProjectReport, ProjectStatus

S = ProjectStatus
CONTROLLED = (S.RECOMMENDED, S.IN_PROGRESS, S.COMPLETED)
PER_PAGE = 8


@dataclass(frozen=True)
class Row:
    project_id: int
    title: str
    status: ProjectStatus
    overdue_milestones: int
    missing_reports: int
    oldest: date | None

    @property
    def late(self) -> bool:
        return self.oldest is not None


@dataclass(frozen=True)
class Overview:
    page: Page[Row]
    late: int  # projects with something overdue


def late_query(today: date) -> Select[int, str, ProjectStatus, date | None]:
    """The running projects with something overdue, the oldest overdue date first."""
    return (
        select(Project.id, Project.title, Project.status, Project.next_due_on)
        .where(Project.status.in_(CONTROLLED), Project.next_due_on < today)
        .order_by(Project.next_due_on, Project.id)
    )


def on_time_query(today: date) -> Select[int, str, ProjectStatus, date | None]:
    """The running projects with nothing overdue, by number."""
    return (
        select(Project.id, Project.title, Project.status, Project.next_due_on)
        .where(
            Project.status.in_(CONTROLLED),
            or_(Project.next_due_on.is_(None), Project.next_due_on >= today),
        )
        .order_by(Project.id)
    )


async def _overdue_counts(
    session: AsyncSession, ids: list[int], today: date
) -> dict[int, tuple[int, int]]:
    """(overdue milestones, missing reports) of these projects."""
    if not ids:
        return {}
    milestones: dict[int, int] = dict(
        (
            await session.execute(
                select(Milestone.project_id, func.count())
                .where(
                    Milestone.project_id.in_(ids),
                    Milestone.done_at.is_(None),
                    Milestone.due_on < today,
                )
                .group_by(Milestone.project_id)
            )
        ).all()
    )
    reports: dict[int, int] = dict(
        (
            await session.execute(
                select(ProjectReport.project_id, func.count())
                .where(
                    ProjectReport.project_id.in_(ids),
                    ProjectReport.submitted_at.is_(None),
                    ProjectReport.due_on < today,
                )
                .group_by(ProjectReport.project_id)
            )
        ).all()
    )
    return {pid: (milestones.get(pid, 0), reports.get(pid, 0)) for pid in ids}


async def overview(
    session: AsyncSession,
    actor: User | None,
    page: int,
    timezone: str,
    now: datetime | None = None,
) -> Overview:
    access.require_overseer(actor)
    today = deadlines.today(timezone, now)
    running = Project.status.in_(CONTROLLED)
    total = await session.scalar(select(func.count()).select_from(Project).where(running)) or 0
    late = (
        await session.scalar(
            select(func.count()).select_from(Project).where(running, Project.next_due_on < today)
        )
        or 0
    )
    page, pages = page_bounds(page, total, PER_PAGE)
    offset = page * PER_PAGE
    found: list[Any] = []
    if offset < late:
        found += (await session.execute(late_query(today).offset(offset).limit(PER_PAGE))).all()
    if len(found) < PER_PAGE:
        rest = on_time_query(today).offset(max(0, offset - late)).limit(PER_PAGE - len(found))
        found += (await session.execute(rest)).all()
    late_ids = [pid for pid, _, _, due in found if due is not None and due < today]
    counts = await _overdue_counts(session, late_ids, today)
    items = [
        Row(
            project_id=pid,
            title=title,
            status=status,
            overdue_milestones=counts.get(pid, (0, 0))[0],
            missing_reports=counts.get(pid, (0, 0))[1],
            oldest=due if pid in counts else None,
        )
        for pid, title, status, due in found
    ]
    return Overview(Page(items, page, pages, total), late)
