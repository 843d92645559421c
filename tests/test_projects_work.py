"""Carrying a project out, through the real Dispatcher and the fake Telegram: its owner plans
milestones and reports, starts it, marks a milestone done with a photo, completes it and submits
the final report (then it is reported); the needs it answers are told at start and completion
and resolved in one step by their handlers; a stranger's forged presses and illegal moves are
refused and change nothing."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from bot.keyboards.projects import CDProjectPanel
from bot.keyboards.projects_work import CDNeedsResolve, CDPlan
from bot.services import users
from bot.services.projects import deadlines, plan
from models import AuditEntry, Delivery, DeliveryStatus, ScheduledJob
from models.needs import Need, NeedStatus
from models.projects import (
    Milestone,
    ProjectFile,
    ProjectNeed,
    ProjectReport,
    ProjectStatus,
)
from tests import projects_support as ps
from tests.support import eventually, register
from tests.test_needs_moderation import base_organization, file_need
from tests.test_trust import snapshot


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


# Telegram ids.
PROPOSER, BASE, FILER, FAN, STRANGER, EXEC = 7301, 7302, 7303, 7304, 7305, 7306


async def world(fake, running, status: ProjectStatus = ProjectStatus.RECOMMENDED) -> dict[str, int]:
    """A district with its base organization, a member organization with a project in
    `status` that answers a need (its filer and a supporter), a stranger and an executive."""
    for tg in (PROPOSER, BASE, FILER, FAN, STRANGER, EXEC):
        fake.user(tg)
    ids = {"d1": await ps.district(running, 1, "Центр")}
    await register(running, BASE, "Базовая")
    ids["base_org"] = await base_organization(running, BASE, ids["d1"], "ТОС Центр")
    ids["filer"] = await register(running, FILER, "Автор потребности")
    ids["fan"] = await register(running, FAN, "Сосед")
    ids["stranger"] = await register(running, STRANGER, "Чужой")
    ids["exec"] = await ps.executive(running, EXEC, "Исполком")
    ids["org"], ids["proposer"] = await ps.member_organization(
        running, PROPOSER, "Инициатор", "НКО Свет", ids["d1"]
    )
    ids["project"] = await ps.project(
        running, ids["org"], ids["proposer"], district_id=ids["d1"], status=status
    )
    ids["need"] = await file_need(running, ids["filer"], ids["d1"], supporters=(ids["fan"],))
    # A need nobody decided on yet: it cannot be resolved in one step (skipped and counted).
    ids["new_need"] = await file_need(running, ids["filer"], ids["d1"], "Нет скамейки у дома 7")
    async with running.sessionmaker.begin() as session:
        session.add(ProjectNeed(project_id=ids["project"], need_id=ids["need"]))
        session.add(ProjectNeed(project_id=ids["project"], need_id=ids["new_need"]))
        actor = await users.get_user(session, BASE)
        from bot.services.needs import moderation

        await moderation.accept(session, actor, ids["need"])
    return ids


def typed(day: date) -> str:
    return day.strftime("%d.%m.%Y")


async def open_plan(person, project_id: int):
    anchor = (await person.say("/help"))[0]
    data = CDProjectPanel(id=project_id, panel="plan").pack()
    replies = await person.click_data(anchor.message_id, data)
    # The panel, not a notice that may have come in meanwhile.
    panels = [m for m in replies if f"План проекта №{project_id}" in m.text]
    assert panels, replies
    return panels[-1]


async def status_of(running, project_id: int) -> ProjectStatus:
    async with running.sessionmaker() as session:
        project = await plan.access.get(session, project_id)
        return project.status


def texts(person) -> str:
    return "\n".join(m.text or "" for m in person.bot_messages)


async def test_plan_start_milestone_done_with_a_photo_complete_and_final_report(fake, running):
    ids = await world(fake, running)
    pid = ids["project"]
    owner = fake.user(PROPOSER)

    # A milestone: title (HTML kept as text), due date, the responsible person (the proposer).
    panel = await open_plan(owner, pid)
    assert "В плане пока ничего нет" in panel.text
    assert "🚀 Начать реализацию" in owner.button_texts(panel)
    await owner.click("➕ Этап", panel.message_id)
    await owner.say_photo()  # a photo where the title is expected: asked again
    assert "ответьте текстом" in owner.last.text
    await owner.say("Я" * 5000)
    assert "Слишком длинно" in owner.last.text
    await owner.say("Субботник <b>во дворе</b>")
    await owner.say("31.02.2026")  # no such day
    assert "ДД.ММ.ГГГГ" in owner.last.text
    await owner.say(typed(ps.a_date(20)))
    assert "Инициатор" in owner.button_texts()
    await owner.say("Инициатор")  # typed where a button is expected
    assert "кнопкой" in owner.last.text
    await owner.click("Инициатор")
    assert (
        "Субботник &lt;b&gt;" in owner.last.html or "Субботник <b>во дворе</b>" in owner.last.text
    )

    # A final report in the plan.
    panel = await open_plan(owner, pid)
    await owner.click("➕ Отчёт в план", panel.message_id)
    await owner.say(typed(ps.a_date(60)))
    await owner.click("Итоговый")
    async with running.sessionmaker() as session:
        milestone = await session.scalar(select(Milestone).where(Milestone.project_id == pid))
        report = await session.scalar(select(ProjectReport).where(ProjectReport.project_id == pid))
        assert milestone is not None and milestone.responsible_id == ids["proposer"]
        assert milestone.title == "Субботник <b>во дворе</b>"
        assert report is not None and report.final and report.submitted_at is None
        kinds = set(
            await session.scalars(
                select(ScheduledJob.kind).where(
                    ScheduledJob.object_type == "milestone", ScheduledJob.object_id == milestone.id
                )
            )
        )
        assert set(deadlines.MILESTONE_KINDS.__dict__.values()) - {"milestone"} <= kinds

    # Started: the need's filer and supporter hear of it.
    panel = await open_plan(owner, pid)
    await owner.click("🚀 Начать реализацию", panel.message_id)
    assert await status_of(running, pid) == ProjectStatus.IN_PROGRESS
    await all_sent(running)
    for tg in (FILER, FAN):
        assert f"Начат проект №{pid}" in texts(fake.user(tg)), tg

    # The milestone done, with a comment and a photo.
    panel = await open_plan(owner, pid)
    done_button = next(b for b in owner.button_texts(panel) if b.startswith("✔ Выполнен"))
    await owner.click(done_button, panel.message_id)
    await owner.say("Убрали двор, 20 жителей")
    await owner.say_photo()
    assert "Принято (1 из 10)" in owner.last.text
    await owner.say("ещё текст")  # text where files are expected: a hint, nothing lost
    assert "фото или файлы" in owner.last.text
    await owner.click("✅ Готово")
    assert "отмечен выполненным (приложено файлов: 1)" in owner.last.text
    async with running.sessionmaker() as session:
        milestone = await session.get(Milestone, milestone.id)
        assert milestone.done_at is not None and milestone.comment == "Убрали двор, 20 жителей"
        files = list(await session.scalars(select(ProjectFile)))
        assert [(f.owner_type, f.owner_id, f.kind) for f in files] == [
            ("milestone", milestone.id, "photo")
        ]
        pending = await session.scalar(
            select(func.count())
            .select_from(ScheduledJob)
            .where(
                ScheduledJob.object_type == "milestone",
                ScheduledJob.object_id == milestone.id,
                ScheduledJob.status == "pending",
            )
        )
        assert pending == 0

    # Anyone sees what was done, with its photo.
    fan = fake.user(FAN)
    panel = await open_plan(fan, pid)
    shown = await fan.click("🔎 Субботник <b>во дворе</b>", panel.message_id)
    # (A notice may come in meanwhile: the answer is found by what it says.)
    assert any("Убрали двор, 20 жителей" in m.text for m in shown)
    assert any(m.photo for m in shown)
    assert not any(label.startswith("✔") for label in fan.button_texts(panel))

    # Completed: the need's people are told, its handler offered the one-step resolution.
    panel = await open_plan(owner, pid)
    await owner.click("🏁 Завершить проект", panel.message_id)
    assert await status_of(running, pid) == ProjectStatus.COMPLETED
    await all_sent(running)
    assert f"Завершён проект №{pid}" in texts(fake.user(FILER))
    base = fake.user(BASE)
    await base.click("✅ Отметить потребности решёнными")
    assert f"отмечены решёнными: № {ids['need']}." in base.last.text
    assert "Пропущено (не ваш округ или уже закрыты): 1" in base.last.text
    notice = next(m for m in base.bot_messages if "Он отвечал на потребности" in m.text)
    assert base.button_texts(base.message(notice.message_id)) == []
    # Pressed twice (an old copy of the button): nothing more to resolve, nothing changes.
    await base.click_data(notice.message_id, CDNeedsResolve(id=pid).pack())
    assert "Отмечать нечего" in base.callback_answers[-1].text
    async with running.sessionmaker() as session:
        need = await session.get(Need, ids["need"])
        assert need.status == NeedStatus.RESOLVED
        assert (await session.get(Need, ids["new_need"])).status == NeedStatus.NEW
        codes = list(await session.scalars(select(AuditEntry.action)))
        for code in (
            "project.milestone_add",
            "project.report_plan",
            "project.milestone_done",
            "project.resolve_needs",
        ):
            assert code in codes, code

    # The final report: period, progress, text, money, a document → reported.
    panel = await open_plan(owner, pid)
    await owner.click(f"📝 Отчёт к {typed(ps.a_date(60))}", panel.message_id)
    await owner.say("01.01.2026 – 31.01.2026")
    await owner.say("101")
    assert "от 0 до 100" in owner.last.text
    await owner.say("100 %")
    await owner.say("Двор освещён, скамейки стоят. " * 3)
    await owner.say("сорок тысяч")
    assert "цифрами" in owner.last.text
    await owner.say("45 000")
    await owner.say_document("smeta.pdf", b"%PDF-1.4 fake")
    await owner.click("✅ Готово")
    assert f"Итоговый отчёт по проекту №{pid} сдан" in owner.last.text
    assert await status_of(running, pid) == ProjectStatus.REPORTED
    async with running.sessionmaker() as session:
        report = await session.get(ProjectReport, report.id)
        assert report.progress == 100 and report.spent == 45000
        assert report.period_start == date(2026, 1, 1)
        assert "project.report" in list(await session.scalars(select(AuditEntry.action)))
    panel = await open_plan(fan, pid)
    shown = await fan.click("📗 Отчёт по 31.01.2026", panel.message_id)
    report_text = next(m.text for m in shown if "итоговый отчёт за" in m.text)
    assert "итоговый отчёт за 01.01.2026 – 31.01.2026" in report_text
    assert "Выполнено: 100%, потрачено: 45\u202f000 ₽" in report_text
    assert [m.document["file_name"] for m in shown if m.document] == ["smeta.pdf"]


async def test_a_stranger_sees_the_plan_but_forged_presses_are_refused(fake, running):
    ids = await world(fake, running)
    pid = ids["project"]
    stranger = fake.user(STRANGER)
    panel = await open_plan(stranger, pid)
    assert stranger.button_texts(panel) == ["🔄 Обновить", "📄 Карточка"]
    anchor = (await stranger.say("/help"))[0]
    await all_sent(running)
    before = await snapshot(running)
    forged = [
        CDPlan(action=action, id=pid, item=item).pack()
        for action in ("milestone", "report_plan", "start", "complete", "done", "report")
        for item in (0, 1)
    ]
    forged += [
        CDPlan(action=action, id=pid, item=ids["stranger"]).pack()
        for action in ("resp", "final", "interim", "finish", "cancel")
    ]
    forged.append(CDNeedsResolve(id=pid).pack())
    for data in forged:
        await stranger.click_data(anchor.message_id, data)
        assert stranger.callback_answers[-1].show_alert, data
    assert await snapshot(running) == before
    assert await status_of(running, pid) == ProjectStatus.RECOMMENDED


async def test_illegal_moves_are_refused_whatever_buttons_say(fake, running):
    ids = await world(fake, running)
    pid = ids["project"]
    owner = fake.user(PROPOSER)
    anchor = (await owner.say("/help"))[0]
    await owner.click_data(anchor.message_id, CDPlan(action="complete", id=pid).pack())
    assert owner.callback_answers[-1].show_alert
    assert "нельзя" in owner.callback_answers[-1].text
    assert await status_of(running, pid) == ProjectStatus.RECOMMENDED
    # The needs of a project that did not complete cannot be resolved through it.
    base = fake.user(BASE)
    anchor = (await base.say("/help"))[0]
    await base.click_data(anchor.message_id, CDNeedsResolve(id=pid).pack())
    assert base.callback_answers[-1].show_alert
    async with running.sessionmaker() as session:
        assert (await session.get(Need, ids["need"])).status == NeedStatus.ACCEPTED

    # A completed project's plan is not edited any more.
    done = await ps.project(
        running, ids["org"], ids["proposer"], title="Готовый", status=ProjectStatus.COMPLETED
    )
    panel = await open_plan(owner, done)
    assert "➕ Этап" not in owner.button_texts(panel)
    await owner.click_data(anchor.message_id, CDPlan(action="milestone", id=done).pack())
    assert owner.callback_answers[-1].show_alert
    await owner.click_data(anchor.message_id, CDPlan(action="start", id=done).pack())
    assert owner.callback_answers[-1].show_alert
    assert await status_of(running, done) == ProjectStatus.COMPLETED


async def test_a_citizen_responsible_for_a_milestone_marks_it_done(fake, running):
    from models.projects import ParticipantStatus, ProjectParticipant

    ids = await world(fake, running, ProjectStatus.IN_PROGRESS)
    pid = ids["project"]
    async with running.sessionmaker.begin() as session:
        session.add(
            ProjectParticipant(
                project_id=pid, user_id=ids["fan"], status=ParticipantStatus.ACTIVE, role="волонтёр"
            )
        )
    async with running.sessionmaker.begin() as session:
        owner = await users.get_user(session, PROPOSER)
        people = [p.id for p in await plan.candidates(session, await plan.access.get(session, pid))]
        assert people[0] == ids["proposer"] and ids["fan"] in people
        assert ids["stranger"] not in people
        milestone = await plan.add_milestone(
            session, owner, pid, "Покрасить скамейки", ps.a_date(5), ids["fan"], "Europe/Moscow"
        )
        milestone_id = milestone.id
    await all_sent(running)
    fan = fake.user(FAN)
    assert "Вы назначены ответственным за этап «Покрасить скамейки»" in texts(fan)

    # A stranger's forged "done" on it is refused and starts nothing.
    stranger = fake.user(STRANGER)
    anchor = (await stranger.say("/help"))[0]
    data = CDPlan(action="done", id=pid, item=milestone_id).pack()
    await stranger.click_data(anchor.message_id, data)
    assert stranger.callback_answers[-1].show_alert
    await stranger.say("Сделано!")  # no dialog was started: nothing is taken as a comment

    panel = await open_plan(fan, pid)
    labels = fan.button_texts(panel)
    assert "✔ Выполнен: Покрасить скамейки" in labels and "➕ Этап" not in labels
    await fan.click("✔ Выполнен: Покрасить скамейки", panel.message_id)
    got = await fan.say("Покрасили 6 скамеек")
    assert got, "no answer"
    assert "фото или файлы" in got[-1].text, got[-1].text
    await fan.click("✅ Готово", got[-1].message_id)
    # Pressed twice (a slow client): the second is stale, nothing doubles.
    await fan.click_data(got[-1].message_id, CDPlan(action="finish", id=pid).pack())
    assert fan.callback_answers[-1].show_alert
    async with running.sessionmaker() as session:
        milestone = await session.get(Milestone, milestone_id)
        assert milestone.done_by_id == ids["fan"] and milestone.comment == "Покрасили 6 скамеек"
        codes = list(await session.scalars(select(AuditEntry.action)))
        assert codes.count("project.milestone_done") == 1
    await all_sent(running)
    assert "выполнен этап «Покрасить скамейки»" in texts(fake.user(PROPOSER))
