"""Loads the person behind the update, with their roles, before any handler runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TgUser

from bot.cache.people import load_person
from bot.services import users


class UserMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        user = None
        if tg_user is not None:
            # Only people who consented (or admins from settings) have a row; guests stay None.
            user = await load_person(data["session"], tg_user.id)
            if user is not None and user.blocked_at is not None:
                # They write to the bot again, so they unblocked it: deliveries resume.
                await users.mark_reachable(data["session"], user)
        data["user"] = user
        return await handler(event, data)
