"""The Assembly's public channel (PUBLIC_CHANNEL_ID): one post per thing posted (a conference, an
adopted recommendation, a public announcement, the audit log's head), edited when the thing
changes, so readers see one message that stays true rather than a trail of corrections.

Queueing: `post()` writes the subject's row and raises its version, in the caller's transaction.
Whether a channel is configured travels with the session (bot.db.create_sessionmaker puts it in
`session.info`), so the services call `post()` unconditionally and nothing is queued without a
channel: turning the setting on later does not flood the channel with a backlog.

Sending: the delivery worker calls `ChannelPoster.run_once()` each round. A post is claimed under
a lease by a conditional UPDATE (several workers, in one process or many, never hold the same
row), brought up to its latest version by one request (the first version is sent, later ones
edit it), and recorded. Versions queued meanwhile are coalesced into the next edit.

A post is always ONE message, clipped to Telegram's limit (4096, or 1024 for a caption) with an
ellipsis rather than split: an edit replaces one message whole, and a split post's tail could
neither be edited nor taken back when a later version is shorter. The texts posted are built to
fit (notices, a recommendation's text is clipped beforehand); clipping is the safety net.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic
from typing import Any, TypeVar

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import CHANNEL_INFO_KEY
from bot.delivery import wakeup
from bot.delivery.pacing import RateLimiter
from bot.delivery.sender import (
    Sender,
    SendError,
    SendFailed,
    SendGone,
    SendNetworkError,
    SendRetryAfter,
    SendUnauthorized,
)
from bot.delivery.text import CAPTION_LIMIT, TEXT_LIMIT, split_text, visible_length
from models.base import utcnow
from models.channel import ChannelPost, ChannelPostStatus

logger = logging.getLogger("bot.delivery.channel")

T = TypeVar("T")

# What a post is about; one post per (subject, id).
MEETING = "meeting"
RECOMMENDATION = "recommendation"
ANNOUNCEMENT = "announcement"
AUDIT = "audit"

# A post that cannot reach Telegram is retried 5 s later, then 10 s, ... at most 5 minutes apart,
# until it goes through: it says what is true now, so it is worth posting however late.
BACKOFF = 5.0
BACKOFF_MAX = 300.0
# A claim outlives the slowest request (aiogram gives up after 60 s): nobody else takes the post
# while the one holding it may still be sending.
LEASE_MIN = timedelta(seconds=120)
ERROR_LIMIT = 300  # the width of channel_posts.error


def configured(session: AsyncSession) -> int | None:
    """The public channel's id, when the session's app has one (PUBLIC_CHANNEL_ID)."""
    channel = session.info.get(CHANNEL_INFO_KEY)
    return channel if isinstance(channel, int) else None


async def post(
    session: AsyncSession,
    subject_type: str,
    subject_id: int,
    text_key: str | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    text: str | None = None,
    media_kind: str | None = None,
    media_file_id: str | None = None,
    not_before: datetime | None = None,
) -> bool:
    """Queue the subject's post, or the edit of it to this text: one row per subject, its version
    raised. Returns whether it was queued (not without a channel)."""
    if configured(session) is None:
        return False
    wakeup.queued(session.sync_session)
    now = utcnow()
    values: dict[str, Any] = {
        "text_key": text_key,
        "text_params": dict(params or {}),
        "text": text,
        "media_kind": media_kind,
        "media_file_id": media_file_id,
        "status": ChannelPostStatus.PENDING,
        "not_before": not_before or now,
        "attempts": 0,
        "error": None,
        "updated_at": now,
    }
    where = (ChannelPost.subject_type == subject_type, ChannelPost.subject_id == subject_id)
    found = await session.scalar(select(ChannelPost.id).where(*where))
    if found is None:
        try:
            async with session.begin_nested():
                session.add(
                    ChannelPost(
                        subject_type=subject_type,
                        subject_id=subject_id,
                        version=1,
                        posted_version=0,
                        **values,
                    )
                )
            return True
        except IntegrityError:
            found = await session.scalar(select(ChannelPost.id).where(*where))
            if found is None:
                raise
    # The increment is the database's: two changes committed at once both count.
    await session.execute(
        update(ChannelPost)
        .where(ChannelPost.id == found)
        .values(version=ChannelPost.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return True


async def withdraw(session: AsyncSession, subject_type: str, subject_id: int) -> bool:
    """Drop the subject's post if it has not gone out and is not going out right now (a stopped
    announcement); one already in the channel stays. Returns whether one was dropped."""
    now = utcnow()
    result = await session.execute(
        delete(ChannelPost)
        .where(
            ChannelPost.subject_type == subject_type,
            ChannelPost.subject_id == subject_id,
            ChannelPost.message_id.is_(None),
            or_(ChannelPost.claimed_until.is_(None), ChannelPost.claimed_until < now),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def find(session: AsyncSession, subject_type: str, subject_id: int) -> ChannelPost | None:
    return await session.scalar(
        select(ChannelPost).where(
            ChannelPost.subject_type == subject_type, ChannelPost.subject_id == subject_id
        )
    )


def fit(html: str, limit: int) -> str:
    """The HTML text cut to `limit` visible characters (tags kept balanced), with an ellipsis."""
    if visible_length(html) <= limit:
        return html
    return split_text(html, max(limit - 1, 1))[0].rstrip() + "…"


@dataclass(frozen=True)
class _Claimed:
    """A post this worker claimed, as it was when claimed."""

    id: int
    version: int
    message_id: int | None
    chat_id: int | None
    text_key: str | None
    text_params: dict[str, Any]
    text: str | None
    media_kind: str | None
    media_file_id: str | None
    attempts: int


@dataclass(frozen=True)
class _Outcome:
    status: ChannelPostStatus  # PENDING: released for a later attempt
    message_id: int | None = None
    error: str | None = None
    not_before: datetime | None = None
    attempts: int = 0


async def _to_the_end(work: Awaitable[T]) -> T:
    """Run `work` to its end even if the caller is cancelled meanwhile, then let the cancellation
    through: a stopping process must not post and forget that it did (it would post again)."""
    task = asyncio.ensure_future(work)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            cancelled = cancelled or not task.done()
        except BaseException:
            pass  # the work's own failure, taken from the task below
    if cancelled:
        raise asyncio.CancelledError
    return task.result()


class ChannelPoster:
    """The delivery worker's part for the public channel: brings due posts up to date, through
    the worker's Sender and under the worker's rate (its RateLimiter, paused by any 429)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: Sender,
        channel_id: int,
        *,
        worker_id: str,
        limiter: RateLimiter,
        render: Callable[[str, Mapping[str, Any]], str] | None,
        clock: Callable[[], datetime],
        lease: timedelta,
        interval: float,
        paused: Callable[[], bool],
        on_unauthorized: Callable[[str], None],
        batch: int = 20,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.channel_id = channel_id
        self.worker_id = worker_id
        self.limiter = limiter
        self.render = render
        self.clock = clock
        self.lease = max(lease, LEASE_MIN)
        # A channel is one chat: one request at a time, `interval` apart (Telegram's pace for a
        # chat; a burst beyond it would earn a 429 for the whole bot).
        self.interval = interval
        self.batch = batch
        self.paused = paused
        self.on_unauthorized = on_unauthorized
        self._ready_at = 0.0

    async def run_once(self, stop: asyncio.Event | None = None) -> int:
        """Bring up to `batch` due posts up to date, one at a time; returns how many were
        claimed."""
        handled = 0
        while handled < self.batch and not self.paused() and not (stop and stop.is_set()):
            claimed = await self._claim()
            if claimed is None:
                break
            handled += 1
            try:
                await self._handle(claimed)
            except Exception:
                logger.exception("channel post %s failed; released for a later round", claimed.id)
                await _to_the_end(self._record(claimed, self._retry(claimed, "internal error")))
        return handled

    # The rows.

    async def _claim(self) -> _Claimed | None:
        now = self.clock()
        free = or_(ChannelPost.claimed_until.is_(None), ChannelPost.claimed_until < now)
        async with self.sessionmaker.begin() as session:
            due = (
                select(ChannelPost.id)
                .where(
                    ChannelPost.status == ChannelPostStatus.PENDING,
                    ChannelPost.not_before <= now,
                    free,
                )
                .order_by(ChannelPost.not_before, ChannelPost.id)
                .limit(1)
            )
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            # The condition is checked again by the UPDATE itself: of two workers racing for a
            # row, only one gets it back (SQLite runs it as one write; PostgreSQL rechecks the
            # row it waited for).
            claim = (
                update(ChannelPost)
                .where(ChannelPost.id.in_(due.scalar_subquery()), free)
                .values(claimed_by=self.worker_id, claimed_until=now + self.lease)
                .returning(
                    ChannelPost.id,
                    ChannelPost.version,
                    ChannelPost.message_id,
                    ChannelPost.chat_id,
                    ChannelPost.text_key,
                    ChannelPost.text_params,
                    ChannelPost.text,
                    ChannelPost.media_kind,
                    ChannelPost.media_file_id,
                    ChannelPost.attempts,
                )
                .execution_options(synchronize_session=False)
            )
            row = (await session.execute(claim)).first()
        return _Claimed(*row) if row is not None else None

    async def _still_mine(self, post: _Claimed) -> bool:
        """Renew the lease right before a request; False if it passed to another worker while
        this one waited for its turn (then that one sends, not this one)."""
        now = self.clock()
        async with self.sessionmaker.begin() as session:
            result = await session.execute(
                update(ChannelPost)
                .where(
                    ChannelPost.id == post.id,
                    ChannelPost.claimed_by == self.worker_id,
                    ChannelPost.claimed_until > now,
                )
                .values(claimed_until=now + self.lease)
                .execution_options(synchronize_session=False)
            )
        return bool(getattr(result, "rowcount", 0))

    async def _record(self, post: _Claimed, outcome: _Outcome) -> None:
        now = self.clock()
        values: dict[str, Any] = {
            "claimed_by": None,
            "claimed_until": None,
            "updated_at": now,
            "attempts": outcome.attempts,
            "error": outcome.error[:ERROR_LIMIT] if outcome.error else None,
        }
        if outcome.status is ChannelPostStatus.PENDING:
            values["not_before"] = outcome.not_before or now
        else:
            # A version queued while this one was on its way keeps the post pending.
            values["status"] = case(
                (ChannelPost.version == post.version, outcome.status),
                else_=ChannelPostStatus.PENDING,
            )
        if outcome.status is ChannelPostStatus.POSTED:
            values.update(
                posted_version=post.version,
                message_id=outcome.message_id,
                chat_id=self.channel_id,
            )
        async with self.sessionmaker.begin() as session:
            await session.execute(
                update(ChannelPost)
                .where(ChannelPost.id == post.id, ChannelPost.claimed_by == self.worker_id)
                .values(**values)
                .execution_options(synchronize_session=False)
            )

    # One post.

    def _text(self, post: _Claimed) -> str:
        if post.text_key:
            if self.render is None:
                raise SendFailed(f"no renderer for {post.text_key}")
            text = self.render(post.text_key, post.text_params or {})
        else:
            text = post.text or ""
        return fit(text, CAPTION_LIMIT if post.media_kind else TEXT_LIMIT)

    async def _turn(self, post: _Claimed) -> bool:
        """Wait for the channel's turn and a rate token; False (and no token held) when the post
        is no longer this worker's or the worker was paused meanwhile."""
        delay = self._ready_at - monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await self.limiter.acquire()
        try:
            mine = not self.paused() and await self._still_mine(post)
        except BaseException:
            self.limiter.release()
            raise
        if not mine:
            self.limiter.release()
        return mine

    def _done(self) -> None:
        """The request was answered: its token goes back, the channel's next turn is set."""
        self.limiter.release()
        self._ready_at = monotonic() + self.interval

    async def _handle(self, post: _Claimed) -> None:
        try:
            text = self._text(post)
        except Exception as exc:
            reason = exc.reason if isinstance(exc, SendFailed) else f"cannot render: {exc!r}"
            await self._record(post, _Outcome(ChannelPostStatus.FAILED, error=reason))
            return
        if not text.strip() and not post.media_file_id:
            await self._record(post, _Outcome(ChannelPostStatus.FAILED, error="nothing to post"))
            return
        try:
            ready = await self._turn(post)
        except asyncio.CancelledError:
            # Stopping while waiting for a turn: the post is handed back at once, not after the
            # lease, and nothing was sent.
            await _to_the_end(
                self._record(post, _Outcome(ChannelPostStatus.PENDING, attempts=post.attempts))
            )
            raise
        if not ready:
            if self.paused():
                await self._record(
                    post, _Outcome(ChannelPostStatus.PENDING, attempts=post.attempts)
                )
            return
        await _to_the_end(self._send_and_record(post, text))

    async def _send_and_record(self, post: _Claimed, text: str) -> None:
        """The unit a cancellation cannot split: the post goes out and its outcome is committed."""
        await self._record(post, await self._request(post, text))

    async def _request(self, post: _Claimed, text: str) -> _Outcome:
        """One request (two when the message to edit was deleted in the channel); the caller
        holds a rate token for the first."""
        message_id = post.message_id if post.chat_id == self.channel_id else None
        try:
            try:
                if message_id is None:
                    message_id = await self._send(post, text)
                else:
                    await self.sender.edit(
                        self.channel_id, message_id, text, caption=post.media_kind is not None
                    )
            except SendGone:
                # Someone deleted the post in the channel: the thing it is about still stands,
                # so it is posted again, after its own turn.
                self._done()
                logger.info("channel post %s was deleted in the channel; posting anew", post.id)
                if not await self._turn(post):
                    return _Outcome(ChannelPostStatus.PENDING, attempts=post.attempts)
                message_id = await self._send(post, text)
        except SendRetryAfter as exc:
            self.limiter.release()
            self.limiter.pause(exc.seconds)  # everyone waits, deliveries too
            later = self.clock() + timedelta(seconds=exc.seconds)
            return _Outcome(
                ChannelPostStatus.PENDING, error=str(exc), not_before=later, attempts=post.attempts
            )
        except SendUnauthorized as exc:
            self.limiter.release()
            self.on_unauthorized(exc.reason)
            return _Outcome(ChannelPostStatus.PENDING, attempts=post.attempts)
        except SendNetworkError as exc:
            self.limiter.release()
            return self._retry(post, exc.reason)
        except SendError as exc:
            # Refused for good (the bot is not an admin of the channel, a malformed text): the
            # error says why; the next change of the subject tries again.
            self._done()
            reason = exc.reason if isinstance(exc, SendFailed) else str(exc) or repr(exc)
            logger.warning("the public channel refused post %s: %s", post.id, reason)
            return _Outcome(ChannelPostStatus.FAILED, error=reason, attempts=post.attempts + 1)
        except Exception as exc:
            self.limiter.release()
            logger.exception("unexpected error from the sender")
            return self._retry(post, repr(exc))
        self._done()
        return _Outcome(ChannelPostStatus.POSTED, message_id=message_id)

    async def _send(self, post: _Claimed, text: str) -> int:
        return await self.sender.send(
            self.channel_id, text, media_kind=post.media_kind, media_file_id=post.media_file_id
        )

    def _retry(self, post: _Claimed, reason: str) -> _Outcome:
        attempts = post.attempts + 1
        delay = min(BACKOFF * 2 ** min(attempts - 1, 16), BACKOFF_MAX)
        return _Outcome(
            ChannelPostStatus.PENDING,
            error=reason,
            not_before=self.clock() + timedelta(seconds=delay),
            attempts=attempts,
        )
