"""Announcements end to end: written, targeted, previewed, sent through the delivery engine,
followed on an edited status message; scheduled ones survive a restart."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.services import bodies, users
from models import BodyKind, Delivery, Outbox, OutboxStatus
from models.base import utcnow
from tests.conftest import ADMIN_ID
from tests.support import eventually, register


async def person(running, fake, telegram_id: int, name: str, *, executive: bool = False):
    user_id = await register(running, telegram_id, name)
    if executive:
        async with running.sessionmaker.begin() as session:
            admin = await users.get_user(session, ADMIN_ID)
            body = await bodies.single(session, BodyKind.EXECUTIVE)
            await bodies.add_member(session, admin, body.id, user_id)
    return fake.user(telegram_id, name)


async def outbox(running) -> Outbox:
    async with running.sessionmaker() as session:
        return await session.scalar(select(Outbox).order_by(Outbox.id.desc()).limit(1))


async def test_announcement_to_citizens_with_preview_and_progress(fake, running):
    author = await person(running, fake, 6001, "Исполком", executive=True)
    citizens = [await person(running, fake, 6100 + i, f"Житель {i}") for i in range(5)]

    await author.say("/announce")
    await author.say("<b>Субботник</b> в субботу & чай после")
    await author.click("⬜ Жители")
    assert "✅ Жители" in author.button_texts()
    await author.click("Далее »")
    replies = await author.click("Сейчас")
    preview = next(m for m in replies if "Субботник" in m.text)
    assert preview.text == "<b>Субботник</b> в субботу & чай после"  # as the author typed it
    summary = replies[-1].text
    assert "Получатели: житель" in summary and "6 человек" in summary  # the author is a citizen too

    await author.click("📣 Отправить")
    await eventually(lambda: _finished(running))
    for citizen in citizens:
        received = [m for m in citizen.bot_messages if "Субботник" in m.text]
        assert len(received) == 1
        assert "&lt;b&gt;" in received[0].html  # the author's text, escaped, not markup

    async def status_done() -> bool:
        return any("разослано" in m.text for m in author.bot_messages if m.edited)

    await eventually(status_done)
    listing = (await author.say("/announcements"))[0].text
    assert "разослано: 6 из 6" in listing


async def _finished(running) -> bool:
    latest = await outbox(running)
    return latest is not None and latest.status == OutboxStatus.DONE


async def test_scheduled_announcement_goes_out_after_a_restart(fake, running):
    author = await person(running, fake, 6002, "Исполком", executive=True)
    reader = await person(running, fake, 6200, "Читатель")
    moment = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo("Europe/Moscow"))
    await author.say("/announce")
    await author.say("Собрание завтра")
    await author.click("⬜ Члены ГОС")
    await author.click("⬜ Жители")
    await author.click("Далее »")
    await author.click("Запланировать")
    replies = await author.say("31.02.2026 10:00")
    assert "Не понял время" in replies[0].text
    replies = await author.say(moment.strftime("%d.%m.%Y %H:%M"))
    assert "Отправка: " in replies[-1].text
    replies = await author.click("📣 Отправить")
    assert "запланировано" in replies[-1].text

    await running.restart()
    assert not any("Собрание завтра" in m.text for m in reader.bot_messages)
    # The day passes: the deliveries fall due while the bot is up again.
    async with running.sessionmaker.begin() as session:
        await session.execute(update(Delivery).values(not_before=utcnow() - timedelta(seconds=1)))
    await eventually(lambda: _finished(running))
    assert [m.text for m in reader.bot_messages if "Собрание" in m.text] == ["Собрание завтра"]


async def test_announcements_need_the_role(fake, running):
    citizen = await person(running, fake, 6003, "Житель")
    replies = await citizen.say("/announce")
    assert "нет прав" in replies[0].text
    replies = await citizen.say("/announcements")
    assert "нет прав" in replies[0].text


async def test_announcements_have_their_own_numbers(fake, running):
    """Notices and ballots share the outbox with announcements; the first announcement after
    them is still No. 1, in the status message, its edits and the list."""
    author = await person(running, fake, 6004, "Исполком", executive=True)
    await person(running, fake, 6400, "Житель")
    async with running.sessionmaker.begin() as session:
        for kind in ("notice", "notice", "ballot"):
            session.add(Outbox(kind=kind, text="…", status=OutboxStatus.DONE))

    for number in (1, 2):
        await author.say("/announce")
        await author.say(f"Объявление {number}")
        await author.click("⬜ Жители")
        await author.click("Далее »")
        await author.click("Сейчас")
        replies = await author.click("📣 Отправить")
        assert f"Объявление №{number}:" in replies[-1].text
        await eventually(lambda: _finished(running))

    async def both_done() -> bool:
        edited = [m.text for m in author.bot_messages if m.edited]
        return all(any(f"№{n} разослано" in text for text in edited) for n in (1, 2))

    await eventually(both_done)
    lines = (await author.say("/announcements"))[0].text.splitlines()
    assert [line.split(" · ")[0] for line in lines[1:]] == ["№2", "№1"]


async def test_a_large_audience_is_answered_at_once_and_queued_in_chunks(
    fake, running, monkeypatch
):
    """Past QUEUE_CHUNK recipients (here 2, in production 5,000) the author's confirmation is
    answered before anyone is queued; the workers queue the rest, and everyone gets it once."""
    monkeypatch.setattr("bot.delivery.outbox.QUEUE_CHUNK", 2)
    author = await person(running, fake, 6005, "Исполком", executive=True)
    citizens = [await person(running, fake, 6500 + i, f"Житель {i}") for i in range(5)]
    await author.say("/announce")
    await author.say("Большое объявление")
    await author.click("⬜ Жители")
    await author.click("Далее »")
    await author.click("Сейчас")
    replies = await author.click("📣 Отправить")
    assert "ставятся в очередь — 0 из 6" in replies[-1].text
    assert "⏹ Остановить" in author.button_texts(replies[-1])

    await eventually(lambda: _finished(running))
    for citizen in citizens:
        assert [m.text for m in citizen.bot_messages if "Большое" in m.text] == [
            "Большое объявление"
        ]
    latest = await outbox(running)
    assert latest.total == 6 and latest.queued_up_to is None

    async def status_done() -> bool:
        return any("разослано" in m.text for m in author.bot_messages if m.edited)

    await eventually(status_done)
