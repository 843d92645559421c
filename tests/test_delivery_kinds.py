"""What the delivery engine sends, beyond the plain text: quiet hours and urgent messages, muted
topics and duty, media with captions, texts rendered per recipient, duty before a large
announcement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import delivery
from models import (
    DeliveryStatus,
    Outbox,
    OutboxStatus,
    Topic,
    User,
)
from models.base import utcnow
from tests.test_delivery import (
    EVERYONE,
    FIRST_ID,
    MOSCOW,
    add_people,
    bot,
    drain,
    make_worker,
    outbox_of,
    progress_of,
    rows,
    send_out,
    sessionmaker,
)

__all__ = ["bot", "sessionmaker"]  # fixtures used here, defined with the delivery tests


async def test_quiet_hours_hold_until_morning_but_urgent_goes_through(sessionmaker, fake, bot):
    (person,) = await add_people(sessionmaker, fake, 1, quiet_from=22 * 60, quiet_to=8 * 60)
    tomorrow = (utcnow().astimezone(MOSCOW) + timedelta(days=1)).date()
    late_evening = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 23, 30, tzinfo=MOSCOW)
    morning = (late_evening + timedelta(hours=8, minutes=30)).astimezone(UTC)
    worker = make_worker(sessionmaker, bot, clock=lambda: late_evening.astimezone(UTC))

    news = await send_out(sessionmaker, text="Новости")
    alarm = await send_out(sessionmaker, text="Срочно", urgent=True)
    await drain(worker)
    assert [m.text for m in fake.user(FIRST_ID).bot_messages] == ["Срочно"]
    held = (await rows(sessionmaker, news))[person]
    assert (held.status, held.not_before, held.claimed_by) == (
        DeliveryStatus.PENDING,
        morning,
        None,
    )
    assert (await outbox_of(sessionmaker, alarm)).status == OutboxStatus.DONE
    assert (await outbox_of(sessionmaker, news)).status == OutboxStatus.SENDING

    worker.clock = lambda: morning
    await drain(worker)
    assert [m.text for m in fake.user(FIRST_ID).bot_messages] == ["Срочно", "Новости"]


async def test_a_muted_topic_is_skipped_but_duty_is_not(sessionmaker, fake, bot):
    people = await add_people(sessionmaker, fake, 2)
    news = await send_out(sessionmaker, text="Проекты", topic=Topic.PROJECTS)
    duty = await send_out(sessionmaker, text="Голосование", topic=Topic.DUTY)
    async with sessionmaker.begin() as session:
        # Muted after the message was queued: the worker checks again before sending.
        user = await session.get(User, people[0])
        user.muted_topics = [Topic.PROJECTS.value, Topic.DUTY.value]
    await drain(make_worker(sessionmaker, bot))
    assert (await rows(sessionmaker, news))[people[0]].status == DeliveryStatus.SKIPPED
    assert [m.text for m in fake.user(FIRST_ID).bot_messages] == ["Голосование"]
    assert len(fake.user(FIRST_ID + 1).bot_messages) == 2
    assert (await progress_of(sessionmaker, duty)).sent == 2
    async with sessionmaker.begin() as session:
        assert await delivery.count_audience(session, EVERYONE, Topic.PROJECTS) == 1
        assert await delivery.count_audience(session, EVERYONE, Topic.DUTY) == 2
        # The digest is opt-in: only the one who rewrote their mutes gets it.
        assert await delivery.count_audience(session, EVERYONE, Topic.DIGEST) == 1


# --- Content -------------------------------------------------------------------------------------


async def test_media_carries_the_text_as_caption_when_it_fits(sessionmaker, fake, bot):
    await add_people(sessionmaker, fake, 1)
    await fake.user(FIRST_ID).send_photo()
    photo = fake.files()[-1].file_id
    short = await send_out(
        sessionmaker, text="<b>Фото</b> дня", media_kind="photo", media_file_id=photo
    )
    await send_out(sessionmaker, text="Длинно. " * 200, media_kind="photo", media_file_id=photo)
    await drain(make_worker(sessionmaker, bot))
    received = fake.user(FIRST_ID).bot_messages
    assert [(m.has_media, m.caption is not None and bool(m.text)) for m in received] == [
        (True, True),
        (True, False),
        (False, False),
    ]
    assert received[0].text == "Фото дня"
    assert (await progress_of(sessionmaker, short)).sent == 1


async def test_keyed_texts_are_rendered_for_each_recipient(sessionmaker, fake, bot):
    await add_people(sessionmaker, fake, 2)
    progressed: list[int] = []

    async def on_progress(outbox_id: int) -> None:
        progressed.append(outbox_id)

    async with sessionmaker.begin() as session:
        outbox = Outbox(text_key="votes-reminder", topic=Topic.DUTY)
        await delivery.enqueue(session, outbox, {"roles": ["citizen"]})
    worker = make_worker(
        sessionmaker,
        bot,
        render=lambda o, u: f"{o.text_key}: {u.name}",
        on_progress=on_progress,
    )
    await drain(worker)
    assert fake.user(FIRST_ID + 1).bot_messages[0].text == "votes-reminder: Person 1"
    assert progressed == [outbox.id]
    finished = await outbox_of(sessionmaker, outbox.id)
    assert finished.status == OutboxStatus.DONE and finished.finished_at is not None


async def test_duty_goes_before_a_large_announcement(sessionmaker, fake, bot):
    people = await add_people(sessionmaker, fake, 30)
    crowd = await send_out(sessionmaker, text="Большое объявление")
    ballot = await send_out(
        sessionmaker, audience={"users": [people[-1]]}, text="Бюллетень", topic=Topic.DUTY
    )
    worker = make_worker(sessionmaker, bot, batch=5)
    await worker.run_once()
    assert (await rows(sessionmaker, ballot))[people[-1]].status == DeliveryStatus.SENT
    assert (await progress_of(sessionmaker, crowd)).sent == 4  # the batch's other places
