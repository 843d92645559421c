"""Proposing a project: `/propose_project` for a representative of a member organization. A
dialog of short steps (title, summary, district, the needs it answers, goals, budget and its
sources, what it looks for, partner organizations, dates, attachments), each answer saved to the
draft at once, so the conversation state holds only which project and which step. Then the
summary with "edit a field", "submit", "later" and "withdraw"; the same summary serves a
project returned for revision. `/my_projects` lists the projects of one's organizations."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, callback_message, redraw_markup, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.dates import local_day
from bot.dialogs import expect_buttons, expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.projects_propose import (
    FIELDS,
    STEPS,
    CDPropose,
    CDProposeFor,
    district_keyboard,
    field_label,
    files_keyboard,
    found_keyboard,
    need_label,
    needs_text,
    next_keyboard,
    organizations_keyboard,
)
from bot.services import districts
from bot.services.permissions import REPRESENTATIVES, require_role
from bot.services.projects import access, drafts
from bot.services.projects.rules import slug
from bot.texts import plain, t
from handlers.projects import propose_summary
from handlers.projects.propose_dialog import (
    SKIPPABLE,
    TEXT_STEPS,
    Propose,
    advance,
    ask,
    load,
    project_in_dialog,
    save,
    step_of,
)
from models import User
from models.base import utcnow
from models.projects import ProjectStatus


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
            reply_markup=next_keyboard(project.id, "needs", "projects-propose-needs-done"),
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
            reply_markup=next_keyboard(project.id, "partners", "projects-propose-partners-done"),
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
    # An album past the limit is answered once too.
    warned = same_album and data.get("warned") == album
    if count is None:
        data["warned"] = album
    await save(state, data)
    if count is None:
        if not warned:
            total = await drafts.files_count(session, data["project"])
            await message.answer(
                t("projects-propose-files-limit", max=drafts.FILES_MAX),
                reply_markup=files_keyboard(data["project"], total),
            )
        return
    if same_album:
        return
    await message.answer(
        t("projects-propose-file-added"), reply_markup=files_keyboard(data["project"], count)
    )


async def on_files_other(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    """Text, a voice message, a sticker… where documents and photos are awaited."""
    data = await load(state)
    project = await drafts.editable(session, user, data["project"])
    count = await drafts.files_count(session, project.id)
    key = "projects-propose-files-hint" if message.text else "projects-propose-files-only"
    await message.answer(t(key), reply_markup=files_keyboard(project.id, count))


# --- buttons ----------------------------------------------------------------------------------


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
    if step not in ("needs", "partners", "files", *SKIPPABLE) or callback_data.arg != STEPS.index(
        step
    ):
        raise StaleButton()
    if step in SKIPPABLE:
        await drafts.clear(session, user, callback_data.id, SKIPPABLE[step])
    else:
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
    await redraw_markup(message, markup)


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
    wanted_step = "needs" if callback_data.action == "need" else "partners"
    if callback_data.arg not in found or await step_of(state) != wanted_step:
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
    if await step_of(state) != "files":
        raise StaleButton()
    await drafts.clear_files(session, user, callback_data.id)
    toast(callback_answer, "projects-propose-files-cleared")
    await message.edit_reply_markup(reply_markup=None)
    await ask(message, state, session, user, "files")


async def on_use_buttons(message: Message) -> None:
    await expect_buttons(message)


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="projects_propose")
    router.message.register(cmd_propose, Command("propose_project"))
    router.callback_query.register(on_organization, CDProposeFor.filter())
    press = CDPropose.filter
    router.callback_query.register(on_next, press(F.action == "next"))
    router.callback_query.register(on_district, press(F.action == "dist"))
    router.callback_query.register(on_district_page, press(F.action == "distp"))
    router.callback_query.register(on_toggle, press(F.action.in_({"need", "org"})))
    router.callback_query.register(on_clear_files, press(F.action == "clear"))
    propose_summary.register(router)

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
    for step in (Propose.district, Propose.review):
        router.message.register(on_use_buttons, step, TEXT_INPUT)
        router.message.register(on_use_buttons, step, NOT_TEXT)
    return router


def _keys() -> set[str]:
    keys = {f"projects-propose-field-{name}" for name in FIELDS}
    keys |= {f"projects-status-{slug(status)}" for status in ProjectStatus}
    # The lifecycle's notices of a move (a withdrawal here, a submission) are built from the
    # status; declared here until the lifecycle's own capability does.
    keys |= {f"projects-notice-status-{slug(s)}" for s in ProjectStatus if s != ProjectStatus.DRAFT}
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
