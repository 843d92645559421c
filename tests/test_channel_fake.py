"""The fake Telegram's channel, as the public channel's tests use it: the bot posts there and edits
its posts; a post is the channel's (sender_chat, no `from`), like Telegram's; an admin can delete
a post, and an edit of it then fails as Telegram's does; faults can aim at the channel alone."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter

from tests.conftest import TOKEN

CHANNEL = -1001234567890


@pytest.fixture
async def bot(fake):
    bot = Bot(TOKEN, session=AiohttpSession(api=fake.api))
    yield bot
    await bot.session.close()


async def test_the_bot_posts_in_a_channel_and_edits_its_post(fake, bot) -> None:
    channel = fake.group(CHANNEL, "Assembly", chat_type="channel")
    sent = await bot.send_message(CHANNEL, "<b>Конференция</b> 1 марта", parse_mode="HTML")
    assert sent.chat.type == "channel" and sent.from_user is None
    assert sent.sender_chat is not None and sent.sender_chat.id == CHANNEL
    edited = await bot.edit_message_text(
        "<b>Конференция</b> перенесена на 3 марта",
        chat_id=CHANNEL,
        message_id=sent.message_id,
        parse_mode="HTML",
    )
    assert not isinstance(edited, bool) and edited.edit_date is not None
    [post] = channel.bot_messages
    assert post.text == "Конференция перенесена на 3 марта" and post.edited == 1


async def test_an_edit_to_the_same_text_is_not_modified(fake, bot) -> None:
    fake.group(CHANNEL, "Assembly", chat_type="channel")
    sent = await bot.send_message(CHANNEL, "Текст")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Текст", chat_id=CHANNEL, message_id=sent.message_id)


async def test_a_post_an_admin_deleted_cannot_be_edited(fake, bot) -> None:
    channel = fake.group(CHANNEL, "Assembly", chat_type="channel")
    sent = await bot.send_message(CHANNEL, "Текст")
    channel.delete(sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("Другой", chat_id=CHANNEL, message_id=sent.message_id)


async def test_a_fault_can_aim_at_the_channel_alone(fake, bot) -> None:
    fake.group(CHANNEL, "Assembly", chat_type="channel")
    person = fake.user(5001)
    fake.inject_fault("sendMessage", status=429, retry_after=3, chat_id=CHANNEL)
    await bot.send_message(person.id, "Лично")  # unaffected
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHANNEL, "В канал")
    assert caught.value.retry_after == 3
    await bot.send_message(CHANNEL, "В канал")  # the fault was for one request
