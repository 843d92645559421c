"""What the fake Telegram server keeps and what tests read: messages as a person sees them,
buttons, callback answers, chat events, the request log, injected faults and stored files."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiogram.types import Update

from bot.fake_telegram.validation import ApiError

BOT_USERNAME = "assembly_sandbox_bot"
BOT_FIRST_NAME = "Assembly Sandbox"
# How long a round trip waits for the bot to handle an update. The wait ends the moment the bot
# has handled it, so this is only the verdict "the bot is stuck", never a cost: generous, because
# a loaded machine (tests in parallel, a busy database) may take seconds for one update.
HANDLING_TIMEOUT = 30.0
UPDATE_TYPES = tuple(name for name in Update.model_fields if name != "update_id")
# What Telegram delivers when a bot has not asked for anything else.
DEFAULT_ALLOWED_UPDATES = frozenset(UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

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
    """One message of a chat, in its current state (edits change it in place)."""

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
    voice: dict[str, Any] | None = None
    # Photos sent together as an album share one id; each is a message of its own.
    media_group_id: str | None = None
    reply_to_message_id: int | None = None
    # In a group or channel: who wrote it (the `from`, None when nobody is named) and the chat
    # it was written on behalf of (an anonymous admin, a channel post).
    sender: dict[str, Any] | None = None
    sender_chat: dict[str, Any] | None = None

    @property
    def has_media(self) -> bool:
        media = (self.photo, self.document, self.sticker, self.voice)
        return any(x is not None for x in media)

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
    # The connection is closed with no answer (a network failure, as the client sees it).
    drop: bool = False
    # The method runs (a message is delivered) before the failure: the answer is lost.
    after: bool = False

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(params.get("chat_id")) == str(self.chat_id)

    def error(self) -> ApiError | None:
        if self.drop:
            return ConnectionDropped()
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


class ConnectionDropped(ApiError):
    """Not an answer: the server closes the connection instead of answering."""

    def __init__(self) -> None:
        super().__init__(502, "connection dropped")


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    file_name: str | None = None
    mime_type: str | None = None


@dataclass
class Query:
    """A callback query sent to the bot, answered at most once."""

    query_id: str
    user_id: int
    message_id: int | None
    data: str | None
    answered: bool = False


@dataclass
class Webhook:
    """The webhook the bot set, with the last delivery error as getWebhookInfo reports it."""

    url: str
    token: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


class Signal:
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


# --- Small helpers shared by the server's modules ------------------------------------------------


def document_json(stored: StoredFile) -> dict[str, Any]:
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


def fake_image(size: int) -> bytes:
    """Bytes that start and end like a JPEG; nothing reads the pixels."""
    body = secrets.token_bytes(max(size - 6, 0))
    return b"\xff\xd8\xff\xe0" + body + b"\xff\xd9"


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def scope_key(scope: dict[str, Any]) -> str:
    normal = dict(scope)
    for key in ("chat_id", "user_id"):
        if key in normal and (number := as_int(normal[key])) is not None:
            normal[key] = number
    return json.dumps(normal, sort_keys=True)


def update_kind(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


def update_person(update: dict[str, Any]) -> int:
    """Whose update it is (the sender, else the chat): Telegram hands one person's updates to a
    webhook one at a time. 0 for an update that names nobody."""
    body = update.get(update_kind(update))
    if not isinstance(body, dict):
        return 0
    for holder in (body.get("from"), body.get("chat"), (body.get("message") or {}).get("chat")):
        if isinstance(holder, dict) and isinstance(holder.get("id"), int):
            return int(holder["id"])
    return 0


def strip_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nones(v) for v in value]
    return value
