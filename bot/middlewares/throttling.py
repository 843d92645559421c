"""Per-user throttling: a token bucket, and one polite message when someone floods the bot."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.types import User as TgUser

from bot.texts import plain, t


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class ThrottlingMiddleware(BaseMiddleware):
    def __init__(self, burst: int, rate: float, max_users: int = 100_000) -> None:
        self.burst = burst
        self.rate = rate
        self.max_users = max_users
        self.buckets: dict[int, _Bucket] = {}

    def _allow(self, user_id: int) -> tuple[bool, _Bucket]:
        now = time.monotonic()
        bucket = self.buckets.get(user_id)
        if bucket is None:
            if len(self.buckets) >= self.max_users:
                # Full buckets carry no information, so dropping them forgets nothing.
                self.buckets = {
                    uid: b for uid, b in self.buckets.items() if b.tokens + 1 < self.burst
                }
            bucket = self.buckets[user_id] = _Bucket(tokens=self.burst, updated=now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return True, bucket
        return False, bucket

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None or self.rate <= 0:
            return await handler(event, data)
        allowed, bucket = self._allow(tg_user.id)
        if allowed:
            return await handler(event, data)
        if not bucket.warned:
            bucket.warned = True
            if isinstance(event, Message):
                await event.answer(t("throttling-slow-down"))
            elif isinstance(event, CallbackQuery):
                await event.answer(plain("throttling-slow-down"), show_alert=False)
        elif isinstance(event, CallbackQuery):
            # A callback query must be answered, or the button spins on the user's phone.
            await event.answer()
        return None
