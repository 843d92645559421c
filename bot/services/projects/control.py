"""The executive committee's control list: every running project (recommended, in progress,
completed and owing its report), those with overdue milestones or missing reports first (the
oldest overdue date first), then the rest by number.

One grouped query reads the overdue items from the covering indexes `ix_milestones_open_due`
(done_at, due_on, project_id) and `ix_project_reports_missing` (submitted_at, due_on,
project_id): only open, past-due rows are touched, never a project's plan one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, literal, select, union_all
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


def overdue_query(today: date) -> Select[tuple[int, int, int, date]]:
    """Per project: its overdue milestones, its missing reports and the oldest due date among
    them (grouped, from the two covering indexes)."""
    milestones = (
        select(
            Milestone.project_id.label("project_id"),
            func.count().label("milestones"),
            literal(0).label("reports"),
            func.min(Milestone.due_on).label("oldest"),
        )
        .where(Milestone.done_at.is_(None), Milestone.due_on < today)
        .group_by(Milestone.project_id)
    )
    reports = (
        select(
            ProjectReport.project_id.label("project_id"),
            literal(0).label("milestones"),
            func.count().label("reports"),
            func.min(ProjectReport.due_on).label("oldest"),
        )
        .where(ProjectReport.submitted_at.is_(None), ProjectReport.due_on < today)
        .group_by(ProjectReport.project_id)
    )
    both = union_all(milestones, reports).subquery()
    return select(
        both.c.project_id,
        func.sum(both.c.milestones).label("milestones"),
        func.sum(both.c.reports).label("reports"),
        func.min(both.c.oldest).label("oldest"),
    ).group_by(both.c.project_id)


async def overview(
    session: AsyncSession,
    actor: User | None,
    page: int,
    timezone: str,
    now: datetime | None = None,
) -> Overview:
    access.require_overseer(actor)
    today = deadlines.today(timezone, now)
    overdue = overdue_query(today).subquery()
    running = Project.status.in_(CONTROLLED)
    total = await session.scalar(select(func.count()).select_from(Project).where(running)) or 0
    late = (
        await session.scalar(
            select(func.count())
            .select_from(overdue)
            .join(Project, Project.id == overdue.c.project_id)
            .where(running)
        )
        or 0
    )
    page, pages = page_bounds(page, total, PER_PAGE)
    rows = await session.execute(
        select(
            Project.id,
            Project.title,
            Project.status,
            overdue.c.milestones,
            overdue.c.reports,
            overdue.c.oldest,
        )
        .outerjoin(overdue, overdue.c.project_id == Project.id)
        .where(running)
        .order_by(overdue.c.oldest.is_(None), overdue.c.oldest, Project.id)
        .offset(page * PER_PAGE)
        .limit(PER_PAGE)
    )
    items = [
        Row(
            project_id=pid,
            title=title,
            status=status,
            overdue_milestones=int(milestones or 0),
            missing_reports=int(reports or 0),
            oldest=_as_date(oldest),
        )
        for pid, title, status, milestones, reports, oldest in rows.all()
    ]
    return Overview(Page(items, page, pages, total), late)


def _as_date(value: object) -> date | None:
    # A MIN over a UNION loses the column's type on SQLite: it comes back as text.
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
