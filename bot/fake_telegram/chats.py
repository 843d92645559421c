"""The fake server's state: users and their chats, stored files, the queue of updates for the
bot and the log of what the bot did in each chat."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import mimetypes
import secrets
import time
from typing import Any

from bot.fake_telegram.groups import FakeGroup
from bot.fake_telegram.types import (
    BOT_FIRST_NAME,
    BOT_USERNAME,
    DEFAULT_ALLOWED_UPDATES,
    HANDLING_TIMEOUT,
    CallbackAnswer,
    ChatEvent,
    ChatMessage,
    Query,
    Signal,
    StoredFile,
    Webhook,
    as_int,
    fake_image,
    scope_key,
    update_kind,
)
from bot.fake_telegram.user import FakeUser
from bot.fake_telegram.validation import bad_request

# A chat the bot can write to: a person's private chat, or a group or channel.
FakeChat = FakeUser | FakeGroup


class Chats:
    """The server's state: users and their chats, files, the update queue and the event log."""

    def __init__(self) -> None:
        self._closing = False

        self.events: list[ChatEvent] = []
        self._bot_id = 0

        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._chats: dict[int, list[ChatMessage]] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_paths: dict[str, StoredFile] = {}
        self._queries: dict[str, Query] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}

        self._updates: list[dict[str, Any]] = []  # queued, not yet confirmed
        self._next_update_id = 1
        self._confirmed = 1  # every update below this id is confirmed by getUpdates' offset
        self._done: set[int] = set()  # confirmed otherwise: delivered by webhook or dropped
        self._allowed: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._webhook: Webhook | None = None
        self._poll_generation = 0
        self._last_poll: tuple[float, int | None] | None = None
        self._arrived = Signal()
        self._progress = Signal()
        self._counter = 0

    @property
    def url(self) -> str:
        """Where the bot reaches the server; the HTTP layer knows, a stall report needs it."""
        raise NotImplementedError

    # Users and chats.

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        language_code: str | None = "ru",
        username: str | None = None,
        last_name: str | None = None,
    ) -> FakeUser:
        """The user with this id, created on first use (later calls return the same object)."""
        if user_id not in self._users:
            self._users[user_id] = FakeUser(
                self,
                user_id,
                first_name,
                language_code=language_code,
                username=username,
                last_name=last_name,
            )
            self._chats[user_id] = []
        return self._users[user_id]

    def group(
        self, chat_id: int, title: str = "Test group", *, chat_type: str = "supergroup"
    ) -> FakeGroup:
        """The group (or channel) with this id, created on first use; ids are negative."""
        if chat_id >= 0:
            raise ValueError("group and channel ids are negative")
        if chat_id not in self._groups:
            self._groups[chat_id] = FakeGroup(self, chat_id, title, chat_type)
            self._chats[chat_id] = []
        return self._groups[chat_id]

    @property
    def users(self) -> list[FakeUser]:
        return list(self._users.values())

    def chat(self, chat_id: int) -> list[ChatMessage]:
        return self._chats.get(chat_id, [])

    def get_message(self, chat_id: int, message_id: int) -> ChatMessage:
        for msg in self.chat(chat_id):
            if msg.message_id == message_id:
                return msg
        raise AssertionError(f"no message {message_id} in chat {chat_id}")

    def commands(
        self,
        scope_type: str = "default",
        chat_id: int | str | None = None,
        language_code: str = "",
        *,
        user_id: int | None = None,
    ) -> list[dict[str, Any]]:
        """The command menu the bot set for a scope and language (empty when none)."""
        scope: dict[str, Any] = {"type": scope_type}
        if chat_id is not None:
            scope["chat_id"] = chat_id
        if user_id is not None:
            scope["user_id"] = user_id
        return copy.deepcopy(self._commands.get((scope_key(scope), language_code), []))

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any] | None:
        return self._menu_buttons.get(chat_id)

    def files(self) -> list[StoredFile]:
        return list(self._files.values())

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    # Updates.

    @property
    def last_update_id(self) -> int | None:
        return self._next_update_id - 1 if self._next_update_id > 1 else None

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._updates)

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    @property
    def webhook_secret(self) -> str | None:
        """The secret_token the bot registered with its webhook (None: none, or no webhook)."""
        return self._webhook.secret_token if self._webhook else None

    def add_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (its update_id is assigned here) and return its id."""
        update_id = self._next_update_id
        self._next_update_id += 1
        update = {"update_id": update_id, **{k: v for k, v in update.items() if k != "update_id"}}
        kind = next((k for k in update if k != "update_id"), "")
        if kind not in self._allowed:
            # Telegram never creates updates a bot did not subscribe to.
            self._mark_done([update_id])
            return update_id
        self._updates.append(update)
        self._arrived.fire()
        return update_id

    def is_processed(self, update_id: int) -> bool:
        return update_id < self._confirmed or update_id in self._done

    async def wait_processed(self, update_id: int, timeout: float = HANDLING_TIMEOUT) -> None:
        """Until the bot has confirmed the update (a later getUpdates offset, or the webhook
        answered); TimeoutError says what the bot was doing instead."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.is_processed(update_id):
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                raise TimeoutError(self._stall_report(update_id, timeout))
            await self._progress.wait(remaining)

    def _stall_report(self, update_id: int, timeout: float) -> str:
        head = f"update {update_id} was not processed within {timeout:g}s"
        if self._webhook is not None:
            error = self._webhook.last_error_message or "none"
            return f"{head}; webhook {self._webhook.url}, last delivery error: {error}"
        if self._last_poll is None:
            return f"{head}; the bot has never called getUpdates (is it polling {self.url}?)"
        at, offset = self._last_poll
        return (
            f"{head}; the bot last called getUpdates {time.monotonic() - at:.1f}s ago with "
            f"offset {offset} ({len(self._updates)} updates queued); is a handler stuck?"
        )

    def _mark_done(self, update_ids: list[int]) -> None:
        self._done.update(update_ids)
        self._progress.fire()

    def _confirm(self, offset: int) -> None:
        if offset <= self._confirmed:
            return
        self._confirmed = offset
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        self._progress.fire()

    def _drop_pending(self) -> None:
        dropped = [u["update_id"] for u in self._updates]
        self._updates.clear()
        self._mark_done(dropped)

    def _set_allowed(self, allowed: list[str] | None) -> None:
        if allowed is None:
            return  # Telegram keeps the previous setting
        self._allowed = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        refused = [u["update_id"] for u in self._updates if update_kind(u) not in self._allowed]
        if refused:
            self._updates = [u for u in self._updates if u["update_id"] not in refused]
            self._mark_done(refused)

    # Events in chats.

    @property
    def seq(self) -> int:
        """The sequence number the next chat event will get."""
        return len(self.events)

    def events_since(self, seq: int) -> list[ChatEvent]:
        return self.events[seq:]

    def _log(
        self,
        chat_id: int,
        kind: str,
        message_id: int | None = None,
        answer: CallbackAnswer | None = None,
    ) -> None:
        self.events.append(ChatEvent(len(self.events), chat_id, kind, message_id, answer))

    # Building messages and updates.

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter:06d}{secrets.token_hex(6)}"

    def store_file(
        self, content: bytes, folder: str, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        file_id = self._next_id("BQACAgIAAx")
        suffix = (mimetypes.guess_extension(mime_type or "") or "") if not file_name else ""
        name = file_name or f"file_{self._counter}{suffix}"
        path = f"{folder}/{self._counter}_{name}"
        stored = StoredFile(file_id, self._next_id("AgAD"), path, content, file_name, mime_type)
        self._files[file_id] = stored
        self._file_paths[path] = stored
        return stored

    def photo_sizes(self, content: bytes | None) -> list[dict[str, Any]]:
        sizes = []
        for width, height, size in ((90, 67, 1_500), (320, 240, 12_000), (800, 600, 60_000)):
            data = content if content is not None else fake_image(size)
            stored = self.store_file(data, "photos", None, "image/jpeg")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": width,
                    "height": height,
                    "file_size": len(data),
                }
            )
        return sizes

    def _new_message(self, chat_id: int, *, from_bot: bool, **content: Any) -> ChatMessage:
        chat = self._chats.setdefault(chat_id, [])
        message_id = chat[-1].message_id + 1 if chat else 1
        msg = ChatMessage(message_id, chat_id, from_bot, int(time.time()), **content)
        chat.append(msg)
        if from_bot:
            self._log(chat_id, "sent", message_id)
        return msg

    def bot_message(self, chat_id: int, **content: Any) -> ChatMessage:
        """A message from the bot put straight into a chat (no request was made)."""
        return self._new_message(chat_id, from_bot=True, **content)

    def _bot_json(self) -> dict[str, Any]:
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    def message_json(self, msg: ChatMessage, *, nested: bool = False) -> dict[str, Any]:
        """The message as the Bot API returns it."""
        chat = self._chat(msg.chat_id)
        data: dict[str, Any] = {"message_id": msg.message_id}
        if msg.from_bot and isinstance(chat, FakeGroup) and chat.type == "channel":
            # Like Telegram: a post in a channel is the channel's, whoever wrote it.
            data["sender_chat"] = chat.chat_json()
        elif msg.from_bot:
            data["from"] = self._bot_json()
        elif isinstance(chat, FakeUser):
            data["from"] = chat.as_json()
        elif msg.sender is not None:
            data["from"] = copy.deepcopy(msg.sender)
        if msg.sender_chat is not None:
            data["sender_chat"] = copy.deepcopy(msg.sender_chat)
        data["chat"] = chat.chat_json()
        data["date"] = msg.date
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        if msg.is_text:
            data["text"] = msg.text
            if msg.entities:
                data["entities"] = copy.deepcopy(msg.entities)
        elif msg.text:
            data["caption"] = msg.text
            if msg.entities:
                data["caption_entities"] = copy.deepcopy(msg.entities)
        for key in (
            "photo",
            "document",
            "contact",
            "location",
            "sticker",
            "voice",
            "media_group_id",
        ):
            if (value := getattr(msg, key)) is not None:
                data[key] = copy.deepcopy(value)
        if msg.reply_markup is not None:
            data["reply_markup"] = copy.deepcopy(msg.reply_markup)
        if msg.reply_to_message_id is not None and not nested:
            # Telegram includes the replied-to message one level deep only.
            with contextlib.suppress(AssertionError):
                replied = self.get_message(msg.chat_id, msg.reply_to_message_id)
                data["reply_to_message"] = self.message_json(replied, nested=True)
        return data

    def user_message(self, user: FakeUser, **content: Any) -> int:
        msg = self._new_message(user.id, from_bot=False, **content)
        return self.add_update({"message": self.message_json(msg)})

    def group_message(self, group: FakeGroup, **content: Any) -> int:
        """A message written in a group (an update "message") or a channel ("channel_post")."""
        msg = self._new_message(group.id, from_bot=False, **content)
        kind = "channel_post" if group.type == "channel" else "message"
        return self.add_update({kind: self.message_json(msg)})

    def callback_query(self, user: FakeUser, msg: ChatMessage, data: str) -> int:
        if msg.deleted:
            raise AssertionError(f"message {msg.message_id} of user {user.id} is deleted")
        query_id = str(secrets.randbits(63))
        self._queries[query_id] = Query(query_id, user.id, msg.message_id, data)
        query = {
            "id": query_id,
            "from": user.as_json(),
            "message": self.message_json(msg),
            "chat_instance": user.chat_instance,
            "data": data,
        }
        return self.add_update({"callback_query": query})

    def _chat(self, chat_id: Any) -> FakeChat:
        number = as_int(chat_id) or 0
        chat = self._users.get(number) or self._groups.get(number)
        if chat is None:
            raise bad_request("chat not found")
        return chat
