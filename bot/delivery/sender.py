"""What the worker asks of a transport: send one message and answer with its id (or edit one it
sent, in the public channel), or raise one of the outcomes below. bot/delivery/telegram.py
implements it over an aiogram Bot.
"""

from __future__ import annotations

from typing import Protocol

# Rows of inline buttons, each (label, callback data).
Buttons = list[list[tuple[str, str]]]


class SendError(Exception):
    """Base of the outcomes a Sender reports instead of a message id."""


class SendRetryAfter(SendError):
    """Telegram asks the whole bot to wait (429); the same message is retried afterwards."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class SendBlocked(SendError):
    """The person blocked the bot or deleted their account (403)."""


class SendFailed(SendError):
    """Telegram refused this message for good (400 and the like); retrying would not help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SendGone(SendFailed):
    """The message to edit is no longer there (deleted in the chat): send it anew instead."""


class SendNetworkError(SendError):
    """Telegram could not be reached, did not answer in time, or failed on its side (5xx): the
    message may well go through later, so it is retried for a day."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SendUnauthorized(SendError):
    """Telegram refuses the bot's token (401): no message can go out until it works again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Sender(Protocol):
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
        """Send one message (or media with `text` as its caption), with inline `buttons` (rows of
        (label, callback data)); media is a Telegram file id, or a file's bytes to upload.
        Returns the message id."""
        ...

    async def edit(
        self, chat_id: int, message_id: int, text: str, *, caption: bool = False
    ) -> None:
        """Replace the text of a message the bot sent (its `caption`, for a photo or document).
        An edit that changes nothing counts as done; a message deleted meanwhile raises
        SendGone; otherwise the outcomes of `send`."""
        ...

    async def authorized(self) -> bool:
        """Whether Telegram accepts the bot's token now (after a SendUnauthorized): True, False,
        or SendNetworkError when that cannot be told."""
        ...
