"""The worker's side of the deliveries table: rows claimed under a lease that is kept alive while
they wait, outcomes recorded in groups (one commit serves many sends), finished messages closed.
Nothing here sends; bot/delivery/worker.py decides and sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Table, bindparam, exists, func, or_, select, true, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import raiseload, undefer

from bot.delivery.outbox import enqueue
from models import Delivery, DeliveryStatus, Outbox, OutboxStatus, Role, Topic, User

logger = logging.getLogger("bot.delivery")

Q = TypeVar("Q")
R = TypeVar("R")

ERROR_LIMIT = 300  # the width of deliveries.error


@dataclass(frozen=True)
class Item:
    """A delivery this worker claimed, as it was when claimed."""

    id: int
    outbox_id: int
    user_id: int
    attempts: int
    failing_since: datetime | None = None
    parts_sent: int = 0


@dataclass(frozen=True)
class Outcome:
    """What became of a delivery; a PENDING status releases it for a later attempt."""

    status: DeliveryStatus
    error: str | None = None
    message_id: int | None = None
    not_before: datetime | None = None  # for a release: pending again from then on
    attempts: int | None = None
    block_user: bool = False
    failing_since: datetime | None = None  # set on a network failure; a SENT clears it
    parts_sent: int | None = None


# What a check reads: the delivery's status and lease, its message's status, its person.
Check = tuple[DeliveryStatus, str | None, datetime | None, OutboxStatus, User]


class Batcher(Generic[Q, R]):
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


class Ledger:
    """One worker's reads and writes of its deliveries; checks and records made while a round trip
    is under way share the next one."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        worker_id: str,
        *,
        batch: int,
        lease: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessionmaker = sessionmaker
        self.worker_id = worker_id
        self.batch = batch
        self.lease = lease
        self.clock = clock
        self._checks = Batcher(self._check_many)
        self._records = Batcher(self._record_many)

    async def check(self, item: Item) -> Check | None:
        """The delivery's state now, with its message's and its person's, or None once deleted."""
        return await self._checks(item)

    async def progress(self, item: Item, parts_sent: int, first_id: int | None) -> None:
        """How many parts of a message went out, while the rest waits (the delivery stays this
        worker's and pending): a retry after a kill sends only the rest."""
        values: dict[str, Any] = {"parts_sent": parts_sent, "updated_at": self.clock()}
        if first_id is not None:
            values["telegram_message_id"] = first_id
        async with self.sessionmaker.begin() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == item.id, Delivery.claimed_by == self.worker_id)
                .values(values)
                .execution_options(synchronize_session=False)
            )

    async def record(self, item: Item, outcome: Outcome) -> None:
        """Record one outcome; returns once it is committed (in a group with others)."""
        await self._records((item, outcome))

    async def settle(self) -> None:
        """Wait until no record and no check is in flight."""
        await self._records.settle()
        await self._checks.settle()

    async def claim(self) -> list[Item]:
        """Lease up to `batch` due deliveries, duty and urgent ones first, and mark their
        scheduled messages as sending."""
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
                    .returning(
                        Delivery.id,
                        Delivery.outbox_id,
                        Delivery.user_id,
                        Delivery.attempts,
                        Delivery.failing_since,
                        Delivery.parts_sent,
                    )
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
        return sorted((Item(*row) for row in rows), key=lambda item: item.id)

    async def load(self, items: list[Item]) -> tuple[dict[int, Outbox], dict[int, User]]:
        """The messages of these deliveries, and the people whose copy is rendered for them."""
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

    async def heartbeat(self, remaining: set[int]) -> None:
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

    async def release(self, ids: Collection[int]) -> None:
        """Hand rows still pending back at once instead of after the lease."""
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

    async def notify_admins(self, key: str, params: dict[str, Any]) -> None:
        """Queue an urgent notice (a catalogue key) to the admins."""
        async with self.sessionmaker.begin() as session:
            outbox = Outbox(
                kind="notice", topic=Topic.DUTY, urgent=True, text_key=key, text_params=params
            )
            await enqueue(session, outbox, {"roles": [Role.ADMIN.value]})

    async def finish(self, outbox_ids: list[int]) -> None:
        """Mark done the messages that have nothing pending any more."""
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

    async def _record_many(self, entries: list[tuple[Item, Outcome]]) -> list[None]:
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
                values["failing_since"] = None
            elif outcome.error is not None:
                values["error"] = outcome.error[:ERROR_LIMIT]
            if outcome.failing_since is not None and outcome.status is not DeliveryStatus.SENT:
                values["failing_since"] = outcome.failing_since
            if outcome.parts_sent is not None:
                values["parts_sent"] = outcome.parts_sent
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
        # The table, not the mapped class: an ORM update given a list of parameters is a bulk
        # update by primary key, which takes no WHERE clause of its own. A mapped class's
        # __table__ is typed as any FROM clause; Delivery's is a Table.
        table = cast(Table, Delivery.__table__)
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
                    .execution_options(synchronize_session=False, people=tuple(blocked))
                )

    async def _check_many(self, items: list[Item]) -> list[Check | None]:
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
