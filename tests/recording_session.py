"""An in-process Bot API session that answers like Telegram and records every call.

For fast handler tests and benchmarks, where the HTTP fake server would measure the network stack
instead of the bot. Dialog tests use the HTTP fake (`bot.fake_telegram`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, User


class RecordingSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self._ids = itertools.count(1)

    def _message(self, bot: Bot, chat_id: int | str, **fields: Any) -> Message:
        return Message(
            message_id=next(self._ids),
            date=int(time.time()),
            chat=Chat(id=int(chat_id), type="private"),
            from_user=User(id=bot.id, is_bot=True, first_name="Bot"),
            **fields,
        )

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        self.requests.append(method)
        result: Any
        if isinstance(method, SendMessage):
            result = self._message(
                bot, method.chat_id, text=method.text, reply_markup=method.reply_markup
            )
        elif isinstance(method, EditMessageText):
            result = self._message(
                bot, method.chat_id or 0, text=method.text, reply_markup=method.reply_markup
            )
        elif isinstance(method, EditMessageReplyMarkup):
            result = self._message(bot, method.chat_id or 0, reply_markup=method.reply_markup)
        elif isinstance(method, AnswerCallbackQuery):
            result = True
        else:
            result = True
        return result  # type: ignore[no-any-return]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        return None

    def sent_texts(self, chat_id: int | None = None) -> list[str]:
        return [
            r.text
            for r in self.requests
            if isinstance(r, SendMessage | EditMessageText)
            and (chat_id is None or r.chat_id == chat_id)
        ]
