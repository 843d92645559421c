"""Fast handler tests: real Dispatcher and middlewares, an in-process Bot API session."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime

import pytest
from aiogram import Bot
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import CallbackQuery, Chat, Message, MessageEntity, Update
from aiogram.types import User as TgUser

from bot.app import create_app
from bot.services import users
from tests.conftest import ADMIN_ID, TOKEN
from tests.recording_session import RecordingSession

_ids = itertools.count(1)


def make_message(user_id: int, text: str, language: str = "ru") -> Update:
    entities = None
    if text.startswith("/"):
        entities = [MessageEntity(type="bot_command", offset=0, length=len(text.split()[0]))]
    return Update(
        update_id=next(_ids),
        message=Message(
            message_id=next(_ids),
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=TgUser(id=user_id, is_bot=False, first_name="Тест", language_code=language),
            text=text,
            entities=entities,
        ),
    )


def make_callback(user_id: int, data: str) -> Update:
    return Update(
        update_id=next(_ids),
        callback_query=CallbackQuery(
            id=str(next(_ids)),
            from_user=TgUser(id=user_id, is_bot=False, first_name="Тест", language_code="ru"),
            chat_instance="ci",
            data=data,
            message=Message(
                message_id=1,
                date=datetime.now(UTC),
                chat=Chat(id=user_id, type="private"),
                text="old",
            ),
        ),
    )


@pytest.fixture
async def offline(database_url, redis_prefix):
    from bot.config import Settings
    from tests.conftest import ENV_REDIS_URL

    settings = Settings(
        _env_file=None,
        bot_token=TOKEN,
        database_url=database_url,
        redis_url=ENV_REDIS_URL if redis_prefix else None,
        redis_prefix=redis_prefix or "unused",
        admin_ids=[ADMIN_ID],
        throttle_burst=3,
        throttle_rate=0.01,
    )
    session = RecordingSession()
    app = await create_app(settings, bot=Bot(TOKEN, session=session))
    yield app, session
    await app.close()


async def test_start_answers_with_the_welcome_in_russian(offline):
    app, session = offline
    await app.dp.feed_update(app.bot, make_message(10, "/start"))
    texts = session.sent_texts(10)
    assert "Серпуховской ассамблеи" in texts[0]
    assert "Выберите язык" in texts[1]


async def test_throttling_answers_politely_once(offline):
    app, session = offline
    for _ in range(6):
        await app.dp.feed_update(app.bot, make_message(11, "/help"))
    texts = session.sent_texts(11)
    assert len([t for t in texts if "Что можно сделать" in t]) == 3
    assert len([t for t in texts if "Слишком много сообщений" in t]) == 1
    # Someone else is not slowed down by it.
    await app.dp.feed_update(app.bot, make_message(12, "/help"))
    assert any("Что можно сделать" in t for t in session.sent_texts(12))


async def test_a_failing_handler_apologises_and_logs_the_update(offline, monkeypatch, caplog):
    app, session = offline

    async def broken(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(users, "profile", broken)
    async with app.sessionmaker.begin() as db:
        user = await users.give_consent(db, 13, language="ru", username=None)
        user.name = "Ира"
        await users.complete_registration(db, user)
    update = make_message(13, "/me")
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await app.dp.feed_update(app.bot, update)
    assert any("что-то пошло не так" in t for t in session.sent_texts(13))
    assert any(str(update.update_id) in r.getMessage() for r in caplog.records)


async def test_forged_callback_gets_an_answer_and_changes_nothing(offline):
    app, session = offline
    await app.dp.feed_update(app.bot, make_callback(14, "dist:1"))
    await app.dp.feed_update(app.bot, make_callback(14, "delme:1"))
    await app.dp.feed_update(app.bot, make_callback(14, "💥" * 30))
    answers = [r for r in session.requests if isinstance(r, AnswerCallbackQuery)]
    assert len(answers) == 3
    async with app.sessionmaker() as db:
        assert await users.get_user(db, 14) is None


async def test_admin_command_refused_for_a_citizen(offline):
    app, session = offline
    await app.dp.feed_update(app.bot, make_message(15, "/add_district 1 Центр"))
    assert any("нет прав" in t for t in session.sent_texts(15))
    await app.dp.feed_update(app.bot, make_message(ADMIN_ID, "/add_district 1 Центр"))
    assert any("Добавлен округ №1" in t for t in session.sent_texts(ADMIN_ID))
    assert all(isinstance(r, SendMessage | AnswerCallbackQuery) for r in session.requests)
