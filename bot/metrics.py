"""What a running bot tells Prometheus (prometheus-client), and its health and readiness.

Counters and histograms are the process's own: each replica is scraped on its own and Prometheus
adds them up. Figures that belong to the whole deployment (the delivery queue) are read from the
database when scraped, so every replica reports the same.

- `assembly_update_seconds{handler}`: how long an update took, by the handler that took it
  (`unhandled` when none did); its `_count` is the updates handled.
- `assembly_deliveries_total{outcome}`: messages sent, failed, to people who blocked the bot,
  and deliveries put back to be retried.
- `assembly_telegram_retry_after_total`: 429s from Telegram (every one pauses the sending).
- `assembly_delivery_queue_depth`, `assembly_delivery_oldest_pending_seconds`: deliveries due
  now and not sent yet, and how long the oldest of them has waited.
- `assembly_scheduler_leader`: 1 in the replica that runs the scheduled jobs.
- `assembly_people_cache_total{result}`: people found in the process's cache (`hit`) or read
  from the database (`miss`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import TelegramObject
from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from models import Delivery, DeliveryStatus
from models.base import utcnow

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["CONTENT_TYPE", "REGISTRY", "exposition", "readiness"]

REGISTRY = CollectorRegistry()

UPDATE_SECONDS = Histogram(
    "assembly_update_seconds",
    "Time to handle an update, by the handler that took it",
    ["handler"],
    # A tap costs about a millisecond; a report or an export, seconds.
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
DELIVERIES = Counter(
    "assembly_deliveries",
    "Deliveries by outcome: sent, failed, blocked, retried",
    ["outcome"],
    registry=REGISTRY,
)
RETRY_AFTER = Counter(
    "assembly_telegram_retry_after",
    "429 Too Many Requests answers from Telegram",
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "assembly_delivery_queue_depth",
    "Deliveries due now and not sent yet (the whole deployment)",
    registry=REGISTRY,
)
OLDEST_PENDING = Gauge(
    "assembly_delivery_oldest_pending_seconds",
    "How long the oldest delivery due now has waited (0 when none)",
    registry=REGISTRY,
)
LEADER = Gauge(
    "assembly_scheduler_leader",
    "1 in the replica that runs the scheduled jobs, 0 elsewhere",
    registry=REGISTRY,
)
PEOPLE_CACHE = Counter(
    "assembly_people_cache",
    "People taken from the process's cache (hit) or read from the database (miss)",
    ["result"],
    registry=REGISTRY,
)

# The handler that took the update being handled: set inside, read by the outer middleware.
_HANDLER: ContextVar[list[str] | None] = ContextVar("metrics_handler", default=None)


def handler_name(handler: HandlerObject) -> str:
    callback = handler.callback
    module = getattr(callback, "__module__", "") or ""
    name = getattr(callback, "__qualname__", None) or type(callback).__name__
    return f"{module.removeprefix('handlers.')}.{name}" if module else name


@functools.cache
def _timer(handler: str) -> Any:
    # The labelled child, found once per handler rather than on every update.
    return UPDATE_SECONDS.labels(handler=handler)


class UpdateTimer(BaseMiddleware):
    """Outermost: the whole cost of an update, middlewares included, by its handler."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        taken: list[str] = []
        token = _HANDLER.set(taken)
        started = time.perf_counter()
        try:
            return await handler(event, data)
        finally:
            _HANDLER.reset(token)
            name = taken[-1] if taken else "unhandled"
            _timer(name).observe(time.perf_counter() - started)


class HandlerNamer(BaseMiddleware):
    """Innermost: names the handler the update reached for UpdateTimer."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        taken = _HANDLER.get()
        found = data.get("handler")
        if taken is not None and isinstance(found, HandlerObject):
            taken.append(handler_name(found))
        return await handler(event, data)


def delivered(outcome: DeliveryStatus) -> None:
    # A delivery put back to pending (Telegram unreachable, a token refused) will be retried.
    DELIVERIES.labels(
        outcome="retried" if outcome == DeliveryStatus.PENDING else outcome.value
    ).inc()


def people_cache(hit: bool) -> None:
    PEOPLE_CACHE.labels(result="hit" if hit else "miss").inc()


async def _queue(session: AsyncSession, now: datetime) -> tuple[int, float]:
    due = (Delivery.status == DeliveryStatus.PENDING, Delivery.not_before <= now)
    depth, oldest = (
        await session.execute(select(func.count(), func.min(Delivery.not_before)).where(*due))
    ).one()
    waited = (now - oldest).total_seconds() if oldest is not None else 0.0
    return int(depth or 0), max(0.0, waited)


async def exposition(app: App) -> bytes:
    """The metrics in Prometheus's text format, with the deployment's figures read now."""
    async with app.sessionmaker() as session:
        depth, waited = await _queue(session, utcnow())
    QUEUE_DEPTH.set(depth)
    OLDEST_PENDING.set(waited)
    LEADER.set(1 if app.scheduler.is_leader else 0)
    return generate_latest(REGISTRY)


async def readiness(app: App) -> dict[str, str]:
    """What is not ready, by part (empty when all is): the database answers, Redis answers
    (when configured), the background work (deliveries, scheduler) runs."""
    problems: dict[str, str] = {}
    if not await _answers(app.engine):
        problems["database"] = "does not answer"
    redis = getattr(app.dp.storage, "redis", None)
    if redis is not None:
        try:
            await redis.ping()
        except Exception as exc:  # any failure means Redis cannot be used now
            problems["redis"] = type(exc).__name__
    if not app.running:
        problems["background"] = "not running"
    return problems


async def _answers(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:  # unreachable, refused, timed out: not ready
        return False
    return True
