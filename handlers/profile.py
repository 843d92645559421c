"""A person's own data: /me, /language, /privacy and /delete_me."""

from __future__ import annotations

import hmac
import secrets

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import alert, callback_message
from bot.capabilities import ANYONE, Capability, CommandSpec
from bot.config import Settings
from bot.keyboards.common import (
    CDDeleteMe,
    CDLanguage,
    delete_me_keyboard,
    language_keyboard,
)
from bot.languages import NAMES
from bot.middlewares.i18n import LANGUAGE_KEY
from bot.services import users
from bot.services.permissions import require_registered
from bot.storage import forget_dialogs
from bot.texts import SafeHTML, t
from handlers.onboarding import Onboarding
from models import Role, User

DELETE_CODE_KEY = "delete_me_code"


async def cmd_me(message: Message, session: AsyncSession, user: User | None) -> None:
    user = require_registered(user)
    info = await users.profile(session, user)
    dash = t("profile-none")
    roles = ", ".join(t(f"role-{role.value}") for role in info.roles) or dash
    organizations = ", ".join(info.organizations) or dash
    await message.answer(
        t(
            "profile-card",
            name=info.name or dash,
            district=info.district or t("profile-district-unknown"),
            roles=SafeHTML(roles),
            organizations=organizations,
        )
    )


async def cmd_language(message: Message) -> None:
    await message.answer(t("language-choose"), reply_markup=language_keyboard())


# In onboarding the same buttons move the dialog on; that router handles them.
async def on_language(
    query: CallbackQuery,
    callback_data: CDLanguage,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    i18n: I18n,
) -> None:
    if user is not None and user.consent_at is not None:
        await users.set_language(session, user, callback_data.code)
    else:
        # A guest: keep the choice in the dialog state, not in a record about them.
        await state.update_data({LANGUAGE_KEY: callback_data.code})
    with i18n.use_locale(callback_data.code):
        await callback_message(query).edit_text(
            t("language-set", language=NAMES[callback_data.code])
        )


async def cmd_privacy(message: Message, user: User | None, settings: Settings) -> None:
    text = t("privacy-text")
    if user is not None and user.consent_at is not None:
        text = SafeHTML(
            text
            + "\n\n"
            + t(
                "privacy-consent-given",
                date=dates.shown_datetime(user.consent_at, settings.timezone),
                version=user.consent_version or "",
            )
        )
    await message.answer(text)


async def cmd_delete_me(message: Message, state: FSMContext, user: User | None) -> None:
    if user is None or user.consent_at is None:
        await message.answer(t("delete-me-nothing"))
        return
    # The confirmation is part of the rule: only the buttons of this very question erase, so a
    # forged `delme:1` (or an old button) cannot skip it.
    code = secrets.token_hex(4)
    await state.update_data({DELETE_CODE_KEY: code})
    await message.answer(t("delete-me-ask"), reply_markup=delete_me_keyboard(code))


async def on_delete_me(
    query: CallbackQuery,
    callback_data: CDDeleteMe,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    expected = str((await state.get_data()).get(DELETE_CODE_KEY) or "")
    if not expected or not hmac.compare_digest(expected, callback_data.code):
        alert(callback_answer, "delete-me-stale")
        return
    data = await state.get_data()
    data.pop(DELETE_CODE_KEY, None)
    await state.set_data(data)
    if not callback_data.confirm:
        await message.edit_text(t("delete-me-kept"))
        return
    if user is None:
        await message.edit_text(t("delete-me-nothing"))
        return
    telegram_id = user.telegram_id
    await users.erase_user(session, user)
    await state.clear()
    if telegram_id is not None:
        # Dialogs kept outside the database (Redis) are forgotten too.
        await forget_dialogs(state.storage, telegram_id)
    await message.edit_text(t("delete-me-done"))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="profile")
    router.message.register(cmd_me, Command("me"))
    router.message.register(cmd_language, Command("language"))
    router.callback_query.register(
        on_language,
        CDLanguage.filter(F.code.in_(NAMES)),
        ~StateFilter(Onboarding.language),
    )
    router.message.register(cmd_privacy, Command("privacy"))
    router.message.register(cmd_delete_me, Command("delete_me"))
    router.callback_query.register(on_delete_me, CDDeleteMe.filter())
    return router


capability = Capability(
    name="profile",
    setup=setup,
    commands=(
        CommandSpec("me"),
        CommandSpec("language", ANYONE),
        CommandSpec("privacy", ANYONE),
        CommandSpec("delete_me"),
    ),
    keys=lambda: {f"role-{role.value}" for role in Role},
    public_callbacks=(CDLanguage, CDDeleteMe),
)
