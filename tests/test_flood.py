"""A 429 on a reply in a dialog, through the real Dispatcher and the fake Telegram server: the
reply waits a short `retry_after` and goes out; a long one undoes the step (database and dialog
state, in any FSM storage) and asks the person to send it again, and nothing they typed is lost."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.test_onboarding import RU_AGREE, add_districts, db_user, dialog_state

TOO_MANY = "Слишком много сообщений сразу"
WELCOME = "Приятно познакомиться, Анна Петрова"


async def at_the_name_step(fake, running, user_id: int):
    await add_districts(running)
    user = fake.user(user_id, "Анна", language_code="ru")
    await user.say("/start")
    await user.click("Русский")
    await user.click(RU_AGREE)
    return user


async def test_a_short_429_on_a_reply_waits_and_sends_it(fake, running):
    user = await at_the_name_step(fake, running, 3101)
    before = len(fake.calls("sendMessage"))
    fake.inject_fault("sendMessage", status=429, retry_after=1, chat_id=3101)
    replies = await user.say("Анна Петрова")
    assert any(WELCOME in m.text for m in replies)
    outcomes = Counter(call.outcome for call in fake.calls("sendMessage")[before:])
    assert outcomes[429] == 1 and outcomes["ok"] >= 1
    assert (await db_user(running, 3101)).name == "Анна Петрова"


async def test_a_long_429_on_a_reply_keeps_the_step_and_asks_again(fake, running):
    user = await at_the_name_step(fake, running, 3102)
    step = await dialog_state(running, 3102)
    assert step[0] is not None  # in the dialog, at the name step
    fake.inject_fault("sendMessage", status=429, retry_after=60, chat_id=3102)
    replies = await user.say("Анна Петрова")
    assert [m.text for m in replies if TOO_MANY in m.text]
    assert not any(WELCOME in m.text for m in replies)
    assert "Извините" not in "".join(m.text for m in replies)  # not the generic apology
    assert await dialog_state(running, 3102) == step  # the step is not lost
    assert (await db_user(running, 3102)).name is None  # nor half-done

    replies = await user.say("Анна Петрова")  # the same answer again, a moment later
    assert any(WELCOME in m.text for m in replies)
    assert (await db_user(running, 3102)).name == "Анна Петрова"


async def test_a_long_429_on_a_press_asks_again(fake, running):
    await add_districts(running)
    user = fake.user(3103, "Анна", language_code="ru")
    await user.say("/start")
    step = await dialog_state(running, 3103)
    fake.inject_fault(None, status=429, retry_after=60, chat_id=3103)
    replies = await user.click("Русский")
    assert await dialog_state(running, 3103) == step
    assert [m.text for m in replies if TOO_MANY in m.text]
    replies = await user.click("Русский")  # pressed again: the step goes on
    assert any("Согласие на обработку персональных данных" in m.text for m in replies)


async def test_the_wait_is_bounded_in_all_and_only_inside_an_update():
    from aiogram.exceptions import TelegramRetryAfter
    from aiogram.methods import SendMessage

    from bot.middlewares import flood

    method = SendMessage(chat_id=1, text="x")
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    def refusing(*retry_afters: int):
        pending = list(retry_afters)

        async def make_request(bot, method):
            if pending:
                raise TelegramRetryAfter(method=method, message="flood", retry_after=pending.pop(0))
            return "sent"

        return make_request

    retry = flood.ReplyRetryMiddleware(sleep)
    # Outside an update (the delivery worker, the scheduler): no wait here, they pace themselves.
    with pytest.raises(TelegramRetryAfter):
        await retry(refusing(1), None, method)
    assert slept == []

    token = flood._patience.set(flood.MAX_WAIT)
    try:
        assert await retry(refusing(3, 4), None, method) == "sent"
        assert slept == [3, 4]
        slept.clear()
    finally:
        flood._patience.reset(token)
    token = flood._patience.set(flood.MAX_WAIT)
    try:
        with pytest.raises(TelegramRetryAfter):  # 6 + 6 is more than 10 s in all
            await retry(refusing(6, 6), None, method)
        assert slept == [6]
        slept.clear()
    finally:
        flood._patience.reset(token)
    token = flood._patience.set(flood.MAX_WAIT)
    try:
        with pytest.raises(TelegramRetryAfter):  # a third 429 is not waited for
            await retry(refusing(1, 1, 1), None, method)
        assert slept == [1, 1]
    finally:
        flood._patience.reset(token)
