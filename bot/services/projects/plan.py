"""A project's work plan and reports: milestones with due dates and a responsible person, planned
reports, starting and completing the project, marking milestones done, submitting reports.

Anyone sees a public project's plan; its owners (the representatives of its organization)
manage it, while it is recommended or in progress. A milestone is marked done by its responsible
person or an owner; a report is submitted by an owner or the person responsible for it. After
the final report of a completed project the project is reported. Every status change goes
through `lifecycle.move`; every deadline is a scheduler job (`deadlines`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected
from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.projects import access, deadlines, lifecycle, notices, outcome, parsing
from bot.services.projects.rules import COMMENT_MAX, TEXT_MAX, IllegalTransition, clean
from models import Representative, User
from models.base import utcnow
from models.projects import (
    Milestone,
    ParticipantStatus,
    Project,
    ProjectEventKind,
    ProjectFile,
    ProjectParticipant,
    ProjectReport,
    ProjectStatus,
)

S = ProjectStatus
# The plan is made and changed only while the work is ahead or under way.
PLANNABLE = frozenset({S.RECOMMENDED, S.IN_PROGRESS})
# Milestones are marked done while the work is on; reports also after completion.
MARKABLE = frozenset({S.RECOMMENDED, S.IN_PROGRESS})
REPORTABLE = frozenset({S.IN_PROGRESS, S.COMPLETED})
MILESTONE_TITLE_MAX = 300
MILESTONES_MAX = 100
REPORTS_MAX = 50
FILES_MAX = 10


@dataclass(frozen=True)
class Attachment:
    """A file a person sent with a milestone's comment or a report (Telegram keeps the bytes)."""

    kind: str  # photo | document
    file_id: str
    file_unique_id: str
    name: str | None = None


@dataclass
class Plan:
    """What the plan panel shows to one person, and what they may do there."""

    project: Project
    milestones: list[Milestone]
    reports: list[ProjectReport]
    names: dict[int, str]
    owner: bool
    # The milestones and reports this person may mark done / submit now.
    markable: set[int] = field(default_factory=set)
    reportable: set[int] = field(default_factory=set)

    @property
    def editable(self) -> bool:
        return self.owner and self.project.status in PLANNABLE


# --- Reading -------------------------------------------------------------------------------------


async def milestones(session: AsyncSession, project_id: int) -> list[Milestone]:
    rows = await session.scalars(
        select(Milestone)
        .where(Milestone.project_id == project_id)
        .order_by(Milestone.due_on, Milestone.id)
    )
    return list(rows)


async def reports(session: AsyncSession, project_id: int) -> list[ProjectReport]:
    rows = await session.scalars(
        select(ProjectReport)
        .where(ProjectReport.project_id == project_id)
        .order_by(ProjectReport.due_on.is_(None), ProjectReport.due_on, ProjectReport.id)
    )
    return list(rows)


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(sorted(ids))))
    return {uid: name or "—" for uid, name in rows.all()}


async def plan(session: AsyncSession, actor: User | None, project_id: int) -> Plan:
    """The plan as `actor` sees it (a draft's plan is nobody's business but its owners')."""
    project = await access.visible(session, actor, project_id)
    owner = await access.is_owner(session, actor, project)
    found = Plan(
        project=project,
        milestones=await milestones(session, project_id),
        reports=await reports(session, project_id),
        names={},
        owner=owner,
    )
    people = {m.responsible_id for m in found.milestones if m.responsible_id is not None}
    found.names = await _names(session, people)
    if actor is not None:
        for milestone in found.milestones:
            if milestone.done_at is None and project.status in MARKABLE:
                if owner or milestone.responsible_id == actor.id:
                    found.markable.add(milestone.id)
        for report in found.reports:
            if report.submitted_at is None and project.status in REPORTABLE:
                if owner or report.responsible_id == actor.id:
                    found.reportable.add(report.id)
    return found


async def candidates(session: AsyncSession, project: Project) -> list[User]:
    """Who may be responsible for a milestone: the representatives of the project's
    organization and of its active partner organizations, and its active citizens."""
    organizations = select(ProjectParticipant.organization_id).where(
        ProjectParticipant.project_id == project.id,
        ProjectParticipant.status == ParticipantStatus.ACTIVE,
        ProjectParticipant.organization_id.is_not(None),
    )
    citizens = select(ProjectParticipant.user_id).where(
        ProjectParticipant.project_id == project.id,
        ProjectParticipant.status == ParticipantStatus.ACTIVE,
        ProjectParticipant.user_id.is_not(None),
    )
    represented = select(Representative.user_id).where(
        (Representative.organization_id == project.organization_id)
        | Representative.organization_id.in_(organizations)
    )
    rows = await session.scalars(
        select(User)
        .where(
            User.deleted_at.is_(None),
            User.id.in_(represented) | User.id.in_(citizens),
        )
        .order_by(User.id)
    )
    people = list(rows)
    # The proposer first: the default choice.
    people.sort(key=lambda person: person.id != project.proposer_id)
    return people


# --- Planning ------------------------------------------------------------------------------------


async def _plannable(
    session: AsyncSession, actor: User | None, project_id: int
) -> tuple[Project, User]:
    project = await access.get(session, project_id, lock=True)
    actor = await access.require_owner(session, actor, project)
    if project.status not in PLANNABLE:
        raise IllegalTransition(number=project.id)
    return project, actor


async def require_planner(session: AsyncSession, actor: User | None, project_id: int) -> Project:
    """Checked before a planning dialog starts (and again when it ends)."""
    project, _ = await _plannable(session, actor, project_id)
    return project


async def add_milestone(
    session: AsyncSession,
    actor: User | None,
    project_id: int,
    title: str,
    due_on: date,
    responsible_id: int | None,
    timezone: str,
) -> Milestone:
    project, actor = await _plannable(session, actor, project_id)
    title = clean(title, limit=MILESTONE_TITLE_MAX)
    if due_on < deadlines.today(timezone):
        raise InvalidInput("projects-work-date-past")
    people = {person.id for person in await candidates(session, project)}
    if responsible_id is None:
        responsible_id = project.proposer_id if project.proposer_id in people else actor.id
    if responsible_id not in people and responsible_id != actor.id:
        raise InvalidInput("projects-work-bad-responsible")
    if len(await milestones(session, project.id)) >= MILESTONES_MAX:
        raise InvalidInput("projects-work-too-many", limit=MILESTONES_MAX)
    milestone = Milestone(
        project_id=project.id, title=title, due_on=due_on, responsible_id=responsible_id
    )
    session.add(milestone)
    await session.flush()
    await deadlines.schedule_milestone(session, milestone, timezone)
    project.updated_at = utcnow()
    await audit.record(
        session, actor, "project.milestone_add", "project", project.id, milestone=milestone.id
    )
    if responsible_id != actor.id:
        responsible = await session.get(User, responsible_id)
        if responsible is not None:
            await notices.to_people(
                session,
                project,
                [responsible],
                "projects-work-notice-responsible",
                milestone=title,
                due=due_on.strftime("%d.%m.%Y"),
            )
    return milestone


async def _move_due(
    session: AsyncSession,
    actor: User,
    project: Project,
    item: Milestone | ProjectReport,
    due_on: date,
    timezone: str,
) -> None:
    """A milestone and a report move alike; each keeps its own audit action, as when planned."""
    if due_on < deadlines.today(timezone):
        raise InvalidInput("projects-work-date-past")
    item.due_on = due_on
    await session.flush()
    if isinstance(item, Milestone):
        await deadlines.schedule_milestone(session, item, timezone)
        action, ref = "project.milestone_add", {"milestone": item.id}
    else:
        await deadlines.schedule_report(session, item, timezone)
        action, ref = "project.report_plan", {"report": item.id}
    await audit.record(session, actor, action, "project", project.id, **ref, due=due_on.isoformat())


async def move_milestone(
    session: AsyncSession,
    actor: User | None,
    milestone_id: int,
    due_on: date,
    timezone: str,
) -> Milestone:
    """A new due date: its reminders and escalation move with it."""
    milestone = await _milestone(session, milestone_id)
    project, actor = await _plannable(session, actor, milestone.project_id)
    if milestone.done_at is not None:
        raise InvalidInput("projects-work-already-done")
    await _move_due(session, actor, project, milestone, due_on, timezone)
    return milestone


async def move_report(
    session: AsyncSession,
    actor: User | None,
    report_id: int,
    due_on: date,
    timezone: str,
) -> ProjectReport:
    """A planned report's new due date: its reminders and escalation move with it."""
    report = await _report(session, report_id)
    project, actor = await _plannable(session, actor, report.project_id)
    if report.submitted_at is not None:
        raise InvalidInput("projects-work-report-already")
    await _move_due(session, actor, project, report, due_on, timezone)
    return report


async def plan_report(
    session: AsyncSession,
    actor: User | None,
    project_id: int,
    due_on: date,
    final: bool,
    timezone: str,
) -> ProjectReport:
    project, actor = await _plannable(session, actor, project_id)
    if due_on < deadlines.today(timezone):
        raise InvalidInput("projects-work-date-past")
    if len(await reports(session, project.id)) >= REPORTS_MAX:
        raise InvalidInput("projects-work-too-many", limit=REPORTS_MAX)
    report = ProjectReport(
        project_id=project.id,
        due_on=due_on,
        final=final,
        responsible_id=project.proposer_id or actor.id,
    )
    session.add(report)
    await session.flush()
    await deadlines.schedule_report(session, report, timezone)
    project.updated_at = utcnow()
    await audit.record(
        session, actor, "project.report_plan", "project", project.id, report=report.id, final=final
    )
    return report


# --- Carrying it out -----------------------------------------------------------------------------


async def start(session: AsyncSession, actor: User | None, project_id: int) -> Project:
    """Recommended → in progress; the needs it answers are told."""
    project = await access.get(session, project_id, lock=True)
    actor = await access.require_owner(session, actor, project)
    await lifecycle.move(session, actor, project, S.IN_PROGRESS)
    await outcome.tell_needs(session, project, started=True)
    return project


async def complete(
    session: AsyncSession,
    actor: User | None,
    project_id: int,
    resolve_buttons: outcome.Buttons | None = None,
) -> Project:
    """In progress → completed; the needs it answers are told, and their handlers are offered
    to mark them resolved (`resolve_buttons`, built by the caller). A final report already in
    makes it reported at once."""
    project = await access.get(session, project_id, lock=True)
    actor = await access.require_owner(session, actor, project)
    await lifecycle.move(session, actor, project, S.COMPLETED)
    for milestone in await milestones(session, project.id):
        if milestone.done_at is None:
            await deadlines.cancel_milestone(session, milestone)
    await outcome.tell_needs(session, project, started=False)
    await outcome.offer_resolution(session, project, resolve_buttons)
    if await _final_submitted(session, project.id):
        await lifecycle.move(session, actor, project, S.REPORTED)
    return project


async def _final_submitted(session: AsyncSession, project_id: int) -> bool:
    found = await session.scalar(
        select(ProjectReport.id).where(
            ProjectReport.project_id == project_id,
            ProjectReport.final.is_(True),
            ProjectReport.submitted_at.is_not(None),
        )
    )
    return found is not None


async def _milestone(session: AsyncSession, milestone_id: int) -> Milestone:
    milestone = await session.get(Milestone, milestone_id) if 0 < milestone_id < 2**31 else None
    if milestone is None:
        raise NotFound("projects-work-milestone-not-found")
    return milestone


async def _report(session: AsyncSession, report_id: int) -> ProjectReport:
    report = await session.get(ProjectReport, report_id) if 0 < report_id < 2**31 else None
    if report is None:
        raise NotFound("projects-work-report-not-found")
    return report


async def require_marker(
    session: AsyncSession, actor: User | None, milestone_id: int
) -> tuple[Milestone, Project, User]:
    """The milestone's responsible person or an owner, while it is open and the work is on."""
    milestone = await _milestone(session, milestone_id)
    project = await access.get(session, milestone.project_id)
    if actor is None or actor.deleted_at is not None:
        raise NotAllowed()
    if milestone.responsible_id != actor.id and not await access.is_owner(session, actor, project):
        raise NotAllowed()
    if project.status not in MARKABLE:
        raise IllegalTransition(number=project.id)
    if milestone.done_at is not None:
        raise InvalidInput("projects-work-already-done")
    return milestone, project, actor


def _files(
    project: Project, owner_type: str, owner_id: int, actor: User, files: list[Attachment]
) -> list[ProjectFile]:
    return [
        ProjectFile(
            project_id=project.id,
            owner_type=owner_type,
            owner_id=owner_id,
            kind=item.kind,
            file_id=item.file_id[:200],
            file_unique_id=item.file_unique_id[:100],
            name=(item.name or None) and (item.name or "")[:200],
            uploaded_by_id=actor.id,
        )
        for item in files[:FILES_MAX]
    ]


async def mark_done(
    session: AsyncSession,
    actor: User | None,
    milestone_id: int,
    comment: str,
    files: list[Attachment] | None = None,
) -> Milestone:
    milestone, project, actor = await require_marker(session, actor, milestone_id)
    comment = clean(comment, limit=COMMENT_MAX)
    now = utcnow()
    # Conditional on it being open: of two presses at once, one marks it.
    marked = await session.execute(
        update(Milestone)
        .where(Milestone.id == milestone.id, Milestone.done_at.is_(None))
        .values(done_at=now, done_by_id=actor.id, comment=comment)
        .execution_options(synchronize_session=False)
    )
    if affected(marked) != 1:
        raise InvalidInput("projects-work-already-done")
    milestone.done_at, milestone.done_by_id, milestone.comment = now, actor.id, comment
    session.add_all(_files(project, "milestone", milestone.id, actor, files or []))
    await deadlines.cancel_milestone(session, milestone)
    await lifecycle.record(
        session,
        actor,
        project,
        ProjectEventKind.MILESTONE_DONE,
        text=comment,
        subject_type="milestone",
        subject_id=milestone.id,
    )
    await audit.record(
        session, actor, "project.milestone_done", "project", project.id, milestone=milestone.id
    )
    await notices.to_everyone(
        session,
        project,
        "projects-work-notice-milestone-done",
        exclude=[actor.id],
        milestone=milestone.title,
    )
    return milestone


@dataclass(frozen=True)
class ReportDraft:
    period_start: date
    period_end: date
    progress: int
    text: str
    spent: int


async def require_reporter(
    session: AsyncSession, actor: User | None, project_id: int, report_id: int
) -> tuple[Project, ProjectReport | None, User]:
    """An owner, or the person responsible for this planned report; the project in progress or
    completed; the planned report not yet submitted (`report_id` 0: a report nobody planned)."""
    project = await access.get(session, project_id)
    if actor is None or actor.deleted_at is not None:
        raise NotAllowed()
    report = await _report(session, report_id) if report_id else None
    if report is not None and report.project_id != project.id:
        raise NotFound("projects-work-report-not-found")
    owner = await access.is_owner(session, actor, project)
    if not owner and (report is None or report.responsible_id != actor.id):
        raise NotAllowed()
    if project.status not in REPORTABLE:
        raise IllegalTransition(number=project.id)
    if report is not None and report.submitted_at is not None:
        raise InvalidInput("projects-work-report-already")
    return project, report, actor


async def submit_report(
    session: AsyncSession,
    actor: User | None,
    project_id: int,
    report_id: int,
    draft: ReportDraft,
    files: list[Attachment] | None = None,
) -> ProjectReport:
    """Submit a planned report (or one nobody planned: final when the project is completed).
    A final report of a completed project makes it reported."""
    project, report, actor = await require_reporter(session, actor, project_id, report_id)
    text = clean(draft.text, limit=TEXT_MAX)
    if not 0 <= draft.progress <= 100 or not 0 <= draft.spent <= parsing.SPENT_MAX:
        raise InvalidInput("projects-work-bad-progress")
    if draft.period_end < draft.period_start:
        raise InvalidInput("projects-work-bad-period")
    now = utcnow()
    if report is None:
        report = ProjectReport(
            project_id=project.id,
            final=project.status == S.COMPLETED,
            responsible_id=actor.id,
        )
        session.add(report)
        await session.flush()
    else:
        taken = await session.execute(
            update(ProjectReport)
            .where(ProjectReport.id == report.id, ProjectReport.submitted_at.is_(None))
            .values(submitted_at=now)
            .execution_options(synchronize_session=False)
        )
        if affected(taken) != 1:
            raise InvalidInput("projects-work-report-already")
    report.period_start, report.period_end = draft.period_start, draft.period_end
    report.progress, report.text, report.spent = draft.progress, text, draft.spent
    report.author_id, report.submitted_at = actor.id, now
    session.add_all(_files(project, "report", report.id, actor, files or []))
    await session.flush()
    await deadlines.cancel_report(session, report)
    await lifecycle.record(
        session,
        actor,
        project,
        ProjectEventKind.REPORT,
        text=f"{draft.progress}%",
        subject_type="report",
        subject_id=report.id,
    )
    await audit.record(
        session,
        actor,
        "project.report",
        "project",
        project.id,
        report=report.id,
        final=report.final,
        progress=draft.progress,
    )
    await notices.to_everyone(
        session,
        project,
        "projects-work-notice-report",
        exclude=[actor.id],
        progress=draft.progress,
    )
    if report.final and project.status == S.COMPLETED:
        locked = await access.get(session, project.id, lock=True)
        await lifecycle.move(session, actor, locked, S.REPORTED)
    return report


async def files_of(
    session: AsyncSession, project_id: int, owner_type: str, owner_id: int
) -> list[ProjectFile]:
    rows = await session.scalars(
        select(ProjectFile)
        .where(
            ProjectFile.project_id == project_id,
            ProjectFile.owner_type == owner_type,
            ProjectFile.owner_id == owner_id,
        )
        .order_by(ProjectFile.id)
    )
    return list(rows)


@dataclass(frozen=True)
class Detail:
    """A done milestone's comment or a submitted report's text, with its attachments."""

    project: Project
    milestone: Milestone | None
    report: ProjectReport | None
    files: list[ProjectFile]


async def detail(
    session: AsyncSession, actor: User | None, project_id: int, kind: str, item_id: int
) -> Detail:
    """What was done (`kind` "milestone") or reported ("report"), for whoever may see the
    project."""
    project = await access.visible(session, actor, project_id)
    if kind == "milestone":
        milestone = await _milestone(session, item_id)
        if milestone.project_id != project.id or milestone.done_at is None:
            raise NotFound("projects-work-milestone-not-found")
        files = await files_of(session, project.id, "milestone", milestone.id)
        return Detail(project, milestone, None, files)
    report = await _report(session, item_id)
    if report.project_id != project.id or report.submitted_at is None:
        raise NotFound("projects-work-report-not-found")
    files = await files_of(session, project.id, "report", report.id)
    return Detail(project, None, report, files)
