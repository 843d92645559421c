"""Needs that wait and needs that change, over time: a need waiting too long is escalated once,
also across a restart; the daily digest tells people the news of the needs they follow; status
news can be switched off in /settings (questions to the filer cannot)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from bot.services import districts, users
from bot.services.needs import escalation, moderation
from models import (
    Delivery,
    JobStatus,
    Role,
    ScheduledJob,
)
from models.base import utcnow
from models.needs import (
    Need,
    NeedEvent,
    NeedEventKind,
    NeedSupport,
)
from tests.support import eventually
from tests.test_downtime import down_while, move_job, settled
from tests.test_needs_moderation import (
    BASE1,
    FAN_RU,
    FILER,
    SECRETARY,
    a_category,
    events,
    file_need,
    texts,
    world,
)

# --- Escalation -----------------------------------------------------------------------------------


async def test_a_waiting_need_is_escalated_once_also_after_a_restart(fake, running):
    ids = await world(fake, running)
    need_id = await file_need(running, ids["filer"], ids["d1"])
    decided = await file_need(running, ids["filer"], ids["d1"], "Сломана скамейка")
    async with running.sessionmaker.begin() as session:
        jobs_ = list(
            await session.scalars(select(ScheduledJob).where(ScheduledJob.object_id == need_id))
        )
        days = {
            job.kind: (job.due_at - (await session.get(Need, need_id)).created_at).days
            for job in jobs_
        }
        assert days == {escalation.REMIND_BASE_KIND: 3, escalation.ESCALATE_KIND: 7}
        actor = await users.get_user(session, BASE1)
        await moderation.accept(session, actor, decided)

    async def days_passed(session) -> None:
        for object_id in (need_id, decided):
            for kind in (escalation.REMIND_BASE_KIND, escalation.ESCALATE_KIND):
                await move_job(session, object_id, kind, timedelta(hours=5))
        # The decided need's jobs were cancelled; even forced pending they must do nothing.
        await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.object_id == decided)
            .values(status=JobStatus.PENDING)
        )

    await down_while(running, days_passed)
    await settled(running, need_id, escalation.REMIND_BASE_KIND, escalation.ESCALATE_KIND)
    await settled(running, decided, escalation.REMIND_BASE_KIND, escalation.ESCALATE_KIND)
    escalated = await events(running, need_id, NeedEventKind.ESCALATED)
    assert [e.text for e in escalated] == ["base", "secretariat"]
    assert await events(running, decided, NeedEventKind.ESCALATED) == []
    await running.delivered()
    base, secretary = fake.user(BASE1, "Базовая Один"), fake.user(SECRETARY, "Секретарь")
    assert (
        texts(base).count(f"Потребность №{need_id} «Не горят фонари во дворе дома 5» ждёт решения")
        == 1
    )
    assert texts(secretary).count("слишком долго без решения") == 1

    await running.restart()  # and again: nothing fires twice, nothing is scheduled anew
    async with running.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ScheduledJob)
            .where(ScheduledJob.object_id == need_id, ScheduledJob.object_type == "need")
        )
    assert count == 2
    assert len(await events(running, need_id, NeedEventKind.ESCALATED)) == 2


async def test_new_needs_without_escalation_jobs_get_them_at_start(fake, running):
    ids = await world(fake, running)
    async with running.sessionmaker.begin() as session:
        need = Need(
            district_id=ids["d1"],
            category_id=await a_category(session),
            author_id=ids["filer"],
            description="Без задач",
        )
        session.add(need)
        await session.flush()
        need_id = need.id
    await running.restart()

    async def scheduled() -> bool:
        async with running.sessionmaker() as session:
            return (
                await session.scalar(
                    select(func.count())
                    .select_from(ScheduledJob)
                    .where(ScheduledJob.object_id == need_id, ScheduledJob.object_type == "need")
                )
                == 2
            )

    await eventually(scheduled)


# --- The daily digest ---------------------------------------------------------------------------


async def test_the_digest_tells_the_news_of_the_needs_one_follows_once(session):
    from bot.i18n import create_i18n
    from bot.services import digest
    from models import Outbox
    from tests.test_digest import TZ
    from tests.test_digest import registered as digest_reader

    district = await districts.seed_district(session, 1, "Центр")
    filer = await digest_reader(session, 1, digest_on=True)
    fan = await digest_reader(session, 2, digest_on=True)
    fan.language = "en"
    muted = await digest_reader(session, 3, digest_on=False)  # supports, but no digest
    stranger = await digest_reader(session, 4, digest_on=True)
    secretary = await digest_reader(session, 5, digest_on=False)
    await users.grant_role(session, secretary, Role.SECRETARIAT)
    category_id = await a_category(session)
    need = Need(
        district_id=district.id,
        category_id=category_id,
        author_id=filer.id,
        description="Яма <у> школы",
    )
    quiet = Need(
        district_id=district.id, category_id=category_id, author_id=stranger.id, description="Тихо"
    )
    session.add_all([need, quiet])
    await session.flush()
    session.add_all(
        [
            NeedSupport(need_id=need.id, user_id=fan.id),
            NeedSupport(need_id=need.id, user_id=muted.id),
        ]
    )
    await moderation.accept(session, secretary, need.id)
    await moderation.answer(session, secretary, need.id, "Передано в управу")
    await moderation.ask(session, secretary, need.id, "Где именно?")  # not public: not told

    await digest.ensure_scheduled(session, TZ)
    job = await session.scalar(select(ScheduledJob).where(ScheduledJob.kind == digest.KIND))
    assert job is not None
    job.due_at = min(job.due_at, utcnow())  # this morning's, run now
    await session.execute(update(NeedEvent).values(created_at=job.due_at - timedelta(hours=2)))
    i18n = create_i18n()
    result = await digest.run(session, job, TZ, "ru", i18n)
    again = await digest.run(session, job, TZ, "ru", i18n)
    assert result["needs"] == 2 and again["needs"] == 0
    outboxes = list(
        await session.scalars(select(Outbox).where(Outbox.text_key == "needs-notice-digest"))
    )
    readers = {
        user_id: box.text_params["lines"]
        for box in outboxes
        for user_id in await session.scalars(
            select(Delivery.user_id).where(Delivery.outbox_id == box.id)
        )
    }
    assert set(readers) == {filer.id, fan.id}
    assert readers[filer.id] == f"• №{need.id} «Яма <у> школы»: принята; публичный ответ"
    assert readers[fan.id] == f"• No. {need.id} “Яма <у> школы”: accepted; a public answer"


async def test_status_news_can_be_switched_off_in_settings_questions_cannot(fake, running):
    ids = await world(fake, running)
    need_id = await file_need(running, ids["filer"], ids["d1"], supporters=(ids["fan_ru"],))
    fan, filer = fake.user(FAN_RU), fake.user(FILER)
    screen = (await fan.say("/settings"))[-1]
    assert "Мои потребности и те, что я поддержал(а)" in " ".join(fan.button_texts(screen))
    await fan.click_data(screen.message_id, "topic:needs")
    screen = (await filer.say("/settings"))[-1]
    await filer.click_data(screen.message_id, "topic:needs")
    async with running.sessionmaker.begin() as session:
        secretary = await users.get_user(session, SECRETARY)
        await moderation.accept(session, secretary, need_id)
        await moderation.ask(session, secretary, need_id, "Какой подъезд?")
    await running.delivered()
    assert "принята к рассмотрению" not in texts(fan) + texts(filer)
    assert "Какой подъезд?" in texts(filer)  # about their own need: duty
