"""The bot serves people in their private chats only: in groups and channels it stays silent,
and odd updates (no sender, channel posts, edits, forwards, membership changes) never fail."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from bot.capabilities import HomeGroup
from bot.keyboards.common import CDDeleteMe
from bot.keyboards.home import CDHome
from models import User
from tests.support import count, register

GROUP_ID = -1001234567890


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def sent_to(fake: Any, chat_id: int) -> list[str]:
    """Every call the bot made that names the chat."""
    return [r.method for r in fake.requests if str(r.params.get("chat_id")) == str(chat_id)]


async def test_in_a_group_the_bot_answers_nobody(running, fake, caplog):
    person = fake.user(7101, "Вера")
    await register(running, 7101, "Вера Лесная")
    group = fake.group(GROUP_ID, "Соседи")
    with caplog.at_level(logging.ERROR):
        for text in ("/me", "/delete_me", "/start", "/help", "/privacy", "/registry", "привет"):
            await fake.wait_processed(group.send(text, by=person))
        # An anonymous admin: Telegram names GroupAnonymousBot, or (older clients) nobody.
        await fake.wait_processed(group.send("/me", anonymous=True))
        await fake.wait_processed(group.send("/me", anonymous=True, with_from=False))
    assert group.bot_messages == []
    assert sent_to(fake, GROUP_ID) == []
    assert person.bot_messages == []  # nor was anything said privately about it
    assert await count(running, User) == 2  # the person (and the admin) are still there
    assert errors(caplog) == []


async def test_buttons_in_a_group_do_nothing(running, fake, caplog):
    person = fake.user(7102, "Олег")
    await register(running, 7102, "Олег Полев")
    group = fake.group(GROUP_ID, "Соседи")
    old = group.left_by_bot(
        "Меню",
        [
            ("Профиль", CDHome(section=HomeGroup.EVERYONE).pack()),
            ("Удалить", CDDeleteMe(confirm=True).pack()),
        ],
    )
    with caplog.at_level(logging.ERROR):
        for button in old.flat_buttons:
            await fake.wait_processed(group.press(person, old.message_id, button.callback_data))
    assert group.message(old.message_id).edited == 0
    assert [(a.text, a.show_alert) for a in person.callback_answers] == [(None, False)] * 2
    assert sent_to(fake, GROUP_ID) == []
    assert await count(running, User) == 2
    assert errors(caplog) == []


def _private(person: Any, **extra: Any) -> dict[str, Any]:
    return {
        "message_id": 9000 + len(extra),
        "from": person.as_json(),
        "chat": person.chat_json(),
        "date": int(time.time()),
        **extra,
    }


async def test_odd_updates_never_fail(running, fake, caplog):
    """Fed to the dispatcher directly: Telegram only sends the kinds the bot asks for, but an
    odd update must not break it even when it does arrive."""
    person = fake.user(7103, "Ира")
    await register(running, 7103, "Ира Речная")
    group = fake.group(GROUP_ID, "Соседи").chat_json()
    channel = fake.group(-1009876543210, "Вести", chat_type="channel").chat_json()
    now = int(time.time())
    me = {"type": "bot_command", "offset": 0, "length": 3}
    updates: list[dict[str, Any]] = [
        {
            "channel_post": {
                "message_id": 1,
                "sender_chat": channel,
                "chat": channel,
                "date": now,
                "text": "/me",
                "entities": [me],
            }
        },
        {
            "message": {
                "message_id": 2,
                "sender_chat": group,
                "chat": group,
                "date": now,
                "text": "/me",
                "entities": [me],
            }
        },
        {"edited_message": _private(person, text="/me", entities=[me], edit_date=now)},
        {
            "message": _private(
                person,
                text="/me",
                entities=[me],
                forward_origin={"type": "hidden_user", "sender_user_name": "Кто-то", "date": now},
            )
        },
        {
            "my_chat_member": {
                "chat": group,
                "from": person.as_json(),
                "date": now,
                "old_chat_member": {
                    "status": "left",
                    "user": {"id": 4242, "is_bot": True, "first_name": "Bot"},
                },
                "new_chat_member": {
                    "status": "member",
                    "user": {"id": 4242, "is_bot": True, "first_name": "Bot"},
                },
            }
        },
        {
            "callback_query": {
                "id": "77",
                "from": person.as_json(),
                "chat_instance": "1",
                "inline_message_id": "AAA",
                "data": CDHome(section=HomeGroup.EVERYONE).pack(),
            }
        },
    ]
    app = running.app
    with caplog.at_level(logging.ERROR):
        for number, update in enumerate(updates, start=10_000):
            await app.dp.feed_raw_update(app.bot, {"update_id": number, **update})
    assert errors(caplog) == []
    assert sent_to(fake, GROUP_ID) == []
