"""Proposing a project: `/propose_project` for a representative of a member organization. A
dialog of short steps (title, summary, district, the needs it answers, goals, budget and its
sources, what it looks for, partner organizations, dates, attachments), each answer saved to the
draft at once, so the conversation state holds only which project and which step. Then the
summary with "edit a field", "submit", "later" and "withdraw"; the same summary serves a
project returned for revision. `/my_projects` lists the projects of one's organizations."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, alert, callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.dates import local_day, shown_date
from bot.dialogs import expect_buttons, expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.projects import PANEL_EDIT, CDProjectPanel
from bot.keyboards.projects_propose import (
    FIELDS,
    LIFECYCLE_FIELDS,
    CDMyProjects,
    CDPropose,
    CDProposeFor,
    district_keyboard,
    field_label,
    files_keyboard,
    found_keyboard,
    my_projects_keyboard,
    my_projects_text,
    need_label,
    needs_text,
    next_keyboard,
    organizations_keyboard,
    summary_keyboard,
    summary_text,
    withdraw_keyboard,
)
from bot.services import districts
from bot.services.permissions import REPRESENTATIVES, require_role
from bot.services.projects import access, drafts
from bot.services.projects.rules import TITLE_MAX, slug
from bot.texts import SafeHTML, clip, plain, t
from models import User
from models.base import utcnow
from models.projects import ProjectStatus

DATA = "propose"


class Propose(StatesGroup):
    title = State()
    summary = State()
    district = State()
    needs = State()
    goals = State()
    budget = State()
    sources = State()
    wanted = State()
    partners = State()
    starts = State()
    ends = State()
    files = State()
    review = State()


# The steps in the dialog's order; a field of the summary opens its first step.
ORDER = (
    "title",
    "summary",
    "district",
    "needs",
    "goals",
    "budget",
    "sources",
    "wanted",
    "partners",
    "starts",
    "ends",
    "files",
)
FIRST_STEP = {name: name for name in FIELDS} | {"dates": "starts"}
TEXT_STEPS = {
    "title": "title",
    "summary": "summary",
    "goals": "goals",
    "sources": "budget_sources",
    "wanted": "wanted",
}
SKIPPABLE = {"budget": "budget", "sources": "budget_sources", "wanted": "wanted"}


async def load(state: FSMContext) -> dict[str, Any]:
    return dict((await state.get_data()).get(DATA) or {})


async def save(state: FSMContext, data: dict[str, Any]) -> None:
    await state.update_data({DATA: data})


async def step_of(state: FSMContext) -> str | None:
    current = await state.get_state()
    if current is None or current not in Propose.__all_states_names__:
        return None
    return current.split(":", 1)[1]


async def project_in_dialog(state: FSMContext, project_id: int) -> dict[str, Any]:
    """The dialog's data, if the press belongs to the project this dialog is about."""
    data = await load(state)
    if await step_of(state) is None or data.get("project") != project_id:
        raise StaleButton()
    return data


# --- asking and moving on ---------------------------------------------------------------------


async def ask(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None, step: str
) -> None:
    """Put the question of one step, saying what to do next."""
    data = await load(state)
    project = await drafts.editable(session, user, data["project"])
    await state.set_state(getattr(Propose, step))
    pid = project.id
    if step == "title":
        await message.answer(t("projects-propose-ask-title", max=TITLE_MAX))
    elif step == "summary":
        await message.answer(t("projects-propose-ask-summary"))
    elif step == "district":
        own = await drafts.home_district(session, project)
        page = await districts.list_districts(session)
        await message.answer(
            t("projects-propose-ask-district"), reply_markup=district_keyboard(pid, page, own)
        )
    elif step == "needs":
        linked = await drafts.linked_needs(session, pid)
        key = "projects-propose-needs-done" if linked else "projects-propose-needs-skip"
        await message.answer(
            t("projects-propose-ask-needs", linked=", ".join(f"№{n.id}" for n in linked) or "—"),
            reply_markup=next_keyboard(pid, key),
        )
    elif step == "goals":
        await message.answer(t("projects-propose-ask-goals"))
    elif step == "budget":
        await message.answer(
            t("projects-propose-ask-budget"),
            reply_markup=next_keyboard(pid, "projects-propose-skip"),
        )
    elif step == "sources":
        await message.answer(
            t("projects-propose-ask-sources"),
            reply_markup=next_keyboard(pid, "projects-propose-skip"),
        )
    elif step == "wanted":
        await message.answer(
            t("projects-propose-ask-wanted"),
            reply_markup=next_keyboard(pid, "projects-propose-skip"),
        )
    elif step == "partners":
        named = await drafts.partners(session, pid)
        key = "projects-propose-partners-done" if named else "projects-propose-partners-skip"
        names = ", ".join(o.name for o, _ in named) or "—"
        await message.answer(
            t("projects-propose-ask-partners", named=clip(names, 500)),
            reply_markup=next_keyboard(pid, key),
        )
    elif step == "starts":
        await message.answer(t("projects-propose-ask-starts"))
    elif step == "ends":
        await message.answer(t("projects-propose-ask-ends"))
    else:
        count = await drafts.files_count(session, pid)
        await message.answer(
            t("projects-propose-ask-files", count=count), reply_markup=files_keyboard(pid, count)
        )


async def advance(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None, after: str
) -> None:
    """The next step; when a field was opened from the summary, back to the summary (the
    start date is followed by the end date either way)."""
    data = await load(state)
    if data.get("editing") and after != "starts":
        await show_summary(message, state, session, user, data["project"])
        return
    following = ORDER.index(after) + 1
    if following >= len(ORDER):
        await show_summary(message, state, session, user, data["project"])
        return
    await ask(message, state, session, user, ORDER[following])


async def show_summary(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None, project_id: int
) -> None:
    summary = await drafts.summary(session, user, project_id)
    await state.set_state(Propose.review)
    await save(state, {"project": project_id})
    project = summary.project
    if project.starts_on and project.ends_on:
        dates = plain(
            "projects-propose-dates",
            start=shown_date(project.starts_on, "UTC"),
            end=shown_date(project.ends_on, "UTC"),
        )
    elif project.starts_on:
        dates = plain("projects-propose-dates-from", start=shown_date(project.starts_on, "UTC"))
    else:
        dates = plain("projects-propose-empty")
    budget = (
        plain("projects-propose-roubles", amount=f"{project.budget:,}".replace(",", " "))
        if project.budget
        else plain("projects-propose-empty")
    )
    await message.answer(
        summary_text(summary, dates, budget), reply_markup=summary_keyboard(project)
    )


async def begin(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    org_id: int,
    origin: int = 0,
) -> None:
    project = await drafts.create(session, user, org_id)
    await state.set_state(None)
    await save(state, {"project": project.id, "origin": origin})
    await message.answer(t("projects-propose-intro", number=project.id))
    await ask(message, state, session, user, "title")


# --- starting ---------------------------------------------------------------------------------


async def cmd_propose(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    require_role(user, *REPRESENTATIVES)
    organizations = await access.represented(session, user)
    if not organizations:
        await message.answer(t("projects-propose-no-organization"))
        return
    if len(organizations) == 1:
        await begin(message, state, session, user, organizations[0].id)
        return
    await message.answer(
        t("projects-propose-pick-organization"),
        reply_markup=organizations_keyboard(organizations),
    )


async def on_organization(
    query: CallbackQuery,
    callback_data: CDProposeFor,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    # A second press of the same choice (before its buttons went away) makes no second draft.
    if (await load(state)).get("origin") == message.message_id:
        raise StaleButton()
    await begin(message, state, session, user, callback_data.id, origin=message.message_id)
    await message.edit_reply_markup(reply_markup=None)


# --- typed answers ----------------------------------------------------------------------------


async def on_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    step = await step_of(state)
    data = await load(state)
    project_id = data.get("project")
    if step is None or project_id is None:
        return
    text = message.text or ""
    if step in TEXT_STEPS:
        await drafts.set_text(session, user, project_id, TEXT_STEPS[step], text)
    elif step == "budget":
        await drafts.set_budget(session, user, project_id, text)
    elif step == "starts":
        today = local_day(utcnow(), settings.timezone)
        await drafts.set_start(session, user, project_id, text, today)
    elif step == "ends":
        await drafts.set_end(session, user, project_id, text)
    await advance(message, state, session, user, step)


async def on_search_needs(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    data = await load(state)
    project = await drafts.editable(session, user, data["project"])
    found = await drafts.search_needs(session, message.text or "")
    if not found:
        await message.answer(
            t("projects-propose-needs-none"),
            reply_markup=next_keyboard(project.id, "projects-propose-needs-done"),
        )
        return
    data["found"] = [need.id for need in found]
    await save(state, data)
    chosen = {need.id for need in await drafts.linked_needs(session, project.id)}
    await message.answer(
        needs_text(found, chosen),
        reply_markup=found_keyboard(
            project.id,
            "need",
            [(n.id, need_label(n)) for n in found],
            chosen,
            "projects-propose-needs-done",
        ),
    )


async def on_search_partners(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    data = await load(state)
    project = await drafts.editable(session, user, data["project"])
    found = await drafts.search_organizations(
        session, message.text or "", exclude=project.organization_id
    )
    if not found:
        await message.answer(
            t("projects-propose-partners-none"),
            reply_markup=next_keyboard(project.id, "projects-propose-partners-done"),
        )
        return
    data["found"] = [organization.id for organization in found]
    await save(state, data)
    chosen = {o.id for o, _ in await drafts.partners(session, project.id)}
    await message.answer(
        t("projects-propose-partners-found"),
        reply_markup=found_keyboard(
            project.id,
            "org",
            [(o.id, o.name) for o in found],
            chosen,
            "projects-propose-partners-done",
        ),
    )


async def on_file(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    """A document or a photo; an album arrives as several messages and is answered once."""
    data = await load(state)
    if message.photo:
        photo = message.photo[-1]
        kind, file_id, unique, name = "photo", photo.file_id, photo.file_unique_id, None
    else:
        assert message.document
        document = message.document
        kind, file_id, unique = "document", document.file_id, document.file_unique_id
        name = document.file_name
    count = await drafts.add_file(session, user, data["project"], kind, file_id, unique, name)
    album = message.media_group_id
    same_album = album is not None and data.get("album") == album
    data["album"] = album
    await save(state, data)
    if same_album:
        return
    await message.answer(
        t("projects-propose-file-added"), reply_markup=files_keyboard(data["project"], count)
    )


async def on_files_other(message: Message, state: FSMContext) -> None:
    data = await load(state)
    key = "projects-propose-files-hint" if message.text else "projects-propose-files-only"
    await message.answer(t(key), reply_markup=files_keyboard(data.get("project", 0), 1))


async def on_album_rest(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    """The rest of an album that arrives after "done" moved the dialog on: kept, not answered."""
    data = await load(state)
    if data.get("album") != message.media_group_id or "project" not in data:
        await expect_buttons(message)
        return
    photo = message.photo[-1] if message.photo else None
    if photo is not None:
        await drafts.add_file(
            session, user, data["project"], "photo", photo.file_id, photo.file_unique_id
        )


# --- buttons ----------------------------------------------------------------------------------


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


async def on_next(
    query: CallbackQuery,
    callback_data: CDPropose,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    """A step skipped or finished ("done")."""
    message = callback_message(query)
    await project_in_dialog(state, callback_data.id)
    step = await step_of(state)
    if step not in ("needs", "partners", "files", *SKIPPABLE):
        raise StaleButton()
    assert step is not None
    await drafts.editable(session, user, callback_data.id)
    await message.edit_reply_markup(reply_markup=None)
    await advance(message, state, session, user, step)


async def on_district(
    query: CallbackQuery,
    callback_data: CDPropose,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    await project_in_dialog(state, callback_data.id)
    if await step_of(state) != "district":
        raise StaleButton()
    district_id = callback_data.arg or None
    await drafts.set_district(session, user, callback_data.id, district_id)
    district = await districts.find(session, district_id)
    value = (
        f"№{district.number} · {district.name}" if district else plain("projects-propose-city-wide")
    )
    await message.edit_text(
        t("projects-propose-chosen", field=field_label("district"), value=value)
    )
    await advance(message, state, session, user, "district")


async def on_district_page(
    query: CallbackQuery,
    callback_data: CDPropose,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    await project_in_dialog(state, callback_data.id)
    project = await drafts.editable(session, user, callback_data.id)
    own = await drafts.home_district(session, project)
    page = await districts.list_districts(session, callback_data.arg)
    markup = district_keyboard(project.id, page, own)
    if message.reply_markup != markup:
        await message.edit_reply_markup(reply_markup=markup)


async def on_toggle(
    query: CallbackQuery,
    callback_data: CDPropose,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    """A found need or organization picked, or unpicked."""
    message = callback_message(query)
    data = await project_in_dialog(state, callback_data.id)
    found: list[int] = data.get("found", [])
    if callback_data.arg not in found:
        raise StaleButton()
    pid = callback_data.id
    if callback_data.action == "need":
        linked = await drafts.toggle_need(session, user, pid, callback_data.arg)
        toast(callback_answer, "projects-propose-picked" if linked else "projects-propose-unpicked")
        needs = await drafts.needs_by_ids(session, found)
        chosen = {n.id for n in await drafts.linked_needs(session, pid)}
        items = [(n.id, need_label(n)) for n in needs]
        await message.edit_text(
            needs_text(needs, chosen),
            reply_markup=found_keyboard(pid, "need", items, chosen, "projects-propose-needs-done"),
        )
        return
    named = await drafts.toggle_partner(session, user, pid, callback_data.arg)
    toast(callback_answer, "projects-propose-picked" if named else "projects-propose-unpicked")
    organizations = await drafts.organizations_by_ids(session, found)
    chosen = {o.id for o, _ in await drafts.partners(session, pid)}
    items = [(o.id, o.name) for o in organizations]
    await message.edit_reply_markup(
        reply_markup=found_keyboard(pid, "org", items, chosen, "projects-propose-partners-done")
    )


async def on_clear_files(
    query: CallbackQuery,
    callback_data: CDPropose,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    await project_in_dialog(state, callback_data.id)
    await drafts.clear_files(session, user, callback_data.id)
    toast(callback_answer, "projects-propose-files-cleared")
    await message.edit_reply_markup(reply_markup=None)
    await ask(message, state, session, user, "files")


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
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(
        t("projects-propose-submitted", number=project.id, version=project.version)
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
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(t("projects-propose-kept", number=callback_data.id))


async def on_withdraw(
    query: CallbackQuery,
    callback_data: CDPropose,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    project = await drafts.editable(session, user, callback_data.id)
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(
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
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(t("projects-propose-withdrawn", number=project.id))


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
    if message.html_text != text or message.reply_markup != markup:
        await message.edit_text(text, reply_markup=markup)


async def on_use_buttons(message: Message) -> None:
    await expect_buttons(message)


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="projects_propose")
    router.message.register(cmd_propose, Command("propose_project"))
    router.message.register(cmd_my_projects, Command("my_projects"))
    router.callback_query.register(on_organization, CDProposeFor.filter())
    router.callback_query.register(on_my_page, CDMyProjects.filter())
    router.callback_query.register(on_panel_edit, CDProjectPanel.filter(F.panel == PANEL_EDIT))
    press = CDPropose.filter
    router.callback_query.register(on_open, press(F.action == "open"))
    router.callback_query.register(on_next, press(F.action == "next"))
    router.callback_query.register(on_district, press(F.action == "dist"))
    router.callback_query.register(on_district_page, press(F.action == "distp"))
    router.callback_query.register(on_toggle, press(F.action.in_({"need", "org"})))
    router.callback_query.register(on_clear_files, press(F.action == "clear"))
    router.callback_query.register(on_edit, press(F.action == "edit"))
    router.callback_query.register(on_submit, press(F.action == "submit"))
    router.callback_query.register(on_later, press(F.action == "later"))
    router.callback_query.register(on_withdraw, press(F.action == "wd"))
    router.callback_query.register(on_withdraw_confirmed, press(F.action == "wd!"))

    typed = (
        Propose.title,
        Propose.summary,
        Propose.goals,
        Propose.budget,
        Propose.sources,
        Propose.wanted,
        Propose.starts,
        Propose.ends,
    )
    for step in typed:
        router.message.register(on_text, step, TEXT_INPUT)
    router.message.register(on_search_needs, Propose.needs, TEXT_INPUT)
    router.message.register(on_search_partners, Propose.partners, TEXT_INPUT)
    for step in (*typed, Propose.needs, Propose.partners):
        router.message.register(expect_text, step, NOT_TEXT)
    router.message.register(on_file, Propose.files, F.photo | F.document)
    router.message.register(on_files_other, Propose.files, TEXT_INPUT)
    router.message.register(on_files_other, Propose.files, NOT_TEXT)
    router.message.register(on_album_rest, Propose.review, F.photo, F.media_group_id)
    for step in (Propose.district, Propose.review):
        router.message.register(on_use_buttons, step, TEXT_INPUT)
        router.message.register(on_use_buttons, step, NOT_TEXT)
    return router


def _keys() -> set[str]:
    keys = {f"projects-propose-field-{name}" for name in FIELDS}
    keys |= {f"projects-status-{slug(status)}" for status in ProjectStatus}
    return keys


capability = Capability(
    name="projects_propose",
    setup=setup,
    commands=(
        CommandSpec("propose_project", REPRESENTATIVES, HomeGroup.ORGANIZATION),
        CommandSpec("my_projects", REPRESENTATIVES, HomeGroup.ORGANIZATION),
    ),
    keys=_keys,
)
