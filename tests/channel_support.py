"""Shared by the public channel's tests: the bot running with PUBLIC_CHANNEL_ID set, and what the
fake Telegram's channel shows."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from models.channel import ChannelPost
from tests.conftest import RunningBot, make_settings
from tests.support import eventually

CHANNEL = -1001234567890


@pytest.fixture
async def channel(fake):
    """The Assembly's channel in the fake Telegram (the bot one of its admins)."""
    return fake.group(CHANNEL, "Assembly", chat_type="channel")


@pytest.fixture
async def with_channel(database_url, redis_prefix, fake, channel) -> AsyncIterator[RunningBot]:
    """The real bot, with PUBLIC_CHANNEL_ID set to the fake's channel."""
    settings = make_settings(database_url, redis_prefix, fake, public_channel_id=CHANNEL)
    bot = await RunningBot.start(settings)
    assert bot.app.worker.channel is not None
    # The channel's one-request-a-second pace has a test of its own (test_channel_worker); here
    # it would only make each step wait.
    bot.app.worker.channel.interval = 0.0
    yield bot
    await bot.stop()


def channel_calls(fake, method: str) -> list:
    """Requests of `method` the bot made to the channel."""
    return [r for r in fake.calls(method) if str(r.params.get("chat_id")) == str(CHANNEL)]


async def posted(running, subject_type: str, subject_id: int, version: int = 1) -> ChannelPost:
    """The subject's post once the channel shows its `version` (waits for the worker)."""
    found: list[ChannelPost] = []

    async def check() -> bool:
        async with running.sessionmaker() as session:
            row = await session.scalar(
                select(ChannelPost).where(
                    ChannelPost.subject_type == subject_type, ChannelPost.subject_id == subject_id
                )
            )
        found[:] = [row] if row is not None else []
        return row is not None and row.posted_version >= version and row.status == "posted"

    await eventually(check, timeout=15)
    return found[0]
