"""A message for a large audience queued by the workers in chunks: continued by whichever worker
comes next (after a kill, too), nobody twice, and stopped when the author stops it."""

from __future__ import annotations

from sqlalchemy import func, select

from bot import delivery
from models import Delivery, Outbox, OutboxStatus, Topic
from tests.test_delivery import add_people, bot, drain, make_worker, sessionmaker

__all__ = ["bot", "sessionmaker"]  # fixtures used here, defined with the delivery tests

EVERYONE = {"everyone": True}


async def queued(sessionmaker, expected: int) -> int:
    async with sessionmaker.begin() as session:
        outbox = Outbox(kind="announcement", topic=Topic.ANNOUNCEMENTS, text="Всем")
        await delivery.enqueue_in_background(session, outbox, EVERYONE, expected=expected)
        return outbox.id


async def deliveries(sessionmaker, outbox_id: int) -> int:
    async with sessionmaker() as session:
        return (
            await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.outbox_id == outbox_id)
            )
            or 0
        )


async def test_a_worker_killed_mid_queue_is_continued_and_nobody_gets_it_twice(
    sessionmaker, bot, fake
):
    people = await add_people(sessionmaker, fake, 7)
    outbox_id = await queued(sessionmaker, expected=len(people))
    # One worker queues a chunk and dies before sending anything.
    async with sessionmaker.begin() as session:
        assert await delivery.queue_next_chunk(session, outbox_id, size=3)
    assert await deliveries(sessionmaker, outbox_id) == 3

    await drain(make_worker(sessionmaker, bot, worker_id="w2"))
    async with sessionmaker() as session:
        outbox = await session.get(Outbox, outbox_id)
        assert outbox.status == OutboxStatus.DONE and outbox.total == 7
    for telegram_id in range(70_000, 70_007):
        assert [m.text for m in fake.user(telegram_id).bot_messages] == ["Всем"]


async def test_a_chunk_queued_twice_adds_nobody_twice(sessionmaker, bot, fake):
    """Two workers that read the same position both queue the chunk after it."""
    await add_people(sessionmaker, fake, 5)
    outbox_id = await queued(sessionmaker, expected=5)
    async with sessionmaker.begin() as session:
        await delivery.queue_next_chunk(session, outbox_id, size=3)
    async with sessionmaker.begin() as session:
        # The second worker's view: the position before the first one moved it.
        outbox = await session.get(Outbox, outbox_id)
        outbox.queued_up_to = 0
    async with sessionmaker.begin() as session:
        while await delivery.queue_next_chunk(session, outbox_id, size=3):
            pass
    assert await deliveries(sessionmaker, outbox_id) == 5


async def test_a_message_stopped_while_queueing_queues_no_more(sessionmaker, bot, fake):
    await add_people(sessionmaker, fake, 6)
    outbox_id = await queued(sessionmaker, expected=6)
    async with sessionmaker.begin() as session:
        await delivery.queue_next_chunk(session, outbox_id, size=2)
    async with sessionmaker.begin() as session:
        await delivery.cancel(session, outbox_id)
    async with sessionmaker.begin() as session:
        assert not await delivery.queue_next_chunk(session, outbox_id, size=2)
    assert await deliveries(sessionmaker, outbox_id) == 2
    await drain(make_worker(sessionmaker, bot))
    assert not any(fake.user(70_000 + n).bot_messages for n in range(6))
