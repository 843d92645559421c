"""/settings end to end: topics on and off, quiet hours, duty locked."""

from __future__ import annotations

import re
from pathlib import Path

from bot.services import users
from bot.services.preferences import MUTABLE_TOPICS, OFFERED_TOPICS
from models import Topic
from tests.support import register

ROOT = Path(__file__).resolve().parent.parent
# `topic=Topic.X` in a call, or `topic: Topic = Topic.X` as a default: what a message is sent as.
SENT_AS = re.compile(r"\btopic(?:: Topic)?\s*=\s*Topic\.([A-Z_]+)")


async def registered(running, telegram_id: int) -> None:
    await register(running, telegram_id, "Нина", quiet_hours=True)


async def saved(running, telegram_id: int):
    async with running.sessionmaker() as session:
        return await users.get_user(session, telegram_id)


async def test_settings_toggle_topics_and_quiet_hours(fake, running):
    await registered(running, 9001)
    person = fake.user(9001, "Нина")
    replies = await person.say("/settings")
    buttons = person.button_texts()
    assert "✅ Объявления Ассамблеи" in buttons
    assert "⬜ Ежедневная сводка сроков (в 9:00)" in buttons  # the digest is opt-in
    assert "🔘 тихо 22:00–08:00" in buttons
    assert not any("обязанност" in b for b in buttons)  # duty is not offered

    await person.click("✅ Объявления Ассамблеи", message_id=replies[0].message_id)
    assert person.callback_answers[-1].text == "Выключено: Объявления Ассамблеи"
    assert "⬜ Объявления Ассамблеи" in person.button_texts()
    await person.click("⬜ Ежедневная сводка сроков (в 9:00)")
    await person.click("⚪ без тихих часов")
    user = await saved(running, 9001)
    assert user.muted_topics == ["announcements"]
    assert (user.quiet_from, user.quiet_to) == (None, None)


async def test_duty_cannot_be_muted_even_by_a_forged_button(fake, running):
    await registered(running, 9002)
    person = fake.user(9002, "Нина")
    replies = await person.say("/settings")
    await person.click_data(replies[0].message_id, "topic:duty")
    assert person.callback_answers[-1].show_alert
    assert "отключить нельзя" in person.callback_answers[-1].text
    await person.click_data(replies[0].message_id, "quiet:99")
    assert person.callback_answers[-1].text == "Эта кнопка больше не действует."
    assert (await saved(running, 9002)).muted_topics == ["digest"]


def sent_topics() -> set[Topic]:
    """The topics some code path sends a message on."""
    found: set[Topic] = set()
    for directory in ("bot", "handlers", "scheduler"):
        for path in (ROOT / directory).rglob("*.py"):
            found |= {Topic[name] for name in SENT_AS.findall(path.read_text(encoding="utf-8"))}
    return found


def test_settings_offer_only_topics_something_sends():
    sent = sent_topics()
    assert {Topic.ANNOUNCEMENTS, Topic.DIGEST} <= sent  # the scanner works
    assert set(OFFERED_TOPICS) <= sent & set(MUTABLE_TOPICS)


async def test_settings_screen_offers_conferences_and_refuses_unknown_topics(fake, running):
    await registered(running, 9003)
    person = fake.user(9003, "Нина")
    replies = await person.say("/settings")
    buttons = " ".join(person.button_texts())
    # Conferences are sent now (a conference convened, moved, cancelled): the topic is offered.
    assert "Конференции" in buttons
    assert "Новости проектов" in buttons  # the projects capability sends them
    # A forged button for a topic that does not exist changes nothing.
    await person.click_data(replies[0].message_id, "topic:nonsense")
    assert person.callback_answers[-1].text == "Эта кнопка больше не действует."
    assert (await saved(running, 9003)).muted_topics == ["digest"]
