"""The Secretariat's desk: the queue of applications, decisions, questions to applicants,
suspending and restoring members, and registering people who cannot use the bot."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.deep_linking import create_start_link
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.common import CDDistrict, CDDistrictPage, district_keyboard
from bot.keyboards.organizations import (
    CDApp,
    CDAppPage,
    application_card_keyboard,
    queue_keyboard,
)
from bot.services import districts, notices, organizations, users
from bot.services.permissions import require_role
from bot.texts import SafeHTML, plain, t, tn
from handlers.common import turn_district_page
from handlers.onboarding import TAKEOVER_PREFIX
from handlers.organizations import organization_card, status_line
from models import Organization, Role, User

router = Router(name="secretariat")

SECRETARIAT = (Role.SECRETARIAT,)
QUEUE_PAGE = 5


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
    session: AsyncSession, user: User | None, page: int
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    result = await organizations.queue(session, user, page, QUEUE_PAGE)
    if not result.items:
        return t("organizations-queue-empty"), None
    lines = [tn("organizations-queue-title", result.total)]
    for organization in result.items:
        mark = ""
        if organization.info_requested_at:
            mark = " " + plain("organizations-queue-waiting")
        lines.append(
            t(
                "organizations-queue-line",
                number=organization.id,
                name=organization.name,
                date=organization.created_at.strftime("%d.%m.%Y"),
            )
            + mark
        )
    return SafeHTML("\n".join(lines)), queue_keyboard(result.items, result.page, result.pages)


@router.message(Command("applications"))
async def cmd_applications(message: Message, session: AsyncSession, user: User | None) -> None:
    text, markup = await queue_view(session, user, 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(CDAppPage.filter())
async def on_queue_page(
    query: CallbackQuery, callback_data: CDAppPage, session: AsyncSession, user: User | None
) -> None:
    text, markup = await queue_view(session, user, callback_data.page)
    await query.answer()
    if query.message.html_text != text or query.message.reply_markup != markup:
        await query.message.edit_text(text, reply_markup=markup)


async def full_card(session: AsyncSession, organization: Organization) -> SafeHTML:
    """Everything the Secretariat needs to decide: the application, its status, the talk."""
    parts = [status_line(organization), organization_card(organization)]
    if organization.entered_by_id:
        parts.append(t("organizations-entered-by-secretariat"))
    for entry in await organizations.conversation(session, organization.id):
        key = (
            "organizations-talk-question" if entry.from_secretariat else "organizations-talk-answer"
        )
        parts.append(t(key, text=entry.text))
    text = "\n\n".join(parts)
    # A long conversation must not push the card over Telegram's limit: the oldest parts go.
    return SafeHTML(text if len(text) < 3900 else text[:3800].rsplit("\n", 1)[0] + "\n…")


async def show_card(
    query: CallbackQuery, session: AsyncSession, organization: Organization
) -> None:
    await query.message.edit_text(
        await full_card(session, organization),
        reply_markup=application_card_keyboard(organization),
    )


@router.callback_query(CDApp.filter(F.action == "open"))
async def on_open(
    query: CallbackQuery, callback_data: CDApp, session: AsyncSession, user: User | None
) -> None:
    require_role(user, *SECRETARIAT)
    organization = await organizations.get(session, callback_data.id)
    await query.answer()
    await show_card(query, session, organization)


@router.callback_query(CDApp.filter(F.action == "approve"))
async def on_approve(
    query: CallbackQuery,
    callback_data: CDApp,
    session: AsyncSession,
    user: User | None,
) -> None:
    organization = await organizations.decide(session, user, callback_data.id, approve=True)
    await query.answer(plain("organizations-approved-toast"))
    await show_card(query, session, organization)
    await notices.notify(
        session,
        organizations.recipients(organization),
        "organizations-approved-notice",
        name=organization.name,
    )


@router.callback_query(CDApp.filter(F.action.in_(REASON_STATES)))
async def on_reason_action(
    query: CallbackQuery,
    callback_data: CDApp,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    require_role(user, *SECRETARIAT)
    organization = await organizations.get(session, callback_data.id)
    organizations.check_action(organization, callback_data.action)
    await state.set_state(REASON_STATES[callback_data.action])
    await state.update_data(
        {"decide_org": organization.id, "card_message": query.message.message_id}
    )
    await query.answer()
    await query.message.answer(t(REASON_PROMPTS[callback_data.action], name=organization.name))


@router.message(Decide.reject_reason, TEXT_INPUT)
@router.message(Decide.question, TEXT_INPUT)
@router.message(Decide.suspend_reason, TEXT_INPUT)
@router.message(Decide.restore_reason, TEXT_INPUT)
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


@router.message(Decide.reject_reason, NOT_TEXT)
@router.message(Decide.question, NOT_TEXT)
@router.message(Decide.suspend_reason, NOT_TEXT)
@router.message(Decide.restore_reason, NOT_TEXT)
async def on_reason_not_text(message: Message) -> None:
    await message.answer(t("join-not-text"))


# --- registering a person from a paper application -----------------------------------------


@router.message(Command("register_person"))
async def cmd_register_person(message: Message, state: FSMContext, user: User | None) -> None:
    require_role(user, *SECRETARIAT)
    await state.set_state(RegisterPerson.name)
    await message.answer(t("secretariat-person-ask-name"))


@router.message(RegisterPerson.name, TEXT_INPUT)
async def on_person_name(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    name = users.clean_name(message.text or "", settings.name_max_length)
    await state.update_data({"person_name": name})
    await state.set_state(RegisterPerson.district)
    page = await districts.list_districts(session)
    await message.answer(
        t("secretariat-person-ask-district", name=name),
        reply_markup=district_keyboard(page, "onboarding-district-unknown"),
    )


@router.message(RegisterPerson.name, NOT_TEXT)
async def on_person_name_not_text(message: Message) -> None:
    await message.answer(t("onboarding-name-not-text"))


@router.callback_query(RegisterPerson.district, CDDistrictPage.filter())
async def on_person_district_page(
    query: CallbackQuery, callback_data: CDDistrictPage, session: AsyncSession
) -> None:
    await turn_district_page(query, session, callback_data.page, "onboarding-district-unknown")


@router.callback_query(RegisterPerson.district, CDDistrict.filter())
async def on_person_district(
    query: CallbackQuery,
    callback_data: CDDistrict,
    bot: Bot,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    name = str((await state.get_data()).get("person_name") or "")
    person, invite = await users.register_on_behalf(
        session, user, name, callback_data.id or None, max_length=settings.name_max_length
    )
    await state.clear()
    district = await districts.find(session, callback_data.id)
    link = await create_start_link(bot, TAKEOVER_PREFIX + invite.token)
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(
        t(
            "secretariat-person-registered",
            name=person.name or "",
            district=district.name if district else plain("profile-district-unknown"),
            number=person.id,
            link=link,
            days=users.TAKEOVER_TTL.days,
        )
    )
