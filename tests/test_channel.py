"""The public channel end to end: the real bot with PUBLIC_CHANNEL_ID set posts a published
conference in the fake Telegram's channel and edits that same message when the conference moves
or is cancelled; an adopted recommendation is posted and edited as it is followed up; the audit
log's witnessed head is one post edited to the latest head; a 429 from the channel is waited
out; without the setting nothing is queued or posted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.delivery import channel as public
from bot.keyboards.meetings import notice_buttons
from bot.services import bodies, recommendations, users
from bot.services.audit.report import witness_now
from bot.services.meetings import core
from models import BodyKind, Vote, VoteStatus
from models.base import utcnow
from models.channel import ChannelPost
from tests.channel_support import CHANNEL, channel, channel_calls, posted, with_channel
from tests.conftest import ADMIN_ID
from tests.meetings_support import (
    TZ,
    conference,
    council_member,
    meeting,
    presidium,
    session_of,
)
from tests.support import make_secretary

__all__ = ["channel", "with_channel"]  # fixtures, used by name


async def _councillors(running, fake) -> None:
    await presidium(running, 700, "Председатель Президиума")
    await council_member(running, 701, "Член Совета")
    for telegram_id in (700, 701):
        fake.user(telegram_id)


async def test_a_conference_is_posted_and_its_post_edited_when_moved_and_cancelled(
    with_channel, fake, channel
) -> None:
    running = with_channel
    await _councillors(running, fake)
    meeting_id = await conference(running, 700, title="Конференция-2027")
    post = await posted(running, public.MEETING, meeting_id)
    [message] = channel.bot_messages
    assert post.message_id == message.message_id and post.chat_id == CHANNEL
    assert "Конференция-2027" in message.text and "Отчёт совета за год" in message.text
    assert fake.message_json(message)["sender_chat"]["id"] == CHANNEL  # the channel's post

    before = (await meeting(running, meeting_id)).starts_at
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 700)
        await core.change(
            session,
            organizer,
            meeting_id,
            timezone=TZ,
            buttons=notice_buttons,
            starts_at=before + timedelta(days=2),
            place="Новый зал",
        )
    await posted(running, public.MEETING, meeting_id, version=2)
    [message] = channel.bot_messages  # the same message, not a new one
    assert message.edited == 1
    assert "Перенесена" in message.text and "Новый зал" in message.text
    assert "Отчёт совета за год" in message.text  # the agenda stays in the post

    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 700)
        await core.cancel(session, organizer, meeting_id, timezone=TZ, reason="Нет кворума")
    await posted(running, public.MEETING, meeting_id, version=3)
    [message] = channel.bot_messages
    assert message.edited == 2
    assert "Отменена" in message.text and "Нет кворума" in message.text
    assert len(channel_calls(fake, "sendMessage")) == 1
    assert len(channel_calls(fake, "editMessageText")) == 2


async def test_a_session_of_a_body_is_not_posted(with_channel, fake, channel) -> None:
    """Only conferences are the public's business; a council sitting is not posted."""
    running = with_channel
    await _councillors(running, fake)
    async with running.sessionmaker() as session:
        council = await bodies.single(session, BodyKind.COUNCIL)
    await session_of(running, 700, council.id)
    await running.delivered()
    async with running.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ChannelPost)) == 0


async def _adopted(running, text: str = "Отремонтировать мост через Нару.") -> int:
    async with running.sessionmaker.begin() as session:
        vote = Vote(
            question="О ремонте моста",
            text=text,
            addressee="Администрация г. о. Серпухов",
            status=VoteStatus.CLOSED,
            closes_at=utcnow(),
        )
        session.add(vote)
        await session.flush()
        recommendation = await recommendations.register(session, vote, utcnow(), 30)
        return recommendation.id


async def test_an_adopted_recommendation_is_posted_and_edited_on_follow_up(
    with_channel, fake, channel
) -> None:
    running = with_channel
    await make_secretary(running, 710, "Секретарь")
    recommendation_id = await _adopted(running)
    await posted(running, public.RECOMMENDATION, recommendation_id)
    [message] = channel.bot_messages
    assert "Рекомендация Ассамблеи №1" in message.text and "О ремонте моста" in message.text
    assert "Отремонтировать мост" in message.text and "направлена" in message.text

    async with running.sessionmaker.begin() as session:
        secretary = await users.get_user(session, 710)
        await recommendations.mark_answered(
            session, secretary, recommendation_id, "Ремонт включён в план на 2027 год."
        )
    await posted(running, public.RECOMMENDATION, recommendation_id, version=2)
    [message] = channel.bot_messages
    assert "получен ответ" in message.text and "включён в план" in message.text

    async with running.sessionmaker.begin() as session:
        secretary = await users.get_user(session, 710)
        await recommendations.mark_implemented(session, secretary, recommendation_id)
    await posted(running, public.RECOMMENDATION, recommendation_id, version=3)
    [message] = channel.bot_messages
    assert message.edited == 2 and "выполнена" in message.text


async def test_a_long_recommendation_is_clipped_to_one_message(with_channel, fake, channel):
    running = with_channel
    recommendation_id = await _adopted(running, "Очень длинный текст рекомендации. " * 400)
    await posted(running, public.RECOMMENDATION, recommendation_id)
    [message] = channel.bot_messages
    assert len(message.text) <= 4096 and "…" in message.text
    assert "Адресат: Администрация" in message.text  # what follows the text is kept


async def test_the_audit_logs_witnessed_head_is_one_post_edited_to_the_latest(
    with_channel, fake, channel
) -> None:
    running = with_channel
    await make_secretary(running, 711, "Секретарь")  # entries in the log
    async with running.sessionmaker.begin() as session:
        assert await witness_now(session, "daily")
    first = await posted(running, public.AUDIT, 0)
    [message] = channel.bot_messages
    seq, code = first.text_params["seq"], first.text_params["code"]
    assert f"№{seq}" in message.text and code in message.text
    # The prefix shown is one /audit accepts as a pasted code.
    assert len(code.split(":")[1]) == 16

    await make_secretary(running, 712, "Секретарь 2")  # more entries
    async with running.sessionmaker.begin() as session:
        assert await witness_now(session, "daily")
    latest = await posted(running, public.AUDIT, 0, version=first.version + 1)
    [message] = channel.bot_messages
    assert latest.text_params["seq"] > seq and latest.text_params["code"] in message.text
    assert message.edited >= 1


async def test_a_429_from_the_channel_is_waited_out(with_channel, fake, channel) -> None:
    running = with_channel
    fake.inject_fault("sendMessage", status=429, retry_after=1, chat_id=CHANNEL)
    recommendation_id = await _adopted(running)
    post = await posted(running, public.RECOMMENDATION, recommendation_id)
    calls = channel_calls(fake, "sendMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].time - calls[0].time >= 0.95  # retry_after honoured, not hammered
    assert len(channel.bot_messages) == 1 and post.attempts == 0


async def test_nothing_is_posted_without_a_channel(running, fake) -> None:
    """PUBLIC_CHANNEL_ID unset: a published conference and an adopted recommendation queue no
    post at all (turning the setting on later does not post a backlog)."""
    group = fake.group(CHANNEL, "Assembly", chat_type="channel")
    await _councillors(running, fake)
    await conference(running, 700)
    await _adopted(running)
    async with running.sessionmaker.begin() as session:
        await witness_now(session, "daily")
    await running.delivered()
    async with running.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ChannelPost)) == 0
    assert group.messages == [] and channel_calls(fake, "sendMessage") == []


def test_a_persons_id_is_not_a_channel() -> None:
    """A person's id (positive) is refused as PUBLIC_CHANNEL_ID; empty means unset."""
    with pytest.raises(ValueError, match="negative"):
        Settings(_env_file=None, public_channel_id=ADMIN_ID)
    assert Settings(_env_file=None, public_channel_id="").public_channel_id is None
    assert Settings(_env_file=None, public_channel_id=str(CHANNEL)).public_channel_id == CHANNEL
