"""The core of meetings through the services and the real delivery worker: a conference convened
by the presidium's decision, published to the council and each member organization's delegate
with an .ics that a calendar library reads, moved (everyone told, the event replaced), and
cancelled; the rotation of host districts; a session refused to a stranger."""

from __future__ import annotations

from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from bot.keyboards.meetings import notice_buttons
from bot.services import users
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.meetings import core, rotation
from bot.services.meetings.core import MeetingInput
from models import ScheduledJob, User
from models.base import utcnow
from models.meetings import Meeting, MeetingInvitee, MeetingKind, MeetingStatus
from tests.meetings_support import TZ, conference, council_member, presidium
from tests.projects_support import district, member_organization
from tests.support import register


def _last(fake, chat_id: int):
    messages = [m for m in fake.chat(chat_id) if m.from_bot]
    assert messages, f"nothing was sent to {chat_id}"
    return messages[-1]


def _calendar_of(fake, chat_id: int):
    """The .ics of the latest notice in a chat, read by a calendar library."""
    documents = [m for m in fake.chat(chat_id) if m.from_bot and m.document]
    assert documents, f"no .ics was sent to {chat_id}"
    return _event(fake.file(documents[-1].document["file_id"]).content)


def _event(document: bytes):
    calendar = Calendar.from_ical(document)
    events = [part for part in calendar.walk() if part.name == "VEVENT"]
    assert len(events) == 1
    return calendar, events[0]


async def test_conference_is_published_moved_and_cancelled(running, fake) -> None:
    first = await district(running, 1, "Центральный")
    await presidium(running, 700, "Председатель Президиума")
    councillor = await council_member(running, 701, "Член Совета")
    org_a, head_a = await member_organization(running, 702, "Глава А", "Организация А", first)
    org_b, head_b = await member_organization(running, 703, "Глава Б", "Организация Б", None)
    bystander = await register(running, 704, "Житель")
    for telegram_id in (700, 701, 702, 703, 704):
        fake.user(telegram_id)

    meeting_id = await conference(running, 700, district_id=first)
    async with running.sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting_id)
            )
        )
        kinds = set(
            await session.scalars(
                select(ScheduledJob.kind).where(ScheduledJob.object_id == meeting_id)
            )
        )
    invited = {row.user_id: row.organization_id for row in rows}
    assert invited == {councillor: None, head_a: org_a, head_b: org_b}
    assert bystander not in invited
    assert kinds == {
        "meeting.remind_7d",
        "meeting.nudge_3d",
        "meeting.remind_1d",
        "meeting.remind_2h",
        "meeting.quorum_check",  # the organizers' quorum forecast (meetings_answers)
    }
    await running.delivered()

    assert "Ежегодная конференция" in _last(fake, 702).text
    calendar, event = _calendar_of(fake, 702)
    assert str(event["uid"]) == f"meeting-{meeting_id}@assembly-bot"
    assert int(event["sequence"]) == 0
    # Not invited, but the conference's news reaches the bystander on the "conferences" topic.
    assert "Созвана" in _last(fake, 704).text
    assert not any("Вы приглашены" in m.text for m in fake.chat(704))

    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 700)
        later = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=12)
        await core.change(
            session, organizer, meeting_id, timezone=TZ, buttons=notice_buttons, starts_at=later
        )
    await running.delivered()
    assert "Изменение" in _last(fake, 701).text
    _, event = _calendar_of(fake, 701)
    assert int(event["sequence"]) == 1
    assert event.decoded("dtstart") == later

    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 700)
        await core.cancel(session, organizer, meeting_id, timezone=TZ, reason="Зал закрыт")
        pending = list(
            await session.scalars(
                select(ScheduledJob.kind).where(
                    ScheduledJob.object_id == meeting_id, ScheduledJob.status == "pending"
                )
            )
        )
    assert pending == []
    await running.delivered()
    assert "Зал закрыт" in _last(fake, 703).text
    calendar, event = _calendar_of(fake, 703)
    assert str(calendar["method"]) == "CANCEL"
    assert str(event["status"]) == "CANCELLED"


async def test_rotation_suggests_the_district_that_hosted_longest_ago(running) -> None:
    first = await district(running, 1, "Центральный")
    second = await district(running, 2, "Северный")
    await district(running, 3, "Южный")
    await presidium(running, 700, "Председатель Президиума")
    await council_member(running, 701, "Член Совета")
    async with running.sessionmaker() as session:
        turn = await rotation.suggest(session)
    assert turn is not None and turn.district.number == 1 and turn.last_hosted is None

    await conference(running, 700, district_id=first, starts_in=timedelta(days=5))
    await conference(running, 700, district_id=second, starts_in=timedelta(days=40))
    async with running.sessionmaker() as session:
        order = [
            (turn.district.number, turn.last_hosted is None)
            for turn in await rotation.turns(session)
        ]
    # Never hosted first; then the one whose conference is earliest.
    assert order == [(3, True), (1, False), (2, False)]


async def test_who_may_convene(running) -> None:
    await register(running, 705, "Посторонний")
    await presidium(running, 700, "Председатель Президиума")
    draft = MeetingInput(
        kind=MeetingKind.CONFERENCE, title="Конференция", starts_at=utcnow() + timedelta(days=3)
    )
    async with running.sessionmaker() as session:
        stranger = await users.get_user(session, 705)
        with pytest.raises(NotAllowed):
            await core.create(session, stranger, draft)
    meeting_id = await conference(running, 700, publish=False)
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 700)
        found = await session.get(Meeting, meeting_id)
        assert found is not None
        found.decided_at = None  # as if no decision were on record
        with pytest.raises(InvalidInput) as refused:
            await core.publish(session, organizer, meeting_id, timezone=TZ, buttons=notice_buttons)
        assert refused.value.key == "meetings-no-decision"
        assert found.status == MeetingStatus.DRAFT


async def test_erasure_removes_invitations_to_meetings_to_come(running, fake) -> None:
    from bot.services import erasure

    await presidium(running, 700, "Председатель Президиума")
    councillor = await council_member(running, 701, "Член Совета")
    _, head = await member_organization(running, 702, "Глава", "Организация", None)
    meeting_id = await conference(running, 700)
    async with running.sessionmaker.begin() as session:
        person = await session.get(User, head)
        assert person is not None
        await erasure.erase(session, person)
    async with running.sessionmaker() as session:
        invited = set(
            await session.scalars(
                select(MeetingInvitee.user_id).where(MeetingInvitee.meeting_id == meeting_id)
            )
        )
    assert invited == {councillor}


async def test_the_public_news_is_done_when_everyone_is_invited(running, fake) -> None:
    from models import Outbox, OutboxStatus, Topic

    await presidium(running, 700, "Председатель Президиума")
    await council_member(running, 701, "Член Совета")
    meeting_id = await conference(running, 700, publish=False)
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 700)
        assert organizer is not None
        await core.add_guest(
            session, organizer, meeting_id, organizer.id, timezone=TZ, buttons=notice_buttons
        )
        await core.publish(session, organizer, meeting_id, timezone=TZ, buttons=notice_buttons)
    async with running.sessionmaker() as session:
        public = (
            await session.scalars(select(Outbox).where(Outbox.topic == Topic.CONFERENCES))
        ).one()
    # Nobody is left to tell apart from the invited: nothing waits for a worker to close it.
    assert public.status == OutboxStatus.DONE
