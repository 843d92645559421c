"""The delivery worker: claims due deliveries, decides for each whether it may go now, and sends it
through a Sender at Telegram's pace, the send and its record one unit a cancellation cannot split.
Several workers (in one process or many) share the work through leases on the rows.

A kill (SIGKILL, a power cut) can split them, and nothing can prevent it: Telegram has no
idempotency key. Each lane records its send before it starts the next, so a kill resends at most
one delivery per lane (`concurrency`), and nothing is lost. Network errors and 5xx are retried for
a day (FAILING_LIMIT); a refused token (401) pauses the whole worker until a probe finds it works.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from time import monotonic
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import dates, metrics
from bot.delivery import wakeup
from bot.delivery.channel import ChannelPoster
from bot.delivery.compose import Part, compose
from bot.delivery.lanes import Continuation, Lanes
from bot.delivery.ledger import Item, Ledger, Outcome
from bot.delivery.outbox import queue_next_chunk, queuing
from bot.delivery.pacing import ChatPacer, RateLimiter
from bot.delivery.quota import SharedQuota
from bot.delivery.sender import (
    SendBlocked,
    Sender,
    SendFailed,
    SendNetworkError,
    SendRetryAfter,
    SendUnauthorized,
)
from bot.services import preferences
from models import DeliveryStatus, Outbox, OutboxStatus, User
from models.base import utcnow

logger = logging.getLogger("bot.delivery")

T = TypeVar("T")

# A delivery that fails on the network or at Telegram's side (5xx) is retried, 5 s later, then
# 10 s, ... at most 5 minutes apart, for a day: an outage of hours loses nothing.
NETWORK_BACKOFF = 5.0
NETWORK_BACKOFF_MAX = 300.0
FAILING_LIMIT = timedelta(hours=24)
# Seconds a round spends adding recipients to messages queued in the background before it sends:
# 200,000 recipients are queued in a few rounds, while what is already queued goes out.
QUEUE_BUDGET = 0.25
# A lane parks the rest of a message in parts rather than wait longer than this for its person.
PARK_AFTER = 0.05
# While Telegram refuses the token, getMe is asked this often (doubling up to the maximum).
PROBE_BACKOFF = 5.0
PROBE_BACKOFF_MAX = 300.0


class _RetryLater(Exception):
    """A 429 before anything of the delivery went out: wait outside the shielded unit."""


async def _together(work: Awaitable[T]) -> T:
    """Run `work` to its end even if the caller is cancelled meanwhile, then let the cancellation
    through: a stopping process must not send a message and forget to record it."""
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
        if not task.cancelled() and (error := task.exception()) is not None:
            if not isinstance(error, _RetryLater):
                logger.error("failed while stopping", exc_info=error)
        raise asyncio.CancelledError
    return task.result()


class DeliveryWorker:
    """Claims due deliveries in batches and sends them through a Sender; several workers (in one
    process or many) share the work through leases on the rows."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: Sender,
        *,
        rate: float = 25.0,
        per_chat_interval: float = 1.0,
        worker_id: str | None = None,
        batch: int = 100,
        lease_seconds: float = 60,
        render: Callable[[Outbox, User], str] | None = None,
        render_label: Callable[[str, User | None], str] | None = None,
        on_progress: Callable[[int], Awaitable[None]] | None = None,
        quiet_timezone: str = "Europe/Moscow",
        concurrency: int = 8,
        clock: Callable[[], datetime] = utcnow,
        channel_id: int | None = None,
        render_post: Callable[[str, Mapping[str, Any]], str] | None = None,
        quota: SharedQuota | None = None,
    ) -> None:
        self.sender = sender
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self.render = render
        self.render_label = render_label
        self.on_progress = on_progress
        ZoneInfo(quiet_timezone)  # an unknown zone fails here, not at the first delivery
        self.quiet_timezone = quiet_timezone
        # Enough requests in flight to reach the rate when Telegram answers slowly.
        self.concurrency = max(1, concurrency)
        self.clock = clock
        # Set while Telegram refuses the token: nothing is sent until a probe finds it works.
        self.paused_since: datetime | None = None
        # Whether the last send failed on the network: an outage is logged once, not per message.
        self._unreachable = False
        # With several replicas, the rate is theirs together (bot/delivery/quota.py).
        self._limiter = RateLimiter(rate, quota)
        self._pacer = ChatPacer(per_chat_interval)
        self._stop = asyncio.Event()
        self.sessionmaker = sessionmaker
        # Set when a transaction of this process queued deliveries (bot/delivery/wakeup.py).
        self._wake = asyncio.Event()
        # The ledger reads the clock at each call: a test may set another after construction.
        self._ledger = Ledger(
            sessionmaker,
            self.worker_id,
            batch=batch,
            lease=timedelta(seconds=lease_seconds),
            clock=lambda: self.clock(),
        )
        # The public channel's posts (PUBLIC_CHANNEL_ID), at the same rate as everything else.
        self.channel = (
            ChannelPoster(
                sessionmaker,
                sender,
                channel_id,
                worker_id=self.worker_id,
                limiter=self._limiter,
                render=render_post,
                clock=lambda: self.clock(),
                lease=timedelta(seconds=lease_seconds),
                interval=per_chat_interval,
                paused=lambda: self.paused_since is not None,
                on_unauthorized=self._pause,
            )
            if channel_id is not None
            else None
        )

    # Running.

    async def run(self, stop: asyncio.Event, idle_sleep: float = 0.5) -> None:
        """Send until `stop` is set; a batch in progress stops at the next delivery."""
        self._stop = stop
        wakeup.register(self._wake.set)
        try:
            while not stop.is_set():
                if self.paused_since is not None:
                    await self._wait_for_token(stop)
                    continue
                # Cleared before the round: a commit during it leaves the event set, and the
                # next round starts at once.
                self._wake.clear()
                try:
                    handled = await self.run_once()
                except Exception:
                    logger.exception("delivery batch failed; retrying")
                    handled = 0
                if handled == 0:
                    await self._idle(stop, idle_sleep)
        finally:
            wakeup.unregister(self._wake.set)

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        """Wait for the next round: `seconds`, or less when this process queues something."""
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def run_once(self) -> int:
        """Claim up to `batch` due deliveries and handle each, then bring the public channel's
        due posts up to date; returns how many were claimed (none while paused for a refused
        token)."""
        if self.paused_since is not None:
            return 0
        handled = await self._queue_some()
        handled += await self._deliver_batch()
        if self.channel is not None and self.paused_since is None and not self._stop.is_set():
            handled += await self.channel.run_once(self._stop)
        return handled

    async def _queue_some(self) -> int:
        """Add recipients to the messages queued in the background, chunk by chunk, for at most
        QUEUE_BUDGET seconds; then this round sends. Returns how many chunks were added."""
        async with self.sessionmaker() as session:
            waiting = await queuing(session)
        chunks = 0
        started = time.monotonic()
        for outbox_id in waiting:
            more = True
            while more and time.monotonic() - started < QUEUE_BUDGET and not self._stop.is_set():
                async with self.sessionmaker.begin() as session:
                    more = await queue_next_chunk(session, outbox_id)
                chunks += 1
            await self._report(outbox_id)
            if more:
                break  # the budget is spent; the next round goes on from here
        return chunks

    async def _report(self, outbox_id: int) -> None:
        if self.on_progress is None:
            return
        try:
            await self.on_progress(outbox_id)
        except Exception:
            logger.exception("progress callback failed for outbox %s", outbox_id)

    async def _deliver_batch(self) -> int:
        items = await self._ledger.claim()
        if not items:
            return 0
        outboxes, users = await self._ledger.load(items)
        remaining = {item.id for item in items}
        lanes = Lanes(items, self._pacer.delay)
        heartbeat = asyncio.create_task(self._ledger.heartbeat(remaining))

        async def lane() -> None:
            while self.paused_since is None:
                job = await lanes.next(self._stop)
                if job is None:
                    return
                rest: Continuation | None = None
                if isinstance(job, Continuation):
                    item = job.item
                    rest = await self._resume(job)
                else:
                    item = job
                    outbox = outboxes.get(item.outbox_id)
                    if outbox is not None:  # else deleted meanwhile, its deliveries with it
                        rest = await self._deliver(item, outbox, users.get(item.user_id))
                if rest is not None:
                    lanes.park(rest)
                    continue
                remaining.discard(item.id)
                lanes.done(item.user_id)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.concurrency, len(items))):
                    group.create_task(lane())
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await _together(self._ledger.settle())
            if remaining:
                # Stopped mid-batch: hand the rest back at once instead of after the lease.
                await _together(self._ledger.release(remaining))
            self._pacer.prune()
        touched = sorted({item.outbox_id for item in items})
        await self._ledger.finish(touched)
        for outbox_id in touched:
            await self._report(outbox_id)
        return len(items)

    # One delivery.

    async def _verdict(self, item: Item, outbox: Outbox) -> Outcome | int | None:
        """What to do now: an outcome to record without sending, the chat id to send to, or None
        when the delivery is no longer this worker's to handle."""
        row = await self._ledger.check(item)
        now = self.clock()
        if row is None:
            return None
        status, claimed_by, claimed_until, outbox_status, person = row
        mine = claimed_by == self.worker_id and claimed_until is not None and claimed_until > now
        if status != DeliveryStatus.PENDING or not mine:
            # Cancelled, or the lease passed to another worker: not ours to send any more.
            return None
        if outbox_status == OutboxStatus.CANCELLED:
            return Outcome(DeliveryStatus.SKIPPED, "cancelled")
        if person.telegram_id is None or person.deleted_at is not None:
            return Outcome(DeliveryStatus.SKIPPED, "erased")
        if person.blocked_at is not None:
            return Outcome(DeliveryStatus.BLOCKED, "blocked the bot")
        if not preferences.receives(person, outbox.topic):
            return Outcome(DeliveryStatus.SKIPPED, "muted")
        if not outbox.urgent:
            until = preferences.quiet_until(person, now, self.quiet_timezone)
            if until is not None:
                return Outcome(DeliveryStatus.PENDING, not_before=until)
        return int(person.telegram_id)

    def _compose(self, outbox: Outbox, user: User | None) -> list[Part]:
        return compose(outbox, user, self.render, self.render_label)

    async def _deliver(self, item: Item, outbox: Outbox, user: User | None) -> Continuation | None:
        """Send a delivery, or record why not; what is returned is the rest of a message in
        parts, for a lane to send when its person may be written to again."""
        # The turn is taken before the first await, in queue order: one person's messages go
        # out in the order they were queued, one delivery at a time.
        async with self._pacer.turn(item.user_id):
            while True:
                verdict = await self._verdict(item, outbox)
                if verdict is None:
                    return None
                if isinstance(verdict, Outcome):
                    await _together(self._ledger.record(item, verdict))
                    return None
                try:
                    parts = self._compose(outbox, user)
                except Exception as exc:
                    reason = (
                        exc.reason if isinstance(exc, SendFailed) else f"cannot render: {exc!r}"
                    )
                    await _together(
                        self._ledger.record(item, Outcome(DeliveryStatus.FAILED, reason))
                    )
                    return None
                if not await self._ready_to_send(item):
                    return None
                try:
                    return await _together(self._send_and_record(item, verdict, parts))
                except _RetryLater:
                    continue
        return None

    async def _ready_to_send(self, item: Item) -> bool:
        """Wait for the person's gap and a rate token; False when the worker was paused (a
        refused token) meanwhile, and the delivery is handed back."""
        await self._pacer.wait(item.user_id)
        await self._limiter.acquire()
        if self.paused_since is None:
            return True
        self._limiter.release()
        await _together(self._ledger.record(item, Outcome(DeliveryStatus.PENDING)))
        return False

    async def _resume(self, rest: Continuation) -> Continuation | None:
        """Send the parts of a message that were left for later (see _deliver)."""
        item = rest.item
        async with self._pacer.turn(item.user_id):
            if not await self._ready_to_send(item):
                return None
            # Something of the message went out: a 429 now is waited out here, not by starting
            # the delivery over.
            return await _together(self._send_and_record(item, rest.chat_id, rest.parts, rest))

    async def _send_and_record(
        self, item: Item, chat_id: int, parts: list[Part], rest: Continuation | None = None
    ) -> Continuation | None:
        """The unit a cancellation cannot split: the message goes out and its outcome is
        committed, or (a 429 before anything went out) neither happens. A message in parts
        that must wait for its next part has what went out recorded, and the rest returned."""
        outcome = await self._send_parts(item, chat_id, parts, rest)
        if isinstance(outcome, Continuation):
            return outcome
        await self._ledger.record(item, outcome)
        metrics.delivered(outcome.status)
        return None

    async def _send_parts(
        self, item: Item, chat_id: int, parts: list[Part], rest: Continuation | None = None
    ) -> Outcome | Continuation:
        """Send the parts not sent yet (the caller holds a rate token for the first one); a
        continuation when the next part has to wait for the person's one-second gap. `rest`:
        the continuation whose parts these are, when one is resumed."""
        attempts = item.attempts + 1
        first_id = rest.first_id if rest is not None else None
        skip = item.parts_sent if item.parts_sent < len(parts) else 0
        for index in range(skip, len(parts)):
            part = parts[index]
            if index > skip:
                wait = self._pacer.delay(item.user_id)
                if wait > PARK_AFTER:
                    # What went out is recorded before the lane takes other work: a kill now
                    # resends none of it.
                    await self._ledger.progress(item, index, first_id)
                    return Continuation(
                        replace(item, parts_sent=index),
                        chat_id,
                        parts,
                        first_id,
                        monotonic() + wait,
                    )
                await self._pacer.wait(item.user_id)
                await self._limiter.acquire()
            while True:
                try:
                    message_id = await self.sender.send(
                        chat_id,
                        part.text,
                        media_kind=part.media_kind,
                        media_file_id=part.media_file_id,
                        media_data=part.media_data,
                        media_name=part.media_name,
                        buttons=part.buttons,
                    )
                except SendRetryAfter as exc:
                    metrics.RETRY_AFTER.inc()
                    self._limiter.release()
                    self._limiter.pause(exc.seconds)
                    if index == skip and rest is None:
                        raise _RetryLater from exc
                    await self._pacer.wait(item.user_id)
                    await self._limiter.acquire()
                    continue
                except SendBlocked:
                    self._limiter.release()
                    return Outcome(
                        DeliveryStatus.BLOCKED,
                        "blocked the bot",
                        attempts=attempts,
                        block_user=True,
                    )
                except SendFailed as exc:
                    self._limiter.release()
                    self._pacer.sent(item.user_id)
                    return Outcome(DeliveryStatus.FAILED, exc.reason, first_id, attempts=attempts)
                except SendUnauthorized as exc:
                    self._limiter.release()
                    self._pause(exc.reason)
                    # Not the delivery's failure: back to pending as it was, minus what went out.
                    return Outcome(DeliveryStatus.PENDING, message_id=first_id, parts_sent=index)
                except Exception as exc:
                    self._limiter.release()
                    reason = exc.reason if isinstance(exc, SendNetworkError) else repr(exc)
                    if not isinstance(exc, SendNetworkError):
                        logger.exception("unexpected error from the sender")
                    if not self._unreachable:
                        self._unreachable = True
                        logger.warning(
                            "cannot reach Telegram (%s): deliveries stay pending and are retried "
                            "for %s",
                            reason,
                            FAILING_LIMIT,
                        )
                    return self._network_retry(item, reason, first_id, parts_sent=index)
                self._limiter.release()
                self._pacer.sent(item.user_id)
                if self._unreachable:
                    self._unreachable = False
                    logger.warning("Telegram can be reached again: deliveries go on")
                if index == 0:
                    # The id of the message's first part; a retry sending the rest keeps it.
                    first_id = message_id
                break
        return Outcome(
            DeliveryStatus.SENT, message_id=first_id, attempts=attempts, parts_sent=len(parts)
        )

    def _network_retry(
        self, item: Item, reason: str, first_id: int | None, *, parts_sent: int
    ) -> Outcome:
        """Pending again after a backoff, unless it has failed for longer than FAILING_LIMIT."""
        attempts = item.attempts + 1
        now = self.clock()
        since = item.failing_since or now
        if now - since > FAILING_LIMIT:
            reason = f"failing since {since.isoformat(timespec='seconds')}: {reason}"
            return Outcome(DeliveryStatus.FAILED, reason, first_id, attempts=attempts)
        delay = min(NETWORK_BACKOFF * 2 ** min(attempts - 1, 16), NETWORK_BACKOFF_MAX)
        return Outcome(
            DeliveryStatus.PENDING,
            reason,
            first_id,
            not_before=now + timedelta(seconds=delay),
            attempts=attempts,
            failing_since=since,
            parts_sent=parts_sent,
        )

    # A revoked token.

    @property
    def paused(self) -> bool:
        return self.paused_since is not None

    def _pause(self, reason: str) -> None:
        if self.paused_since is not None:
            return  # said once, not once per delivery
        self.paused_since = self.clock()
        logger.critical(
            "Telegram refuses the bot's token (%s): delivery is paused, nothing pending is lost; "
            "it resumes by itself once the token works again (check BOT_TOKEN)",
            reason,
        )

    async def probe(self) -> bool:
        """Ask Telegram whether the token works again; if it does, resume and tell the admins.
        Returns whether the worker is running (not paused) afterwards."""
        since = self.paused_since
        if since is None:
            return True
        try:
            if not await self.sender.authorized():
                return False
        except SendNetworkError as exc:
            logger.warning("cannot tell whether the token works again: %s", exc.reason)
            return False
        except Exception:  # whatever it is, the worker keeps probing rather than die
            logger.exception("could not ask Telegram whether the token works again")
            return False
        now = self.clock()
        self.paused_since = None
        logger.warning("Telegram accepts the bot's token again: delivery resumed")
        try:
            await self._ledger.notify_admins(
                "delivery-paused-notice",
                {
                    "since_at": dates.moment_param(since, self.quiet_timezone),
                    "until_at": dates.moment_param(now, self.quiet_timezone),
                },
            )
        except Exception:  # the notice is a courtesy; the log says it all
            logger.exception("could not queue the notice of the pause for the admins")
        return True

    async def _wait_for_token(self, stop: asyncio.Event) -> None:
        delay = PROBE_BACKOFF
        while not stop.is_set() and not await self.probe():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, PROBE_BACKOFF_MAX)
