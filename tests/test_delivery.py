"""The delivery engine against the fake Telegram server, through a real aiogram Bot."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from bisect import bisect_left
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from sqlalchemy import func, select, update

from bot import db, delivery, metrics
from bot.delivery import DeliveryWorker, split_text, visible_length
from bot.delivery.telegram import AiogramSender
from bot.fake_telegram import parse_html
from bot.services import users
from models import (
    Body,
    BodyKind,
    Delivery,
    DeliveryStatus,
    District,
    Membership,
    Outbox,
    OutboxStatus,
    Role,
    Topic,
    User,
    UserRole,
)
from models.base import utcnow
from tests.conftest import AUDIT_KEYS, TOKEN
from tests.support import eventually

MOSCOW = ZoneInfo("Europe/Moscow")
EVERYONE = {"everyone": True}
FIRST_ID = 70_000


@pytest.fixture
def sessionmaker(engine):
    return db.create_sessionmaker(engine, audit=AUDIT_KEYS)


@pytest.fixture
async def bot(fake):
    bot = Bot(TOKEN, session=AiohttpSession(api=fake.api))
    yield bot
    await bot.session.close()


async def add_people(sessionmaker, fake, count, *, first=FIRST_ID, **fields) -> list[int]:
    """Registered people the fake server knows, without quiet hours unless `fields` say so."""
    fields = {"quiet_from": None, "quiet_to": None, **fields}
    async with sessionmaker.begin() as session:
        people = [
            User(
                telegram_id=first + n,
                name=f"Person {n}",
                registered_at=utcnow(),
                roles=[UserRole(role=Role.CITIZEN)],
            )
            for n in range(count)
        ]
        session.add_all(people)
        await session.flush()
        # Set after the insert: a None given to the constructor gives way to the column default,
        # and the default quiet hours would make these tests depend on the hour they run at.
        for person in people:
            for name, value in fields.items():
                setattr(person, name, value)
    for person in people:
        fake.user(person.telegram_id)
    return [person.id for person in people]


async def send_out(sessionmaker, audience=None, text="Объявление", **fields) -> int:
    async with sessionmaker.begin() as session:
        outbox = Outbox(text=text, **fields)
        await delivery.enqueue(session, outbox, audience or EVERYONE)
        return outbox.id


def metric(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def make_worker(sessionmaker, bot, **options) -> DeliveryWorker:
    options = {"rate": 1000.0, "per_chat_interval": 0.0, "worker_id": "w1", **options}
    return DeliveryWorker(sessionmaker, AiogramSender(bot), **options)


async def drain(worker: DeliveryWorker) -> None:
    while await worker.run_once():
        pass


async def rows(sessionmaker, outbox_id) -> dict[int, Delivery]:
    async with sessionmaker() as session:
        found = await session.scalars(select(Delivery).where(Delivery.outbox_id == outbox_id))
        return {d.user_id: d for d in found}


async def outbox_of(sessionmaker, outbox_id) -> Outbox:
    async with sessionmaker() as session:
        outbox = await session.get(Outbox, outbox_id)
        assert outbox is not None
        return outbox


async def progress_of(sessionmaker, outbox_id) -> delivery.Progress:
    async with sessionmaker() as session:
        return await delivery.progress(session, outbox_id)


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max((bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


def texts_per_chat(fake) -> Counter[int]:
    return Counter(int(call.params["chat_id"]) for call in fake.calls("sendMessage") if call.ok)


# --- Splitting -----------------------------------------------------------------------------------


def long_text(paragraphs: int = 20, size: int = 500) -> str:
    paragraph = ("Текст &amp; <b>смысл</b> ") * (size // 13)
    return "\n\n".join(f"{n}. {paragraph.strip()}" for n in range(paragraphs))


def test_split_counts_what_telegram_counts():
    assert visible_length("<b>a</b> &amp; <a href='x'>b</a>") == 5
    text = "x" * 4000 + "<b>" + "&amp;" * 96 + "</b>"  # 4096 visible, many more characters
    assert split_text(text) == [text]


def test_split_cuts_on_paragraphs_first():
    text = long_text()
    parts = split_text(text)
    assert len(parts) == 3
    for part in parts:
        assert visible_length(part) <= 4096
        assert part.split("\n\n")[-1].endswith("</b>")  # whole paragraphs only
        parse_html(part)
    rejoined = "\n\n".join(parts)
    assert rejoined == text


def test_split_falls_back_to_lines_then_hard_and_keeps_tags_whole():
    lines = "\n".join(f"<i>строка</i> {n} &lt;x&gt;" for n in range(600))
    for part in split_text(lines, 1000):
        assert visible_length(part) <= 1000 and not part.startswith("\n")
        parse_html(part)
    bold = "<b>" + "слово&#160;" * 1500 + "</b>"
    parts = split_text(bold, 4096)
    assert len(parts) == 3
    for part in parts:
        assert part.startswith("<b>") and part.endswith("</b>")
        assert visible_length(part) <= 4096
        parse_html(part)  # no tag or entity cut in half
    assert split_text("   ") == []


async def test_a_long_text_goes_as_three_messages_on_paragraphs(sessionmaker, fake, bot):
    (person,) = await add_people(sessionmaker, fake, 1)
    text = long_text(paragraphs=20, size=500)
    assert 9_000 < visible_length(text) < 12_000
    outbox_id = await send_out(sessionmaker, text=text)
    await drain(make_worker(sessionmaker, bot))
    calls = fake.calls("sendMessage")
    assert len(calls) == 3 and all(call.ok for call in calls)
    received = fake.user(FIRST_ID).bot_messages
    assert [m.html for m in received] == split_text(text)
    assert (await rows(sessionmaker, outbox_id))[person].telegram_message_id == received[
        0
    ].message_id


# --- Audiences and enqueueing --------------------------------------------------------------------


async def test_audiences_combine_and_exclude_who_cannot_be_written_to(sessionmaker, fake):
    now = utcnow()
    async with sessionmaker.begin() as session:
        north = District(number=1, name="Северный")
        south = District(number=2, name="Южный")
        council = Body(kind=BodyKind.COUNCIL)
        session.add_all([north, south, council])
        await session.flush()

        def person(telegram_id, *roles, **fields):
            fields = {"quiet_from": None, "quiet_to": None, "registered_at": utcnow(), **fields}
            user = User(telegram_id=telegram_id, roles=[UserRole(role=r) for r in roles], **fields)
            session.add(user)
            return user

        citizen = person(1, Role.CITIZEN, district_id=north.id)
        rep = person(2, Role.REPRESENTATIVE, district_id=south.id)
        member = person(3, Role.CITIZEN)
        former = person(4, Role.CITIZEN)
        paper = person(None, Role.CITIZEN, district_id=north.id)
        erased = person(None, deleted_at=now, district_id=north.id)
        blocked = person(7, Role.CITIZEN, blocked_at=now)
        muted = person(8, Role.CITIZEN, muted_topics=[Topic.ANNOUNCEMENTS.value])
        await session.flush()
        session.add_all(
            [
                Membership(body_id=council.id, user_id=member.id),
                Membership(body_id=council.id, user_id=former.id, until=now - timedelta(days=1)),
                Membership(body_id=council.id, user_id=muted.id, until=now + timedelta(days=9)),
            ]
        )
        ids = {u.telegram_id or u.id: u.id for u in (citizen, rep, member, former, blocked, muted)}
        del paper, erased

    async def audience(parts, topic=Topic.ANNOUNCEMENTS):
        async with sessionmaker() as session:
            found = set(await session.scalars(delivery.audience_query(parts, topic)))
            assert await delivery.count_audience(session, parts, topic) == len(found)
            return found

    assert await audience(EVERYONE) == {ids[1], ids[2], ids[3], ids[4]}
    assert await audience(EVERYONE, Topic.DUTY) == {ids[1], ids[2], ids[3], ids[4], ids[8]}
    assert await audience({"roles": ["representative"]}) == {ids[2]}
    assert await audience({"districts": [north.id]}) == {ids[1]}
    assert await audience({"bodies": [council.id]}) == {ids[3]}
    assert await audience({"bodies": [council.id]}, Topic.DUTY) == {ids[3], ids[8]}
    combined = {"roles": ["representative"], "districts": [north.id], "bodies": [council.id]}
    assert await audience(combined) == {ids[1], ids[2], ids[3]}
    assert await audience({"districts": []}) == set()
    with pytest.raises(ValueError, match="unknown"):
        delivery.audience_query({"everybody": True})


async def test_enqueue_twice_creates_nothing_twice(sessionmaker, fake):
    await add_people(sessionmaker, fake, 5)
    async with sessionmaker.begin() as session:
        outbox = Outbox(text="Раз")
        assert await delivery.enqueue(session, outbox, EVERYONE) == 5
        assert await delivery.enqueue(session, outbox, EVERYONE) == 0
        assert outbox.total == 5 and outbox.status == OutboxStatus.SENDING
    await add_people(sessionmaker, fake, 1, first=FIRST_ID + 100)
    async with sessionmaker.begin() as session:
        outbox = await session.get(Outbox, outbox.id)
        assert await delivery.enqueue(session, outbox) == 1  # only the newcomer
        count = select(func.count()).select_from(Delivery)
        assert await session.scalar(count) == 6 and outbox.total == 6


async def test_nobody_to_write_to_is_done_at_once(sessionmaker):
    async with sessionmaker.begin() as session:
        outbox = Outbox(text="Пусто")
        assert await delivery.enqueue(session, outbox, {"roles": ["council"]}) == 0
        assert outbox.status == OutboxStatus.DONE and outbox.finished_at is not None


async def test_a_commit_that_queued_wakes_an_idle_worker(sessionmaker, fake, bot):
    """An idle worker polls rarely; a message queued in its own process goes out at once."""
    [person] = await add_people(sessionmaker, fake, 1)
    worker = make_worker(sessionmaker, bot)
    stop = asyncio.Event()
    # An hour between polls: only the wake-up can bring the message out within the test.
    running = asyncio.create_task(worker.run(stop, idle_sleep=3600))
    try:
        # The first message wakes it from its first idle wait, the second from the one after.
        for _ in range(2):
            outbox_id = await send_out(sessionmaker, {"users": [person]})

            async def sent(outbox_id: int = outbox_id) -> bool:
                return (await progress_of(sessionmaker, outbox_id)).sent == 1

            await eventually(sent, timeout=20)
    finally:
        stop.set()
        await running


async def test_a_scheduled_message_waits_for_its_time(sessionmaker, fake, bot):
    await add_people(sessionmaker, fake, 2)
    send_at = utcnow() + timedelta(hours=1)
    outbox_id = await send_out(sessionmaker, send_at=send_at)
    assert (await outbox_of(sessionmaker, outbox_id)).status == OutboxStatus.SCHEDULED
    assert {d.not_before for d in (await rows(sessionmaker, outbox_id)).values()} == {send_at}
    assert await make_worker(sessionmaker, bot).run_once() == 0
    later = make_worker(sessionmaker, bot, clock=lambda: send_at + timedelta(seconds=1))
    await drain(later)
    outbox = await outbox_of(sessionmaker, outbox_id)
    assert outbox.status == OutboxStatus.DONE and outbox.started_at is not None
    assert sum(texts_per_chat(fake).values()) == 2


# --- Pace ----------------------------------------------------------------------------------------


async def test_the_global_rate_holds_at_the_server(sessionmaker, fake, bot):
    await add_people(sessionmaker, fake, 60)
    outbox_id = await send_out(sessionmaker)
    await drain(make_worker(sessionmaker, bot, rate=20))
    assert busiest_second([call.time for call in fake.calls("sendMessage")]) <= 20
    assert set(texts_per_chat(fake).values()) == {1} and len(texts_per_chat(fake)) == 60
    assert (await progress_of(sessionmaker, outbox_id)).sent == 60


async def test_one_chat_gets_at_most_one_message_per_second(sessionmaker, fake, bot):
    await add_people(sessionmaker, fake, 1)
    for n in range(3):
        await send_out(sessionmaker, text=f"Сообщение {n}")
    await drain(make_worker(sessionmaker, bot, per_chat_interval=1.0))
    times = sorted(call.time for call in fake.calls("sendMessage"))
    assert len(times) == 3
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times))
    assert [m.text for m in fake.user(FIRST_ID).bot_messages] == [
        "Сообщение 0",
        "Сообщение 1",
        "Сообщение 2",
    ]


# --- Telegram's answers --------------------------------------------------------------------------


async def test_a_429_pauses_and_the_same_message_is_retried(sessionmaker, fake, bot):
    await add_people(sessionmaker, fake, 10)
    outbox_id = await send_out(sessionmaker)
    fake.inject_fault("sendMessage", status=429, retry_after=1)
    sent, paused = (
        metric("assembly_deliveries_total", outcome="sent"),
        metric("assembly_telegram_retry_after_total"),
    )
    await drain(make_worker(sessionmaker, bot))
    outcomes = Counter(call.outcome for call in fake.calls("sendMessage"))
    assert outcomes == {"ok": 10, 429: 1}
    # What Prometheus is told (bot.metrics).
    assert metric("assembly_deliveries_total", outcome="sent") - sent == 10
    assert metric("assembly_telegram_retry_after_total") - paused == 1
    assert all(len(fake.user(FIRST_ID + n).bot_messages) == 1 for n in range(10))
    assert (await progress_of(sessionmaker, outbox_id)).sent == 10


async def test_a_403_blocks_the_person_and_later_messages_skip_them(sessionmaker, fake, bot):
    people = await add_people(sessionmaker, fake, 3)
    fake.block_bot(FIRST_ID + 1)
    first = await send_out(sessionmaker)
    blocked = metric("assembly_deliveries_total", outcome="blocked")
    await drain(make_worker(sessionmaker, bot))
    assert metric("assembly_deliveries_total", outcome="blocked") - blocked == 1
    deliveries = await rows(sessionmaker, first)
    assert deliveries[people[1]].status == DeliveryStatus.BLOCKED
    assert deliveries[people[0]].status == deliveries[people[2]].status == DeliveryStatus.SENT
    async with sessionmaker() as session:
        assert (await session.get(User, people[1])).blocked_at is not None

    fake.unblock_bot(FIRST_ID + 1)  # even so: we do not write until they write to us
    before = len(fake.calls("sendMessage"))
    second = await send_out(sessionmaker, text="Второе")
    await drain(make_worker(sessionmaker, bot))
    assert (await outbox_of(sessionmaker, second)).total == 2
    later = fake.calls("sendMessage")[before:]
    assert sorted(int(c.params["chat_id"]) for c in later) == [FIRST_ID, FIRST_ID + 2]


async def test_someone_blocked_after_enqueueing_gets_no_request(sessionmaker, fake, bot):
    people = await add_people(sessionmaker, fake, 2)
    outbox_id = await send_out(sessionmaker)
    async with sessionmaker.begin() as session:
        (await session.get(User, people[0])).blocked_at = utcnow()
        await users.erase_user(session, await session.get(User, people[1]))
    await drain(make_worker(sessionmaker, bot))
    assert fake.calls("sendMessage") == []
    deliveries = await rows(sessionmaker, outbox_id)
    assert deliveries[people[0]].status == DeliveryStatus.BLOCKED
    assert deliveries[people[1]].status == DeliveryStatus.SKIPPED
    assert (await outbox_of(sessionmaker, outbox_id)).status == OutboxStatus.DONE


async def test_a_400_fails_with_its_reason(sessionmaker, fake, bot):
    people = await add_people(sessionmaker, fake, 2)
    outbox_id = await send_out(sessionmaker)
    reason = "Bad Request: TOPIC_CLOSED"
    fake.inject_fault("sendMessage", status=400, description=reason, chat_id=FIRST_ID)
    await drain(make_worker(sessionmaker, bot))
    deliveries = await rows(sessionmaker, outbox_id)
    assert deliveries[people[0]].status == DeliveryStatus.FAILED
    assert deliveries[people[0]].error == reason
    assert deliveries[people[1]].status == DeliveryStatus.SENT
    progress = await progress_of(sessionmaker, outbox_id)
    assert (progress.sent, progress.failed, progress.pending) == (1, 1, 0)


async def test_network_errors_are_retried_later(sessionmaker, fake, bot):
    (person,) = await add_people(sessionmaker, fake, 1)
    outbox_id = await send_out(sessionmaker)
    fake.inject_fault("sendMessage", status=502)
    worker = make_worker(sessionmaker, bot)
    await drain(worker)
    row = (await rows(sessionmaker, outbox_id))[person]
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.not_before > utcnow() and row.claimed_by is None and row.error

    async with sessionmaker.begin() as session:
        await session.execute(update(Delivery).values(not_before=utcnow()))
    await drain(worker)
    row = (await rows(sessionmaker, outbox_id))[person]
    assert (row.status, row.error, row.failing_since) == (DeliveryStatus.SENT, None, None)
    # How long failures are retried, and a revoked token: tests/test_delivery_outage.py.


# --- Stopping, restarting, sharing ---------------------------------------------------------------


async def wait_for_calls(fake, count: int) -> None:
    for _ in range(500):
        if len(fake.calls("sendMessage")) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {count} messages went out")


async def test_killed_and_restarted_nothing_twice_nobody_missed(sessionmaker, fake, bot):
    await add_people(sessionmaker, fake, 50)
    outbox_id = await send_out(sessionmaker)
    stop = asyncio.Event()
    first = make_worker(sessionmaker, bot, rate=25, worker_id="first")
    task = asyncio.create_task(first.run(stop))
    await wait_for_calls(fake, 15)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    stopped_at = len(fake.calls("sendMessage"))
    assert stopped_at < 50
    assert (await progress_of(sessionmaker, outbox_id)).sent == stopped_at

    fresh = Bot(TOKEN, session=AiohttpSession(api=fake.api))
    try:
        await drain(make_worker(sessionmaker, fresh, rate=25, worker_id="second"))
    finally:
        await fresh.session.close()
    per_chat = texts_per_chat(fake)
    assert len(per_chat) == 50 and set(per_chat.values()) == {1}
    assert len(fake.calls("sendMessage")) == 50
    progress = await progress_of(sessionmaker, outbox_id)
    assert (progress.sent, progress.pending) == (50, 0)
    assert (await outbox_of(sessionmaker, outbox_id)).status == OutboxStatus.DONE


class CountingSender(AiogramSender):
    def __init__(self, bot: Bot) -> None:
        super().__init__(bot)
        self.sent = 0

    async def send(self, chat_id, text, **media) -> int:
        message_id = await super().send(chat_id, text, **media)
        self.sent += 1
        return message_id


async def test_two_workers_in_parallel_send_nothing_twice(database_url, sessionmaker, fake):
    await add_people(sessionmaker, fake, 40)
    outbox_id = await send_out(sessionmaker)
    engines = [db.create_engine(database_url) for _ in range(2)]
    bots = [Bot(TOKEN, session=AiohttpSession(api=fake.api)) for _ in range(2)]
    senders = [CountingSender(b) for b in bots]
    workers = [
        DeliveryWorker(
            db.create_sessionmaker(e, audit=AUDIT_KEYS), s, rate=1000, worker_id=f"p{n}", batch=4
        )
        for n, (e, s) in enumerate(zip(engines, senders, strict=True))
    ]
    try:
        await asyncio.gather(*(drain(w) for w in workers))
        await asyncio.gather(*(drain(w) for w in workers))  # anything a loser left behind
    finally:
        for b in bots:
            await b.session.close()
        for e in engines:
            await e.dispose()
    per_chat = texts_per_chat(fake)
    assert len(per_chat) == 40 and set(per_chat.values()) == {1}
    assert all(s.sent > 0 for s in senders) and sum(s.sent for s in senders) == 40
    assert (await progress_of(sessionmaker, outbox_id)).sent == 40


async def test_a_dead_workers_rows_come_back_when_its_lease_expires(sessionmaker, fake, bot):
    people = await add_people(sessionmaker, fake, 2)
    outbox_id = await send_out(sessionmaker)
    now = utcnow()
    async with sessionmaker.begin() as session:
        for user_id, until in (
            (people[0], now - timedelta(seconds=1)),
            (people[1], now + timedelta(minutes=1)),
        ):
            await session.execute(
                update(Delivery)
                .where(Delivery.user_id == user_id)
                .values(claimed_by="dead", claimed_until=until)
            )
    assert await make_worker(sessionmaker, bot).run_once() == 1
    assert list(texts_per_chat(fake)) == [FIRST_ID]
    deliveries = await rows(sessionmaker, outbox_id)
    assert deliveries[people[1]].status == DeliveryStatus.PENDING
    assert deliveries[people[1]].claimed_by == "dead"


async def test_cancel_stops_what_has_not_gone_out(sessionmaker, fake, bot):
    await add_people(sessionmaker, fake, 5)
    outbox_id = await send_out(sessionmaker)
    # Each send is slow, so the worker holds the whole batch while the author cancels.
    fake.inject_fault("sendMessage", status=None, delay=0.3, times=None)
    worker = make_worker(sessionmaker, bot, concurrency=1)
    task = asyncio.create_task(drain(worker))
    await wait_for_calls(fake, 1)
    async with sessionmaker.begin() as session:
        assert await delivery.cancel(session, outbox_id) == 5  # the one in flight too
    await task
    assert len(fake.calls("sendMessage")) == 1
    progress = await progress_of(sessionmaker, outbox_id)
    assert (progress.sent, progress.skipped, progress.pending) == (1, 4, 0)
    assert (await outbox_of(sessionmaker, outbox_id)).status == OutboxStatus.CANCELLED


# --- Preferences ---------------------------------------------------------------------------------
