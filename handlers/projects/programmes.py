"""Programmes: /programmes (the list with the projects by status, a programme's screen with its
projects), /new_programme (title, summary, district or city-wide), editing and closing, the
council's allowance of a minority, and putting a project into a programme by its number. The
rules are in bot/services/projects/programmes.py."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.dialogs import expect_buttons, expect_text, step_done
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.common import CDDistrict, CDDistrictPage
from bot.keyboards.projects_docs import (
    CDProgramme,
    list_keyboard,
    minority_keyboard,
    screen_keyboard,
)
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.paging import Page
from bot.services.projects import access, programmes
from bot.services.projects.programmes import ProgrammeRow
from bot.services.projects.rules import slug
from bot.texts import SafeHTML, clip, plain, t, tn
from handlers.common import district_picker, turn_district_page
from models import User
from models.projects import PUBLIC_STATUSES, Programme

CITY_WIDE = "projects-docs-city-wide-choice"
SUMMARY_SHOWN = 1500
# Keys of the dialog's data, namespaced: other dialogs keep theirs in the same state.
TITLE_KEY, SUMMARY_KEY, PROGRAMME_KEY = "pgm_title", "pgm_summary", "pgm_id"


class NewProgramme(StatesGroup):
    title = State()
    summary = State()
    district = State()


class EditProgramme(StatesGroup):
    title = State()
    summary = State()
    project = State()  # the number of a project to put into the programme
    leaving = State()  # the number of a project to take out of it


# --- Texts -------------------------------------------------------------------------------------


def where(row: ProgrammeRow) -> str:
    if row.district is None:
        return plain("projects-docs-city-wide")
    return plain("projects-docs-district", number=row.district.number, name=row.district.name)


def counts_text(row: ProgrammeRow) -> SafeHTML:
    """The number of projects in each status, in the lifecycle's order."""
    if not row.total:
        return t("projects-docs-no-projects")
    parts = [
        plain("projects-docs-count", status=plain(f"projects-status-{slug(status)}"), n=number)
        for status in PUBLIC_STATUSES
        if (number := row.counts.get(status, 0))
    ]
    return SafeHTML(
        tn("projects-docs-projects-total", row.total)
        + " "
        + t("projects-docs-counts", counts="; ".join(parts))
    )


def list_text(page: Page[ProgrammeRow], maker: bool) -> SafeHTML:
    lines: list[str]
    if not page.total:
        lines = [t("projects-docs-list-empty")]
    else:
        lines = [tn("projects-docs-list-title", page.total)]
        for row in page.items:
            key = "projects-docs-list-row" if row.programme.active else "projects-docs-list-closed"
            lines.append("")
            lines.append(
                t(key, number=row.programme.id, title=row.programme.title, where=where(row))
            )
            lines.append(counts_text(row))
    if maker:
        lines += ["", t("projects-docs-list-new")]
    return SafeHTML("\n".join(lines))


def screen_text(found: programmes.ProgrammeScreen) -> SafeHTML:
    programme = found.row.programme
    lines: list[str] = [
        t("projects-docs-screen-title", number=programme.id, title=programme.title),
        t("projects-docs-screen-where", where=where(found.row)),
    ]
    if not programme.active:
        lines.append(t("projects-docs-screen-closed"))
    if programme.district_id is not None:
        key = (
            "projects-docs-screen-minority-allowed"
            if programme.minority_allowed
            else "projects-docs-screen-majority"
        )
        lines.append(t(key))
    if programme.summary:
        lines += ["", SafeHTML(clip(programme.summary, SUMMARY_SHOWN))]
    lines += ["", counts_text(found.row)]
    if found.projects.total:
        lines.append(t("projects-docs-screen-open-card"))
    return SafeHTML("\n".join(lines))


async def _screen(
    session: AsyncSession, user: User | None, programme_id: int, page: int = 0
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    found = await programmes.screen(session, user, programme_id, page)
    markup = screen_keyboard(
        found,
        maker=programmes.may_make(user),
        presidium=programmes.may_set_minority(user),
        assigner=await programmes.may_assign_some(session, user),
    )
    return screen_text(found), markup


async def _list(
    session: AsyncSession, user: User | None, page: int = 0
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    found = await programmes.listing(session, user, page)
    return list_text(found, programmes.may_make(user)), list_keyboard(found)


# --- The list and the screen -------------------------------------------------------------------


async def cmd_programmes(message: Message, session: AsyncSession, user: User | None) -> None:
    text, markup = await _list(session, user)
    await message.answer(text, reply_markup=markup)


async def on_list(
    query: CallbackQuery, callback_data: CDProgramme, session: AsyncSession, user: User | None
) -> None:
    text, markup = await _list(session, user, callback_data.page)
    await _replace(query, text, markup)


async def on_show(
    query: CallbackQuery, callback_data: CDProgramme, session: AsyncSession, user: User | None
) -> None:
    text, markup = await _screen(session, user, callback_data.id, callback_data.page)
    await _replace(query, text, markup)


async def _replace(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    message = callback_message(query)
    # Telegram refuses an edit that changes nothing (a page button pressed twice).
    if message.html_text == text and message.reply_markup == markup:
        return
    await message.edit_text(text, reply_markup=markup)


# --- A new programme ---------------------------------------------------------------------------


async def cmd_new_programme(message: Message, state: FSMContext, user: User | None) -> None:
    access.require_programme_maker(user)
    await state.set_state(NewProgramme.title)
    await message.answer(t("projects-docs-ask-title"))


async def on_new_title(message: Message, state: FSMContext, user: User | None) -> None:
    access.require_programme_maker(user)
    title = programmes.clean_title(message.text)
    await state.update_data({TITLE_KEY: title})
    await state.set_state(NewProgramme.summary)
    await message.answer(t("projects-docs-ask-summary", title=title))


async def on_new_summary(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    access.require_programme_maker(user)
    summary = programmes.clean_summary(message.text)
    await state.update_data({SUMMARY_KEY: summary})
    await state.set_state(NewProgramme.district)
    await message.answer(
        t("projects-docs-ask-district"), reply_markup=await district_picker(session, CITY_WIDE)
    )


async def on_new_district_page(
    query: CallbackQuery, callback_data: CDDistrictPage, session: AsyncSession
) -> None:
    await turn_district_page(query, session, callback_data.page, CITY_WIDE)


async def on_new_district_typed(message: Message, session: AsyncSession) -> None:
    await expect_buttons(message, await district_picker(session, CITY_WIDE))


async def on_new_district(
    query: CallbackQuery,
    callback_data: CDDistrict,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    data = await state.get_data()
    programme = await programmes.create(
        session,
        user,
        str(data.get(TITLE_KEY) or ""),
        str(data.get(SUMMARY_KEY) or ""),
        callback_data.id or None,
    )
    await state.clear()
    message = callback_message(query)
    await step_done(message, t("projects-docs-created", number=programme.id, title=programme.title))
    text, markup = await _screen(session, user, programme.id)
    await message.answer(text, reply_markup=markup)


# --- Editing, closing, the minority allowance -------------------------------------------------


async def on_edit_prompt(
    query: CallbackQuery,
    callback_data: CDProgramme,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    access.require_programme_maker(user)
    programme = await access.get_programme(session, callback_data.id)
    step, key = (
        (EditProgramme.title, "projects-docs-ask-new-title")
        if callback_data.action == "title"
        else (EditProgramme.summary, "projects-docs-ask-new-summary")
    )
    await state.set_state(step)
    await state.update_data({PROGRAMME_KEY: programme.id})
    await callback_message(query).answer(t(key, title=programme.title))


async def on_edit_text(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    programme_id = int((await state.get_data()).get(PROGRAMME_KEY) or 0)
    if await state.get_state() == EditProgramme.title.state:
        programme = await programmes.edit(session, user, programme_id, title=message.text or "")
    else:
        programme = await programmes.edit(session, user, programme_id, summary=message.text or "")
    await state.clear()
    await message.answer(t("projects-docs-edited", number=programme.id))
    text, markup = await _screen(session, user, programme.id)
    await message.answer(text, reply_markup=markup)


async def _changed(
    query: CallbackQuery,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
    key: str,
    programme: Programme,
) -> None:
    """A switch on the screen was turned: a toast, and the screen redrawn in place."""
    toast(callback_answer, key, title=programme.title)
    text, markup = await _screen(session, user, programme.id)
    await _replace(query, text, markup)


async def on_active(
    query: CallbackQuery,
    callback_data: CDProgramme,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    active = callback_data.action == "reopen"
    programme = await programmes.set_active(session, user, callback_data.id, active)
    key = "projects-docs-reopened" if active else "projects-docs-closed"
    await _changed(query, session, user, callback_answer, key, programme)


async def on_minority_ask(
    query: CallbackQuery, callback_data: CDProgramme, session: AsyncSession, user: User | None
) -> None:
    """The confirmation says what the decision means before it is recorded."""
    if not programmes.may_set_minority(user):
        raise NotAllowed()
    programme = await access.get_programme(session, callback_data.id)
    if programme.district_id is None:
        raise InvalidInput("projects-docs-minority-city-wide")
    allow = not programme.minority_allowed
    key = "projects-docs-minority-confirm-on" if allow else "projects-docs-minority-confirm-off"
    await callback_message(query).edit_text(
        t(key, title=programme.title), reply_markup=minority_keyboard(programme.id, allow)
    )


async def on_minority(
    query: CallbackQuery,
    callback_data: CDProgramme,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    allow = callback_data.action == "minority_on"
    programme = await programmes.set_minority_allowed(session, user, callback_data.id, allow)
    key = "projects-docs-minority-on" if allow else "projects-docs-minority-off"
    await _changed(query, session, user, callback_answer, key, programme)


# --- Putting a project into the programme -----------------------------------------------------


async def on_add_prompt(
    query: CallbackQuery,
    callback_data: CDProgramme,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    """Asked before the number comes: someone who could add or remove no project is refused
    at once (and no dialog starts)."""
    if not await programmes.may_assign_some(session, user):
        raise NotAllowed()
    programme = await access.get_programme(session, callback_data.id)
    adding = callback_data.action == "add"
    if adding and not programme.active:
        raise InvalidInput("projects-docs-programme-closed", title=programme.title)
    await state.set_state(EditProgramme.project if adding else EditProgramme.leaving)
    await state.update_data({PROGRAMME_KEY: programme.id})
    key = "projects-docs-ask-project" if adding else "projects-docs-ask-remove"
    await callback_message(query).answer(t(key, title=programme.title))


def _number(text: str) -> int:
    digits = text.strip().lstrip("№#").strip()
    if not digits.isdigit() or len(digits) > 9:
        raise InvalidInput("projects-docs-project-number")
    return int(digits)


async def on_add_number(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    programme_id = int((await state.get_data()).get(PROGRAMME_KEY) or 0)
    number = _number(message.text or "")
    if await state.get_state() == EditProgramme.project.state:
        project = await programmes.assign(session, user, number, programme_id)
        done = "projects-docs-added"
    else:
        project = await programmes.remove(session, user, number, programme_id)
        done = "projects-docs-removed"
    await state.clear()
    programme = await access.get_programme(session, programme_id)
    await message.answer(t(done, number=project.id, title=programme.title))
    text, markup = await _screen(session, user, programme_id)
    await message.answer(text, reply_markup=markup)


# --- Wiring ------------------------------------------------------------------------------------


def setup() -> Router:
    router = Router(name="projects_programmes")
    router.message.register(cmd_programmes, Command("programmes"))
    router.message.register(cmd_new_programme, Command("new_programme"))
    router.callback_query.register(on_list, CDProgramme.filter(F.action == "list"))
    router.callback_query.register(on_show, CDProgramme.filter(F.action == "show"))
    router.callback_query.register(
        on_edit_prompt, CDProgramme.filter(F.action.in_({"title", "summary"}))
    )
    router.callback_query.register(on_active, CDProgramme.filter(F.action.in_({"close", "reopen"})))
    router.callback_query.register(on_minority_ask, CDProgramme.filter(F.action == "minority"))
    router.callback_query.register(
        on_minority, CDProgramme.filter(F.action.in_({"minority_on", "minority_off"}))
    )
    router.callback_query.register(
        on_add_prompt, CDProgramme.filter(F.action.in_({"add", "remove"}))
    )
    router.message.register(on_new_title, NewProgramme.title, TEXT_INPUT)
    router.message.register(on_new_summary, NewProgramme.summary, TEXT_INPUT)
    router.callback_query.register(
        on_new_district_page, NewProgramme.district, CDDistrictPage.filter()
    )
    router.callback_query.register(on_new_district, NewProgramme.district, CDDistrict.filter())
    router.message.register(on_new_district_typed, NewProgramme.district, TEXT_INPUT)
    router.message.register(on_edit_text, EditProgramme.title, TEXT_INPUT)
    router.message.register(on_edit_text, EditProgramme.summary, TEXT_INPUT)
    router.message.register(on_add_number, EditProgramme.project, TEXT_INPUT)
    router.message.register(on_add_number, EditProgramme.leaving, TEXT_INPUT)
    for step in (NewProgramme.title, NewProgramme.summary, *EditProgramme.__all_states__):
        router.message.register(expect_text, step, NOT_TEXT)
    return router


MAKERS = frozenset(access.PROGRAMME_MAKERS)

capability = Capability(
    name="projects_programmes",
    setup=setup,
    commands=(
        CommandSpec("programmes"),
        CommandSpec("new_programme", MAKERS, HomeGroup.COUNCIL),
    ),
    keys=lambda: {f"projects-status-{slug(status)}" for status in PUBLIC_STATUSES},
)
