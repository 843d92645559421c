"""The plan panel's dialogs: adding a milestone (title, due date, responsible person), planning
a report (due date, final or not), marking a milestone done (comment, photos and files), and
submitting a report (period, progress, text, money spent, attachments).

Each dialog is checked by the service when it starts (so a stranger's press sets no state) and
again when it ends; a step answered with the wrong kind of message is asked again, nothing lost.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, callback_message, toast
from bot.config import Settings
from bot.dialogs import expect_text, step_done
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.projects_work import (
    CDPlan,
    cancel_keyboard,
    files_keyboard,
    final_keyboard,
    responsible_keyboard,
)
from bot.services.projects import parsing, plan
from bot.services.projects.rules import COMMENT_MAX, TEXT_MAX, clean
from bot.texts import t
from models import User

PREFIX = "pw_"


class Work(StatesGroup):
    ms_title = State()
    ms_due = State()
    ms_resp = State()
    rp_due = State()
    rp_final = State()
    done_comment = State()
    done_files = State()
    rep_period = State()
    rep_progress = State()
    rep_text = State()
    rep_spent = State()
    rep_files = State()
    redate = State()


FILE_STEPS = (Work.done_files, Work.rep_files)


async def _data(state: FSMContext) -> dict[str, Any]:
    return {
        k.removeprefix(PREFIX): v
        for k, v in (await state.get_data()).items()
        if k.startswith(PREFIX)
    }


async def _remember(state: FSMContext, **values: Any) -> None:
    await state.update_data(**{PREFIX + k: v for k, v in values.items()})


async def _begin(state: FSMContext, step: State, project_id: int, item: int = 0) -> None:
    await state.clear()
    await state.set_state(step)
    await _remember(state, project=project_id, item=item)


async def _in_dialog(
    state: FSMContext, steps: tuple[State, ...], project_id: int
) -> dict[str, Any]:
    """The dialog's data, if this button belongs to the step going on; otherwise it is stale."""
    current = await state.get_state()
    data = await _data(state)
    if current not in {step.state for step in steps} or data.get("project") != project_id:
        raise StaleButton()
    return data


# --- Starting a dialog (checked first) -----------------------------------------------------------


async def _ask(query: CallbackQuery, project_id: int, text: str) -> None:
    await callback_message(query).answer(text, reply_markup=cancel_keyboard(project_id))


# Planning a milestone or a report: its first step and question, by the button's action.
PLANNING = {
    "milestone": (Work.ms_title, "projects-work-ask-milestone-title"),
    "report_plan": (Work.rp_due, "projects-work-ask-report-due"),
}


async def on_plan_item(
    query: CallbackQuery,
    callback_data: CDPlan,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    step, key = PLANNING[callback_data.action]
    await plan.require_planner(session, user, callback_data.id)
    await _begin(state, step, callback_data.id)
    await _ask(query, callback_data.id, t(key, number=callback_data.id))


async def on_done(
    query: CallbackQuery,
    callback_data: CDPlan,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    milestone, project, _ = await plan.require_marker(session, user, callback_data.item)
    if project.id != callback_data.id:
        raise StaleButton()
    await _begin(state, Work.done_comment, project.id, milestone.id)
    await _ask(query, project.id, t("projects-work-ask-done-comment", milestone=milestone.title))


async def on_report(
    query: CallbackQuery,
    callback_data: CDPlan,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    project, report, _ = await plan.require_reporter(
        session, user, callback_data.id, callback_data.item
    )
    await _begin(state, Work.rep_period, project.id, report.id if report else 0)
    await _ask(query, project.id, t("projects-work-ask-report-period", number=project.id))


async def on_redate(
    query: CallbackQuery,
    callback_data: CDPlan,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    """A new due date for an open milestone or a planned report (owners, while plannable)."""
    await plan.require_planner(session, user, callback_data.id)
    await _begin(state, Work.redate, callback_data.id, callback_data.item)
    await _remember(state, what=callback_data.action)
    await _ask(query, callback_data.id, t("projects-work-ask-new-due"))


async def on_cancel(query: CallbackQuery, callback_data: CDPlan, state: FSMContext) -> None:
    all_steps = tuple(Work.__states__)
    await _in_dialog(state, all_steps, callback_data.id)
    await state.clear()
    await step_done(callback_message(query), t("projects-work-cancelled"))


# --- Text steps ----------------------------------------------------------------------------------


async def _next(
    message: Message,
    state: FSMContext,
    step: State,
    key: str,
    keyboard: InlineKeyboardMarkup,
    **values: Any,
) -> None:
    await _remember(state, **values)
    await state.set_state(step)
    await message.answer(t(key), reply_markup=keyboard)


async def on_text(
    message: Message,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    step = await state.get_state()
    data = await _data(state)
    project_id = int(data.get("project") or 0)
    text = message.text or ""
    keyboard = cancel_keyboard(project_id)
    attach = files_keyboard(project_id)
    if step == Work.ms_title.state:
        title = clean(text, limit=plan.MILESTONE_TITLE_MAX)
        await _next(
            message, state, Work.ms_due, "projects-work-ask-milestone-due", keyboard, title=title
        )
    elif step == Work.ms_due.state:
        due = parsing.parse_due(text, settings.timezone)
        project = await plan.require_planner(session, user, project_id)
        people = await plan.candidates(session, project)
        await _next(
            message,
            state,
            Work.ms_resp,
            "projects-work-ask-responsible",
            responsible_keyboard(project_id, people),
            due=due.isoformat(),
        )
    elif step == Work.rp_due.state:
        due = parsing.parse_due(text, settings.timezone)
        await _next(
            message,
            state,
            Work.rp_final,
            "projects-work-ask-final",
            final_keyboard(project_id),
            due=due.isoformat(),
        )
    elif step == Work.redate.state:
        due = parsing.parse_due(text, settings.timezone)
        item = int(data.get("item") or 0)
        if data.get("what") == "redate_ms":
            milestone = await plan.move_milestone(session, user, item, due, settings.timezone)
            if milestone.project_id != project_id:
                raise StaleButton()
        else:
            report = await plan.move_report(session, user, item, due, settings.timezone)
            if report.project_id != project_id:
                raise StaleButton()
        await state.clear()
        await message.answer(t("projects-work-redated", due=due.strftime("%d.%m.%Y")))
    elif step == Work.done_comment.state:
        comment = clean(text, limit=COMMENT_MAX)
        await _next(
            message,
            state,
            Work.done_files,
            "projects-work-ask-files",
            attach,
            comment=comment,
            files=[],
        )
    elif step == Work.rep_period.state:
        start, end = parsing.parse_period(text)
        await _next(
            message,
            state,
            Work.rep_progress,
            "projects-work-ask-progress",
            keyboard,
            start=start.isoformat(),
            end=end.isoformat(),
        )
    elif step == Work.rep_progress.state:
        progress = parsing.parse_progress(text)
        await _next(
            message,
            state,
            Work.rep_text,
            "projects-work-ask-report-text",
            keyboard,
            progress=progress,
        )
    elif step == Work.rep_text.state:
        report_text = clean(text, limit=TEXT_MAX)
        await _next(
            message, state, Work.rep_spent, "projects-work-ask-spent", keyboard, text=report_text
        )
    elif step == Work.rep_spent.state:
        spent = parsing.parse_spent(text)
        await _next(
            message, state, Work.rep_files, "projects-work-ask-files", attach, spent=spent, files=[]
        )


# --- Button steps --------------------------------------------------------------------------------


async def on_responsible(
    query: CallbackQuery,
    callback_data: CDPlan,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    data = await _in_dialog(state, (Work.ms_resp,), callback_data.id)
    milestone = await plan.add_milestone(
        session,
        user,
        callback_data.id,
        str(data.get("title") or ""),
        date.fromisoformat(str(data.get("due"))),
        callback_data.item,
        settings.timezone,
    )
    await state.clear()
    toast(callback_answer, "projects-work-milestone-added")
    await step_done(
        callback_message(query),
        t("projects-work-milestone-added-text", milestone=milestone.title, number=callback_data.id),
    )


async def on_final(
    query: CallbackQuery,
    callback_data: CDPlan,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    data = await _in_dialog(state, (Work.rp_final,), callback_data.id)
    report = await plan.plan_report(
        session,
        user,
        callback_data.id,
        date.fromisoformat(str(data.get("due"))),
        callback_data.action == "final",
        settings.timezone,
    )
    await state.clear()
    assert report.due_on is not None
    key = "projects-work-final-planned" if report.final else "projects-work-report-planned"
    await step_done(
        callback_message(query),
        t(key, due=report.due_on.strftime("%d.%m.%Y"), number=callback_data.id),
    )


def _attachment(message: Message) -> plan.Attachment | None:
    if message.photo:
        photo = message.photo[-1]
        return plan.Attachment("photo", photo.file_id, photo.file_unique_id)
    if message.document:
        document = message.document
        return plan.Attachment(
            "document", document.file_id, document.file_unique_id, document.file_name
        )
    return None


async def on_file(message: Message, state: FSMContext) -> None:
    data = await _data(state)
    project_id = int(data.get("project") or 0)
    files: list[dict[str, Any]] = list(data.get("files") or [])
    found = _attachment(message)
    if found is None:
        reply = t("projects-work-files-hint")
    elif len(files) >= plan.FILES_MAX:
        reply = t("projects-work-files-limit", limit=plan.FILES_MAX)
    else:
        files.append(found.__dict__)
        await _remember(state, files=files)
        reply = t("projects-work-file-kept", n=len(files), limit=plan.FILES_MAX)
    await message.answer(reply, reply_markup=files_keyboard(project_id))


async def on_finish(
    query: CallbackQuery,
    callback_data: CDPlan,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    data = await _in_dialog(state, FILE_STEPS, callback_data.id)
    files = [plan.Attachment(**item) for item in data.get("files") or []]
    step = await state.get_state()
    if step == Work.done_files.state:
        milestone = await plan.mark_done(
            session, user, int(data.get("item") or 0), str(data.get("comment") or ""), files
        )
        text = t("projects-work-milestone-done", milestone=milestone.title, n=len(files))
    else:
        draft = plan.ReportDraft(
            period_start=date.fromisoformat(str(data.get("start"))),
            period_end=date.fromisoformat(str(data.get("end"))),
            progress=int(data.get("progress") or 0),
            text=str(data.get("text") or ""),
            spent=int(data.get("spent") or 0),
        )
        report = await plan.submit_report(
            session, user, callback_data.id, int(data.get("item") or 0), draft, files
        )
        key = "projects-work-final-submitted" if report.final else "projects-work-report-submitted"
        text = t(key, number=callback_data.id, n=len(files))
    await state.clear()
    toast(callback_answer, "projects-work-saved")
    await step_done(callback_message(query), text)


TEXT_STEPS = (
    Work.ms_title,
    Work.ms_due,
    Work.rp_due,
    Work.done_comment,
    Work.rep_period,
    Work.rep_progress,
    Work.rep_text,
    Work.rep_spent,
    Work.redate,
)


async def on_buttons_hint(message: Message) -> None:
    await message.answer(t("dialog-use-buttons"))


def register(router: Router) -> None:
    router.callback_query.register(on_plan_item, CDPlan.filter(F.action.in_(set(PLANNING))))
    router.callback_query.register(on_done, CDPlan.filter(F.action == "done"))
    router.callback_query.register(on_report, CDPlan.filter(F.action == "report"))
    router.callback_query.register(
        on_redate, CDPlan.filter(F.action.in_({"redate_ms", "redate_rp"}))
    )
    router.callback_query.register(on_cancel, CDPlan.filter(F.action == "cancel"))
    router.callback_query.register(on_responsible, CDPlan.filter(F.action == "resp"))
    router.callback_query.register(on_final, CDPlan.filter(F.action.in_({"final", "interim"})))
    router.callback_query.register(on_finish, CDPlan.filter(F.action == "finish"))
    for step in TEXT_STEPS:
        router.message.register(on_text, step, TEXT_INPUT)
        router.message.register(expect_text, step, NOT_TEXT)
    for step in FILE_STEPS:
        router.message.register(on_file, step, ~F.text.startswith("/"))
    for step in (Work.ms_resp, Work.rp_final):
        router.message.register(on_buttons_hint, step, ~F.text.startswith("/"))
