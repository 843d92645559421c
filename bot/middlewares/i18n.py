"""The language of an update: the saved one, else the one picked in onboarding, else Telegram's."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18nMiddleware

from bot.languages import LANGUAGES
from models import User

# FSM data key holding the language a guest picked before consenting (nothing is stored on them).
LANGUAGE_KEY = "language"


def telegram_language(tg_user: TgUser | None, default: str) -> str:
    code = (tg_user.language_code or "").split("-")[0].lower() if tg_user else ""
    return code if code in LANGUAGES else default


class UserI18nMiddleware(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        if user is not None and user.language in LANGUAGES:
            return user.language
        state: FSMContext | None = data.get("state")
        if state is not None:
            chosen = (await state.get_data()).get(LANGUAGE_KEY)
            if chosen in LANGUAGES:
                return chosen
        return telegram_language(data.get("event_from_user"), self.i18n.default_locale)
