"""The delivery engine: every message the bot sends to people on its own initiative goes through
an outbox row, one delivery row per recipient, and a worker that sends them at Telegram's pace.

Nothing here knows aiogram: the worker talks to a `Sender` (bot/delivery_sender.py wraps a Bot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import uuid
from bisect import bisect_right
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from html import unescape
from time import monotonic
from typing import Any, Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Select,
    Text,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import raiseload, undefer

from bot.services import preferences
from models import (
    Delivery,
    DeliveryStatus,
    Membership,
    Outbox,
    OutboxStatus,
    Role,
    Topic,
    User,
    UserRole,
)
from models.base import UTCDateTime, utcnow

logger = logging.getLogger("bot.delivery")

T = TypeVar("T")
Q = TypeVar("Q")
R = TypeVar("R")

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
ERROR_LIMIT = 300  # the width of deliveries.error
MAX_ATTEMPTS = 5
NETWORK_BACKOFF = 5.0  # seconds before the first retry after a network error; doubles each time
NETWORK_BACKOFF_MAX = 600.0
# A later part of a split message cannot be released for a retry without resending the parts
# before it, so a network error there is retried in place, this many times.
INLINE_RETRIES = 3


# --- What a Sender may raise ---------------------------------------------------------------------


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


class SendNetworkError(SendError):
    """Telegram could not be reached or failed on its side; the message may be retried later."""

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


# --- Splitting long texts ------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]*);")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")
# Coarsest first: paragraphs (a blank line), then lines; below that the text is cut hard.
_SEPARATORS = (re.compile(r"\n[ \t\r]*\n\s*"), re.compile(r"\n"))


def _units(text: str) -> int:
    # Telegram measures in UTF-16 code units; never fewer than characters, so the safe side.
    return len(text.encode("utf-16-le")) // 2


class _Layout:
    """Where an HTML text may be cut, and how much visible text lies before each position."""

    def __init__(self, source: str) -> None:
        self.source = source
        size = len(source)
        self.visible = [0] * (size + 1)
        self.cuttable = [True] * (size + 1)
        index = seen = 0
        while index < size:
            char = source[index]
            token = None
            if char == "<":
                token = _TAG.match(source, index)
                width = 0
            elif char == "&":
                token = _ENTITY.match(source, index)
                width = _units(unescape(token.group())) if token else 0
            if token is not None:
                for inner in range(index + 1, token.end()):
                    self.visible[inner] = seen
                    self.cuttable[inner] = False
                seen += width
                index = token.end()
            else:
                seen += 2 if ord(char) > 0xFFFF else 1
                index += 1
            self.visible[index] = seen

    def width(self, start: int, end: int) -> int:
        return self.visible[end] - self.visible[start]


def visible_length(html: str) -> int:
    """How long Telegram considers an HTML text: tags count nothing, an entity one character."""
    return _Layout(html).visible[-1]


def split_text(html: str, limit: int = TEXT_LIMIT) -> list[str]:
    """A text longer than `limit` visible characters becomes several, cut at blank lines, else at
    line breaks, else hard, never inside a tag or an entity; tags open at a cut are closed and
    reopened."""
    if not html.strip():
        return []
    layout = _Layout(html)
    if layout.visible[-1] <= limit:
        return [html]
    ranges = _split(layout, 0, len(html), 0, limit)
    return _balance(layout, ranges)


def _split(layout: _Layout, start: int, end: int, level: int, limit: int) -> list[tuple[int, int]]:
    if layout.width(start, end) <= limit:
        return [(start, end)]
    if level == len(_SEPARATORS):
        return _cut_hard(layout, start, end, limit)
    pieces: list[tuple[int, int]] = []
    position = start
    for match in _SEPARATORS[level].finditer(layout.source, start, end):
        if layout.cuttable[match.start()]:
            pieces.append((position, match.start()))
            position = match.end()
    pieces.append((position, end))
    chunks: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for piece_start, piece_end in pieces:
        if layout.width(piece_start, piece_end) > limit:
            if current is not None:
                chunks.append(current)
                current = None
            chunks.extend(_split(layout, piece_start, piece_end, level + 1, limit))
        elif current is None:
            current = (piece_start, piece_end)
        elif layout.width(current[0], piece_end) <= limit:
            current = (current[0], piece_end)
        else:
            chunks.append(current)
            current = (piece_start, piece_end)
    if current is not None:
        chunks.append(current)
    return chunks


def _cut_hard(layout: _Layout, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    source = layout.source
    chunks: list[tuple[int, int]] = []
    while layout.width(start, end) > limit:
        cut = bisect_right(layout.visible, layout.visible[start] + limit, start, end + 1) - 1
        while cut > start and not layout.cuttable[cut]:
            cut -= 1
        # Leave an opening tag to the next chunk rather than end this one with an empty element.
        while cut > start and source[cut - 1] == ">":
            tag_start = source.rfind("<", start, cut)
            if tag_start < 0 or source.startswith("</", tag_start):
                break
            cut = tag_start
        if cut <= start:  # a single visible character wider than the limit: cannot happen >= 2
            cut = start + 1
        # A word boundary in the second half of the chunk reads better than a cut mid-word.
        space = max(source.rfind(" ", start, cut), source.rfind("\n", start, cut))
        if space > start and layout.cuttable[space] and layout.width(start, space) > limit // 2:
            cut = space
        chunks.append((start, cut))
        start = cut
        while start < end and source[start].isspace():
            start += 1
    chunks.append((start, end))
    return chunks


def _balance(layout: _Layout, ranges: list[tuple[int, int]]) -> list[str]:
    source = layout.source
    texts: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, the opening tag as written)
    for start, end in ranges:
        while start < end and source[start].isspace():
            start += 1
        while end > start and source[end - 1].isspace():
            end -= 1
        reopened = "".join(tag for _, tag in open_tags)
        for match in _TAG.finditer(source, start, end):
            tag = match.group()
            name_match = _TAG_NAME.match(tag)
            if name_match is None or tag.endswith("/>"):
                continue
            name = name_match.group(1).lower()
            if tag.startswith("</"):
                for depth in range(len(open_tags) - 1, -1, -1):
                    if open_tags[depth][0] == name:
                        del open_tags[depth]
                        break
            else:
                open_tags.append((name, tag))
        closing = "".join(f"</{name}>" for name, _ in reversed(open_tags))
        text = reopened + source[start:end] + closing
        if unescape(_TAG.sub("", text)).strip():
            texts.append(text)
    return texts


# --- Audiences -----------------------------------------------------------------------------------

AUDIENCE_KEYS = frozenset({"everyone", "roles", "districts", "bodies", "users"})


def audience_query(
    audience: Mapping[str, Any],
    topic: Topic = Topic.ANNOUNCEMENTS,
    *,
    now: datetime | None = None,
) -> Select[tuple[int]]:
    """Ids of the people an audience names (the union of its parts) who can be written to: with a
    Telegram id, registered, not erased, not blocking the bot, and, unless the topic is duty, not
    muting it."""
    unknown = set(audience) - AUDIENCE_KEYS
    if unknown:
        raise ValueError(f"unknown audience parts: {sorted(unknown)}")
    now = now or utcnow()
    parts = []
    if audience.get("everyone"):
        parts.append(true())
    if roles := audience.get("roles"):
        wanted = [Role(role) for role in roles]
        parts.append(User.id.in_(select(UserRole.user_id).where(UserRole.role.in_(wanted))))
    if districts := audience.get("districts"):
        parts.append(User.district_id.in_([int(d) for d in districts]))
    if people := audience.get("users"):
        # Named people: a notice about their own application, membership, vote.
        parts.append(User.id.in_([int(u) for u in people]))
    if bodies := audience.get("bodies"):
        current = or_(Membership.until.is_(None), Membership.until > now)
        members = select(Membership.user_id).where(
            Membership.body_id.in_([int(b) for b in bodies]), current
        )
        parts.append(User.id.in_(members))
    query = select(User.id).where(
        or_(*parts) if parts else false(),
        User.telegram_id.is_not(None),
        # Someone who consented but never finished registering has not joined anything yet.
        User.registered_at.is_not(None),
        User.deleted_at.is_(None),
        User.blocked_at.is_(None),
    )
    if Topic(topic) is not Topic.DUTY:
        # preferences.receives, in SQL. The JSON list is matched as text so that one query
        # serves SQLite and PostgreSQL; topics are plain words, so '"digest"' matches only
        # the element "digest".
        muted = cast(User.muted_topics, Text).contains(f'"{Topic(topic).value}"', autoescape=True)
        query = query.where(~muted)
    return query


async def count_audience(
    session: AsyncSession, audience: Mapping[str, Any], topic: Topic = Topic.ANNOUNCEMENTS
) -> int:
    """How many people a message to this audience on this topic would reach now."""
    recipients = audience_query(audience, topic).subquery()
    return await session.scalar(select(func.count()).select_from(recipients)) or 0


# --- Enqueueing, progress, cancelling ------------------------------------------------------------


def _insert_for(session: AsyncSession) -> Any:
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


async def enqueue(
    session: AsyncSession, outbox: Outbox, audience: Mapping[str, Any] | None = None
) -> int:
    """Each recipient gets one pending delivery however often this runs (held until send_at when
    that is in the future), and the count of new ones is returned; the caller commits."""
    if outbox.status == OutboxStatus.CANCELLED:
        raise ValueError("a cancelled message cannot be sent")
    if audience is not None:
        outbox.audience = dict(audience)
    session.add(outbox)
    await session.flush()
    now = utcnow()
    scheduled = outbox.send_at is not None and outbox.send_at > now
    not_before = outbox.send_at if scheduled and outbox.send_at else now
    source = audience_query(outbox.audience, outbox.topic, now=now).with_only_columns(
        literal(outbox.id),
        User.id,
        literal(DeliveryStatus.PENDING, Delivery.__table__.c.status.type),
        literal(not_before, UTCDateTime()),
        literal(0),
        literal(now, UTCDateTime()),
    )
    columns = ["outbox_id", "user_id", "status", "not_before", "attempts", "updated_at"]
    # One statement, run inside the database: memory does not grow with the audience.
    statement = (
        _insert_for(session)(Delivery)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["outbox_id", "user_id"])
    )
    created = (await session.execute(statement)).rowcount or 0
    counts = await _counts(session, outbox.id)
    outbox.total = sum(counts.values())
    if counts.get(DeliveryStatus.PENDING, 0) == 0:
        outbox.status = OutboxStatus.DONE
        outbox.finished_at = outbox.finished_at or now
    else:
        outbox.status = OutboxStatus.SCHEDULED if scheduled else OutboxStatus.SENDING
        outbox.finished_at = None
        if not scheduled and outbox.started_at is None:
            outbox.started_at = now
    await session.flush()
    return created


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    blocked: int
    skipped: int
    pending: int

    @property
    def finished(self) -> bool:
        return self.pending == 0


async def _counts(session: AsyncSession, outbox_id: int) -> dict[DeliveryStatus, int]:
    rows = await session.execute(
        select(Delivery.status, func.count())
        .where(Delivery.outbox_id == outbox_id)
        .group_by(Delivery.status)
    )
    return {DeliveryStatus(status): count for status, count in rows}


async def progress(session: AsyncSession, outbox_id: int) -> Progress:
    """How far a message has gone out, counted per delivery status in one query."""
    counts = await _counts(session, outbox_id)
    return Progress(
        total=sum(counts.values()),
        sent=counts.get(DeliveryStatus.SENT, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0),
        blocked=counts.get(DeliveryStatus.BLOCKED, 0),
        skipped=counts.get(DeliveryStatus.SKIPPED, 0),
        pending=counts.get(DeliveryStatus.PENDING, 0),
    )


async def cancel(session: AsyncSession, outbox_id: int) -> int:
    """Whatever has not gone out is skipped, even rows a worker holds, and a finished message
    stays done; returns how many were stopped, and the caller commits."""
    outbox = await session.get(Outbox, outbox_id)
    if outbox is None or outbox.status in (OutboxStatus.DONE, OutboxStatus.CANCELLED):
        return 0
    now = utcnow()
    result = await session.execute(
        update(Delivery)
        .where(Delivery.outbox_id == outbox_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED, error="cancelled", updated_at=now)
    )
    outbox.status = OutboxStatus.CANCELLED
    outbox.finished_at = now
    await session.flush()
    return result.rowcount or 0


# --- Pacing --------------------------------------------------------------------------------------


class _RateLimiter:
    """A token bucket of `rate` messages per second, with two guarantees on top: a request holds
    its token until one second after Telegram answered it, so no one-second window at Telegram
    ever sees more than `rate` requests; and a 429 pauses everyone."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1, math.floor(rate))
        # A small burst (50 ms worth) absorbs the lateness of sleeps without bunching requests.
        self.burst = max(1.0, rate / 20)
        self._tokens = self.burst
        self._stamp = monotonic()
        self._paused_until = 0.0
        self._in_flight = 0
        self._window: deque[float] = deque()  # when answered requests leave the last second
        self._lock = asyncio.Lock()
        self._freed = asyncio.Event()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, monotonic() + seconds)

    async def acquire(self) -> None:
        async with self._lock:  # first come, first served
            while True:
                now = monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                while self._window and self._window[0] <= now:
                    self._window.popleft()
                delay = self._paused_until - now
                if self._in_flight + len(self._window) >= self.capacity:
                    if not self._window:
                        self._freed.clear()
                        await self._freed.wait()
                        continue
                    delay = max(delay, self._window[0] - now)
                if self._tokens < 1:
                    delay = max(delay, (1 - self._tokens) / self.rate)
                if delay <= 0:
                    break
                await asyncio.sleep(delay)
            self._tokens -= 1
            self._in_flight += 1

    def release(self) -> None:
        self._in_flight -= 1
        self._window.append(monotonic() + 1.0)
        self._freed.set()


class _ChatPacer:
    """One delivery at a time per recipient (a person is one private chat), each message at least
    `interval` after Telegram answered the previous one to them."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._ready_at: dict[int, float] = {}
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, recipient: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(recipient, (asyncio.Lock(), 0))
        self._locks[recipient] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[recipient]
            if users == 1:
                del self._locks[recipient]
            else:
                self._locks[recipient] = (lock, users - 1)

    async def wait(self, recipient: int) -> None:
        delay = self._ready_at.get(recipient, 0.0) - monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def sent(self, recipient: int) -> None:
        self._ready_at[recipient] = monotonic() + self.interval

    def prune(self) -> None:
        """Forget whoever may be written to again, so memory follows the batch, not the audience."""
        now = monotonic()
        for recipient in [c for c, ready in self._ready_at.items() if ready <= now]:
            del self._ready_at[recipient]


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


class _Batcher(Generic[Q, R]):
    """Requests made while a round trip to the database is under way share the next one: each
    caller still waits for its own answer (a record for its own commit), but many share it."""

    def __init__(self, handle: Callable[[list[Q]], Awaitable[list[R]]]) -> None:
        self._handle = handle
        self._waiting: list[tuple[Q, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, request: Q) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            group, self._waiting = self._waiting, []
            try:
                answers = await self._handle([request for request, _ in group])
            except Exception as exc:
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for (_, future), answer in zip(group, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)

    async def settle(self) -> None:
        """Wait until nothing is in flight (callers that gave up leave their round trip behind)."""
        if self._runner is not None and not self._runner.done():
            await asyncio.wait([self._runner])


# --- The worker ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    text: str
    media_kind: str | None = None
    media_file_id: str | None = None
    media_data: bytes | None = None
    media_name: str | None = None
    buttons: Buttons | None = None


@dataclass(frozen=True)
class _Item:
    id: int
    outbox_id: int
    user_id: int
    attempts: int


@dataclass(frozen=True)
class _Outcome:
    status: DeliveryStatus
    error: str | None = None
    message_id: int | None = None
    not_before: datetime | None = None  # for a release: pending again from then on
    attempts: int | None = None
    block_user: bool = False


class _RetryLater(Exception):
    """A 429 before anything of the delivery went out: wait outside the shielded unit."""


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
    ) -> None:
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self.batch = batch
        self.lease = timedelta(seconds=lease_seconds)
        self.render = render
        self.render_label = render_label
        self.on_progress = on_progress
        ZoneInfo(quiet_timezone)  # an unknown zone fails here, not at the first delivery
        self.quiet_timezone = quiet_timezone
        # Enough requests in flight to reach the rate when Telegram answers slowly.
        self.concurrency = max(1, concurrency)
        self.clock = clock
        self._limiter = _RateLimiter(rate)
        self._pacer = _ChatPacer(per_chat_interval)
        self._stop = asyncio.Event()
        self._checks = _Batcher(self._check_many)
        self._records = _Batcher(self._record_many)

    # Running.

    async def run(self, stop: asyncio.Event, idle_sleep: float = 0.5) -> None:
        """Send until `stop` is set; a batch in progress stops at the next delivery."""
        self._stop = stop
        while not stop.is_set():
            try:
                handled = await self.run_once()
            except Exception:
                logger.exception("delivery batch failed; retrying")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle_sleep)

    async def run_once(self) -> int:
        """Claim up to `batch` due deliveries and handle each; returns how many were claimed."""
        items = await self._claim()
        if not items:
            return 0
        outboxes, users = await self._load(items)
        remaining = {item.id for item in items}
        queue = deque(items)
        heartbeat = asyncio.create_task(self._heartbeat(remaining))

        async def lane() -> None:
            while queue and not self._stop.is_set():
                item = queue.popleft()
                outbox = outboxes.get(item.outbox_id)
                if outbox is not None:  # else deleted meanwhile, its deliveries with it
                    await self._deliver(item, outbox, users.get(item.user_id))
                remaining.discard(item.id)

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.concurrency, len(items))):
                    group.create_task(lane())
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await _together(self._records.settle())
            await _together(self._checks.settle())
            if remaining:
                # Stopped mid-batch: hand the rest back at once instead of after the lease.
                await _together(self._release(remaining))
            self._pacer.prune()
        touched = sorted({item.outbox_id for item in items})
        await self._finish(touched)
        if self.on_progress is not None:
            for outbox_id in touched:
                try:
                    await self.on_progress(outbox_id)
                except Exception:
                    logger.exception("progress callback failed for outbox %s", outbox_id)
        return len(items)

    # The database side.

    async def _claim(self) -> list[_Item]:
        now = self.clock()
        free = or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now)
        # Duty and urgent messages go first: a council member's ballot must not wait behind a
        # ten-thousand-person announcement.
        first = select(Outbox.id).where(
            or_(Outbox.urgent.is_(True), Outbox.topic == Topic.DUTY),
            Outbox.status.in_([OutboxStatus.SENDING, OutboxStatus.SCHEDULED]),
        )
        rows: list[Any] = []
        async with self.sessionmaker() as session:
            for only in (Delivery.outbox_id.in_(first), true()):
                if len(rows) >= self.batch:
                    break
                due = (
                    select(Delivery.id)
                    .where(
                        Delivery.status == DeliveryStatus.PENDING,
                        Delivery.not_before <= now,
                        free,
                        only,
                    )
                    .order_by(Delivery.not_before, Delivery.id)
                    .limit(self.batch - len(rows))
                )
                if session.get_bind().dialect.name == "postgresql":
                    # Rows another worker is claiming right now are passed over, not waited for.
                    due = due.with_for_update(skip_locked=True)
                # SQLite runs the statement as one write, so the condition is checked and the
                # claim set atomically: of two workers racing for a row, only one gets it back.
                claim = (
                    update(Delivery)
                    .where(Delivery.id.in_(due.scalar_subquery()), free)
                    .values(claimed_by=self.worker_id, claimed_until=now + self.lease)
                    .returning(Delivery.id, Delivery.outbox_id, Delivery.user_id, Delivery.attempts)
                    .execution_options(synchronize_session=False)
                )
                rows += (await session.execute(claim)).all()
            if rows:
                await session.execute(
                    update(Outbox)
                    .where(
                        Outbox.id.in_({row[1] for row in rows}),
                        Outbox.status == OutboxStatus.SCHEDULED,
                    )
                    .values(
                        status=OutboxStatus.SENDING,
                        started_at=func.coalesce(Outbox.started_at, now),
                    )
                    .execution_options(synchronize_session=False)
                )
            await session.commit()
        return sorted((_Item(*row) for row in rows), key=lambda item: item.id)

    async def _load(self, items: list[_Item]) -> tuple[dict[int, Outbox], dict[int, User]]:
        async with self.sessionmaker() as session:
            outbox_ids = {item.outbox_id for item in items}
            found = await session.scalars(
                select(Outbox).where(Outbox.id.in_(outbox_ids)).options(undefer(Outbox.media_data))
            )
            outboxes = {outbox.id: outbox for outbox in found}
            users: dict[int, User] = {}
            rendered = {o.id for o in outboxes.values() if o.text_key or o.buttons}
            wanted = {item.user_id for item in items if item.outbox_id in rendered}
            if wanted:
                people = await session.scalars(select(User).where(User.id.in_(wanted)))
                users = {user.id: user for user in people}
        return outboxes, users

    async def _heartbeat(self, remaining: set[int]) -> None:
        """Keep the lease on the rows not handled yet, so nobody else takes them meanwhile."""
        period = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(period)
            if not remaining:
                continue
            try:
                async with self.sessionmaker.begin() as session:
                    await session.execute(
                        update(Delivery)
                        .where(
                            Delivery.id.in_(list(remaining)),
                            Delivery.claimed_by == self.worker_id,
                            Delivery.status == DeliveryStatus.PENDING,
                        )
                        .values(claimed_until=self.clock() + self.lease)
                        .execution_options(synchronize_session=False)
                    )
            except OperationalError:
                logger.warning("could not renew the delivery lease", exc_info=True)

    async def _release(self, ids: Collection[int]) -> None:
        async with self.sessionmaker.begin() as session:
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(list(ids)),
                    Delivery.claimed_by == self.worker_id,
                    Delivery.status == DeliveryStatus.PENDING,
                )
                .values(claimed_by=None, claimed_until=None)
                .execution_options(synchronize_session=False)
            )

    async def _finish(self, outbox_ids: list[int]) -> None:
        now = self.clock()
        async with self.sessionmaker.begin() as session:
            for outbox_id in outbox_ids:
                pending = exists().where(
                    Delivery.outbox_id == outbox_id, Delivery.status == DeliveryStatus.PENDING
                )
                await session.execute(
                    update(Outbox)
                    .where(
                        Outbox.id == outbox_id,
                        Outbox.status.in_([OutboxStatus.SENDING, OutboxStatus.SCHEDULED]),
                        ~pending,
                    )
                    .values(status=OutboxStatus.DONE, finished_at=now)
                    .execution_options(synchronize_session=False)
                )

    async def _record(self, item: _Item, outcome: _Outcome) -> None:
        """Record one outcome; returns once it is committed (in a group with others)."""
        await self._records((item, outcome))

    async def _record_many(self, entries: list[tuple[_Item, _Outcome]]) -> list[None]:
        now = self.clock()
        # Outcomes that set the same columns go in one executemany.
        groups: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]] = {}
        blocked: list[int] = []
        for item, outcome in entries:
            release = outcome.status is DeliveryStatus.PENDING
            values: dict[str, Any] = {"updated_at": now, "claimed_by": None, "claimed_until": None}
            if release:
                values["not_before"] = outcome.not_before or now
            else:
                values["status"] = outcome.status
            if outcome.status is DeliveryStatus.SENT:
                values["error"] = None  # an earlier network error is history now
            elif outcome.error is not None:
                values["error"] = outcome.error[:ERROR_LIMIT]
            if outcome.message_id is not None:
                values["telegram_message_id"] = outcome.message_id
            if outcome.attempts is not None:
                values["attempts"] = outcome.attempts
            params = {"delivery_id": item.id, **{f"new_{k}": v for k, v in values.items()}}
            groups.setdefault((release, tuple(sorted(values))), []).append(params)
            if outcome.block_user:
                blocked.append(item.user_id)
        failures = 0
        while True:
            try:
                await self._write(groups, blocked, now)
                return [None] * len(entries)
            except OperationalError:
                # Losing this write would mean sending these messages again after the lease.
                failures += 1
                if failures == 3:
                    raise
                logger.warning("could not record deliveries; retrying", exc_info=True)
                await asyncio.sleep(0.5 * failures)

    async def _write(
        self,
        groups: dict[tuple[bool, tuple[str, ...]], list[dict[str, Any]]],
        blocked: list[int],
        now: datetime,
    ) -> None:
        table = Delivery.__table__
        async with self.sessionmaker.begin() as session:
            for (release, columns), params in groups.items():
                statement = (
                    update(table)
                    .where(table.c.id == bindparam("delivery_id"))
                    .values({column: bindparam(f"new_{column}") for column in columns})
                )
                if release:
                    # A release must not bring back a row that was cancelled meanwhile.
                    statement = statement.where(table.c.status == DeliveryStatus.PENDING)
                await session.execute(statement, params)
            if blocked:
                await session.execute(
                    update(User)
                    .where(User.id.in_(blocked), User.blocked_at.is_(None))
                    .values(blocked_at=now)
                    .execution_options(synchronize_session=False)
                )

    async def _check_many(self, items: list[_Item]) -> list[Any]:
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(
                    Delivery.id,
                    Delivery.status,
                    Delivery.claimed_by,
                    Delivery.claimed_until,
                    Outbox.status,
                    User,
                )
                .join(Outbox, Outbox.id == Delivery.outbox_id)
                .join(User, User.id == Delivery.user_id)
                .where(Delivery.id.in_([item.id for item in items]))
                # Only the person's own columns are read here; their relations cost queries.
                .options(raiseload("*"))
            )
            found = {row[0]: row[1:] for row in rows}
        return [found.get(item.id) for item in items]

    # One delivery.

    async def _verdict(self, item: _Item, outbox: Outbox) -> _Outcome | int | None:
        """What to do now: an outcome to record without sending, the chat id to send to, or None
        when the delivery is no longer this worker's to handle."""
        row = await self._checks(item)
        now = self.clock()
        if row is None:
            return None
        status, claimed_by, claimed_until, outbox_status, person = row
        mine = claimed_by == self.worker_id and claimed_until is not None and claimed_until > now
        if status != DeliveryStatus.PENDING or not mine:
            # Cancelled, or the lease passed to another worker: not ours to send any more.
            return None
        if outbox_status == OutboxStatus.CANCELLED:
            return _Outcome(DeliveryStatus.SKIPPED, "cancelled")
        if person.telegram_id is None or person.deleted_at is not None:
            return _Outcome(DeliveryStatus.SKIPPED, "erased")
        if person.blocked_at is not None:
            return _Outcome(DeliveryStatus.BLOCKED, "blocked the bot")
        if not preferences.receives(person, outbox.topic):
            return _Outcome(DeliveryStatus.SKIPPED, "muted")
        if not outbox.urgent:
            until = preferences.quiet_until(person, now, self.quiet_timezone)
            if until is not None:
                return _Outcome(DeliveryStatus.PENDING, not_before=until)
        return int(person.telegram_id)

    def _compose(self, outbox: Outbox, user: User | None) -> list[_Part]:
        if outbox.text_key:
            if self.render is None or user is None:
                raise SendFailed(f"no renderer for {outbox.text_key}")
            text = self.render(outbox, user)
        else:
            text = outbox.text or ""
        parts = [_Part(part) for part in split_text(text)]
        if outbox.media_kind and (outbox.media_file_id or outbox.media_data):
            media = _Part(
                "",
                media_kind=outbox.media_kind,
                media_file_id=outbox.media_file_id,
                media_data=outbox.media_data,
                media_name=outbox.media_name,
            )
            if parts and visible_length(parts[0].text) <= CAPTION_LIMIT:
                parts = [replace(media, text=parts[0].text), *parts[1:]]
            else:
                parts = [media, *parts]
        if not parts:
            raise SendFailed("nothing to send")
        if outbox.buttons:
            # The buttons go under the last part: the message a person answers is the one below.
            parts[-1] = replace(parts[-1], buttons=self._buttons(outbox.buttons, user))
        return parts

    def _buttons(self, rows: list[list[dict[str, str]]], user: User | None) -> Buttons:
        rendered: Buttons = []
        for row in rows:
            line = []
            for button in row:
                if "text_key" in button:
                    if self.render_label is None:
                        raise SendFailed(f"no renderer for {button['text_key']}")
                    label = self.render_label(button["text_key"], user)
                else:
                    label = button["text"]
                line.append((label, button["data"]))
            rendered.append(line)
        return rendered

    async def _deliver(self, item: _Item, outbox: Outbox, user: User | None) -> None:
        # The turn is taken before the first await, in queue order: one person's messages go
        # out in the order they were queued, one delivery at a time.
        async with self._pacer.turn(item.user_id):
            while True:
                verdict = await self._verdict(item, outbox)
                if verdict is None:
                    return
                if isinstance(verdict, _Outcome):
                    await _together(self._record(item, verdict))
                    return
                try:
                    parts = self._compose(outbox, user)
                except Exception as exc:
                    reason = (
                        exc.reason if isinstance(exc, SendFailed) else f"cannot render: {exc!r}"
                    )
                    await _together(self._record(item, _Outcome(DeliveryStatus.FAILED, reason)))
                    return
                await self._pacer.wait(item.user_id)
                await self._limiter.acquire()
                try:
                    await _together(self._send_and_record(item, verdict, parts))
                    return
                except _RetryLater:
                    continue

    async def _send_and_record(self, item: _Item, chat_id: int, parts: list[_Part]) -> None:
        """The unit a cancellation cannot split: the message goes out and its outcome is
        committed, or (a 429 before anything went out) neither happens."""
        outcome = await self._send_parts(item, chat_id, parts)
        await self._record(item, outcome)

    async def _send_parts(self, item: _Item, chat_id: int, parts: list[_Part]) -> _Outcome:
        """Send every part (the caller holds a rate token for the first one)."""
        attempts = item.attempts + 1
        first_id: int | None = None
        for index, part in enumerate(parts):
            if index > 0:
                await self._pacer.wait(item.user_id)
                await self._limiter.acquire()
            inline_retries = 0
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
                    self._limiter.release()
                    self._limiter.pause(exc.seconds)
                    if index == 0:
                        raise _RetryLater from exc
                    await self._pacer.wait(item.user_id)
                    await self._limiter.acquire()
                    continue
                except SendBlocked:
                    self._limiter.release()
                    return _Outcome(
                        DeliveryStatus.BLOCKED,
                        "blocked the bot",
                        attempts=attempts,
                        block_user=True,
                    )
                except SendFailed as exc:
                    self._limiter.release()
                    self._pacer.sent(item.user_id)
                    return _Outcome(DeliveryStatus.FAILED, exc.reason, first_id, attempts=attempts)
                except Exception as exc:
                    self._limiter.release()
                    reason = exc.reason if isinstance(exc, SendNetworkError) else repr(exc)
                    if not isinstance(exc, SendNetworkError):
                        logger.exception("unexpected error from the sender")
                    if index == 0:
                        return self._network_retry(item, reason)
                    inline_retries += 1
                    if inline_retries > INLINE_RETRIES:
                        reason = f"sent in part: {reason}"
                        return _Outcome(DeliveryStatus.FAILED, reason, first_id, attempts=attempts)
                    await asyncio.sleep(NETWORK_BACKOFF * 2 ** (inline_retries - 1))
                    await self._pacer.wait(item.user_id)
                    await self._limiter.acquire()
                    continue
                self._limiter.release()
                self._pacer.sent(item.user_id)
                if first_id is None:
                    first_id = message_id
                break
        return _Outcome(DeliveryStatus.SENT, message_id=first_id, attempts=attempts)

    def _network_retry(self, item: _Item, reason: str) -> _Outcome:
        attempts = item.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            return _Outcome(DeliveryStatus.FAILED, reason, attempts=attempts)
        delay = min(NETWORK_BACKOFF * 2 ** (attempts - 1), NETWORK_BACKOFF_MAX)
        return _Outcome(
            DeliveryStatus.PENDING,
            reason,
            not_before=self.clock() + timedelta(seconds=delay),
            attempts=attempts,
        )
