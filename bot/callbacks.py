"""One way to handle a pressed button: the query is answered once, by aiogram's
CallbackAnswerMiddleware (a handler sets the answer's text, never sends it), and the message the
button hangs on is narrowed once here."""

from __future__ import annotations

from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer

from bot.services.errors import DomainError
from bot.texts import plain


class StaleButton(DomainError):
    """A button on a message Telegram no longer lets the bot touch (older than 48 hours, or
    deleted), or one whose object is gone: the person is told, nothing changes."""

    key = "error-stale-button"


def callback_message(query: CallbackQuery) -> Message:
    """The message the pressed button belongs to, if the bot can still edit it."""
    message = query.message
    if not isinstance(message, Message):
        raise StaleButton()
    return message


def alert(callback_answer: CallbackAnswer, key: str, /, **params: object) -> None:
    """Answer the press with a pop-up the person must close (a refusal, a warning)."""
    callback_answer.text = plain(key, **params)
    callback_answer.show_alert = True


def toast(callback_answer: CallbackAnswer, key: str, /, **params: object) -> None:
    """Answer the press with a short note that fades by itself (a confirmation)."""
    callback_answer.text = plain(key, **params)
