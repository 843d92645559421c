"""The plan's deadlines: reminders 7 days and 1 day before a milestone or a report is due fire
once each, also across a restart; an overdue milestone is escalated to the executive committee
once, however late; the executive committee's control list shows overdue projects first; the
daily digest carries the week's deadlines of the projects a person takes part in or follows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select, update

from bot.keyboards.projects import CDProjectPanel
from bot.keyboards.projects_work import CDPlan
from bot.services import digest, users
from bot.services.projects import control, deadlines, lifecycle, plan
from models import AuditEntry, Delivery, DeliveryStatus, JobStatus, Outbox, ScheduledJob, User
from models.base import utcnow
from models.projects import Milestone, Project, ProjectFollower, ProjectReport, ProjectStatus
from scheduler import jobs
from tests import projects_support as ps
from tests.support import eventually, register
from tests.test_downtime import down_while, move_job, settled


async def all_sent(running) -> None:
    """Every notice queued so far is sent, also those paced for later (one message a second to
    a chat): `running.delivered()` waits only for what is due now."""

    async def none_pending() -> bool:
        async with running.sessionmaker() as session:
            return not await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status == DeliveryStatus.PENDING)
            )

    await eventually(none_pending)


PROPOSER, EXEC, SECRETARY, STRANGER, FOLLOWER = 7401, 7402, 7403, 7404, 7405
TZ = "Europe/Moscow"


async def world(fake, running) -> dict[str, int]:
    for tg in (PROPOSER, EXEC, SECRETARY, STRANGER, FOLLOWER):
        fake.user(tg)
    ids = {"d1": await ps.district(running, 1, "Центр")}
    ids["org"], ids["proposer"] = await ps.member_organization(
        running, PROPOSER, "Инициатор", "НКО Свет", ids["d1"]
    )
    ids["exec"] = await ps.executive(running, EXEC, "Исполком")
    ids["stranger"] = await register(running, STRANGER, "Чужой")
    ids["project"] = await ps.project(
        running, ids["org"], ids["proposer"], status=ProjectStatus.IN_PROGRESS
    )
    return ids


async def add_milestone(running, ids, days: int, title: str = "Субботник") -> int:
    async with running.sessionmaker.begin() as session:
        owner = await users.get_user(session, PROPOSER)
        milestone = await plan.add_milestone(
            session, owner, ids["project"], title, ps.a_date(days), None, TZ
        )
        return milestone.id


def told(person, words: str) -> int:
    return sum(words in (m.text or "") for m in person.bot_messages)


def test_a_due_date_is_the_end_of_that_day_in_moscow():
    assert deadlines.due_moment(date(2026, 12, 10), TZ) == datetime(2026, 12, 10, 21, 0, tzinfo=UTC)


async def test_reminders_a_week_and_a_day_before_fire_once_each_also_after_restarts(fake, running):
    ids = await world(fake, running)
    milestone_id = await add_milestone(running, ids, 10)
    async with running.sessionmaker() as session:
        due = {
            job.kind: job.due_at
            for job in await session.scalars(
                select(ScheduledJob).where(
                    ScheduledJob.object_type == "milestone", ScheduledJob.object_id == milestone_id
                )
            )
        }
    kinds = deadlines.MILESTONE_KINDS
    end = deadlines.due_moment(ps.a_date(10), TZ)
    assert {k: v.replace(tzinfo=UTC) if v.tzinfo is None else v for k, v in due.items()} == {
        kinds.week: end - timedelta(days=7),
        kinds.day: end - timedelta(days=1),
        kinds.overdue: end,
    }
    owner = fake.user(PROPOSER)

    async def a_week_before(session) -> None:
        await move_job(session, milestone_id, kinds.week, timedelta(minutes=5))

    await down_while(running, a_week_before)
    await settled(running, milestone_id, kinds.week)
    await all_sent(running)
    assert told(owner, "Через неделю") == 1

    async def a_day_before(session) -> None:
        await move_job(session, milestone_id, kinds.day, timedelta(minutes=5))

    await down_while(running, a_day_before)
    await settled(running, milestone_id, kinds.day)
    await all_sent(running)
    await running.restart()
    await all_sent(running)
    assert told(owner, "Через неделю") == 1
    assert told(owner, "Завтра") == 1
    assert "Субботник" in owner.bot_messages[-1].text
    async with running.sessionmaker() as session:
        statuses = dict(
            (
                await session.execute(
                    select(ScheduledJob.kind, ScheduledJob.status).where(
                        ScheduledJob.object_type == "milestone",
                        ScheduledJob.object_id == milestone_id,
                    )
                )
            ).all()
        )
    assert statuses == {
        kinds.week: JobStatus.DONE,
        kinds.day: JobStatus.DONE,
        kinds.overdue: JobStatus.PENDING,
    }


async def test_a_reminder_for_a_milestone_done_meanwhile_is_not_sent(fake, running):
    ids = await world(fake, running)
    milestone_id = await add_milestone(running, ids, 10)
    async with running.sessionmaker.begin() as session:
        owner = await users.get_user(session, PROPOSER)
        await plan.mark_done(session, owner, milestone_id, "Сделано")
    kinds = deadlines.MILESTONE_KINDS

    async def forced(session) -> None:
        # Cancelled when done; even forced pending and due, it must say nothing.
        await move_job(session, milestone_id, kinds.day, timedelta(minutes=5))
        await move_job(session, milestone_id, kinds.overdue, timedelta(minutes=5))
        await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.object_type == "milestone")
            .values(status=JobStatus.PENDING)
        )

    await down_while(running, forced)
    await settled(running, milestone_id, kinds.day, kinds.overdue)
    await all_sent(running)
    assert told(fake.user(PROPOSER), "Завтра") == 0
    assert told(fake.user(EXEC), "Просрочен") == 0


async def test_an_overdue_milestone_and_report_are_escalated_once_however_late(fake, running):
    ids = await world(fake, running)
    milestone_id = await add_milestone(running, ids, 3, "Поставить фонари")
    async with running.sessionmaker.begin() as session:
        owner = await users.get_user(session, PROPOSER)
        project = await plan.access.get(session, ids["project"])
        project.status = ProjectStatus.RECOMMENDED  # reports are planned while it is
        report = await plan.plan_report(session, owner, ids["project"], ps.a_date(2), False, TZ)
        project.status = ProjectStatus.IN_PROGRESS
        report_id = report.id
    mk, rk = deadlines.MILESTONE_KINDS, deadlines.REPORT_KINDS

    async def three_days_late(session) -> None:
        await move_job(session, milestone_id, mk.overdue, timedelta(days=3))
        await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.object_type == "project_report", ScheduledJob.kind == rk.overdue)
            .values(due_at=utcnow() - timedelta(days=3))
        )

    await down_while(running, three_days_late)
    await settled(running, milestone_id, mk.overdue)
    await settled(running, report_id, rk.overdue)
    await all_sent(running)
    executive = fake.user(EXEC)
    assert told(executive, "Просрочен этап «Поставить фонари»") == 1
    assert told(executive, "Не сдан отчёт") == 1
    assert told(fake.user(PROPOSER), "Исполком извещён") == 2
    await running.restart()
    await all_sent(running)
    assert told(executive, "Просрочен этап") == 1
    async with running.sessionmaker() as session:
        escalations = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "project.escalate")
        )
        assert escalations == 2


async def test_the_control_list_shows_overdue_projects_first(fake, running):
    ids = await world(fake, running)
    calm = ids["project"]
    late_milestone = await ps.project(
        running,
        ids["org"],
        ids["proposer"],
        title="Просрочен этап",
        status=ProjectStatus.IN_PROGRESS,
    )
    late_report = await ps.project(
        running, ids["org"], ids["proposer"], title="Нет отчёта", status=ProjectStatus.COMPLETED
    )
    await ps.project(
        running, ids["org"], ids["proposer"], title="Сдан", status=ProjectStatus.REPORTED
    )
    today = utcnow().date()
    async with running.sessionmaker.begin() as session:
        session.add_all(
            [
                Milestone(project_id=late_milestone, title="a", due_on=today - timedelta(days=5)),
                Milestone(project_id=late_milestone, title="b", due_on=today - timedelta(days=2)),
                Milestone(project_id=calm, title="c", due_on=today + timedelta(days=5)),
                ProjectReport(project_id=late_report, due_on=today - timedelta(days=10)),
                Milestone(
                    project_id=late_report,
                    title="done",
                    due_on=today - timedelta(days=30),
                    done_at=utcnow(),
                ),
            ]
        )
        # Made directly, not through the plan's service: its deadline is kept as it would be.
        for pid in (calm, late_milestone, late_report):
            await deadlines.refresh_next_due(session, pid)
    executive = fake.user(EXEC)
    reply = (await executive.say("/projects_control"))[-1]
    text = reply.text
    assert "Реализуемые проекты: 3 проекта" in text
    assert "С просрочками: 2 проекта" in text
    first, second, third = (text.index(f"№{pid} ") for pid in (late_report, late_milestone, calm))
    assert first < second < third
    assert "просрочено этапов 0, не сдано отчётов 1" in text
    assert "просрочено этапов 2, не сдано отчётов 0" in text
    assert "Сдан" not in text
    assert executive.button_texts(reply)[0] == f"№{late_report} Нет отчёта"
    stranger = fake.user(STRANGER)
    assert "нет прав" in (await stranger.say("/projects_control"))[-1].text


async def test_a_project_keeps_its_earliest_open_deadline(fake, running):
    """What the control list reads: the earliest due date among open milestones and planned
    reports, kept as milestones are added, moved and done, and reports planned."""
    ids = await world(fake, running)

    async def next_due() -> date | None:
        async with running.sessionmaker() as session:
            return await session.scalar(
                select(Project.next_due_on).where(Project.id == ids["project"])
            )

    assert await next_due() is None
    far = await add_milestone(running, ids, 20, "Далёкий")
    assert await next_due() == ps.a_date(20)
    near = await add_milestone(running, ids, 3, "Близкий")
    assert await next_due() == ps.a_date(3)
    async with running.sessionmaker.begin() as session:
        owner = await users.get_user(session, PROPOSER)
        await plan.plan_report(session, owner, ids["project"], ps.a_date(10), False, TZ)
        await plan.mark_done(session, owner, near, "Сделано")
    assert await next_due() == ps.a_date(10)
    async with running.sessionmaker.begin() as session:
        owner = await users.get_user(session, PROPOSER)
        await plan.move_milestone(session, owner, far, ps.a_date(5), TZ)
    assert await next_due() == ps.a_date(5)


async def test_a_withdrawn_projects_deadlines_are_no_longer_watched(fake, running):
    ids = await world(fake, running)
    milestone_id = await add_milestone(running, ids, 10)
    async with running.sessionmaker.begin() as session:
        owner = await users.get_user(session, PROPOSER)
        report = await plan.plan_report(session, owner, ids["project"], ps.a_date(20), True, TZ)
        assert await jobs.pending_for(session, deadlines.MILESTONE, milestone_id)
        await lifecycle.withdraw(session, owner, ids["project"], "Нет средств")
    async with running.sessionmaker() as session:
        assert await jobs.pending_for(session, deadlines.MILESTONE, milestone_id) == []
        assert await jobs.pending_for(session, deadlines.REPORT, report.id) == []


async def test_the_control_list_reads_the_overdue_projects_on_an_index(running):
    """The overdue projects are a range of one index, read in order (no grouping of every
    project's plan), and the service keeps the deadline that index holds."""
    from sqlalchemy import text

    query = control.late_query(utcnow().date()).limit(8)
    async with running.sessionmaker() as session:
        if session.get_bind().dialect.name != "sqlite":
            return
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan_rows = (await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))).all()
    detail = " ".join(str(row[-1]) for row in plan_rows)
    assert "ix_projects_status_next_due" in detail, detail


async def test_the_digest_carries_the_weeks_deadlines_of_ones_projects(fake, running):
    from bot.i18n import create_i18n

    ids = await world(fake, running)
    await add_milestone(running, ids, 3, "Покраска скамеек")
    await add_milestone(running, ids, 20, "Далёкий этап")
    follower = await register(running, FOLLOWER, "Подписчик")
    async with running.sessionmaker.begin() as session:
        session.add(ProjectFollower(project_id=ids["project"], user_id=follower))
        for person in (follower, ids["proposer"], ids["stranger"]):
            (await session.get(User, person)).muted_topics = []
    async with running.sessionmaker() as session:
        lines = await deadlines.digest_lines(session, create_i18n(), "ru", TZ)
    assert set(lines) == {follower, ids["proposer"]}
    line = (
        f"• {ps.a_date(3).strftime('%d.%m.%Y')} — проект №{ids['project']} «Светлый двор»: "
        "этап «Покраска скамеек»"
    )
    assert lines[follower] == [line]

    # Through the morning digest itself (run here, in a transaction left uncommitted).
    async with running.sessionmaker() as session:
        await digest.ensure_scheduled(session, TZ)
        job = await session.scalar(select(ScheduledJob).where(ScheduledJob.kind == digest.KIND))
        job.due_at = utcnow()
        await digest.run(session, job, TZ, "ru", create_i18n())
        sent = await session.scalar(
            select(Outbox)
            .join(Delivery, Delivery.outbox_id == Outbox.id)
            .where(Outbox.text_key == "digest-text", Delivery.user_id == follower)
        )
        assert sent is not None and sent.text_params["lines"] == line
        await session.rollback()


async def test_a_new_due_date_moves_the_reminders_and_the_escalation(fake, running):
    ids = await world(fake, running)
    milestone_id = await add_milestone(running, ids, 10)
    owner = fake.user(PROPOSER)
    anchor = (await owner.say("/help"))[0]
    panel = (
        await owner.click_data(
            anchor.message_id, CDProjectPanel(id=ids["project"], panel="plan").pack()
        )
    )[-1]
    await owner.click("📅 Срок", panel.message_id)
    await owner.say("01.01.2020")
    assert "уже прошла" in owner.last.text
    await owner.say(ps.a_date(30).strftime("%d.%m.%Y"))
    assert "Новый срок" in owner.last.text
    end = deadlines.due_moment(ps.a_date(30), TZ)
    async with running.sessionmaker() as session:
        milestone = await session.get(Milestone, milestone_id)
        assert milestone.due_on == ps.a_date(30)
        due = dict(
            (
                await session.execute(
                    select(ScheduledJob.kind, ScheduledJob.due_at).where(
                        ScheduledJob.object_type == "milestone",
                        ScheduledJob.object_id == milestone_id,
                        ScheduledJob.status == JobStatus.PENDING,
                    )
                )
            ).all()
        )
    kinds = deadlines.MILESTONE_KINDS
    moments = {k: v if v.tzinfo else v.replace(tzinfo=UTC) for k, v in due.items()}
    assert moments == {
        kinds.week: end - timedelta(days=7),
        kinds.day: end - timedelta(days=1),
        kinds.overdue: end,
    }
    # A stranger's forged "new date" press starts nothing.
    stranger = fake.user(STRANGER)
    anchor = (await stranger.say("/help"))[0]
    data = CDPlan(action="redate_ms", id=ids["project"], item=milestone_id).pack()
    await stranger.click_data(anchor.message_id, data)
    assert stranger.callback_answers[-1].show_alert


async def test_a_report_reminder_fires_once_and_none_after_it_is_submitted(fake, running):
    ids = await world(fake, running)
    async with running.sessionmaker.begin() as session:
        owner = await users.get_user(session, PROPOSER)
        project = await plan.access.get(session, ids["project"])
        project.status = ProjectStatus.RECOMMENDED
        first = await plan.plan_report(session, owner, ids["project"], ps.a_date(10), False, TZ)
        second = await plan.plan_report(session, owner, ids["project"], ps.a_date(12), True, TZ)
        project.status = ProjectStatus.IN_PROGRESS
        await session.flush()
        draft = plan.ReportDraft(ps.a_date(-30), ps.a_date(0), 40, "Половина сделана", 1000)
        await plan.submit_report(session, owner, ids["project"], second.id, draft)
        ids_ = (first.id, second.id)
    rk = deadlines.REPORT_KINDS

    async def a_week_before(session) -> None:
        await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.object_type == "project_report", ScheduledJob.kind == rk.week)
            .values(due_at=utcnow() - timedelta(minutes=5), status=JobStatus.PENDING)
        )

    await down_while(running, a_week_before)
    for report_id in ids_:
        await settled(running, report_id, rk.week)
    await running.restart()
    await all_sent(running)
    reminders = [
        m.text for m in fake.user(PROPOSER).bot_messages if "Через неделю" in (m.text or "")
    ]
    assert reminders == [
        f"⏰ Через неделю, {ps.a_date(10).strftime('%d.%m.%Y')}, срок отчёта по проекту "
        f"№{ids['project']} «Светлый двор»."
    ]
