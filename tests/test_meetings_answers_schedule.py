"""What the scheduler does with the answers: the reminders 7 days, 3 days (a nudge), 1 day and 2
hours before a meeting fire once each and only to the right people, also after a restart; the
quorum check two days ahead warns the organizers once when those coming make no quorum, and is
silent when they do; the yearly rule reminds the presidium and the Secretariat when 11 months
have passed without a conference, weekly and not daily, and stops once one is announced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot import dates
from bot.services import users
from bot.services.meetings import answers, core, forecast, yearly
from models import JobStatus, ScheduledJob
from models.base import utcnow
from models.meetings import Answer, Meeting, MeetingStatus
from tests.meetings_support import TZ, conference, council_member, presidium, session_of
from tests.projects_support import committee, member_organization
from tests.support import eventually, make_secretary, register
from tests.test_projects_work_deadlines import all_sent

ORGANIZER, YES, NO, MAYBE, SILENT, OTHER_PRESIDIUM, SECRETARY, STRANGER = (
    7700,
    7701,
    7702,
    7703,
    7704,
    7705,
    7706,
    7707,
)
# The words each reminder starts with (locales/ru/LC_MESSAGES/meetings.po).
WORDS = {
    "meeting.remind_7d": "Через неделю",
    "meeting.nudge_3d": "Через три дня",
    "meeting.remind_1d": "Завтра",
    "meeting.remind_2h": "Через два часа",
}
BEFORE = {
    "meeting.remind_7d": timedelta(days=7),
    "meeting.nudge_3d": timedelta(days=3),
    "meeting.remind_1d": timedelta(days=1),
    "meeting.remind_2h": timedelta(hours=2),
    forecast.CHECK_KIND: forecast.CHECK_BEFORE,
}


def told(person, words: str) -> int:
    return sum(words in (m.text or "") for m in person.bot_messages)


async def answer(running, telegram_id: int, meeting_id: int, chosen: Answer) -> None:
    async with running.sessionmaker.begin() as session:
        person = await users.get_user(session, telegram_id)
        await answers.answer(session, person, meeting_id, chosen)


async def job_status(running, meeting_id: int, kind: str) -> JobStatus | None:
    async with running.sessionmaker() as session:
        return await session.scalar(
            select(ScheduledJob.status).where(
                ScheduledJob.kind == kind,
                ScheduledJob.object_type == "meeting",
                ScheduledJob.object_id == meeting_id,
            )
        )


async def fire(running, meeting_id: int, kind: str) -> None:
    """As if time had passed: the meeting is now `kind`'s time before its start, and its job is
    due; the scheduler runs what is due."""
    start = (utcnow() + BEFORE[kind] - timedelta(seconds=2)).replace(microsecond=0)
    async with running.sessionmaker.begin() as session:
        meeting = await session.get(Meeting, meeting_id)
        meeting.starts_at, meeting.ends_at = start, start + timedelta(hours=3)
        await session.execute(
            update(ScheduledJob)
            .where(
                ScheduledJob.kind == kind,
                ScheduledJob.object_type == "meeting",
                ScheduledJob.object_id == meeting_id,
                ScheduledJob.status == JobStatus.PENDING,
            )
            .values(due_at=start - BEFORE[kind])
        )
    await running.app.scheduler.tick()

    async def done() -> bool:
        return await job_status(running, meeting_id, kind) in (JobStatus.DONE, JobStatus.FAILED)

    await eventually(done)


async def council_world(fake, running) -> int:
    """A council of four who answered yes, no, maybe and nothing, invited to a conference."""
    for tg in (ORGANIZER, YES, NO, MAYBE, SILENT, STRANGER):
        fake.user(tg)
    await presidium(running, ORGANIZER, "Председатель")
    await council_member(running, YES, "Приду")
    await council_member(running, NO, "Не смогу")
    await council_member(running, MAYBE, "Возможно")
    await council_member(running, SILENT, "Молчун")
    await register(running, STRANGER, "Посторонний")
    meeting_id = await conference(running, ORGANIZER)
    for tg, chosen in ((YES, Answer.YES), (NO, Answer.NO), (MAYBE, Answer.MAYBE)):
        await answer(running, tg, meeting_id, chosen)
    await all_sent(running)
    return meeting_id


@pytest.mark.parametrize(
    ("kind", "reminded"),
    [
        ("meeting.remind_7d", {YES, MAYBE, SILENT}),
        ("meeting.nudge_3d", {SILENT}),
        ("meeting.remind_1d", {YES, MAYBE, SILENT}),
        ("meeting.remind_2h", {YES}),
    ],
)
async def test_each_reminder_fires_once_to_the_right_people(fake, running, kind, reminded):
    meeting_id = await council_world(fake, running)
    await fire(running, meeting_id, kind)
    await all_sent(running)
    everyone = (YES, NO, MAYBE, SILENT, ORGANIZER, STRANGER)
    assert {tg for tg in everyone if told(fake.user(tg), WORDS[kind])} == reminded
    # With the answer buttons, so the answer can change from the reminder itself.
    person = fake.user(next(iter(reminded)))
    last = next(m for m in reversed(person.bot_messages) if WORDS[kind] in m.text)
    assert "✅ Приду" in person.button_texts(last)
    # It never fires again (after a restart: `test_reminders_after_a_restart_...`).
    await running.app.scheduler.tick()
    await all_sent(running)
    assert all(told(fake.user(tg), WORDS[kind]) == 1 for tg in reminded)
    assert await job_status(running, meeting_id, kind) == JobStatus.DONE


async def test_reminders_after_a_restart_and_a_changed_answer(fake, running):
    meeting_id = await council_world(fake, running)
    await fire(running, meeting_id, "meeting.remind_7d")
    await all_sent(running)
    # The silent one answers "no" meanwhile; the bot restarts before the day-before reminder
    # (and its scheduler runs what is due at once: the week-before reminder is not sent again).
    await answer(running, SILENT, meeting_id, Answer.NO)
    await running.restart()
    await fire(running, meeting_id, "meeting.remind_1d")
    await all_sent(running)
    assert told(fake.user(SILENT), WORDS["meeting.remind_7d"]) == 1
    assert told(fake.user(SILENT), WORDS["meeting.remind_1d"]) == 0
    assert told(fake.user(YES), WORDS["meeting.remind_1d"]) == 1
    assert told(fake.user(YES), WORDS["meeting.remind_7d"]) == 1


async def test_the_quorum_check_warns_the_organizers_once(fake, running):
    for tg in (ORGANIZER, OTHER_PRESIDIUM, YES, NO, MAYBE, SILENT):
        fake.user(tg)
    await presidium(running, ORGANIZER, "Председатель")
    await presidium(running, OTHER_PRESIDIUM, "Заместитель")
    await council_member(running, YES, "Член Совета")
    for tg, name in ((NO, "А"), (MAYBE, "Б"), (SILENT, "В")):
        await member_organization(running, tg, f"Глава {name}", f"Организация {name}", None)
    meeting_id = await conference(running, ORGANIZER, votes_planned=True)
    # One organization of three comes: the quorum (more than half) needs two.
    await answer(running, NO, meeting_id, Answer.YES)
    await answer(running, MAYBE, meeting_id, Answer.MAYBE)
    await answer(running, YES, meeting_id, Answer.YES)  # the council does not vote here
    await all_sent(running)

    await fire(running, meeting_id, forecast.CHECK_KIND)
    await all_sent(running)
    warning = "Кворума может не быть"
    assert told(fake.user(ORGANIZER), warning) == 1
    assert told(fake.user(OTHER_PRESIDIUM), warning) == 1
    assert all(told(fake.user(tg), warning) == 0 for tg in (YES, NO, MAYBE, SILENT))
    text = next(m.text for m in fake.user(ORGANIZER).bot_messages if warning in m.text)
    assert "Придут: 1 из 3 (считаются организации-члены)" in text
    assert "нужно 2" in text and "«возможно»: 1" in text
    async with running.sessionmaker() as session:
        result = await session.scalar(
            select(ScheduledJob.result).where(ScheduledJob.kind == forecast.CHECK_KIND)
        )
    assert result is not None and result["quorum"] is False and result["warned"] == 2
    await running.app.scheduler.tick()
    await running.restart()
    await all_sent(running)
    assert told(fake.user(ORGANIZER), warning) == 1


async def test_the_quorum_check_is_silent_when_the_quorum_is_expected(fake, running):
    for tg in (ORGANIZER, YES, NO, MAYBE):
        fake.user(tg)
    chair = await register(running, ORGANIZER, "Председатель комитета")
    members = [await register(running, tg, f"Член {tg}") for tg in (YES, NO, MAYBE)]
    body_id = await committee(running, "Комитет по стратегии", "Стратегия", chair, *members)
    meeting_id = await session_of(running, ORGANIZER, body_id)
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, ORGANIZER)
        await core.edit(session, organizer, meeting_id, votes_planned=True)
    # Three of four members come (the chair is a member too): more than half.
    for tg in (ORGANIZER, YES, NO):
        await answer(running, tg, meeting_id, Answer.YES)
    async with running.sessionmaker() as session:
        found = await forecast.forecast(session, await session.get(Meeting, meeting_id))
    assert (found.eligible, found.coming, found.needed, found.expected) == (4, 3, 3, True)
    await all_sent(running)
    await fire(running, meeting_id, forecast.CHECK_KIND)
    await all_sent(running)
    assert told(fake.user(ORGANIZER), "Кворума может не быть") == 0
    async with running.sessionmaker() as session:
        result = await session.scalar(
            select(ScheduledJob.result).where(ScheduledJob.kind == forecast.CHECK_KIND)
        )
    assert result is not None and result["quorum"] is True


# --- The yearly rule ---------------------------------------------------------------------------


async def run_yearly(running) -> dict:
    """Make the pending daily check due and run it; returns what it recorded."""
    async with running.sessionmaker.begin() as session:
        job_id = await session.scalar(
            select(ScheduledJob.id).where(
                ScheduledJob.kind == yearly.KIND, ScheduledJob.status == JobStatus.PENDING
            )
        )
        assert job_id is not None, "the daily check is always in the schedule"
        job = await session.get(ScheduledJob, job_id)
        # It was the previous day's check (the next one is for a later day).
        job.due_at = utcnow() - timedelta(seconds=1)
        job.object_id = dates.day_number(utcnow() - timedelta(days=1), TZ)
    await running.app.scheduler.tick()

    async def done() -> bool:
        async with running.sessionmaker() as session:
            found = await session.get(ScheduledJob, job_id)
            return found is not None and found.status in (JobStatus.DONE, JobStatus.FAILED)

    await eventually(done)
    async with running.sessionmaker() as session:
        found = await session.get(ScheduledJob, job_id)
        assert found is not None and found.status == JobStatus.DONE
        return dict(found.result or {})


async def pending_checks(running) -> int:
    async with running.sessionmaker() as session:
        return (
            await session.scalar(
                select(func.count())
                .select_from(ScheduledJob)
                .where(ScheduledJob.kind == yearly.KIND, ScheduledJob.status == JobStatus.PENDING)
            )
            or 0
        )


async def a_week_passes(running) -> None:
    """The latest reminder went out eight days ago (what the finished checks recorded)."""
    async with running.sessionmaker.begin() as session:
        for job in await session.scalars(
            select(ScheduledJob).where(
                ScheduledJob.kind == yearly.KIND, ScheduledJob.status == JobStatus.DONE
            )
        ):
            if (job.result or {}).get("reminded_at"):
                job.result = {
                    **job.result,
                    "reminded_at": (utcnow() - timedelta(days=8)).isoformat(),
                }


async def test_the_yearly_rule_reminds_weekly_until_a_conference_is_announced(fake, running):
    for tg in (ORGANIZER, SECRETARY, YES, STRANGER):
        fake.user(tg)
    await presidium(running, ORGANIZER, "Председатель")
    await make_secretary(running, SECRETARY, "Секретарь")
    await council_member(running, YES, "Член Совета")
    await register(running, STRANGER, "Житель")
    # The daily check is in the schedule from the start (once, also after a restart: below).
    assert await pending_checks(running) == 1

    # The last conference took place a year ago.
    held = await conference(running, ORGANIZER, title="Прошлогодняя конференция")
    async with running.sessionmaker.begin() as session:
        meeting = await session.get(Meeting, held)
        meeting.starts_at -= timedelta(days=375)
        meeting.ends_at -= timedelta(days=375)
        meeting.status = MeetingStatus.MINUTED
    await all_sent(running)
    words = "Пора созывать конференцию"

    result = await run_yearly(running)
    assert result["due"] is True and result["reminded"] == 2
    await all_sent(running)
    assert told(fake.user(ORGANIZER), words) == 1
    assert told(fake.user(SECRETARY), words) == 1
    assert told(fake.user(YES), words) == told(fake.user(STRANGER), words) == 0
    assert "Последняя конференция Ассамблеи —" in fake.user(SECRETARY).bot_messages[-1].text
    assert await pending_checks(running) == 1  # tomorrow's

    # The next day: not again (weekly, not daily), also after a restart.
    await running.restart()
    assert await pending_checks(running) == 1
    result = await run_yearly(running)
    assert result["skipped"] == "reminded this week"
    await all_sent(running)
    assert told(fake.user(ORGANIZER), words) == 1

    # A week later: again.
    await a_week_passes(running)
    result = await run_yearly(running)
    assert result["reminded"] == 2
    await all_sent(running)
    assert told(fake.user(ORGANIZER), words) == 2

    # A conference is announced: no more reminders.
    await conference(running, ORGANIZER, title="Новая конференция", starts_in=timedelta(days=30))
    await a_week_passes(running)
    result = await run_yearly(running)
    assert result["due"] is False and "reminded" not in result
    await all_sent(running)
    assert told(fake.user(ORGANIZER), words) == 2


async def test_with_no_conference_ever_the_months_count_from_the_first_start(fake, running):
    fake.user(ORGANIZER)
    await presidium(running, ORGANIZER, "Председатель")
    words = "Пора созывать конференцию"
    # A new installation is not reminded on its first day.
    result = await run_yearly(running)
    assert result["due"] is False
    # Eleven months after the first start, with no conference in the bot: reminded.
    async with running.sessionmaker.begin() as session:
        for job in await session.scalars(
            select(ScheduledJob).where(ScheduledJob.kind == yearly.KIND)
        ):
            job.created_at -= timedelta(days=340)
    result = await run_yearly(running)
    assert result["due"] is True and result["reminded"] == 1
    await all_sent(running)
    assert told(fake.user(ORGANIZER), words) == 1
    assert "не объявлено ни одной конференции" in fake.user(ORGANIZER).bot_messages[-1].text


def test_months_are_counted_by_the_calendar():
    assert yearly.add_months(datetime(2026, 3, 31, tzinfo=UTC), 11) == datetime(
        2027, 2, 28, tzinfo=UTC
    )
    assert yearly.add_months(datetime(2026, 1, 15, tzinfo=UTC), 11) == datetime(
        2026, 12, 15, tzinfo=UTC
    )
