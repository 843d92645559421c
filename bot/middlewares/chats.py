"""The bot serves people in their private chats with it, and nothing else.

In a group the bot would answer `/me` with the person's profile for everyone to read, and an
update without a person behind it (an anonymous group admin, a channel post) has nobody to
serve. Such updates are dropped before any session, user or handler sees them. A capability that
one day works in a group has to be let through here explicitly, with what it answers there.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, Update
from aiogram.types import User as TgUser

logger = logging.getLogger("bot.chats")


def is_served(chat: Chat | None, person: TgUser | None) -> bool:
    """A person, in their private chat with the bot (an anonymous admin is a bot account)."""
    return (
        chat is not None
        and chat.type == ChatType.PRIVATE
        and person is not None
        and not person.is_bot
        and person.id == chat.id
    )


class PrivateChatsOnly(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        person: TgUser | None = data.get("event_from_user")
        if is_served(chat, person):
            return await handler(event, data)
        if isinstance(event, Update) and event.callback_query is not None:
            # A button left in a group by an older version of the bot: stop its spinner, quietly.
            bot: Bot = data["bot"]
            with contextlib.suppress(TelegramAPIError):
                await bot.answer_callback_query(event.callback_query.id)
        logger.debug(
            "update %s ignored: not a person's private chat (%s)",
            getattr(event, "update_id", "?"),
            chat.type if chat is not None else "no chat",
        )
        return None
