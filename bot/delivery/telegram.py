"""The delivery engine's Sender on top of an aiogram Bot: Telegram's errors become the engine's."""

from __future__ import annotations

import asyncio
import hashlib

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
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
)

from bot.delivery.sender import (
    Buttons,
    SendBlocked,
    SendError,
    SendFailed,
    SendGone,
    SendNetworkError,
    SendRetryAfter,
    SendUnauthorized,
)


class AiogramSender:
    """Sends HTML text, a photo or a document (with the text as its caption) through `bot`."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        # A file the bot made is uploaded once; every later recipient gets it by its file id.
        self._uploaded: dict[bytes, str] = {}
        self._uploading: dict[bytes, asyncio.Lock] = {}

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        media_kind: str | None = None,
        media_file_id: str | None = None,
        media_data: bytes | None = None,
        media_name: str | None = None,
        buttons: Buttons | None = None,
    ) -> int:
        markup = _markup(buttons)
        try:
            if media_data is not None and media_file_id is None:
                message = await self._upload(
                    chat_id, text, media_kind, media_data, media_name, markup
                )
            else:
                message = await self._send(chat_id, text, media_kind, media_file_id, markup)
        except TelegramAPIError as exc:
            raise _outcome(exc) from exc
        return message.message_id

    async def edit(
        self, chat_id: int, message_id: int, text: str, *, caption: bool = False
    ) -> None:
        try:
            if caption:
                await self.bot.edit_message_caption(
                    chat_id=chat_id,
                    message_id=message_id,
                    caption=text,
                    parse_mode=ParseMode.HTML,
                )
            else:
                await self.bot.edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML
                )
        except TelegramBadRequest as exc:
            # Telegram's own words; its error codes do not tell these cases apart.
            reason = exc.message.lower()
            if "message is not modified" in reason:
                return  # the channel already shows this text
            if "message to edit not found" in reason:
                raise SendGone(exc.message) from exc
            raise _outcome(exc) from exc
        except TelegramAPIError as exc:
            raise _outcome(exc) from exc

    async def authorized(self) -> bool:
        try:
            await self.bot.get_me()
        except TelegramUnauthorizedError:
            return False
        except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
            raise SendNetworkError(str(exc)) from exc
        return True

    async def _upload(
        self,
        chat_id: int,
        text: str,
        media_kind: str | None,
        data: bytes,
        name: str | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Message:
        key = hashlib.sha256(data).digest()
        # The first send uploads; the others wait for its file id rather than upload again.
        async with self._uploading.setdefault(key, asyncio.Lock()):
            file_id = self._uploaded.get(key)
            if file_id is not None:
                return await self._send(chat_id, text, media_kind, file_id, markup)
            upload = BufferedInputFile(data, filename=name or "file")
            message = await self._send(chat_id, text, media_kind, upload, markup)
            sent = message.photo[-1].file_id if message.photo else None
            if message.document is not None:
                sent = message.document.file_id
            if sent is not None:
                self._uploaded[key] = sent
            return message

    async def _send(
        self,
        chat_id: int,
        text: str,
        media_kind: str | None,
        media: str | InputFile | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Message:
        if media_kind is None:
            return await self.bot.send_message(
                chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        if media is None:
            raise SendFailed(f"{media_kind} without a file")
        caption = text or None
        if media_kind == "photo":
            return await self.bot.send_photo(
                chat_id, media, caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        if media_kind == "document":
            return await self.bot.send_document(
                chat_id, media, caption=caption, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        raise SendFailed(f"unknown media kind: {media_kind}")


def _outcome(exc: TelegramAPIError) -> SendError:
    """The engine's outcome for one of Telegram's errors."""
    if isinstance(exc, TelegramRetryAfter):
        return SendRetryAfter(float(exc.retry_after))
    if isinstance(exc, TelegramForbiddenError):
        return SendBlocked(exc.message)
    if isinstance(exc, TelegramNetworkError | TelegramServerError):
        return SendNetworkError(exc.message)
    if isinstance(exc, TelegramUnauthorizedError):
        # A revoked token stops every message, not this one: keep them for after the fix.
        return SendUnauthorized(exc.message)
    return SendFailed(exc.message)  # a bad request, and whatever else Telegram refuses


def _markup(buttons: Buttons | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=label, callback_data=data) for label, data in row]
            for row in buttons
        ]
    )
