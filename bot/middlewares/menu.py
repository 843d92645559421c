"""Keeps each person's command menu in step with their roles: after an update whose
transaction granted or revoked a role, the menus of the people concerned are set again."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommandScopeChat, TelegramObject
from aiogram.utils.i18n import I18n
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.capabilities import Registry
from bot.languages import language_of
from bot.menu import set_personal_menu
from bot.services.users import ERASED_TELEGRAM_IDS, ROLES_CHANGED
from models import User

logger = logging.getLogger("bot.menu")


class MenuMiddleware(BaseMiddleware):
    """Wraps the database middleware, so it runs after the update's transaction committed."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        i18n: I18n,
        registry: Registry,
        default_language: str,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.registry = registry
        self.i18n = i18n
        self.default_language = default_language

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        result = await handler(event, data)
        session: AsyncSession | None = data.get("session")
        if session is None:
            return result
        changed: set[int] = session.info.pop(ROLES_CHANGED, set())
        erased: set[int] = session.info.pop(ERASED_TELEGRAM_IDS, set())
        if changed or erased:
            await self._refresh(data["bot"], changed, erased)
        return result

    async def _refresh(self, bot: Bot, user_ids: set[int], erased: set[int]) -> None:
        try:
            for telegram_id in erased:
                await bot.delete_my_commands(BotCommandScopeChat(chat_id=telegram_id))
            async with self.sessionmaker() as session:
                people = await session.scalars(select(User).where(User.id.in_(user_ids)))
                for person in people:
                    if person.telegram_id is None:
                        continue
                    await set_personal_menu(
                        bot,
                        self.i18n,
                        self.registry,
                        person.telegram_id,
                        person.role_set,
                        language_of(person.language, self.default_language),
                    )
        except TelegramAPIError as exc:
            # The menu is a convenience: the commands themselves check roles on every call.
            logger.warning("could not refresh command menus: %s", exc)
