"""Shared by the meetings' tests: council members, presidium members and meetings made directly
through the services (the dialogs have tests of their own)."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.keyboards.meetings import notice_buttons
from bot.services import bodies, users
from bot.services.meetings import convening, core
from bot.services.meetings.core import MeetingInput
from models import BodyKind, CouncilCategory, Role
from models.base import utcnow
from models.meetings import Meeting, MeetingKind
from tests.conftest import ADMIN_ID
from tests.support import register

TZ = "Europe/Moscow"


async def council_member(running, telegram_id: int, name: str) -> int:
    """A registered person with a council seat (an honorary citizen: a category with no rule
    of its own to meet)."""
    user_id = await register(running, telegram_id, name)
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        council = await bodies.single(session, BodyKind.COUNCIL)
        await bodies.add_member(
            session, admin, council.id, user_id, category=CouncilCategory.HONORARY
        )
    return user_id


async def presidium(running, telegram_id: int, name: str) -> int:
    """A person holding the presidium's role (who convenes conferences)."""
    return await register(running, telegram_id, name, Role.PRESIDIUM)


async def conference(
    running,
    organizer_telegram_id: int,
    *,
    title: str = "Ежегодная конференция",
    starts_in: timedelta = timedelta(days=10),
    district_id: int | None = None,
    publish: bool = True,
    votes_planned: bool = False,
) -> int:
    """A conference convened by the presidium's recorded decision, published unless asked not
    to; returns its id."""
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, organizer_telegram_id)
        meeting = await core.create(
            session,
            organizer,
            MeetingInput(
                kind=MeetingKind.CONFERENCE,
                title=title,
                starts_at=_on_the_hour(utcnow() + starts_in),
                place="ДК «Октябрь», ул. Ленина, 1",
                district_id=district_id,
                votes_planned=votes_planned,
            ),
        )
        await core.add_item(session, organizer, meeting.id, "Отчёт совета за год")
        await convening.record_decision(
            session, organizer, meeting.id, "Решение президиума от 01.12.2026 №5"
        )
        if publish:
            await core.publish(session, organizer, meeting.id, timezone=TZ, buttons=notice_buttons)
        meeting_id = meeting.id
    # The notices are out before the test goes on: none arrives in the middle of its dialog.
    await running.delivered()
    return meeting_id


async def session_of(
    running,
    organizer_telegram_id: int,
    body_id: int,
    *,
    title: str = "Заседание",
    starts_in: timedelta = timedelta(days=10),
    publish: bool = True,
) -> int:
    """A sitting of a body (its chair or the presidium organizes it)."""
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, organizer_telegram_id)
        meeting = await core.create(
            session,
            organizer,
            MeetingInput(
                kind=MeetingKind.SESSION,
                body_id=body_id,
                title=title,
                starts_at=_on_the_hour(utcnow() + starts_in),
                place="Зал заседаний",
            ),
        )
        if publish:
            await core.publish(session, organizer, meeting.id, timezone=TZ, buttons=notice_buttons)
        meeting_id = meeting.id
    # The notices are out before the test goes on: none arrives in the middle of its dialog.
    await running.delivered()
    return meeting_id


async def meeting(running, meeting_id: int) -> Meeting:
    async with running.sessionmaker() as session:
        found = await session.get(Meeting, meeting_id)
        assert found is not None
        return found


def _on_the_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
