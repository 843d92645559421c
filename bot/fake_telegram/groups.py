"""Chats that are not a private chat with one person: groups, supergroups and channels, where
people (or nobody: an anonymous admin, the channel itself) write and the bot may read."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from bot.fake_telegram.types import ChatMessage
from bot.fake_telegram.validation import utf16_len

if TYPE_CHECKING:
    from bot.fake_telegram.chats import Chats
    from bot.fake_telegram.user import FakeUser

# The account Telegram shows as the sender of an anonymous group admin's messages.
GROUP_ANONYMOUS_BOT = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}


class FakeGroup:
    """A group, supergroup or channel the bot is a member of (chat ids are negative)."""

    def __init__(self, server: Chats, chat_id: int, title: str, chat_type: str) -> None:
        if chat_type not in ("group", "supergroup", "channel"):
            raise ValueError(f"not a shared chat type: {chat_type}")
        self.server = server
        self.id = chat_id
        self.title = title
        self.type = chat_type
        # What the bot did to the chat, kept as for a person's chat (the methods share the code).
        self.reply_keyboard: list[list[str]] | None = None
        self.chat_actions: list[str] = []

    def __repr__(self) -> str:
        return f"FakeGroup({self.id}, {self.title!r}, {self.type})"

    @property
    def chat_id(self) -> int:
        return self.id

    def chat_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "title": self.title}

    @property
    def messages(self) -> list[ChatMessage]:
        return list(self.server.chat(self.id))

    @property
    def bot_messages(self) -> list[ChatMessage]:
        return [m for m in self.server.chat(self.id) if m.from_bot]

    def message(self, message_id: int) -> ChatMessage:
        return self.server.get_message(self.id, message_id)

    def send(
        self,
        text: str,
        *,
        by: FakeUser | None = None,
        anonymous: bool = False,
        with_from: bool = True,
    ) -> int:
        """A text message in the chat: from `by`, or (anonymous) from the chat itself, shown as
        Telegram's GroupAnonymousBot unless `with_from` is False (no `from` at all, as in a
        channel post). Returns the update id."""
        entities = []
        if text.startswith("/"):
            command = text.split()[0]
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
        sender: dict[str, Any] | None = None
        sender_chat: dict[str, Any] | None = None
        if by is not None and not anonymous:
            sender = by.as_json()
        else:
            sender_chat = self.chat_json()
            if with_from and self.type != "channel":
                sender = dict(GROUP_ANONYMOUS_BOT)
        return self.server.group_message(
            self,
            sender=sender,
            sender_chat=sender_chat,
            text=text,
            html=html.escape(text, quote=False),
            entities=entities,
        )

    def left_by_bot(self, text: str, buttons: list[tuple[str, str]]) -> ChatMessage:
        """A bot message already in the chat, as an older version of a bot could have left it,
        with one callback button per (text, data)."""
        markup = {"inline_keyboard": [[{"text": b, "callback_data": d}] for b, d in buttons]}
        return self.server.bot_message(
            self.id, text=text, html=html.escape(text, quote=False), reply_markup=markup
        )

    def delete(self, message_id: int) -> None:
        """An admin deletes a message in the chat (the bot is not told: there is no update)."""
        self.server.get_message(self.id, message_id).deleted = True

    def press(self, user: FakeUser, message_id: int, data: str) -> int:
        """A person presses a button of a bot message in this chat (returns the update id)."""
        return self.server.callback_query(user, self.server.get_message(self.id, message_id), data)
