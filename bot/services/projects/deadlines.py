"""The work plan's deadlines as scheduler jobs: the responsible person is reminded 7 days and
1 day before a milestone or a report is due, and the executive committee is told once when the
due day has passed with the milestone not done or the report not submitted.

A due date is a day on the Assembly's clock (`settings.timezone`): the thing is due at the end
of that day. Reminders only remind (skipped when late or when their purpose has passed); the
overdue escalation changes state (it is recorded in the audit log), so it runs however late
after downtime. Each job fires once, also across a restart (scheduler/jobs.py records it).

The daily digest takes the week's deadlines from here (`digest_lines`), computed when it is
sent: a project's people change after a deadline is scheduled.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.i18n import PoI18n
from bot.languages import language_of
from bot.services import audit, roles
from bot.services.projects import notices
from bot.texts import plain
from models import Role, ScheduledJob, Topic, User
from models.base import utcnow
from models.projects import Milestone as MilestoneRow
from models.projects import (
    ParticipantStatus,
    Project,
    ProjectParticipant,
    ProjectReport,
    ProjectStatus,
)
from scheduler import jobs

S = ProjectStatus
# A milestone is watched while the work is on; a report also while a completed project owes it.
MILESTONE_WATCHED = (S.RECOMMENDED, S.IN_PROGRESS)
REPORT_WATCHED = (S.RECOMMENDED, S.IN_PROGRESS, S.COMPLETED)

MILESTONE = "milestone"
REPORT = "project_report"


@dataclass(frozen=True)
class Kinds:
    """The job kinds of one kind of deadline."""

    object_type: str
    week: str
    day: str
    overdue: str


MILESTONE_KINDS = Kinds(
    MILESTONE,
    "project.milestone_remind_week",
    "project.milestone_remind_day",
    "project.milestone_overdue",
)
REPORT_KINDS = Kinds(
    REPORT, "project.report_remind_week", "project.report_remind_day", "project.report_overdue"
)
WEEK = timedelta(days=7)
DAY = timedelta(days=1)
DIGEST_DAYS = 7
_Due = TypeVar("_Due", MilestoneRow, ProjectReport)
# A reminder hours late still helps (the due day is days or a day away).
REMINDER_SKIP_AFTER = timedelta(hours=12)


def due_moment(due_on: date, timezone: str) -> datetime:
    """The end of the due day on the Assembly's clock (the first moment of the next day)."""
    return datetime.combine(due_on + DAY, time(0, 0), ZoneInfo(timezone))


def today(timezone: str, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(ZoneInfo(timezone)).date()


async def _schedule(
    session: AsyncSession,
    kinds: Kinds,
    object_id: int,
    due_on: date,
    timezone: str,
    now: datetime | None,
) -> None:
    now = now or utcnow()
    due = due_moment(due_on, timezone)
    for kind, before in ((kinds.week, WEEK), (kinds.day, DAY)):
        at = due - before
        if at > now:
            await jobs.schedule(session, kind, kinds.object_type, object_id, at)
        else:
            # Too close to remind that far ahead (or the date moved nearer): no reminder late.
            await jobs.cancel(session, kinds.object_type, object_id, kind)
    await jobs.schedule(session, kinds.overdue, kinds.object_type, object_id, due)


async def schedule_milestone(
    session: AsyncSession, milestone: MilestoneRow, timezone: str, now: datetime | None = None
) -> None:
    """Call when a milestone is added or its date changes."""
    await _schedule(session, MILESTONE_KINDS, milestone.id, milestone.due_on, timezone, now)
    await refresh_next_due(session, milestone.project_id)


async def schedule_report(
    session: AsyncSession, report: ProjectReport, timezone: str, now: datetime | None = None
) -> None:
    """Call when a report is planned or its date changes."""
    if report.due_on is not None:
        await _schedule(session, REPORT_KINDS, report.id, report.due_on, timezone, now)
    await refresh_next_due(session, report.project_id)


async def cancel_milestone(session: AsyncSession, milestone: MilestoneRow) -> None:
    """Call when a milestone is done (or no longer watched)."""
    await jobs.cancel(session, MILESTONE, milestone.id)
    await refresh_next_due(session, milestone.project_id)


async def cancel_report(session: AsyncSession, report: ProjectReport) -> None:
    """Call when a report is submitted."""
    await jobs.cancel(session, REPORT, report.id)
    await refresh_next_due(session, report.project_id)


async def cancel_all(session: AsyncSession, project_id: int) -> None:
    """Call when a project stops (withdrawn): none of its deadlines is watched any more."""
    milestones = await session.scalars(
        select(MilestoneRow.id).where(
            MilestoneRow.project_id == project_id, MilestoneRow.done_at.is_(None)
        )
    )
    for milestone_id in milestones.all():
        await jobs.cancel(session, MILESTONE, milestone_id)
    reports = await session.scalars(
        select(ProjectReport.id).where(
            ProjectReport.project_id == project_id, ProjectReport.submitted_at.is_(None)
        )
    )
    for report_id in reports.all():
        await jobs.cancel(session, REPORT, report_id)


def as_date(value: object) -> date | None:
    # A MIN over a date loses the column's type on SQLite: it comes back as text.
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


async def refresh_next_due(session: AsyncSession, project_id: int) -> None:
    """Keep `Project.next_due_on`, the earliest due date among the project's open milestones
    and reports not yet submitted (the control list reads the overdue projects from it)."""
    await session.flush()
    milestones = (
        select(func.min(MilestoneRow.due_on))
        .where(MilestoneRow.project_id == project_id, MilestoneRow.done_at.is_(None))
        .scalar_subquery()
    )
    reports = (
        select(func.min(ProjectReport.due_on))
        .where(ProjectReport.project_id == project_id, ProjectReport.submitted_at.is_(None))
        .scalar_subquery()
    )
    found = (await session.execute(select(milestones, reports))).one()
    dates = [d for d in map(as_date, found) if d is not None]
    await session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(next_due_on=min(dates) if dates else None)
    )


# --- What the jobs do -----------------------------------------------------------------------------


async def _open_milestone(
    session: AsyncSession, job: ScheduledJob
) -> tuple[MilestoneRow, Project] | None:
    milestone = await session.get(MilestoneRow, job.object_id) if job.object_id else None
    if milestone is None or milestone.done_at is not None:
        return None
    project = await session.get(Project, milestone.project_id)
    if project is None or project.status not in MILESTONE_WATCHED:
        return None
    return milestone, project


async def _missing_report(
    session: AsyncSession, job: ScheduledJob
) -> tuple[ProjectReport, Project] | None:
    report = await session.get(ProjectReport, job.object_id) if job.object_id else None
    if report is None or report.submitted_at is not None or report.due_on is None:
        return None
    project = await session.get(Project, report.project_id)
    if project is None or project.status not in REPORT_WATCHED:
        return None
    return report, project


async def _responsible(session: AsyncSession, user_id: int | None, project: Project) -> list[int]:
    """The responsible person; the project's owners when nobody is (left, erased)."""
    if user_id is not None:
        person = await session.get(User, user_id)
        if person is not None and person.deleted_at is None:
            return [person.id]
    return await notices.owners(session, project)


def _shown(day: date) -> str:
    return day.strftime("%d.%m.%Y")


async def run_milestone_reminder(
    session: AsyncSession, job: ScheduledJob, key: str
) -> dict[str, Any]:
    found = await _open_milestone(session, job)
    if found is None:
        return {"skipped": "done or not running"}
    milestone, project = found
    ids = await _responsible(session, milestone.responsible_id, project)
    await notices.queue(
        session,
        project,
        key,
        ids,
        {"milestone": milestone.title, "due": _shown(milestone.due_on)},
    )
    return {"notified": len(ids)}


async def run_report_reminder(session: AsyncSession, job: ScheduledJob, key: str) -> dict[str, Any]:
    found = await _missing_report(session, job)
    if found is None:
        return {"skipped": "submitted or not running"}
    report, project = found
    assert report.due_on is not None
    ids = await _responsible(session, report.responsible_id, project)
    await notices.queue(session, project, key, ids, {"due": _shown(report.due_on)})
    return {"notified": len(ids)}


async def run_milestone_overdue(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
    """The due day has passed and the milestone is not done: the executive committee hears of
    it (once), and so does the responsible person."""
    found = await _open_milestone(session, job)
    if found is None:
        return {"skipped": "done or not running"}
    milestone, project = found
    executive = await roles.holders(session, Role.EXECUTIVE)
    params: dict[str, str | int] = {"milestone": milestone.title, "due": _shown(milestone.due_on)}
    await audit.record(
        session, None, "project.escalate", "project", project.id, milestone=milestone.id
    )
    await notices.queue(
        session, project, "projects-work-escalate-milestone", [p.id for p in executive], params
    )
    responsible = await _responsible(session, milestone.responsible_id, project)
    await notices.queue(
        session, project, "projects-work-overdue-milestone", responsible, dict(params)
    )
    return {"notified": len(executive)}


async def run_report_overdue(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
    found = await _missing_report(session, job)
    if found is None:
        return {"skipped": "submitted or not running"}
    report, project = found
    assert report.due_on is not None
    executive = await roles.holders(session, Role.EXECUTIVE)
    params: dict[str, str | int] = {"due": _shown(report.due_on)}
    await audit.record(session, None, "project.escalate", "project", project.id, report=report.id)
    await notices.queue(
        session, project, "projects-work-escalate-report", [p.id for p in executive], params
    )
    responsible = await _responsible(session, report.responsible_id, project)
    await notices.queue(session, project, "projects-work-overdue-report", responsible, params)
    return {"notified": len(executive)}


# --- The daily digest -----------------------------------------------------------------------------


async def _people(session: AsyncSession, project: Project) -> set[int]:
    """Who takes part in a project or follows it: its owners, its active citizens, its
    followers (the responsible people are added per deadline)."""
    ids = set(await notices.owners(session, project))
    ids |= set(await notices.followers(session, project))
    citizens = await session.scalars(
        select(ProjectParticipant.user_id).where(
            ProjectParticipant.project_id == project.id,
            ProjectParticipant.status == ParticipantStatus.ACTIVE,
            ProjectParticipant.user_id.is_not(None),
        )
    )
    ids |= {uid for uid in citizens if uid is not None}
    return ids


def _due_between(
    row: type[_Due], closed_at: Any, watched: tuple[ProjectStatus, ...], first: date, last: date
) -> Select[_Due]:
    """Still open, due within [first, last], of a project in one of the watched statuses."""
    return (
        select(row)
        .join(Project, Project.id == row.project_id)
        .where(
            closed_at.is_(None),
            row.due_on >= first,
            row.due_on <= last,
            Project.status.in_(watched),
        )
        .order_by(row.due_on, row.id)
    )


async def digest_lines(
    session: AsyncSession,
    i18n: PoI18n,
    default_language: str,
    timezone: str,
    now: datetime | None = None,
) -> dict[int, list[str]]:
    """For each digest reader, a line per milestone or report due in the coming week of the
    projects they take part in or follow, in their language."""
    first = today(timezone, now)
    last = first + timedelta(days=DIGEST_DAYS)
    milestones = (
        await session.scalars(
            _due_between(MilestoneRow, MilestoneRow.done_at, MILESTONE_WATCHED, first, last)
        )
    ).all()
    reports = (
        await session.scalars(
            _due_between(ProjectReport, ProjectReport.submitted_at, REPORT_WATCHED, first, last)
        )
    ).all()
    # (due day, project, key, params, responsible)
    items: list[tuple[date, int, str, dict[str, object], int | None]] = []
    for milestone in milestones:
        items.append(
            (
                milestone.due_on,
                milestone.project_id,
                "projects-work-digest-milestone",
                {"milestone": milestone.title},
                milestone.responsible_id,
            )
        )
    for report in reports:
        assert report.due_on is not None
        key = "projects-work-digest-final" if report.final else "projects-work-digest-report"
        items.append((report.due_on, report.project_id, key, {}, report.responsible_id))
    items.sort(key=lambda item: (item[0], item[1]))
    people: dict[int, set[int]] = {}
    titles: dict[int, str] = {}
    lines: dict[int, list[str]] = defaultdict(list)
    for due_on, project_id, key, params, responsible in items:
        if project_id not in people:
            project = await session.get(Project, project_id)
            assert project is not None
            people[project_id] = await _people(session, project)
            titles[project_id] = project.title
        ids = people[project_id] | ({responsible} if responsible is not None else set())
        readers = await session.execute(
            delivery.audience_query({"users": sorted(ids)}, Topic.DIGEST).add_columns(User.language)
        )
        for user_id, language in readers.all():
            with i18n.context(), i18n.use_locale(language_of(language, default_language)):
                text = plain(
                    key, number=project_id, title=titles[project_id], due=_shown(due_on), **params
                )
            lines[user_id].append(f"• {text}")
    return lines
