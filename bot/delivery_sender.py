"""The delivery engine's Sender on top of an aiogram Bot: Telegram's errors become the engine's."""

from __future__ import annotations

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import Message

from bot.services.delivery import SendBlocked, SendFailed, SendNetworkError, SendRetryAfter


class AiogramSender:
    """Sends HTML text, a photo or a document (with the text as its caption) through `bot`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        media_kind: str | None = None,
        media_file_id: str | None = None,
    ) -> int:
        try:
            message = await self._send(chat_id, text, media_kind, media_file_id)
        except TelegramRetryAfter as exc:
            raise SendRetryAfter(float(exc.retry_after)) from exc
        except TelegramForbiddenError as exc:
            raise SendBlocked(exc.message) from exc
        except TelegramBadRequest as exc:
            raise SendFailed(exc.message) from exc
        except (TelegramNetworkError, TelegramServerError) as exc:
            raise SendNetworkError(exc.message) from exc
        except TelegramUnauthorizedError as exc:
            # A revoked token stops every message, not this one: keep them for after the fix.
            raise SendNetworkError(exc.message) from exc
        except TelegramAPIError as exc:
            raise SendFailed(exc.message) from exc
        return message.message_id

    async def _send(
        self, chat_id: int, text: str, media_kind: str | None, media_file_id: str | None
    ) -> Message:
        if media_kind is None:
            return await self.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
        if media_file_id is None:
            raise SendFailed(f"{media_kind} without a file")
        caption = text or None
        if media_kind == "photo":
            return await self.bot.send_photo(
                chat_id, media_file_id, caption=caption, parse_mode=ParseMode.HTML
            )
        if media_kind == "document":
            return await self.bot.send_document(
                chat_id, media_file_id, caption=caption, parse_mode=ParseMode.HTML
            )
        raise SendFailed(f"unknown media kind: {media_kind}")
