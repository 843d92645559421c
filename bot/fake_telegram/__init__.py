"""A fake Telegram Bot API server that the real aiogram `Bot` talks to over HTTP, with users who
chat with the bot; it powers `python -m bot sandbox` and the dialog tests."""

from __future__ import annotations

from bot.fake_telegram.groups import FakeGroup
from bot.fake_telegram.server import FakeTelegram
from bot.fake_telegram.types import (
    BOT_USERNAME,
    Button,
    CallbackAnswer,
    ChatEvent,
    ChatMessage,
    Fault,
    RecordedRequest,
    StoredFile,
)
from bot.fake_telegram.user import FakeUser
from bot.fake_telegram.validation import ApiError, UploadedFile, parse_html

__all__ = [
    "BOT_USERNAME",
    "ApiError",
    "Button",
    "CallbackAnswer",
    "ChatEvent",
    "ChatMessage",
    "FakeGroup",
    "FakeTelegram",
    "FakeUser",
    "Fault",
    "RecordedRequest",
    "StoredFile",
    "UploadedFile",
    "parse_html",
]
