"""A citizen's first steps: /start, language, consent, name and district."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, callback_message, toast
from bot.capabilities import ANYONE, Capability, CommandSpec, Registry
from bot.config import Settings
from bot.dialogs import expect_buttons, expect_text, sender
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.common import (
    CDConsent,
    CDDistrict,
    CDDistrictPage,
    CDLanguage,
    CDTelegramName,
    consent_keyboard,
    language_keyboard,
    telegram_name_keyboard,
)
from bot.languages import NAMES
from bot.middlewares.i18n import LANGUAGE_KEY
from bot.services import districts, users
from bot.services.errors import InvalidInput
from bot.texts import plain, t
from handlers.common import district_picker, turn_district_page
from handlers.home import home_screen
from handlers.organizations import INVITE_PREFIX, accept_invite
from models import User

PENDING_INVITE_KEY = "pending_invite"
# `/start own_<token>`: a person registered on paper takes over their account.
TAKEOVER_PREFIX = "own_"


class Onboarding(StatesGroup):
    language = State()
    consent = State()
    name = State()
    district = State()


def next_step(user: User | None, data: dict[str, object]) -> State | None:
    """The first onboarding step this person has not done yet (None: registered)."""
    if user is None or user.consent_at is None:
        return Onboarding.consent if LANGUAGE_KEY in data else Onboarding.language
    if not user.name:
        return Onboarding.name
    if not user.is_registered:
        return Onboarding.district
    return None


async def ask_next(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    capabilities: Registry,
    full_name: str = "",
) -> None:
    """Move to the first unfinished step and ask its question."""
    step = next_step(user, await state.get_data())
    if step is None:
        return
    if step == Onboarding.district and await districts.count_districts(session) == 0:
        # No district list yet: registration must not be blocked by the Secretariat's backlog.
        await finish(message, state, session, user, capabilities)
        return
    await state.set_state(step)
    if step == Onboarding.language:
        await message.answer(t("onboarding-choose-language"), reply_markup=language_keyboard())
    elif step == Onboarding.consent:
        await message.answer(
            t("onboarding-consent", version=users.CONSENT_VERSION), reply_markup=consent_keyboard()
        )
    elif step == Onboarding.name:
        await message.answer(
            t("onboarding-ask-name", max=settings.name_max_length),
            reply_markup=telegram_name_keyboard(full_name),
        )
    else:
        await message.answer(
            t("onboarding-ask-district"), reply_markup=await district_picker(session)
        )


async def finish(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    capabilities: Registry,
) -> None:
    assert user is not None  # the district step is reached only after consent
    await users.complete_registration(session, user)
    pending = (await state.get_data()).get(PENDING_INVITE_KEY)
    await state.clear()
    await greet(message, capabilities, user, "onboarding-done")
    if pending:
        await accept_invite(message, session, user, pending)


async def greet(message: Message, capabilities: Registry, user: User, key: str) -> None:
    """A greeting followed by the person's home screen, in one message."""
    home, markup = home_screen(capabilities, user)
    await message.answer(t(key, name=user.name or "") + "\n\n" + home, reply_markup=markup)


async def cmd_start(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    capabilities: Registry,
) -> None:
    payload = command.args or ""
    if payload.startswith(TAKEOVER_PREFIX):
        user = await users.take_over(
            session,
            sender(message).id,
            sender(message).username,
            payload.removeprefix(TAKEOVER_PREFIX),
        )
        await state.clear()
        await greet(message, capabilities, user, "start-taken-over")
        return
    if user is not None and user.is_registered:
        await state.clear()
        await greet(message, capabilities, user, "start-welcome-back")
        if payload.startswith(INVITE_PREFIX):
            await accept_invite(message, session, user, payload.removeprefix(INVITE_PREFIX))
        return
    if payload.startswith(INVITE_PREFIX):
        # Registration comes first; the invitation is used when it is finished.
        await state.update_data({PENDING_INVITE_KEY: payload.removeprefix(INVITE_PREFIX)})
    await message.answer(t("start-welcome"))
    await ask_next(message, state, session, user, settings, capabilities, sender(message).full_name)


async def on_language(
    query: CallbackQuery,
    callback_data: CDLanguage,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    i18n: I18n,
    settings: Settings,
    capabilities: Registry,
) -> None:
    message = callback_message(query)
    await state.update_data({LANGUAGE_KEY: callback_data.code})
    if user is not None:
        await users.set_language(session, user, callback_data.code)
    with i18n.use_locale(callback_data.code):
        await message.edit_text(t("language-set", language=NAMES[callback_data.code]))
        await ask_next(
            message, state, session, user, settings, capabilities, query.from_user.full_name
        )


async def on_consent(
    query: CallbackQuery,
    callback_data: CDConsent,
    state: FSMContext,
    session: AsyncSession,
    i18n: I18n,
    settings: Settings,
    callback_answer: CallbackAnswer,
    capabilities: Registry,
) -> None:
    message = callback_message(query)
    await message.edit_reply_markup(reply_markup=None)
    if not callback_data.agree:
        # Declining leaves nothing: the dialog state (the only trace) is removed.
        await state.clear()
        await message.answer(t("onboarding-consent-declined"))
        return
    language = (await state.get_data()).get(LANGUAGE_KEY, i18n.current_locale)
    user = await users.give_consent(
        session, query.from_user.id, language=language, username=query.from_user.username
    )
    # From here the language lives in the user's record.
    data = await state.get_data()
    data.pop(LANGUAGE_KEY, None)
    await state.set_data(data)
    toast(callback_answer, "onboarding-consent-given")
    await message.answer(t("onboarding-consent-given"))
    await ask_next(message, state, session, user, settings, capabilities, query.from_user.full_name)


async def _save_name(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User,
    raw: str,
    settings: Settings,
    capabilities: Registry,
) -> None:
    try:
        await users.set_name(session, user, raw, max_length=settings.name_max_length)
    except InvalidInput as exc:
        await message.answer(t(exc.key, **exc.params))
        return
    await message.answer(t("onboarding-name-saved", name=user.name or ""))
    await ask_next(message, state, session, user, settings, capabilities)


async def on_name(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    capabilities: Registry,
) -> None:
    if user is None:
        # The record vanished (erased from another device): start over.
        await state.clear()
        await ask_next(
            message, state, session, None, settings, capabilities, sender(message).full_name
        )
        return
    await _save_name(message, state, session, user, message.text or "", settings, capabilities)


async def on_telegram_name(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    capabilities: Registry,
) -> None:
    message = callback_message(query)
    if user is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    await _save_name(
        message, state, session, user, query.from_user.full_name, settings, capabilities
    )


async def on_district_page(
    query: CallbackQuery, callback_data: CDDistrictPage, session: AsyncSession
) -> None:
    await turn_district_page(query, session, callback_data.page, "onboarding-district-unknown")


async def on_district(
    query: CallbackQuery,
    callback_data: CDDistrict,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    capabilities: Registry,
) -> None:
    message = callback_message(query)
    if user is None:
        raise StaleButton()
    await users.set_district(session, user, callback_data.id or None)
    chosen = user.district.name if user.district else plain("onboarding-district-unknown")
    await message.edit_text(t("onboarding-district-chosen", district=chosen))
    await finish(message, state, session, user, capabilities)


async def on_buttons_expected(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    capabilities: Registry,
) -> None:
    await expect_buttons(message)
    await ask_next(message, state, session, user, settings, capabilities, sender(message).full_name)


async def on_name_not_text(message: Message) -> None:
    await expect_text(message)


async def on_district_text(message: Message, session: AsyncSession) -> None:
    await expect_buttons(message, await district_picker(session))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="onboarding")
    router.message.register(cmd_start, CommandStart())
    router.callback_query.register(
        on_language,
        Onboarding.language,
        CDLanguage.filter(F.code.in_(NAMES)),
    )
    router.callback_query.register(on_consent, Onboarding.consent, CDConsent.filter())
    router.message.register(on_name, Onboarding.name, TEXT_INPUT)
    router.callback_query.register(on_telegram_name, Onboarding.name, CDTelegramName.filter())
    router.callback_query.register(on_district_page, Onboarding.district, CDDistrictPage.filter())
    router.callback_query.register(on_district, Onboarding.district, CDDistrict.filter())
    router.message.register(on_buttons_expected, Onboarding.consent)
    router.message.register(on_buttons_expected, Onboarding.language)
    router.message.register(on_name_not_text, Onboarding.name, NOT_TEXT)
    router.message.register(on_district_text, Onboarding.district)
    return router


capability = Capability(
    name="onboarding",
    setup=setup,
    commands=(CommandSpec("start", ANYONE, on_home=False),),
    public_callbacks=(CDConsent, CDTelegramName, CDDistrict, CDDistrictPage),
)
