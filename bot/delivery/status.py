"""The author's status message of an announcement, edited in place as deliveries go out."""

from __future__ import annotations

import logging
import time

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.outbox import Progress, progress
from bot.keyboards.announcements import stop_keyboard
from bot.services import announcements
from bot.texts import SafeHTML, t
from models import Outbox, OutboxStatus, User

logger = logging.getLogger("bot.delivery.status")


def status_text(number: int, progress: Progress, queuing: int | None = None) -> SafeHTML:
    """The author's view of how far announcement No. `number` (its own number, not the outbox's)
    has gone out, in the current language; `queuing`: the recipients it will have, while they
    are still being queued."""
    if queuing is not None:
        return t(
            "announcements-progress-queuing",
            number=number,
            queued=progress.total,
            total=queuing,
            sent=progress.sent,
        )
    key = "announcements-progress-done" if progress.finished else "announcements-progress"
    return t(
        key,
        number=number,
        sent=progress.sent,
        failed=progress.failed,
        blocked=progress.blocked,
        skipped=progress.skipped,
        total=progress.total,
    )


class ProgressReporter:
    """Called by the delivery worker after each batch; edits at most every `interval` seconds per
    announcement (Telegram limits edits too), and always once at the end."""

    def __init__(
        self,
        bot: Bot,
        sessionmaker: async_sessionmaker[AsyncSession],
        i18n: I18n,
        default_language: str,
        interval: float = 2.0,
    ) -> None:
        self.bot = bot
        self.sessionmaker = sessionmaker
        self.i18n = i18n
        self.default_language = default_language
        self.interval = interval
        self._last: dict[int, float] = {}
        self._shown: dict[int, str] = {}

    async def __call__(self, outbox_id: int) -> None:
        async with self.sessionmaker() as session:
            outbox = await session.get(Outbox, outbox_id)
            if outbox is None or outbox.progress_message_id is None:
                return
            status = await progress(session, outbox_id)
            number = await announcements.number(session, outbox)
            author = await session.get(User, outbox.author_id) if outbox.author_id else None
        # What is queued may all be sent while the rest is still being queued: not finished.
        queuing = outbox.total if outbox.status == OutboxStatus.QUEUING else None
        finished = status.finished and queuing is None
        now = time.monotonic()
        if not finished and now - self._last.get(outbox_id, 0.0) < self.interval:
            return
        language = (author.language if author else None) or self.default_language
        with self.i18n.context(), self.i18n.use_locale(language):
            text = status_text(number, status, queuing)
            markup = None if finished else stop_keyboard(outbox.id)
        if self._shown.get(outbox_id) == text:
            return  # Telegram refuses an edit that changes nothing
        self._last[outbox_id] = now
        try:
            await self.bot.edit_message_text(
                text=text,
                chat_id=outbox.progress_chat_id,
                message_id=outbox.progress_message_id,
                reply_markup=markup,
            )
            self._shown[outbox_id] = text
        except TelegramAPIError as exc:
            logger.info("could not update the status of outbox %s: %s", outbox_id, exc)
        if finished:
            self._last.pop(outbox_id, None)
            self._shown.pop(outbox_id, None)
