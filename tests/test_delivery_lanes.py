"""A lane is not held by the one-second gap between the parts of a message to one person: it
records what went out, takes other work, and comes back for the rest."""

from __future__ import annotations

from sqlalchemy import update

from bot.delivery import split_text
from models import Delivery
from tests.test_delivery import (
    FIRST_ID,
    add_people,
    bot,
    drain,
    long_text,
    make_worker,
    send_out,
    sessionmaker,
)

__all__ = ["bot", "sessionmaker"]  # fixtures used here, defined with the delivery tests


async def test_one_lane_sends_everyones_first_part_before_anyones_second(sessionmaker, fake, bot):
    await add_people(sessionmaker, fake, 3)
    text = long_text(paragraphs=12, size=500)
    parts = split_text(text)
    assert len(parts) == 2
    await send_out(sessionmaker, text=text)
    progress: list[tuple[int, int]] = []
    # A gap long enough that three first parts go out within it even on a loaded machine.
    worker = make_worker(sessionmaker, bot, concurrency=1, per_chat_interval=1.0)
    recorded = worker._ledger.progress

    async def watched(item, parts_sent, first_id):
        progress.append((item.user_id, parts_sent))
        await recorded(item, parts_sent, first_id)

    worker._ledger.progress = watched
    await drain(worker)

    order = [(call.params["chat_id"], call.params["text"]) for call in fake.calls("sendMessage")]
    people = [FIRST_ID + n for n in range(3)]
    # The lane wrote to the three people in turn, then came back for the second parts.
    assert [chat for chat, _ in order] == [*people, *people]
    for person in people:
        received = [m.html for m in fake.user(person).bot_messages]
        assert received == parts  # in order, once each
    # Each first part was recorded before the lane moved on.
    assert len(progress) == 3 and all(sent == 1 for _, sent in progress)


async def test_a_kill_while_the_rest_waits_resends_only_the_rest(sessionmaker, fake, bot):
    await add_people(sessionmaker, fake, 1)
    text = long_text(paragraphs=12, size=500)
    parts = split_text(text)
    await send_out(sessionmaker, text=text)
    worker = make_worker(sessionmaker, bot, per_chat_interval=60.0, lease_seconds=60)
    stop = worker._stop

    async def killed(item, parts_sent, first_id):
        await recorded(item, parts_sent, first_id)
        stop.set()  # the process dies while the rest waits for its minute

    recorded = worker._ledger.progress
    worker._ledger.progress = killed
    await worker.run_once()
    assert [m.html for m in fake.user(FIRST_ID).bot_messages] == parts[:1]

    # Another worker takes the delivery over (its lease handed back) and sends the rest only.
    async with sessionmaker.begin() as session:
        await session.execute(update(Delivery).values(claimed_by=None, claimed_until=None))
    await drain(make_worker(sessionmaker, bot, worker_id="w2"))
    assert [m.html for m in fake.user(FIRST_ID).bot_messages] == parts
