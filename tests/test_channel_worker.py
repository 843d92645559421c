"""The delivery worker's channel part against the fake Telegram, through a real aiogram Bot: each
version goes out once even with two workers racing; an edit that changes nothing is done; a post
deleted in the channel is posted anew; a refusal is recorded; the network is retried with backoff;
the channel is paced; a change of PUBLIC_CHANNEL_ID posts anew instead of editing a stranger's
message id."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from sqlalchemy import select, update

from bot import db
from bot.delivery import DeliveryWorker, visible_length
from bot.delivery import channel as public
from bot.delivery.render import make_post_renderer
from bot.delivery.telegram import AiogramSender
from bot.i18n import create_i18n
from models.base import utcnow
from models.channel import ChannelPost, ChannelPostStatus
from tests.channel_support import CHANNEL, channel, channel_calls
from tests.conftest import AUDIT_KEYS, TOKEN

__all__ = ["channel"]  # a fixture, used by name

I18N = create_i18n("ru")
RENDER = make_post_renderer(I18N, "ru", "Europe/Moscow")


@pytest.fixture
def sessionmaker(engine):
    return db.create_sessionmaker(engine, audit=AUDIT_KEYS, channel=CHANNEL)


@pytest.fixture
async def bot(fake):
    bot = Bot(TOKEN, session=AiohttpSession(api=fake.api))
    yield bot
    await bot.session.close()


def worker(
    sessionmaker, bot, *, interval: float = 0.0, name: str | None = None, channel_id=CHANNEL
):
    return DeliveryWorker(
        sessionmaker,
        AiogramSender(bot),
        rate=1000,
        per_chat_interval=interval,
        worker_id=name,
        channel_id=channel_id,
        render_post=RENDER,
    )


async def queue(sessionmaker, subject_id: int, text: str, **fields) -> None:
    async with sessionmaker.begin() as session:
        assert await public.post(session, "test", subject_id, text=text, **fields)


async def row(sessionmaker, subject_id: int) -> ChannelPost:
    async with sessionmaker() as session:
        found = await public.find(session, "test", subject_id)
        assert found is not None
        return found


async def test_two_workers_never_post_the_same_version_twice(engine, database_url, fake, channel):
    maker = db.create_sessionmaker(engine, audit=AUDIT_KEYS, channel=CHANNEL)
    for n in range(12):
        await queue(maker, n, f"Пост {n}")
    engines = [db.create_engine(database_url) for _ in range(2)]
    bots = [Bot(TOKEN, session=AiohttpSession(api=fake.api)) for _ in range(2)]
    workers = [
        worker(db.create_sessionmaker(e, audit=AUDIT_KEYS, channel=CHANNEL), b, name=f"w{n}")
        for n, (e, b) in enumerate(zip(engines, bots, strict=True))
    ]
    try:
        await asyncio.gather(*(w.run_once() for w in workers))
        for n in range(0, 12, 3):
            await queue(maker, n, f"Пост {n}, исправленный")  # version 2 of every third
        await asyncio.gather(*(w.run_once() for w in workers))
        await asyncio.gather(*(w.run_once() for w in workers))  # whatever a loser left
    finally:
        for b in bots:
            await b.session.close()
        for e in engines:
            await e.dispose()
    sends = [c.params["text"] for c in channel_calls(fake, "sendMessage")]
    edits = [c.params["text"] for c in channel_calls(fake, "editMessageText")]
    assert sorted(sends) == sorted(f"Пост {n}" for n in range(12))
    assert sorted(edits) == sorted(f"Пост {n}, исправленный" for n in range(0, 12, 3))
    assert len(channel.bot_messages) == 12
    for n in range(12):
        post = await row(maker, n)
        assert post.status == ChannelPostStatus.POSTED and post.posted_version == post.version


async def test_a_version_queued_while_posting_is_posted_next(sessionmaker, bot, fake, channel):
    """A change that comes while the earlier version is on its way is not lost to the record of
    the earlier one: the post stays pending, and is edited to it."""
    await queue(sessionmaker, 1, "Первая версия")
    fake.inject_fault("sendMessage", status=None, delay=0.3, chat_id=CHANNEL)
    first = worker(sessionmaker, bot)
    running = asyncio.create_task(first.run_once())
    await asyncio.sleep(0.15)  # the first version is in flight
    await queue(sessionmaker, 1, "Вторая версия")
    await running  # the post stayed due, so the same round edited it
    post = await row(sessionmaker, 1)
    assert post.status == ChannelPostStatus.POSTED and post.posted_version == 2
    [message] = channel.bot_messages
    assert message.text == "Вторая версия"
    assert len(channel_calls(fake, "sendMessage")) == len(channel_calls(fake, "editMessageText"))


async def test_an_edit_that_changes_nothing_counts_as_done(sessionmaker, bot, fake, channel):
    await queue(sessionmaker, 1, "Без изменений")
    the_worker = worker(sessionmaker, bot)
    await the_worker.run_once()
    await queue(sessionmaker, 1, "Без изменений")  # the same text again: version 2
    await the_worker.run_once()
    [edit] = channel_calls(fake, "editMessageText")
    assert edit.status == 400 and "not modified" in (edit.description or "")
    post = await row(sessionmaker, 1)
    assert (post.status, post.posted_version, post.error) == (ChannelPostStatus.POSTED, 2, None)


async def test_a_post_deleted_in_the_channel_is_posted_anew(sessionmaker, bot, fake, channel):
    await queue(sessionmaker, 1, "Было")
    the_worker = worker(sessionmaker, bot)
    await the_worker.run_once()
    first = (await row(sessionmaker, 1)).message_id
    assert first is not None
    channel.delete(first)
    await queue(sessionmaker, 1, "Стало")
    await the_worker.run_once()
    post = await row(sessionmaker, 1)
    assert post.status == ChannelPostStatus.POSTED and post.message_id != first
    [message] = [m for m in channel.bot_messages if not m.deleted]
    assert message.text == "Стало" and message.message_id == post.message_id


async def test_a_refusal_is_recorded_and_the_next_change_tries_again(
    sessionmaker, bot, fake, channel
):
    fake.inject_fault(
        "sendMessage",
        status=403,
        description="Forbidden: bot is not a member of the channel chat",
        chat_id=CHANNEL,
    )
    await queue(sessionmaker, 1, "Пост")
    the_worker = worker(sessionmaker, bot)
    await the_worker.run_once()
    post = await row(sessionmaker, 1)
    assert post.status == ChannelPostStatus.FAILED
    assert "not a member" in (post.error or "")
    assert await the_worker.run_once() == 0  # failed for good: not retried by itself
    await queue(sessionmaker, 1, "Пост, снова")  # the admin fixed it; the subject changed
    await the_worker.run_once()
    post = await row(sessionmaker, 1)
    assert post.status == ChannelPostStatus.POSTED and post.error is None


async def test_the_network_is_retried_with_backoff(sessionmaker, bot, fake, channel):
    fake.inject_fault("sendMessage", drop=True, times=2, chat_id=CHANNEL)
    await queue(sessionmaker, 1, "Пост")
    the_worker = worker(sessionmaker, bot)
    delays = []
    for attempts in (1, 2):
        await the_worker.run_once()
        post = await row(sessionmaker, 1)
        assert post.status == ChannelPostStatus.PENDING and post.attempts == attempts
        delays.append((post.not_before - utcnow()).total_seconds())
        assert await the_worker.run_once() == 0  # not before its time
        async with sessionmaker.begin() as session:  # the time passes
            await session.execute(update(ChannelPost).values(not_before=utcnow()))
    assert 3 < delays[0] <= 5 and 8 < delays[1] <= 10  # 5 s, then 10 s
    await the_worker.run_once()
    post = await row(sessionmaker, 1)
    assert post.status == ChannelPostStatus.POSTED and post.attempts == 0
    assert len(channel.bot_messages) == 1


async def test_the_channel_is_paced(sessionmaker, bot, fake, channel):
    """One request to the channel at a time, `per_chat_interval` apart (Telegram's pace for a
    chat), whatever the global rate allows."""
    for n in range(3):
        await queue(sessionmaker, n, f"Пост {n}")
    await worker(sessionmaker, bot, interval=0.3).run_once()
    times = [c.time for c in channel_calls(fake, "sendMessage")]
    assert len(times) == 3
    assert all(b - a >= 0.28 for a, b in itertools.pairwise(times))


async def test_a_new_channel_gets_its_own_post(sessionmaker, engine, bot, fake, channel):
    """After PUBLIC_CHANNEL_ID changes, a post is not edited by the old message id (in the new
    chat it would be someone else's message) but posted anew there."""
    await queue(sessionmaker, 1, "Пост")
    await worker(sessionmaker, bot).run_once()
    other = fake.group(-1009999999999, "New channel", chat_type="channel")
    moved = db.create_sessionmaker(engine, audit=AUDIT_KEYS, channel=other.id)
    await queue(moved, 1, "Пост, исправленный")
    await worker(moved, bot, channel_id=other.id).run_once()
    [message] = other.bot_messages
    assert message.text == "Пост, исправленный"
    post = await row(moved, 1)
    assert post.chat_id == other.id and post.message_id == message.message_id
    assert [m.text for m in channel.bot_messages] == ["Пост"]


async def test_a_long_text_is_clipped_to_one_message_and_a_caption_to_1024():
    long = "<b>Заголовок</b>\n\n" + "слово " * 1200
    clipped = public.fit(long, 4096)
    assert clipped.endswith("…") and clipped.startswith("<b>Заголовок</b>")
    assert visible_length(clipped) <= 4096
    assert visible_length(public.fit(long, 1024)) <= 1024
    assert public.fit("коротко", 4096) == "коротко"


async def test_a_photo_post_carries_its_text_as_the_caption_and_edits_it(
    sessionmaker, bot, fake, channel
):
    photo = fake.photo_sizes(None)[-1]["file_id"]
    await queue(sessionmaker, 1, "Подпись", media_kind="photo", media_file_id=photo)
    the_worker = worker(sessionmaker, bot)
    await the_worker.run_once()
    await queue(sessionmaker, 1, "Подпись, исправленная", media_kind="photo", media_file_id=photo)
    await the_worker.run_once()
    [message] = channel.bot_messages
    assert message.photo and message.text == "Подпись, исправленная"
    assert len(channel_calls(fake, "editMessageCaption")) == 1


async def test_withdrawn_before_it_goes_out(sessionmaker, bot, fake, channel):
    later = utcnow() + timedelta(hours=1)
    await queue(sessionmaker, 1, "Запланировано", not_before=later)
    the_worker = worker(sessionmaker, bot)
    assert await the_worker.run_once() == 0  # not due yet
    async with sessionmaker.begin() as session:
        assert await public.withdraw(session, "test", 1)
    async with sessionmaker() as session:
        assert await session.scalar(select(ChannelPost.id)) is None
    assert channel.bot_messages == []
