"""Carrying a project out: the plan panel of its card (milestones, reports, start, complete),
the executive committee's control list (/projects_control), the needs' handlers' one-step
resolution, and the plan's deadlines as scheduler jobs. The rules are in
bot/services/projects/{plan,deadlines,control,outcome}.py; the dialogs in `work_dialogs`."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup, JobContext
from bot.config import Settings
from bot.dialogs import step_done
from bot.keyboards.projects import PANEL_PLAN, CDProjectPanel
from bot.keyboards.projects_work import (
    CDControl,
    CDNeedsResolve,
    CDPlan,
    control_keyboard,
    plan_keyboard,
    resolve_buttons,
)
from bot.services.projects import control, deadlines, outcome, plan
from bot.services.projects.rules import slug
from bot.texts import SafeHTML, clip, plain, t, tn
from handlers.projects import work_dialogs
from models import Role, ScheduledJob, User
from models.projects import ProjectStatus
from scheduler.kinds import JobSpec, changes_state, reminder

# What the owner's start and complete presses can leave a project in.
MOVED = (ProjectStatus.IN_PROGRESS, ProjectStatus.COMPLETED, ProjectStatus.REPORTED)
# Room left in a message for the plan's lines (Telegram's limit is 4096).
PLAN_ROOM = 3600


def _day(value: Any) -> str:
    return value.strftime("%d.%m.%Y") if value is not None else "—"


def _money(roubles: int | None) -> str:
    # A narrow no-break space between thousands, as Russian writes sums (45 000).
    return f"{roubles or 0:,}".replace(",", "\u202f")


def plan_text(found: plan.Plan) -> SafeHTML:
    project = found.project
    lines = [
        t("projects-work-plan-title", number=project.id, title=project.title),
        t("projects-work-plan-status", status=plain(f"projects-status-{slug(project.status)}")),
    ]
    if not found.milestones and not found.reports:
        lines.append(t("projects-work-plan-empty"))
    if found.milestones:
        lines.append(t("projects-work-plan-milestones"))
    used = sum(len(line) for line in lines)
    shown = 0
    for milestone in found.milestones:
        who = found.names.get(milestone.responsible_id or 0, "—")
        key = "projects-work-line-done" if milestone.done_at else "projects-work-line-open"
        line = t(
            key,
            due=_day(milestone.due_on),
            milestone=clip(milestone.title, 120),
            who=clip(who, 60),
        )
        if used + len(line) > PLAN_ROOM:
            break
        lines.append(line)
        used += len(line)
        shown += 1
    if shown < len(found.milestones):
        lines.append(tn("projects-work-plan-more", len(found.milestones) - shown))
    if found.reports:
        lines.append(t("projects-work-plan-reports"))
    for report in found.reports[:20]:
        kind = plain("projects-work-kind-final" if report.final else "projects-work-kind-interim")
        if report.submitted_at is not None:
            line = t(
                "projects-work-report-in",
                kind=kind,
                # A report nobody planned has no due date: its period's end stands for it.
                due=_day(report.due_on or report.period_end),
                progress=report.progress or 0,
                spent=_money(report.spent),
            )
        else:
            line = t("projects-work-report-missing", kind=kind, due=_day(report.due_on))
        if used + len(line) > PLAN_ROOM + 300:
            break
        lines.append(line)
        used += len(line)
    return SafeHTML("\n".join(lines))


async def _render(
    session: AsyncSession, user: User | None, project_id: int
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    found = await plan.plan(session, user, project_id)
    return plan_text(found), plan_keyboard(found)


async def on_panel(
    query: CallbackQuery, callback_data: CDProjectPanel, session: AsyncSession, user: User | None
) -> None:
    """The plan panel: anyone sees it; its owners manage it (the buttons they get)."""
    text, markup = await _render(session, user, callback_data.id)
    await callback_message(query).answer(text, reply_markup=markup)


async def on_move(
    query: CallbackQuery,
    callback_data: CDPlan,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    """Start (recommended → in progress) or complete (in progress → completed)."""
    if callback_data.action == "start":
        project = await plan.start(session, user, callback_data.id)
    else:
        project = await plan.complete(
            session, user, callback_data.id, resolve_buttons(callback_data.id)
        )
    toast(callback_answer, f"projects-work-moved-{slug(project.status)}", number=project.id)
    text, markup = await _render(session, user, project.id)
    await callback_message(query).edit_text(text, reply_markup=markup)


async def on_show(
    query: CallbackQuery, callback_data: CDPlan, session: AsyncSession, user: User | None
) -> None:
    """A done milestone's comment or a submitted report, and their photos and files."""
    kind = "milestone" if callback_data.action == "show_ms" else "report"
    found = await plan.detail(session, user, callback_data.id, kind, callback_data.item)
    message = callback_message(query)
    if found.milestone is not None:
        milestone = found.milestone
        text = t(
            "projects-work-show-milestone",
            number=found.project.id,
            milestone=clip(milestone.title, 300),
            due=_day(milestone.due_on),
            comment=clip(milestone.comment or "", 2000),
        )
    else:
        report = found.report
        assert report is not None
        kind_text = plain(
            "projects-work-kind-final" if report.final else "projects-work-kind-interim"
        )
        text = t(
            "projects-work-show-report",
            number=found.project.id,
            kind=kind_text,
            start=_day(report.period_start),
            end=_day(report.period_end),
            progress=report.progress or 0,
            spent=_money(report.spent),
            text=clip(report.text or "", 3000),
        )
    await message.answer(text)
    for item in found.files:
        if item.kind == "photo":
            await message.answer_photo(item.file_id)
        else:
            await message.answer_document(item.file_id)


# --- The executive committee's control list -------------------------------------------------------


def _control_line(row: control.Row) -> SafeHTML:
    status = plain(f"projects-status-{slug(row.status)}")
    if not row.late:
        return t(
            "projects-work-control-line",
            number=row.project_id,
            title=clip(row.title, 80),
            status=status,
        )
    return t(
        "projects-work-control-late",
        number=row.project_id,
        title=clip(row.title, 80),
        status=status,
        milestones=row.overdue_milestones,
        reports=row.missing_reports,
        oldest=_day(row.oldest),
    )


async def _control(
    session: AsyncSession, user: User | None, page: int, settings: Settings
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    found = await control.overview(session, user, page, settings.timezone)
    if not found.page.items:
        return t("projects-work-control-empty"), None
    lines = [
        tn("projects-work-control-title", found.page.total),
        tn("projects-work-control-overdue", found.late),
        *(_control_line(row) for row in found.page.items),
    ]
    markup = control_keyboard(found.page.items, found.page.page, found.page.pages)
    return SafeHTML("\n".join(lines)), markup


async def cmd_control(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    text, markup = await _control(session, user, 0, settings)
    await message.answer(text, reply_markup=markup)


async def on_control_page(
    query: CallbackQuery,
    callback_data: CDControl,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    text, markup = await _control(session, user, callback_data.page, settings)
    await callback_message(query).edit_text(text, reply_markup=markup)


# --- The needs' resolution ------------------------------------------------------------------------


async def on_resolve_needs(
    query: CallbackQuery,
    callback_data: CDNeedsResolve,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    done = await outcome.resolve_needs(session, user, callback_data.id)
    if not done.resolved:
        toast(callback_answer, "projects-work-resolved-none", skipped=done.skipped)
        return
    numbers = ", ".join(str(number) for number in done.resolved)
    toast(callback_answer, "projects-work-resolved-toast", n=len(done.resolved))
    message = callback_message(query)
    await step_done(
        message,
        t("projects-work-resolved", number=callback_data.id, needs=numbers, skipped=done.skipped),
    )


# --- Wiring ---------------------------------------------------------------------------------------


def setup() -> Router:
    router = Router(name="projects_work")
    router.callback_query.register(on_panel, CDProjectPanel.filter(F.panel == PANEL_PLAN))
    router.callback_query.register(on_move, CDPlan.filter(F.action.in_({"start", "complete"})))
    router.callback_query.register(on_show, CDPlan.filter(F.action.in_({"show_ms", "show_rp"})))
    router.message.register(cmd_control, Command("projects_control"))
    router.callback_query.register(on_control_page, CDControl.filter())
    router.callback_query.register(on_resolve_needs, CDNeedsResolve.filter())
    work_dialogs.register(router)
    return router


def _jobs(context: JobContext) -> dict[str, JobSpec]:
    milestone, report = deadlines.MILESTONE_KINDS, deadlines.REPORT_KINDS

    def remind_milestone(key: str) -> Any:
        async def run(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
            return await deadlines.run_milestone_reminder(session, job, key)

        return run

    def remind_report(key: str) -> Any:
        async def run(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
            return await deadlines.run_report_reminder(session, job, key)

        return run

    # A reminder a few hours late still helps (the due day is days or a day away); the handler
    # checks that the milestone is still open and the project still running.
    late = deadlines.REMINDER_SKIP_AFTER
    return {
        milestone.week: reminder(
            remind_milestone("projects-work-remind-milestone-week"), skip_after=late
        ),
        milestone.day: reminder(
            remind_milestone("projects-work-remind-milestone-day"), skip_after=late
        ),
        report.week: reminder(remind_report("projects-work-remind-report-week"), skip_after=late),
        report.day: reminder(remind_report("projects-work-remind-report-day"), skip_after=late),
        # Recorded in the audit log and told to the executive committee: runs however late.
        milestone.overdue: changes_state(deadlines.run_milestone_overdue),
        report.overdue: changes_state(deadlines.run_report_overdue),
    }


capability = Capability(
    name="projects_work",
    setup=setup,
    commands=(
        CommandSpec(
            "projects_control",
            frozenset({Role.EXECUTIVE, Role.SECRETARIAT}),
            # Beside the needs' monitoring reports the executive committee reads there.
            HomeGroup.COUNCIL,
        ),
    ),
    jobs=_jobs,
    keys=lambda: {
        # The plan panel and the control list name a project's status, whatever it is.
        *(f"projects-status-{slug(status)}" for status in ProjectStatus),
        *(f"projects-work-moved-{slug(status)}" for status in MOVED),
    },
)
