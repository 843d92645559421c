"""A fake Telegram Bot API server for the real aiogram `Bot`, and the users who chat with it.

The bot talks HTTP to it exactly as to api.telegram.org; tests (and the sandbox console) play
users, press buttons and read each chat as the person would see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import html
import json
import logging
import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Self

import aiohttp
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods.base import TelegramMethod
from aiogram.types import Update
from aiohttp import web
from aiohttp.web_request import FileField

from bot.fake_telegram.validation import (
    ApiError,
    UploadedFile,
    bad_request,
    check_caption,
    check_params,
    check_reply_markup,
    check_text,
    decode_form_value,
    find_method,
    render_text,
    utf16_len,
)

logger = logging.getLogger(__name__)

BOT_USERNAME = "assembly_sandbox_bot"
BOT_FIRST_NAME = "Assembly Sandbox"
MAX_UPLOAD = 50 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_CALLBACK_ANSWER = 200

_TOKEN = re.compile(r"(\d+):[A-Za-z0-9_-]+")
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
UPDATE_TYPES = tuple(name for name in Update.model_fields if name != "update_id")
# What Telegram delivers when a bot has not asked for anything else.
DEFAULT_ALLOWED_UPDATES = frozenset(UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Methods that reach a person's chat, so a blocked bot is refused.
_SENDING_PREFIXES = ("send", "edit", "copy", "forward")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


# --- What tests read -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    """An inline keyboard button as the user sees it."""

    text: str
    callback_data: str | None = None
    url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class ChatMessage:
    """One message of a private chat, in its current state (edits change it in place)."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str = ""  # the text, or the caption of media, as the user sees it
    html: str = ""  # the text as sent, markup included
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None  # an inline keyboard only, as Telegram keeps it
    edited: int = 0
    deleted: bool = False
    edit_date: int | None = None
    photo: list[dict[str, Any]] | None = None
    document: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    sticker: dict[str, Any] | None = None
    reply_to_message_id: int | None = None

    @property
    def has_media(self) -> bool:
        return any(x is not None for x in (self.photo, self.document, self.sticker))

    @property
    def is_text(self) -> bool:
        return not self.has_media and self.contact is None and self.location is None

    @property
    def caption(self) -> str | None:
        return self.text if self.has_media else None

    @property
    def buttons(self) -> list[list[Button]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [Button(b["text"], b.get("callback_data"), b.get("url"), raw=b) for b in row]
            for row in rows
        ]

    @property
    def flat_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's answerCallbackQuery for a button the user pressed."""

    query_id: str
    message_id: int | None
    data: str | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass(frozen=True)
class ChatEvent:
    """Something the bot did in a chat; `seq` orders all events of the server."""

    seq: int
    chat_id: int
    kind: str  # "sent", "edited", "deleted" or "answer"
    message_id: int | None = None
    answer: CallbackAnswer | None = None


@dataclass
class RecordedRequest:
    """One Bot API call as the server received and answered it."""

    method: str
    params: dict[str, Any]
    time: float  # time.monotonic() on arrival
    token: str
    status: int | None = None  # None while it is being handled
    description: str | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status == HTTPStatus.OK

    @property
    def error_code(self) -> int | None:
        return None if self.status in (None, HTTPStatus.OK) else self.status

    @property
    def outcome(self) -> str | int | None:
        """ "ok", the error code, or None while pending."""
        return "ok" if self.ok else self.status


@dataclass
class Fault:
    """Failures (or slowness) injected into matching requests; see FakeTelegram.inject_fault."""

    method: str | None
    status: int | None
    retry_after: int
    remaining: int | None
    chat_id: int | str | None
    delay: float
    description: str | None

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)

    def error(self) -> ApiError | None:
        if self.status is None:
            return None
        if self.status == HTTPStatus.TOO_MANY_REQUESTS:
            description = self.description or f"Too Many Requests: retry after {self.retry_after}"
            return ApiError(self.status, description, retry_after=self.retry_after)
        defaults = {
            400: "Bad Request: injected fault",
            403: "Forbidden: bot was blocked by the user",
        }
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Error"
        return ApiError(self.status, self.description or defaults.get(self.status, phrase))


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class _Query:
    query_id: str
    user_id: int
    message_id: int | None
    data: str | None
    answered: bool = False


@dataclass
class _Webhook:
    url: str
    token: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


class _Signal:
    """Wakes every waiter at once; a waiter re-checks its condition afterwards."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


Handler = Callable[[str, dict[str, Any]], Awaitable[Any]]


# --- Users ---------------------------------------------------------------------------------------


class FakeUser:
    """A person in a private chat with the bot (the chat id is the user id)."""

    def __init__(
        self,
        server: FakeTelegram,
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
        return self.server._user_message(
            self, text=text, html=html.escape(text, quote=False), entities=entities
        )

    async def send_photo(self, caption: str | None = None, *, content: bytes | None = None) -> int:
        sizes = self.server._photo_sizes(content)
        return self.server._user_message(self, photo=sizes, **_caption(caption))

    async def send_document(
        self,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> int:
        mime = mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = self.server._store_file(content, "documents", filename, mime)
        return self.server._user_message(self, document=_document_json(stored), **_caption(caption))

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
        return self.server._user_message(self, contact=contact)

    async def send_location(self, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return self.server._user_message(self, location=location)

    async def send_sticker(self, emoji: str = "👍") -> int:
        stored = self.server._store_file(_fake_image(2048), "stickers", None, "image/webp")
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
        return self.server._user_message(self, sticker=sticker)

    async def press(self, button: str, message_id: int | None = None) -> int:
        """Press an inline button found by its text (or its callback_data)."""
        target, data = self._find_button(button, message_id)
        return self.server._callback_query(self, target, data)

    async def press_data(self, message_id: int, data: str) -> int:
        """Send any callback data for a message, as a forged or outdated client could."""
        return self.server._callback_query(self, self.message(message_id), data)

    # Sending and waiting until the bot has handled it.

    async def say(self, text: str, *, timeout: float = 5.0) -> list[ChatMessage]:
        return await self._round_trip(self.send(text), timeout)

    async def click(
        self, button: str, message_id: int | None = None, *, timeout: float = 5.0
    ) -> list[ChatMessage]:
        return await self._round_trip(self.press(button, message_id), timeout)

    async def click_data(
        self, message_id: int, data: str, *, timeout: float = 5.0
    ) -> list[ChatMessage]:
        return await self._round_trip(self.press_data(message_id, data), timeout)

    async def say_photo(
        self, caption: str | None = None, *, content: bytes | None = None, timeout: float = 5.0
    ) -> list[ChatMessage]:
        return await self._round_trip(self.send_photo(caption, content=content), timeout)

    async def say_document(
        self,
        filename: str,
        content: bytes,
        mime_type: str | None = None,
        caption: str | None = None,
        *,
        timeout: float = 5.0,
    ) -> list[ChatMessage]:
        sending = self.send_document(filename, content, mime_type, caption)
        return await self._round_trip(sending, timeout)

    async def say_contact(
        self, phone_number: str, first_name: str | None = None, *, timeout: float = 5.0
    ) -> list[ChatMessage]:
        return await self._round_trip(self.send_contact(phone_number, first_name), timeout)

    async def say_location(
        self, latitude: float, longitude: float, *, timeout: float = 5.0
    ) -> list[ChatMessage]:
        return await self._round_trip(self.send_location(latitude, longitude), timeout)

    async def say_sticker(self, emoji: str = "👍", *, timeout: float = 5.0) -> list[ChatMessage]:
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


def _document_json(stored: StoredFile) -> dict[str, Any]:
    data: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
    }
    if stored.file_name:
        data["file_name"] = stored.file_name
    if stored.mime_type:
        data["mime_type"] = stored.mime_type
    return data


def _fake_image(size: int) -> bytes:
    """Bytes that start and end like a JPEG; nothing reads the pixels."""
    body = secrets.token_bytes(max(size - 6, 0))
    return b"\xff\xd8\xff\xe0" + body + b"\xff\xd9"


# --- The server ----------------------------------------------------------------------------------


class FakeTelegram:
    """The Bot API over HTTP on 127.0.0.1, with users, chats, faults and a request log."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._closing = False

        self.requests: list[RecordedRequest] = []
        self.events: list[ChatEvent] = []
        self._bot_id = 0

        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, list[ChatMessage]] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_paths: dict[str, StoredFile] = {}
        self._queries: dict[str, _Query] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        self._faults: list[Fault] = []
        self._blocked: set[int] = set()

        self._updates: list[dict[str, Any]] = []  # queued, not yet confirmed
        self._next_update_id = 1
        self._confirmed = 1  # every update below this id is confirmed by getUpdates' offset
        self._done: set[int] = set()  # confirmed otherwise: delivered by webhook or dropped
        self._allowed: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._webhook: _Webhook | None = None
        self._poll_generation = 0
        self._last_poll: tuple[float, int | None] | None = None
        self._arrived = _Signal()
        self._progress = _Signal()
        self._counter = 0

        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "close": self._true,
            "logOut": self._true,
        }

    # Lifecycle.

    async def start(self) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        # Cancelling handlers whose client went away ends long polls of a stopped bot at once.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._closing = False
        self._webhook_task = asyncio.create_task(self._deliver_to_webhook())

    async def stop(self) -> None:
        self._closing = True
        self._arrived.fire()
        self._progress.fire()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._runner is None:
            raise RuntimeError("the fake Telegram server is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api(self) -> TelegramAPIServer:
        return TelegramAPIServer.from_base(self.url)

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
        return copy.deepcopy(self._commands.get((_scope_key(scope), language_code), []))

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any] | None:
        return self._menu_buttons.get(chat_id)

    def files(self) -> list[StoredFile]:
        return list(self._files.values())

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    # The request log.

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests of one method (any letter case), oldest first."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    # Faults.

    def inject_fault(
        self,
        method: str | None = "sendMessage",
        *,
        status: int | None = 429,
        retry_after: int = 1,
        times: int | None = 1,
        chat_id: int | str | None = None,
        delay: float = 0.0,
        description: str | None = None,
    ) -> Fault:
        """The next `times` matching requests (None: all until cleared; method None: any method)
        wait `delay` seconds and then fail with `status`, or are served normally if it is None."""
        fault = Fault(method, status, retry_after, times, chat_id, delay, description)
        self._faults.append(fault)
        return fault

    def block_bot(self, user_id: int) -> None:
        self._blocked.add(user_id)

    def unblock_bot(self, user_id: int) -> None:
        self._blocked.discard(user_id)

    def clear_faults(self) -> None:
        self._faults.clear()
        self._blocked.clear()

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

    async def wait_processed(self, update_id: int, timeout: float = 5.0) -> None:
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
        refused = [u["update_id"] for u in self._updates if _update_kind(u) not in self._allowed]
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

    def _store_file(
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

    def _photo_sizes(self, content: bytes | None) -> list[dict[str, Any]]:
        sizes = []
        for width, height, size in ((90, 67, 1_500), (320, 240, 12_000), (800, 600, 60_000)):
            data = content if content is not None else _fake_image(size)
            stored = self._store_file(data, "photos", None, "image/jpeg")
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

    def _bot_json(self) -> dict[str, Any]:
        return {
            "id": self._bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    def message_json(self, msg: ChatMessage, *, nested: bool = False) -> dict[str, Any]:
        """The message as the Bot API returns it."""
        user = self._users[msg.chat_id]
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self._bot_json() if msg.from_bot else user.as_json(),
            "chat": user.chat_json(),
            "date": msg.date,
        }
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
        for key in ("photo", "document", "contact", "location", "sticker"):
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

    def _user_message(self, user: FakeUser, **content: Any) -> int:
        msg = self._new_message(user.id, from_bot=False, **content)
        return self.add_update({"message": self.message_json(msg)})

    def _callback_query(self, user: FakeUser, msg: ChatMessage, data: str) -> int:
        if msg.deleted:
            raise AssertionError(f"message {msg.message_id} of user {user.id} is deleted")
        query_id = str(secrets.randbits(63))
        self._queries[query_id] = _Query(query_id, user.id, msg.message_id, data)
        query = {
            "id": query_id,
            "from": user.as_json(),
            "message": self.message_json(msg),
            "chat_instance": user.chat_instance,
            "data": data,
        }
        return self.add_update({"callback_query": query})

    # HTTP.

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        name = request.match_info["method"]
        try:
            raw, typed = await _read_request(request)
        except ValueError as exc:
            raw, typed = {}, True
            error: ApiError | None = bad_request(str(exc))
        else:
            error = None
        status, payload = await self._call(token, name, raw, typed=typed, error=error)
        return web.json_response(payload, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if not _TOKEN.fullmatch(request.match_info["token"]):
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = self._file_paths.get(request.match_info["file_path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _call(
        self,
        token: str,
        name: str,
        raw: dict[str, Any],
        *,
        typed: bool,
        error: ApiError | None = None,
    ) -> tuple[int, dict[str, Any]]:
        method = find_method(name)
        record = RecordedRequest(
            method=method.__api_method__ if method else name,
            params=dict(raw),
            time=time.monotonic(),
            token=token,
        )
        self.requests.append(record)
        try:
            if error is not None:
                raise error
            token_match = _TOKEN.fullmatch(token)
            if token_match is None:
                raise ApiError(401, "Unauthorized")
            self._bot_id = int(token_match[1])
            if method is None:
                raise ApiError(404, "Not Found")
            params = _decode_params(method, raw, typed=typed)
            record.params = params
            result = await self._execute(token, method, params)
        except ApiError as exc:
            record.status, record.description = exc.status, exc.description
            return exc.status, exc.payload()
        record.status, record.result = 200, result
        return 200, {"ok": True, "result": result}

    async def _execute(
        self, token: str, method: type[TelegramMethod[Any]], params: dict[str, Any]
    ) -> Any:
        name = method.__api_method__
        for fault in list(self._faults):
            if fault.matches(name, params):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if (failure := fault.error()) is not None:
                    raise failure
                break
        check_params(method, params)
        if name.lower().startswith(_SENDING_PREFIXES) and _as_int(params.get("chat_id")) in (
            self._blocked
        ):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        handler = self._handlers.get(name)
        if handler is None:
            raise bad_request(f"method not implemented by the fake server: {name}")
        return await handler(token, params)

    # Bot API methods.

    async def _true(self, _token: str, _params: dict[str, Any]) -> bool:
        return True

    async def _get_me(self, _token: str, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._bot_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, _token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        # A newer getUpdates ends an older one, as when two copies of a bot run at once.
        self._poll_generation += 1
        generation = self._poll_generation
        self._arrived.fire()

        offset = params.get("offset")
        self._last_poll = (time.monotonic(), offset)
        if offset is not None:
            if offset < 0:
                keep = -offset
                if len(self._updates) > keep:
                    self._confirm(self._updates[-keep]["update_id"])
            else:
                self._confirm(offset)
        self._set_allowed(params.get("allowed_updates"))
        limit = min(max(params.get("limit") or 100, 1), 100)
        timeout = max(params.get("timeout") or 0, 0)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            if self._updates:
                return copy.deepcopy(self._updates[:limit])
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing or self._webhook is not None:
                return []
            await self._arrived.wait(remaining)

    async def _set_webhook(self, token: str, params: dict[str, Any]) -> bool:
        url = params["url"]
        if not url:
            return await self._delete_webhook(token, params)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._drop_pending()
        self._set_allowed(params.get("allowed_updates"))
        self._webhook = _Webhook(url, token, secret, params.get("max_connections") or 40)
        self._arrived.fire()
        return True

    async def _delete_webhook(self, _token: str, params: dict[str, Any]) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    async def _get_webhook_info(self, _token: str, _params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self._webhook.url if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook is not None:
            info["max_connections"] = self._webhook.max_connections
            info["allowed_updates"] = sorted(self._allowed)
            if self._webhook.last_error_date is not None:
                info["last_error_date"] = self._webhook.last_error_date
                info["last_error_message"] = self._webhook.last_error_message
        return info

    async def _set_my_commands(self, _token: str, params: dict[str, Any]) -> bool:
        commands = params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not _BOT_COMMAND.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        else:
            self._commands.pop(key, None)
        return True

    async def _get_my_commands(self, _token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self._commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, _token: str, params: dict[str, Any]) -> bool:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return _scope_key(scope), params.get("language_code") or ""

    async def _send_message(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        text, entities = render_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        check_text(text)
        markup = self._take_markup(user, params.get("reply_markup"))
        msg = self._new_message(
            user.id,
            from_bot=True,
            text=text,
            html=params["text"],
            entities=entities,
            reply_markup=markup,
            reply_to_message_id=self._reply_to(user, params),
        )
        return self.message_json(msg)

    async def _send_photo(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        photo = params["photo"]
        if isinstance(photo, UploadedFile):
            sizes = self._photo_sizes(photo.content)
        else:
            sizes = [dict(self._sent_file(photo, "photo"), width=800, height=600)]
        content = self._caption_content(params)
        markup = self._take_markup(user, params.get("reply_markup"))
        reply_to = self._reply_to(user, params)
        msg = self._new_message(
            user.id,
            from_bot=True,
            photo=sizes,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            **content,
        )
        return self.message_json(msg)

    async def _send_document(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        document = params["document"]
        if isinstance(document, UploadedFile):
            mime = (
                mimetypes.guess_type(document.filename)[0]
                or document.content_type
                or "application/octet-stream"
            )
            stored = self._store_file(document.content, "documents", document.filename, mime)
            info = _document_json(stored)
        else:
            info = self._sent_file(document, "document")
        content = self._caption_content(params)
        markup = self._take_markup(user, params.get("reply_markup"))
        reply_to = self._reply_to(user, params)
        msg = self._new_message(
            user.id,
            from_bot=True,
            document=info,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            **content,
        )
        return self.message_json(msg)

    def _reply_to(self, user: FakeUser, params: dict[str, Any]) -> int | None:
        """The message a new one replies to; Telegram refuses a missing one unless allowed."""
        reply = params.get("reply_parameters") or {}
        if _as_int(reply.get("chat_id", user.id)) != user.id:
            return None
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        if any(m.message_id == message_id and not m.deleted for m in self.chat(user.id)):
            return message_id
        allowed = reply.get(
            "allow_sending_without_reply", params.get("allow_sending_without_reply")
        )
        if allowed:
            return None
        raise bad_request("message to be replied not found")

    def _sent_file(self, reference: Any, kind: str) -> dict[str, Any]:
        """A file sent by file_id (or by URL, which the fake cannot fetch: it stores nothing)."""
        reference = str(reference)
        if reference.startswith(("http://", "https://")):
            stored = self._store_file(b"", f"{kind}s", reference.rsplit("/", 1)[-1] or None, None)
        elif reference in self._files:
            stored = self._files[reference]
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if kind == "document":
            return _document_json(stored)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }

    def _caption_content(self, params: dict[str, Any]) -> dict[str, Any]:
        source = params.get("caption")
        if source is None:
            return {}
        text, entities = render_text(
            source, params.get("parse_mode"), params.get("caption_entities")
        )
        check_caption(text)
        return {"text": text, "html": source, "entities": entities}

    def _take_markup(self, user: FakeUser, markup: Any) -> dict[str, Any] | None:
        """Checks a reply_markup; keeps a reply keyboard on the user, returns an inline one."""
        check_reply_markup(markup)
        if not isinstance(markup, dict):
            return None
        if "inline_keyboard" in markup:
            return _strip_nones(markup)
        if "keyboard" in markup:
            user.reply_keyboard = [
                [b if isinstance(b, str) else b.get("text", "") for b in row]
                for row in markup["keyboard"]
            ]
        elif markup.get("remove_keyboard"):
            user.reply_keyboard = None
        return None

    def _target(self, params: dict[str, Any], *, missing: str) -> ChatMessage:
        if params.get("inline_message_id") is not None:
            raise bad_request("method not implemented by the fake server: inline messages")
        if params.get("chat_id") is None:
            raise bad_request("chat_id is empty")
        user = self._chat(params["chat_id"])
        message_id = params.get("message_id")
        if message_id is None:
            raise bad_request("message_id is empty")
        for msg in self.chat(user.id):
            if msg.message_id == message_id and not msg.deleted:
                return msg
        raise bad_request(missing)

    def _editable(self, params: dict[str, Any]) -> ChatMessage:
        msg = self._target(params, missing="message to edit not found")
        if not msg.from_bot:
            raise bad_request("message can't be edited")
        return msg

    def _apply_edit(self, msg: ChatMessage, **changes: Any) -> dict[str, Any]:
        current = {key: getattr(msg, key) for key in changes if key != "html"}
        if all(changes[key] == value for key, value in current.items()):
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            setattr(msg, key, value)
        msg.edited += 1
        msg.edit_date = int(time.time())
        self._log(msg.chat_id, "edited", msg.message_id)
        return self.message_json(msg)

    async def _edit_message_text(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        msg = self._editable(params)
        if not msg.is_text:
            raise bad_request("there is no text in the message to edit")
        text, entities = render_text(
            params["text"], params.get("parse_mode"), params.get("entities")
        )
        check_text(text)
        user = self._users[msg.chat_id]
        # Like Telegram: an edit without reply_markup takes the inline keyboard away.
        markup = self._take_markup(user, params.get("reply_markup"))
        return self._apply_edit(
            msg, text=text, entities=entities, reply_markup=markup, html=params["text"]
        )

    async def _edit_message_caption(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        msg = self._editable(params)
        if not msg.has_media:
            raise bad_request("there is no caption in the message to edit")
        content = self._caption_content(params) or {"text": "", "html": "", "entities": []}
        content.setdefault("entities", [])
        markup = self._take_markup(self._users[msg.chat_id], params.get("reply_markup"))
        return self._apply_edit(msg, reply_markup=markup, **content)

    async def _edit_message_reply_markup(
        self, _token: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        msg = self._editable(params)
        markup = self._take_markup(self._users[msg.chat_id], params.get("reply_markup"))
        return self._apply_edit(msg, reply_markup=markup)

    async def _delete_message(self, _token: str, params: dict[str, Any]) -> bool:
        msg = self._target(params, missing="message to delete not found")
        msg.deleted = True
        self._log(msg.chat_id, "deleted", msg.message_id)
        return True

    async def _answer_callback_query(self, _token: str, params: dict[str, Any]) -> bool:
        query = self._queries.get(str(params["callback_query_id"]))
        if query is None or query.answered:
            raise bad_request(QUERY_TOO_OLD)
        text = params.get("text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answered = True
        answer = CallbackAnswer(
            query_id=query.query_id,
            message_id=query.message_id,
            data=query.data,
            text=text,
            show_alert=bool(params.get("show_alert")),
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        self._users[query.user_id].callback_answers.append(answer)
        self._log(query.user_id, "answer", query.message_id, answer)
        return True

    async def _send_chat_action(self, _token: str, params: dict[str, Any]) -> bool:
        user = self._chat(params["chat_id"])
        if params["action"] not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        user.chat_actions.append(params["action"])
        return True

    async def _get_file(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(params["file_id"]))
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    async def _get_chat(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        user = self._chat(params["chat_id"])
        return {
            **user.chat_json(),
            "accent_color_id": user.id % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _set_chat_menu_button(self, _token: str, params: dict[str, Any]) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._chat(chat_id).id
        self._menu_buttons[chat_id] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, _token: str, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._chat(chat_id).id
        button = self._menu_buttons.get(chat_id) or self._menu_buttons.get(None)
        return copy.deepcopy(button or {"type": "commands"})

    def _chat(self, chat_id: Any) -> FakeUser:
        user = self._users.get(_as_int(chat_id) or 0)
        if user is None:
            raise bad_request("chat not found")
        return user

    # Webhook delivery.

    async def _deliver_to_webhook(self) -> None:
        failures = 0
        async with aiohttp.ClientSession() as http:
            while True:
                hook = self._webhook
                if hook is None or not self._updates:
                    await self._arrived.wait(None)
                    continue
                update = self._updates[0]
                error = await self._post_update(http, hook, update)
                if error is None:
                    failures = 0
                    self._updates = [u for u in self._updates if u is not update]
                    self._mark_done([update["update_id"]])
                    continue
                hook.last_error_date = int(time.time())
                hook.last_error_message = error
                failures += 1
                await self._arrived.wait(min(0.05 * 2**failures, 2.0))

    async def _post_update(
        self, http: aiohttp.ClientSession, hook: _Webhook, update: dict[str, Any]
    ) -> str | None:
        """Delivers one update; the error message Telegram would show, or None."""
        headers = {}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        try:
            async with http.post(
                hook.url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
            ) as response:
                if response.status != HTTPStatus.OK:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                reply, typed = await _read_webhook_reply(response)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Connection failed: {type(exc).__name__}: {exc}"
        if isinstance(reply.get("method"), str):
            # A bot may answer the webhook with a method call; Telegram runs it, silently.
            name = reply.pop("method")
            await self._call(hook.token, name, reply, typed=typed)
        return None


# --- Helpers -------------------------------------------------------------------------------------


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _scope_key(scope: dict[str, Any]) -> str:
    normal = dict(scope)
    for key in ("chat_id", "user_id"):
        if key in normal and (number := _as_int(normal[key])) is not None:
            normal[key] = number
    return json.dumps(normal, sort_keys=True)


def _update_kind(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


def _strip_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nones(v) for v in value]
    return value


async def _read_request(request: web.Request) -> tuple[dict[str, Any], bool]:
    """Parameters of a call, and whether they are already typed (JSON) or strings (forms)."""
    if request.method == "GET":
        return dict(request.query), False
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise ValueError("can't parse JSON encoded request body") from exc
        if not isinstance(body, dict):
            raise ValueError("JSON object expected in request body")
        return body, True
    form = await request.post()
    raw: dict[str, Any] = dict(request.query)
    for key, value in form.items():
        if isinstance(value, FileField):
            raw[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
        else:
            raw[key] = str(value)
    return raw, False


def _decode_params(
    method: type[TelegramMethod[Any]], raw: dict[str, Any], *, typed: bool
) -> dict[str, Any]:
    """Form strings to values, and `attach://name` references to the uploaded parts."""
    attachments = {
        key: value
        for key, value in raw.items()
        if isinstance(value, UploadedFile) and key not in method.model_fields
    }
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in attachments:
            continue
        if isinstance(value, str) and not typed:
            value = decode_form_value(method, key, value)
        if isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if part not in attachments:
                raise bad_request(f"file {part!r} is not attached to the request")
            value = attachments[part]
        params[key] = value
    return params


async def _read_webhook_reply(response: aiohttp.ClientResponse) -> tuple[dict[str, Any], bool]:
    """A method call in the webhook's answer (JSON, or a form as aiogram writes it), and whether
    its values are already typed; empty when the answer holds none."""
    if response.content_type == "application/json":
        try:
            body = await response.json()
        except ValueError:
            return {}, True
        return (body if isinstance(body, dict) else {}), True
    if response.content_type != "multipart/form-data":
        return {}, False
    reply: dict[str, Any] = {}
    reader = aiohttp.MultipartReader(response.headers, response.content)
    while (part := await reader.next()) is not None:
        if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
            continue
        if part.filename:
            content = bytes(await part.read())
            reply[part.name] = UploadedFile(
                part.filename, content, part.headers.get("Content-Type")
            )
        else:
            reply[part.name] = await part.text()
    return reply, False


__all__ = [
    "BOT_USERNAME",
    "Button",
    "CallbackAnswer",
    "ChatEvent",
    "ChatMessage",
    "FakeTelegram",
    "FakeUser",
    "Fault",
    "RecordedRequest",
    "StoredFile",
]
