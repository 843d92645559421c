"""The fake user: a person in a private chat with the bot, who sends messages, presses buttons
and reads the chat as they would see it."""

from __future__ import annotations

import copy
import html
import mimetypes
import re
import secrets
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from bot.fake_telegram.types import (
    HANDLING_TIMEOUT,
    CallbackAnswer,
    ChatMessage,
    document_json,
    fake_image,
)
from bot.fake_telegram.validation import utf16_len

if TYPE_CHECKING:
    from bot.fake_telegram.chats import Chats

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")


class FakeUser:
    """A person in a private chat with the bot (the chat id is the user id)."""

    def __init__(
        self,
        server: Chats,
        user_id: int,
        first_name: str,
        *,
        language_code: str | None,
        username: str | None,
        last_name: str | None,
    ) -> None:
        self.server = server
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[str] = []
        # The reply keyboard the bot showed last (texts by row), None when removed or never sent.
        self.reply_keyboard: list[list[str]] | None = None
        self.chat_instance = str(secrets.randbits(62))

    def __repr__(self) -> str:
        return f"FakeUser({self.id}, {self.first_name!r})"

    @property
    def chat_id(self) -> int:
        return self.id

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data

    def chat_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        return data

    # The chat as the user sees it.

    @property
    def messages(self) -> list[ChatMessage]:
        """Every message of the chat, both directions, oldest first (deleted ones flagged)."""
        return list(self.server.chat(self.id))

    @property
    def bot_messages(self) -> list[ChatMessage]:
        return [m for m in self.server.chat(self.id) if m.from_bot]

    @property
    def last(self) -> ChatMessage | None:
        """The newest bot message that is still there."""
        return next((m for m in reversed(self.bot_messages) if not m.deleted), None)

    def button_texts(self, msg: ChatMessage | None = None) -> list[str]:
        """Texts of the inline buttons of `msg` (default: the newest bot message), row by row."""
        target = msg if msg is not None else self.last
        return [] if target is None else [b.text for b in target.flat_buttons]

    def message(self, message_id: int) -> ChatMessage:
        return self.server.get_message(self.id, message_id)

    # Sending.

    async def send(self, text: str) -> int:
        entities = []
        if command := _COMMAND.match(text):
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
        return self.server.user_message(
            self, text=text, html=html.escape(text, quote=False), entities=entities
        )

    async def send_photo(
        self,
        caption: str | None = None,
        *,
        content: bytes | None = None,
        media_group_id: str | None = None,
    ) -> int:
        sizes = self.server.photo_sizes(content)
        extra: dict[str, Any] = {"media_group_id": media_group_id} if media_group_id else {}
        return self.server.user_message(self, photo=sizes, **_caption(caption), **extra)

    async def send_album(self, count: int, caption: str | None = None) -> int:
        """Several photos sent at once: a message each, with one media_group_id, the caption on
        the first (as Telegram clients send them); returns the last update's id."""
        group = str(secrets.randbits(60))
        last = 0
        for index in range(count):
            last = await self.send_photo(caption if index == 0 else None, media_group_id=group)
        return last

    async def send_voice(self, seconds: int = 3) -> int:
        stored = self.server.store_file(b"OggS" + bytes(64), "voice", None, "audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": seconds,
            "mime_type": "audio/ogg",
            "file_size": len(stored.content),
        }
        return self.server.user_message(self, voice=voice)

    async def send_document(
        self,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> int:
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self.server.store_file(content, "documents", filename, mime)
        return self.server.user_message(self, document=document_json(stored), **_caption(caption))

    async def send_contact(self, phone_number: str, first_name: str | None = None) -> int:
        contact: dict[str, Any] = {
            "phone_number": phone_number,
            "first_name": first_name or self.first_name,
        }
        if first_name is None:
            # Sharing one's own contact carries the user id; a third person's does not.
            contact["user_id"] = self.id
            if self.last_name:
                contact["last_name"] = self.last_name
        return self.server.user_message(self, contact=contact)

    async def send_location(self, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return self.server.user_message(self, location=location)

    async def send_sticker(self, emoji: str = "👍") -> int:
        stored = self.server.store_file(fake_image(2048), "stickers", None, "image/webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.content),
        }
        return self.server.user_message(self, sticker=sticker)

    async def press(self, button: str, message_id: int | None = None) -> int:
        """Press an inline button found by its text (or its callback_data)."""
        target, data = self._find_button(button, message_id)
        return self.server.callback_query(self, target, data)

    async def press_data(self, message_id: int, data: str) -> int:
        """Send any callback data for a message, as a forged or outdated client could."""
        return self.server.callback_query(self, self.message(message_id), data)

    # Sending and waiting until the bot has handled it.

    async def say(self, text: str, *, timeout: float = HANDLING_TIMEOUT) -> list[ChatMessage]:
        return await self._round_trip(self.send(text), timeout)

    async def click(
        self, button: str, message_id: int | None = None, *, timeout: float = HANDLING_TIMEOUT
    ) -> list[ChatMessage]:
        return await self._round_trip(self.press(button, message_id), timeout)

    async def click_data(
        self, message_id: int, data: str, *, timeout: float = HANDLING_TIMEOUT
    ) -> list[ChatMessage]:
        return await self._round_trip(self.press_data(message_id, data), timeout)

    async def say_photo(
        self,
        caption: str | None = None,
        *,
        content: bytes | None = None,
        timeout: float = HANDLING_TIMEOUT,
    ) -> list[ChatMessage]:
        return await self._round_trip(self.send_photo(caption, content=content), timeout)

    async def say_album(
        self, count: int, caption: str | None = None, *, timeout: float = HANDLING_TIMEOUT
    ) -> list[ChatMessage]:
        """An album of `count` photos; waits until the bot has handled every one of them."""
        return await self._round_trip(self.send_album(count, caption), timeout)

    async def say_voice(
        self, seconds: int = 3, *, timeout: float = HANDLING_TIMEOUT
    ) -> list[ChatMessage]:
        return await self._round_trip(self.send_voice(seconds), timeout)

    async def say_document(
        self,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
        *,
        timeout: float = HANDLING_TIMEOUT,
    ) -> list[ChatMessage]:
        sending = self.send_document(filename, content, mime_type, caption)
        return await self._round_trip(sending, timeout)

    async def say_contact(
        self, phone_number: str, first_name: str | None = None, *, timeout: float = HANDLING_TIMEOUT
    ) -> list[ChatMessage]:
        return await self._round_trip(self.send_contact(phone_number, first_name), timeout)

    async def say_location(
        self, latitude: float, longitude: float, *, timeout: float = HANDLING_TIMEOUT
    ) -> list[ChatMessage]:
        return await self._round_trip(self.send_location(latitude, longitude), timeout)

    async def say_sticker(
        self, emoji: str = "👍", *, timeout: float = HANDLING_TIMEOUT
    ) -> list[ChatMessage]:
        return await self._round_trip(self.send_sticker(emoji), timeout)

    async def _round_trip(self, sending: Awaitable[int], timeout: float) -> list[ChatMessage]:
        """The bot messages sent or edited in this chat while the update was handled, as they
        are now (copies, so later edits do not change them); deleted ones are left out."""
        seq = self.server.seq
        update_id = await sending
        await self.server.wait_processed(update_id, timeout)
        seen: dict[int, None] = {}
        for event in self.server.events_since(seq):
            if event.chat_id == self.id and event.kind in ("sent", "edited"):
                seen.setdefault(event.message_id or 0, None)
        messages = (self.server.get_message(self.id, mid) for mid in seen)
        return [copy.copy(m) for m in messages if not m.deleted]

    def _find_button(self, wanted: str, message_id: int | None) -> tuple[ChatMessage, str]:
        if message_id is not None:
            candidates = [self.message(message_id)]
        else:
            candidates = [m for m in reversed(self.bot_messages) if not m.deleted]
        for attribute in ("text", "callback_data"):
            for msg in candidates:
                for button in msg.flat_buttons:
                    if getattr(button, attribute) == wanted:
                        if button.callback_data is None:
                            raise AssertionError(
                                f"button {wanted!r} of message {msg.message_id} is not a "
                                f"callback button: {button.raw}"
                            )
                        return msg, button.callback_data
        visible = {m.message_id: texts for m in candidates if (texts := self.button_texts(m))}
        where = f"message {message_id}" if message_id is not None else "the chat"
        raise AssertionError(
            f"no button {wanted!r} in {where} of user {self.id}; visible buttons by message: "
            f"{visible or 'none'}"
        )


def _caption(caption: str | None) -> dict[str, Any]:
    if caption is None:
        return {}
    return {"text": caption, "html": html.escape(caption, quote=False)}
