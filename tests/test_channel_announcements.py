"""Announcements marked public, through the real dialog: with a public channel the author is
offered "also post in the channel", and the announcement then appears there as written; not
ticked, or without a channel, nothing is posted; a stopped scheduled one is withdrawn; the
button pressed by a stranger or forged without a channel does nothing."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.delivery import channel as public
from bot.keyboards.announcements import CDAnn
from bot.services import bodies, users
from models import BodyKind, Outbox
from models.base import utcnow
from models.channel import ChannelPost
from tests.channel_support import channel, channel_calls, posted, with_channel
from tests.conftest import ADMIN_ID
from tests.support import register

__all__ = ["channel", "with_channel"]  # fixtures, used by name

TOGGLE_OFF = "⬜ Также опубликовать в канале Ассамблеи"
TOGGLE_ON = "✅ Также опубликовать в канале Ассамблеи"
STALE = "Эта кнопка больше не действует."


async def author(running, fake, telegram_id: int = 6001):
    user_id = await register(running, telegram_id, "Исполком")
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        body = await bodies.single(session, BodyKind.EXECUTIVE)
        await bodies.add_member(session, admin, body.id, user_id)
    return fake.user(telegram_id, "Исполком")


async def write(person, text: str) -> list:
    """The dialog up to the confirmation: text, citizens, now."""
    await person.say("/announce")
    await person.say(text)
    await person.click("⬜ Жители")
    await person.click("Далее »")
    return await person.click("Сейчас")


async def latest_outbox_id(running) -> int:
    async with running.sessionmaker() as session:
        found = await session.scalar(select(func.max(Outbox.id)))
        assert found is not None
        return found


async def test_a_public_announcement_is_posted_in_the_channel(with_channel, fake, channel):
    running = with_channel
    person = await author(running, fake)
    await write(person, "<b>Субботник</b> в субботу")
    assert TOGGLE_OFF in person.button_texts()
    await person.click(TOGGLE_OFF)
    assert TOGGLE_ON in person.button_texts()
    replies = await person.click("📣 Отправить")
    assert "опубликовано и в публичном канале" in replies[-1].text

    await posted(running, public.ANNOUNCEMENT, await latest_outbox_id(running))
    [message] = channel.bot_messages
    # As the author typed it, and as every recipient sees it: typed tags are text, not markup.
    assert message.text == "<b>Субботник</b> в субботу" and "&lt;b&gt;" in message.html


async def test_unticked_it_stays_out_of_the_channel(with_channel, fake, channel):
    running = with_channel
    person = await author(running, fake)
    await write(person, "Только жителям")
    await person.click(TOGGLE_OFF)
    await person.click(TOGGLE_ON)  # changed their mind
    replies = await person.click("📣 Отправить")
    assert not any("публичном канале" in m.text for m in replies)
    await running.delivered()
    async with running.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ChannelPost)) == 0
    assert channel_calls(fake, "sendMessage") == []


async def test_a_stopped_scheduled_announcement_is_withdrawn(with_channel, fake, channel):
    running = with_channel
    person = await author(running, fake)
    moment = (utcnow() + timedelta(days=1)).astimezone(ZoneInfo("Europe/Moscow"))
    await person.say("/announce")
    await person.say("Завтра собрание")
    await person.click("⬜ Жители")
    await person.click("Далее »")
    await person.click("Запланировать")
    await person.say(moment.strftime("%d.%m.%Y %H:%M"))
    await person.click(TOGGLE_OFF)
    await person.click("📣 Отправить")
    outbox_id = await latest_outbox_id(running)
    async with running.sessionmaker() as session:
        waiting = await public.find(session, public.ANNOUNCEMENT, outbox_id)
        assert waiting is not None and waiting.not_before > utcnow()  # goes out with it
    await person.click("⏹ Остановить")
    async with running.sessionmaker() as session:
        assert await public.find(session, public.ANNOUNCEMENT, outbox_id) is None
    assert channel.bot_messages == []


async def test_without_a_channel_the_choice_is_not_offered(running, fake):
    person = await author(running, fake)
    replies = await write(person, "Объявление")
    assert not any("канале" in label for label in person.button_texts(replies[-1]))
    # A forged press of the choice does nothing.
    await person.click_data(replies[-1].message_id, CDAnn(action="public").pack())
    assert person.callback_answers[-1].text == STALE
    assert "канале" not in " ".join(person.button_texts(replies[-1]))


async def test_a_stranger_pressing_the_choice_changes_nothing(with_channel, fake, channel):
    running = with_channel
    person = await author(running, fake)
    replies = await write(person, "Объявление")
    await register(running, 6900, "Житель")
    stranger = fake.user(6900, "Житель")
    await stranger.say("/start")
    await stranger.click_data(
        stranger.last.message_id if stranger.last else 1, CDAnn(action="public").pack()
    )
    assert stranger.callback_answers[-1].text == STALE
    assert TOGGLE_OFF in person.button_texts(replies[-1])
