"""The Secretariat's desk: the queue of applications, decisions, questions to applicants,
suspending and restoring members, and registering people who cannot use the bot."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.deep_linking import create_start_link
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.delivery.text import TEXT_LIMIT, visible_length
from bot.dialogs import expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.common import CDDistrict, CDDistrictPage
from bot.keyboards.organizations import (
    CDApp,
    CDAppPage,
    application_card_keyboard,
    queue_keyboard,
)
from bot.services import districts, notices, organizations, users
from bot.services.permissions import SECRETARIAT
from bot.texts import SafeHTML, clip, plain, t, tn
from handlers.common import district_picker, turn_district_page
from handlers.onboarding import TAKEOVER_PREFIX
from handlers.organizations import organization_card, status_line
from models import ApplicationMessage, Organization, User

QUEUE_PAGE = 5
# A card is one message within Telegram's limit (counted after parsing, as visible_length does).
CARD_LIMIT = TEXT_LIMIT - 96
CUT_NOTE_RESERVE = 160
SEPARATOR = "\n\n"


class Decide(StatesGroup):
    reject_reason = State()
    question = State()
    suspend_reason = State()
    restore_reason = State()


class RegisterPerson(StatesGroup):
    name = State()
    district = State()


REASON_STATES = {
    "reject": Decide.reject_reason,
    "ask": Decide.question,
    "suspend": Decide.suspend_reason,
    "restore": Decide.restore_reason,
}
REASON_PROMPTS = {
    "reject": "organizations-reject-ask",
    "ask": "organizations-question-ask",
    "suspend": "organizations-suspend-ask",
    "restore": "organizations-restore-ask",
}


async def queue_view(
    session: AsyncSession, user: User | None, page: int, timezone: str
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    result = await organizations.queue(session, user, page, QUEUE_PAGE)
    if not result.items:
        return t("organizations-queue-empty"), None
    lines: list[str] = [tn("organizations-queue-title", result.total)]
    for organization in result.items:
        mark = ""
        if organization.info_requested_at:
            mark = " " + plain("organizations-queue-waiting")
        lines.append(
            t(
                "organizations-queue-line",
                number=organization.id,
                name=organization.name,
                date=dates.shown_date(organization.created_at, timezone),
            )
            + mark
        )
    return SafeHTML("\n".join(lines)), queue_keyboard(result.items, result.page, result.pages)


async def cmd_applications(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    text, markup = await queue_view(session, user, 0, settings.timezone)
    await message.answer(text, reply_markup=markup)


async def on_queue_page(
    query: CallbackQuery,
    callback_data: CDAppPage,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    message = callback_message(query)
    text, markup = await queue_view(session, user, callback_data.page, settings.timezone)
    if message.html_text != text or message.reply_markup != markup:
        await message.edit_text(text, reply_markup=markup)


async def full_card(session: AsyncSession, organization: Organization) -> SafeHTML:
    """Everything the Secretariat needs to decide: the application, its status, the talk."""
    parts = [status_line(organization), organization_card(organization)]
    if organization.entered_by_id:
        parts.append(t("organizations-entered-by-secretariat"))
    talk = await organizations.conversation(session, organization.id)
    budget = CARD_LIMIT - visible_length(SEPARATOR.join(parts))
    return SafeHTML(SEPARATOR.join(parts + newest_talk(talk, budget)))


def talk_text(entry: ApplicationMessage) -> str:
    # An empty message: its author erased their data.
    return entry.text or plain("organizations-talk-erased")


def talk_line(entry: ApplicationMessage, text: str | SafeHTML | None = None) -> SafeHTML:
    key = "organizations-talk-question" if entry.from_secretariat else "organizations-talk-answer"
    return t(key, text=talk_text(entry) if text is None else text)


def clipped_line(entry: ApplicationMessage, budget: int) -> SafeHTML:
    """The newest message alone is too long: its beginning, cut, still has to show."""
    text = talk_text(entry)
    overhead = visible_length(talk_line(entry)) - visible_length(clip(text, len(text) * 2))
    room = max(budget - overhead - len(SEPARATOR), 1)
    return talk_line(entry, clip(text, room))


def newest_talk(talk: list[ApplicationMessage], budget: int) -> list[SafeHTML]:
    """As much of the conversation as fits in `budget` visible characters, newest kept: the
    applicant's latest answer is what the Secretariat decides on. Older messages that do not fit
    are left out whole (a cut inside one would break its markup), and a note says how many."""
    budget -= CUT_NOTE_RESERVE
    kept: list[SafeHTML] = []
    for entry in reversed(talk):
        line = talk_line(entry)
        cost = visible_length(line) + len(SEPARATOR)
        if cost > budget:
            if not kept:
                kept.append(clipped_line(entry, budget))
            break
        kept.append(line)
        budget -= cost
    kept.reverse()
    cut = len(talk) - len(kept)
    return ([tn("organizations-talk-cut", cut)] if cut else []) + kept


async def show_card(
    query: CallbackQuery, session: AsyncSession, organization: Organization
) -> None:
    await callback_message(query).edit_text(
        await full_card(session, organization),
        reply_markup=application_card_keyboard(organization),
    )


async def on_open(
    query: CallbackQuery, callback_data: CDApp, session: AsyncSession, user: User | None
) -> None:
    users.require_registrar(user)
    organization = await organizations.get(session, callback_data.id)
    await show_card(query, session, organization)


async def on_approve(
    query: CallbackQuery,
    callback_data: CDApp,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    organization = await organizations.decide(session, user, callback_data.id, approve=True)
    toast(callback_answer, "organizations-approved-toast")
    await show_card(query, session, organization)
    await notices.notify(
        session,
        organizations.recipients(organization),
        "organizations-approved-notice",
        name=organization.name,
    )


async def on_reason_action(
    query: CallbackQuery,
    callback_data: CDApp,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    users.require_registrar(user)
    organization = await organizations.get(session, callback_data.id)
    organizations.check_action(organization, callback_data.action)
    await state.set_state(REASON_STATES[callback_data.action])
    await state.update_data({"decide_org": organization.id, "card_message": message.message_id})
    await message.answer(t(REASON_PROMPTS[callback_data.action], name=organization.name))


async def on_reason(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    current = await state.get_state()
    organization_id = int((await state.get_data()).get("decide_org") or 0)
    text = message.text or ""
    if current == Decide.reject_reason.state:
        organization = await organizations.decide(session, user, organization_id, False, text)
        notice = "organizations-rejected-notice"
    elif current == Decide.question.state:
        organization = await organizations.request_info(session, user, organization_id, text)
        notice = "organizations-question-notice"
    else:
        suspend = current == Decide.suspend_reason.state
        organization = await organizations.set_membership_status(
            session, user, organization_id, suspend, text
        )
        notice = "organizations-suspended-notice" if suspend else "organizations-restored-notice"
    await state.clear()
    await message.answer(
        SafeHTML(t("organizations-done") + "\n\n" + await full_card(session, organization)),
        reply_markup=application_card_keyboard(organization),
    )
    await notices.notify(
        session, organizations.recipients(organization), notice, name=organization.name, text=text
    )


async def on_reason_not_text(message: Message) -> None:
    await expect_text(message)


# --- registering a person from a paper application -----------------------------------------


async def cmd_register_person(message: Message, state: FSMContext, user: User | None) -> None:
    users.require_registrar(user)
    await state.set_state(RegisterPerson.name)
    await message.answer(t("secretariat-person-ask-name"))


async def on_person_name(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    name = users.clean_name(message.text or "", settings.name_max_length)
    await state.update_data({"person_name": name})
    await state.set_state(RegisterPerson.district)
    await message.answer(
        t("secretariat-person-ask-district", name=name), reply_markup=await district_picker(session)
    )


async def on_person_name_not_text(message: Message) -> None:
    await expect_text(message)


async def on_person_district_page(
    query: CallbackQuery, callback_data: CDDistrictPage, session: AsyncSession
) -> None:
    await turn_district_page(query, session, callback_data.page, "onboarding-district-unknown")


async def on_person_district(
    query: CallbackQuery,
    callback_data: CDDistrict,
    bot: Bot,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    message = callback_message(query)
    name = str((await state.get_data()).get("person_name") or "")
    person, invite = await users.register_on_behalf(
        session, user, name, callback_data.id or None, max_length=settings.name_max_length
    )
    await state.clear()
    district = await districts.find(session, callback_data.id)
    link = await create_start_link(bot, TAKEOVER_PREFIX + invite.token)
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(
        t(
            "secretariat-person-registered",
            name=person.name or "",
            district=district.name if district else plain("profile-district-unknown"),
            number=person.id,
            link=link,
            days=users.TAKEOVER_TTL.days,
        )
    )


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="secretariat")
    router.message.register(cmd_applications, Command("applications"))
    router.callback_query.register(on_queue_page, CDAppPage.filter())
    router.callback_query.register(on_open, CDApp.filter(F.action == "open"))
    router.callback_query.register(on_approve, CDApp.filter(F.action == "approve"))
    router.callback_query.register(on_reason_action, CDApp.filter(F.action.in_(REASON_STATES)))
    router.message.register(on_reason, Decide.restore_reason, TEXT_INPUT)
    router.message.register(on_reason, Decide.suspend_reason, TEXT_INPUT)
    router.message.register(on_reason, Decide.question, TEXT_INPUT)
    router.message.register(on_reason, Decide.reject_reason, TEXT_INPUT)
    router.message.register(on_reason_not_text, Decide.restore_reason, NOT_TEXT)
    router.message.register(on_reason_not_text, Decide.suspend_reason, NOT_TEXT)
    router.message.register(on_reason_not_text, Decide.question, NOT_TEXT)
    router.message.register(on_reason_not_text, Decide.reject_reason, NOT_TEXT)
    router.message.register(cmd_register_person, Command("register_person"))
    router.message.register(on_person_name, RegisterPerson.name, TEXT_INPUT)
    router.message.register(on_person_name_not_text, RegisterPerson.name, NOT_TEXT)
    router.callback_query.register(
        on_person_district_page,
        RegisterPerson.district,
        CDDistrictPage.filter(),
    )
    router.callback_query.register(on_person_district, RegisterPerson.district, CDDistrict.filter())
    return router


capability = Capability(
    name="secretariat",
    setup=setup,
    commands=(
        CommandSpec("applications", SECRETARIAT, HomeGroup.SECRETARIAT),
        CommandSpec("register_person", SECRETARIAT, HomeGroup.SECRETARIAT),
    ),
)
