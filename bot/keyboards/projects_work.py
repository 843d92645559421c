"""Buttons of a project's plan panel, its dialogs, the control list and the needs' resolution.
What a button offers is a hint: the service checks every press again."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.paging import pager
from bot.keyboards.projects import PANEL_PLAN, CDProject, CDProjectPanel
from bot.services.projects.control import Row
from bot.services.projects.plan import Plan
from bot.texts import plain
from models import User
from models.projects import ProjectStatus

LABEL_MAX = 28
# Buttons opening what was done or reported, in the order of the plan (a keyboard stays short).
DETAILS_MAX = 12
# Rows of actions on open milestones and on missing reports, each.
ACTIONS_MAX = 15


class CDPlan(BotCallback, prefix="pwp"):
    """An action on a project's plan: milestone · report_plan · start · complete · done (item:
    a milestone) · report (item: a planned report, 0 for one nobody planned) · redate_ms,
    redate_rp (item: a milestone, a report: a new due date) · show_ms, show_rp (what was done
    or reported, with its files: anyone who sees the project); and the answers
    inside its dialogs: resp (item: a person) · final · interim · finish · cancel."""

    action: str
    id: int
    item: int = 0


class CDControl(BotCallback, prefix="pwc"):
    """A page of the executive committee's control list."""

    page: int


class CDNeedsResolve(BotCallback, prefix="pwr"):
    """Mark the needs a completed project answers resolved (the needs' handlers)."""

    id: int


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _button(text: str, data: BotCallback) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=text, callback_data=data.pack())]


def plan_keyboard(found: Plan) -> InlineKeyboardMarkup:
    project = found.project
    rows: list[list[InlineKeyboardButton]] = []
    redate = plain("projects-work-btn-redate")
    # The earliest open items first (the plan is sorted by due date), within Telegram's limit
    # of 100 buttons a keyboard.
    for milestone in [m for m in found.milestones if m.done_at is None][:ACTIONS_MAX]:
        row: list[InlineKeyboardButton] = []
        if milestone.id in found.markable:
            label = plain("projects-work-btn-done", milestone=_short(milestone.title))
            row += _button(label, CDPlan(action="done", id=project.id, item=milestone.id))
        if found.editable and milestone.done_at is None:
            row += _button(redate, CDPlan(action="redate_ms", id=project.id, item=milestone.id))
        if row:
            rows.append(row)
    for report in [r for r in found.reports if r.submitted_at is None][:ACTIONS_MAX]:
        row = []
        if report.id in found.reportable and report.due_on is not None:
            label = plain("projects-work-btn-report", due=report.due_on.strftime("%d.%m.%Y"))
            row += _button(label, CDPlan(action="report", id=project.id, item=report.id))
        if found.editable and report.submitted_at is None:
            row += _button(redate, CDPlan(action="redate_rp", id=project.id, item=report.id))
        if row:
            rows.append(row)
    shown = 0
    for milestone in found.milestones:
        if milestone.done_at is not None and shown < DETAILS_MAX:
            label = plain("projects-work-btn-show-done", milestone=_short(milestone.title))
            rows.append(_button(label, CDPlan(action="show_ms", id=project.id, item=milestone.id)))
            shown += 1
    for report in found.reports:
        if report.submitted_at is not None and shown < DETAILS_MAX:
            day = (report.period_end or report.submitted_at.date()).strftime("%d.%m.%Y")
            label = plain("projects-work-btn-show-report", day=day)
            rows.append(_button(label, CDPlan(action="show_rp", id=project.id, item=report.id)))
            shown += 1
    if found.editable:
        rows.append(
            _button(plain("projects-work-btn-milestone"), CDPlan(action="milestone", id=project.id))
            + _button(
                plain("projects-work-btn-report-plan"), CDPlan(action="report_plan", id=project.id)
            )
        )
    if found.owner and project.status == ProjectStatus.RECOMMENDED:
        rows.append(
            _button(plain("projects-work-btn-start"), CDPlan(action="start", id=project.id))
        )
    if found.owner and project.status == ProjectStatus.IN_PROGRESS:
        rows.append(
            _button(plain("projects-work-btn-report-new"), CDPlan(action="report", id=project.id))
        )
        rows.append(
            _button(plain("projects-work-btn-complete"), CDPlan(action="complete", id=project.id))
        )
    if found.owner and project.status == ProjectStatus.COMPLETED:
        rows.append(
            _button(plain("projects-work-btn-report-final"), CDPlan(action="report", id=project.id))
        )
    rows.append(
        _button(plain("projects-work-btn-refresh"), CDProjectPanel(id=project.id, panel=PANEL_PLAN))
        + _button(plain("projects-work-btn-card"), CDProject(id=project.id))
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def responsible_keyboard(project_id: int, people: list[User]) -> InlineKeyboardMarkup:
    rows = [
        _button(_short(person.name or "—"), CDPlan(action="resp", id=project_id, item=person.id))
        for person in people[:20]
    ]
    rows.append(_button(plain("projects-work-btn-cancel"), CDPlan(action="cancel", id=project_id)))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def final_keyboard(project_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _button(plain("projects-work-btn-interim"), CDPlan(action="interim", id=project_id))
            + _button(plain("projects-work-btn-final"), CDPlan(action="final", id=project_id)),
            _button(plain("projects-work-btn-cancel"), CDPlan(action="cancel", id=project_id)),
        ]
    )


def files_keyboard(project_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _button(plain("projects-work-btn-finish"), CDPlan(action="finish", id=project_id)),
            _button(plain("projects-work-btn-cancel"), CDPlan(action="cancel", id=project_id)),
        ]
    )


def cancel_keyboard(project_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _button(plain("projects-work-btn-cancel"), CDPlan(action="cancel", id=project_id))
        ]
    )


def control_keyboard(rows: list[Row], page: int, pages: int) -> InlineKeyboardMarkup | None:
    buttons = [
        _button(
            plain("projects-work-control-item", number=row.project_id, title=_short(row.title)),
            CDProject(id=row.project_id),
        )
        for row in rows
    ]
    nav = pager(page, pages, lambda p: CDControl(page=p).pack())
    if nav:
        buttons.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=buttons) if buttons else None


def resolve_buttons(project_id: int) -> list[list[dict[str, str]]]:
    """The "mark resolved" button as delivery data (its label in each recipient's language)."""
    return [
        [
            {
                "text_key": "projects-work-btn-resolve-needs",
                "data": CDNeedsResolve(id=project_id).pack(),
            }
        ]
    ]
