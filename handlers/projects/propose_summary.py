"""The summary of a draft or of a project returned for revision, and what its buttons do: edit
a field, submit (the lifecycle checks and keeps a version), later, withdraw with a confirmation;
the card's "edit" panel; /my_projects."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, alert, callback_message, redraw
from bot.dialogs import expect_buttons, step_done
from bot.keyboards.projects import PANEL_EDIT, CDProjectPanel
from bot.keyboards.projects_propose import (
    FIELDS,
    LIFECYCLE_FIELDS,
    CDMyProjects,
    CDPropose,
    field_label,
    my_projects_keyboard,
    my_projects_text,
    withdraw_keyboard,
)
from bot.services.permissions import REPRESENTATIVES, require_role
from bot.services.projects import drafts
from bot.texts import SafeHTML, t
from handlers.projects.propose_dialog import FIRST_STEP, ask, save, show_summary
from models import User


async def on_open(
    query: CallbackQuery,
    callback_data: CDPropose,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    await show_summary(message, state, session, user, callback_data.id)


async def on_panel_edit(
    query: CallbackQuery,
    callback_data: CDProjectPanel,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    await show_summary(callback_message(query), state, session, user, callback_data.id)


async def on_edit(
    query: CallbackQuery,
    callback_data: CDPropose,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    if not 0 <= callback_data.arg < len(FIELDS):
        raise StaleButton()
    await drafts.editable(session, user, callback_data.id)
    await save(state, {"project": callback_data.id, "editing": True})
    await message.edit_reply_markup(reply_markup=None)
    await ask(message, state, session, user, FIRST_STEP[FIELDS[callback_data.arg]])


async def on_submit(
    query: CallbackQuery,
    callback_data: CDPropose,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    project = await drafts.editable(session, user, callback_data.id)
    missing = drafts.missing(project)
    if missing:
        names = dict.fromkeys(LIFECYCLE_FIELDS.get(name, name) for name in missing)
        alert(
            callback_answer,
            "projects-propose-missing",
            fields=", ".join(field_label(name) for name in names),
        )
        return
    project = await drafts.submit(session, user, callback_data.id)
    await state.clear()
    await step_done(
        message, t("projects-propose-submitted", number=project.id, version=project.version)
    )


async def on_later(
    query: CallbackQuery,
    callback_data: CDPropose,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    await drafts.editable(session, user, callback_data.id)
    await state.clear()
    await step_done(message, t("projects-propose-kept", number=callback_data.id))


async def on_withdraw(
    query: CallbackQuery,
    callback_data: CDPropose,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    project = await drafts.editable(session, user, callback_data.id)
    await step_done(
        message,
        t("projects-propose-withdraw-confirm", number=project.id, title=project.title or "—"),
        reply_markup=withdraw_keyboard(project.id),
    )


async def on_withdraw_confirmed(
    query: CallbackQuery,
    callback_data: CDPropose,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    await drafts.editable(session, user, callback_data.id)
    project = await drafts.withdraw(session, user, callback_data.id)
    await state.clear()
    await step_done(message, t("projects-propose-withdrawn", number=project.id))


# --- /my_projects -----------------------------------------------------------------------------


async def render_mine(session: AsyncSession, user: User | None, page: int) -> tuple[SafeHTML, Any]:
    require_role(user, *REPRESENTATIVES)
    mine = await drafts.mine(session, user, page)
    if not mine.projects:
        return t("projects-propose-mine-empty"), None
    return my_projects_text(mine.projects), my_projects_keyboard(
        mine.projects, mine.page, mine.pages
    )


async def cmd_my_projects(message: Message, session: AsyncSession, user: User | None) -> None:
    text, markup = await render_mine(session, user, 0)
    await message.answer(text, reply_markup=markup)


async def on_my_page(
    query: CallbackQuery, callback_data: CDMyProjects, session: AsyncSession, user: User | None
) -> None:
    message = callback_message(query)
    text, markup = await render_mine(session, user, callback_data.page)
    await redraw(message, text, markup)


async def on_use_buttons(message: Message) -> None:
    await expect_buttons(message)


def register(router: Router) -> None:
    """The summary's buttons, /my_projects and the card's "edit" panel."""
    router.message.register(cmd_my_projects, Command("my_projects"))
    router.callback_query.register(on_my_page, CDMyProjects.filter())
    router.callback_query.register(on_panel_edit, CDProjectPanel.filter(F.panel == PANEL_EDIT))
    press = CDPropose.filter
    router.callback_query.register(on_open, press(F.action == "open"))
    router.callback_query.register(on_edit, press(F.action == "edit"))
    router.callback_query.register(on_submit, press(F.action == "submit"))
    router.callback_query.register(on_later, press(F.action == "later"))
    router.callback_query.register(on_withdraw, press(F.action == "wd"))
    router.callback_query.register(on_withdraw_confirmed, press(F.action == "wd!"))
