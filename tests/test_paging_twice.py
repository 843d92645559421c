"""Pressing a paging button whose page is already shown ("message is not modified" from
Telegram) is no error for the person: no alert, no apology, nothing in the error log."""

from __future__ import annotations

import logging
import re

from bot.services import districts
from tests.conftest import ADMIN_ID
from tests.test_onboarding import register


async def test_pressing_the_same_page_button_twice_is_no_error(fake, running, caplog):
    async with running.sessionmaker.begin() as session:
        for number in range(1, 21):
            await districts.seed_district(session, number, f"Округ {number}")
    admin = fake.user(ADMIN_ID, "Админ")
    listing = (await admin.say("/districts"))[0]
    assert "1/3" in admin.button_texts(listing)
    with caplog.at_level(logging.WARNING):
        await admin.click("▶", listing.message_id)
        page_two = admin.message(listing.message_id).text
        forward = next(b for b in listing.flat_buttons if b.text == "▶").callback_data
        assert forward is not None
        # The same ▶ again (a double tap, or a second press before the edit arrived), then the
        # middle button, which repeats the page shown.
        again = await admin.click_data(listing.message_id, forward)
        same = await admin.click("2/3", listing.message_id)
    assert admin.message(listing.message_id).text == page_two
    assert again == [] and same == []  # nothing new was sent: no apology
    assert [a.text for a in admin.callback_answers] == [None, None, None]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert not [
        r for r in fake.requests if r.status not in (None, 200) and r.method != "editMessageText"
    ]


async def test_a_newcomer_tapping_the_page_counter_of_the_district_picker(fake, running, caplog):
    async with running.sessionmaker.begin() as session:
        for number in range(1, 31):
            await districts.seed_district(session, number, f"Округ {number}")
    user = await register(fake, running, 2101)
    picker = user.last
    assert picker is not None
    counter = next(label for label in user.button_texts(picker) if re.fullmatch(r"\d+/\d+", label))
    answered = len(user.callback_answers)
    with caplog.at_level(logging.WARNING):
        first = await user.click(counter, picker.message_id)
        second = await user.click(counter, picker.message_id)
    assert first == [] and second == []
    assert [a.text for a in user.callback_answers[answered:]] == [None, None]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    # The picker still works.
    await user.click("№2 · Округ 2", picker.message_id)
    assert "/me" in user.last.text
