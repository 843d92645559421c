"""The home screen: a registered person's /start and /help show their commands by section, with
buttons that do what typing the command does; a guest is told how to register."""

from __future__ import annotations

from bot.capabilities import HomeGroup
from bot.keyboards.home import CDHome, CDRun
from models import Role
from tests.support import make_secretary, register


async def test_a_citizen_sees_home_and_its_buttons_work(fake, running):
    await register(running, 3001, "Анна")
    anna = fake.user(3001, "Анна")
    home = (await anna.say("/start"))[-1]
    assert "Анна" in home.text and "/me — показать мой профиль" in home.text
    # Registered people are not offered to register again, nor the way back here.
    assert "/start" not in home.text and "/help —" not in home.text
    assert "Показать мой профиль" in anna.button_texts(home)
    profile = await anna.click(CDRun(command="me").pack(), home.message_id)
    assert any(
        "Анна" in message.text and message.message_id != home.message_id for message in profile
    )
    # A citizen has no Secretariat section.
    assert not any("Секретариат" in label for label in anna.button_texts(home))


async def test_a_secretary_switches_sections_and_runs_a_command(fake, running):
    await make_secretary(running, 3002, "Ольга")
    olga = fake.user(3002, "Ольга")
    home = (await olga.say("/help"))[0]
    assert "/applications" not in home.text
    tab = CDHome(section=HomeGroup.SECRETARIAT).pack()
    section = (await olga.click(tab, home.message_id))[0]
    assert section.message_id == home.message_id  # the same message, edited in place
    assert "/applications" in section.text
    replies = await olga.click(CDRun(command="applications").pack(), home.message_id)
    assert any("заяв" in message.text.lower() for message in replies)


async def test_a_forged_command_button_is_refused(fake, running):
    await register(running, 3003, "Пётр", Role.CITIZEN)
    petr = fake.user(3003, "Пётр")
    home = (await petr.say("/help"))[0]
    sent = len(petr.bot_messages)
    for command in ("applications", "audit", "start", "nonsense"):
        await petr.click_data(home.message_id, CDRun(command=command).pack())
        assert petr.callback_answers[-1].show_alert
    assert len(petr.bot_messages) == sent


async def test_a_guest_is_told_how_to_register(fake, running):
    guest = fake.user(3004, "Гость")
    text = (await guest.say("/help"))[0].text
    assert "/start" in text and "/registry" in text and "/applications" not in text
    assert not guest.button_texts()
