"""Lengths as Telegram counts them: in UTF-16 code units after entity parsing (an emoji outside
the BMP is two). The fake server refuses what Telegram refuses, and every place the bot cuts a
long text (the delivery splitter, `clip` in cards) measures the same way."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile
from sqlalchemy import select

from bot.delivery import CAPTION_LIMIT, TEXT_LIMIT, split_text, visible_length
from bot.fake_telegram import parse_html
from bot.texts import clip, utf16_len
from models import Delivery, DeliveryStatus
from tests.support import make_secretary
from tests.test_delivery import (
    FIRST_ID,
    add_people,
    bot,
    drain,
    make_worker,
    rows,
    send_out,
    sessionmaker,
)
from tests.test_districts import add_districts

__all__ = ["bot", "sessionmaker"]  # fixtures used here

EMOJI = "😀"


def test_the_splitter_cuts_emoji_by_utf16_and_never_inside_a_pair_tag_or_entity():
    text = "<b>" + (EMOJI + "&amp;") * 1500 + "</b>"  # 3,000 characters shown, 4,500 units
    assert visible_length(text) == 1500 * 2 + 1500
    parts = split_text(text)
    assert len(parts) == 2
    for part in parts:
        plain, _ = parse_html(part)  # no tag or entity cut in half
        assert utf16_len(plain) <= TEXT_LIMIT
        assert "\ud83d" not in plain  # a lone surrogate would be half an emoji
        assert part.startswith("<b>") and part.endswith("</b>")
    assert "".join(parse_html(p)[0] for p in parts) == parse_html(text)[0]


def test_clip_counts_utf16_and_keeps_characters_and_entities_whole():
    assert clip(EMOJI * 10, 20) == EMOJI * 10
    clipped = clip(EMOJI * 10, 9)
    assert clipped == EMOJI * 4 + "…" and utf16_len(clipped) == 9
    assert clip("я" * 10, 9) == "я" * 8 + "…"
    assert clip("<&>" * 4, 5) == "&lt;&amp;&gt;&lt;…"  # cut before escaping: no half entity


async def test_an_emoji_text_is_refused_unsplit_and_arrives_in_parts(sessionmaker, fake, bot):
    """3,000 emoji are 6,000 UTF-16 units: too long for one message, though 3,000 characters."""
    text = EMOJI * 3000
    (person,) = await add_people(sessionmaker, fake, 1)
    telegram_id = FIRST_ID
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(telegram_id, text)
    outbox_id = await send_out(sessionmaker, text=text)
    await drain(make_worker(sessionmaker, bot))
    calls = fake.calls("sendMessage")
    assert len(calls) == 1 + 2 and all(call.ok for call in calls[1:])
    delivered = await rows(sessionmaker, outbox_id)
    assert delivered[person].status == DeliveryStatus.SENT
    received = [m.text for m in fake.user(telegram_id).bot_messages]
    assert "".join(received) == text


async def test_an_emoji_caption_too_long_in_utf16_goes_as_a_text_after_the_picture(
    sessionmaker, fake, bot
):
    text = EMOJI * 600  # 600 characters, but 1,200 units: more than a caption may have
    assert utf16_len(text) > CAPTION_LIMIT
    await add_people(sessionmaker, fake, 1)
    telegram_id = FIRST_ID
    picture = BufferedInputFile(b"\xff\xd8jpeg\xff\xd9", "p.jpg")
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(telegram_id, picture, caption=text)
    await send_out(
        sessionmaker,
        text=text,
        media_kind="photo",
        media_data=b"\xff\xd8jpeg\xff\xd9",
        media_name="p.jpg",
    )
    await drain(make_worker(sessionmaker, bot))
    async with sessionmaker() as session:
        statuses = list(await session.scalars(select(Delivery.status)))
    assert statuses == [DeliveryStatus.SENT]
    assert any(m.text == text for m in fake.user(telegram_id).bot_messages)


async def test_a_district_card_with_emoji_borders_still_arrives(fake, running):
    """Borders may be 2,000 characters; in emoji that is 4,000 units, more than the card holds."""
    await add_districts(running, 1)
    secretary = fake.user(5101, "Ирина")
    await make_secretary(running, 5101, "Ирина Секретарь")
    await secretary.say("/districts")
    await secretary.click("№1 — Округ 1")
    await secretary.click("✏️ Переименовать")
    await secretary.say(EMOJI * 200)
    await secretary.click("🗺 Описать границы")
    replies = await secretary.say(EMOJI * 2000)
    assert "Границы округа №1 описаны" in replies[0].text
    card = replies[-1].text  # the card came: Telegram (the fake) accepted it
    assert "Границы: " + EMOJI * 1000 in card and "…\n\nБазовая" in card
    assert utf16_len(card) <= TEXT_LIMIT
