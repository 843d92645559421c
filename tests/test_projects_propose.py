"""Proposing a project end to end through the fake Telegram: /propose_project from the title to
the submission, with wrong answers on the way; a draft that survives a restart; the summary's
"edit a field"; a refused submission; a non-representative refused."""

from __future__ import annotations

from sqlalchemy import select

from bot.keyboards.projects_propose import CDPropose
from models import AuditEntry, Delivery, Outbox
from models.projects import (
    ParticipantStatus,
    ProjectFile,
    ProjectNeed,
    ProjectParticipant,
    ProjectStatus,
    ProjectVersion,
)
from tests.propose_support import BENCHES, LAMPS, fill_all, later, projects, the_project, world
from tests.support import register


async def test_the_whole_dialog_from_the_command_to_the_submission(fake, running):
    w = await world(running)
    olga, peter = fake.user(7101, "Ольга"), fake.user(7102, "Пётр")

    replies = await olga.say("/propose_project")
    assert "Новый проект №1" in replies[0].text
    assert "Как называется проект?" in replies[-1].text
    [draft] = await projects(running)
    assert draft.status == ProjectStatus.DRAFT and draft.organization_id == w.organization
    assert draft.proposer_id == w.head

    # A photo where a text is expected, then a title too long: nothing is saved, asked again.
    replies = await olga.say_photo()
    assert "ответьте текстом" in replies[-1].text
    replies = await olga.say("Д" * 201)
    assert "Слишком длинно: 201 символов, можно до 200" in replies[-1].text
    assert (await the_project(running, draft.id)).title == ""
    replies = await olga.say("Светлый <b>двор</b>")
    assert "Опишите проект" in replies[-1].text
    assert (await the_project(running, draft.id)).title == "Светлый <b>двор</b>"

    replies = await olga.say("Освещение и скамейки во дворе на Советской")
    assert "Для какого округа проект?" in replies[-1].text
    assert olga.button_texts()[0] == "✅ №1 · Заречье"
    assert "🏙 Общегородской" in olga.button_texts()
    replies = await olga.say("Заречье")  # typed where a button is asked for
    assert "выберите вариант кнопкой" in replies[-1].text
    replies = await olga.click("№2 · Центр")
    assert "Округ: №2 · Центр" in replies[0].text
    assert "На какие потребности" in replies[-1].text
    assert (await the_project(running, draft.id)).district_id == w.other_district

    # A need found by words, then another by its number; one ticked, then unticked.
    replies = await olga.say("фонари во дворе")
    assert f"№{w.lamps} — " in replies[-1].text and f"№{w.benches}" not in replies[-1].text
    await olga.click(f"➕ №{w.lamps} · {LAMPS[:40]}")
    assert olga.callback_answers[-1].text == "Отмечено"
    assert f"✅ №{w.lamps} · {LAMPS[:40]}" in olga.button_texts()
    await olga.say(f"№{w.benches}")
    await olga.click(f"➕ №{w.benches} · {BENCHES[:40]}")
    await olga.click(f"✅ №{w.benches} · {BENCHES[:40]}")
    assert olga.callback_answers[-1].text == "Отметка снята"
    replies = await olga.say("абракадабра")
    assert "не нашлось" in replies[-1].text
    replies = await olga.click("✅ Готово")
    assert "цели проекта" in replies[-1].text

    budget_question = (await olga.say("Двор освещён вечером; жители сидят на скамейках"))[-1]
    assert "бюджет проекта" in budget_question.text
    # Budget nonsense, then a number with spaces and the currency.
    replies = await olga.say("много денег")
    assert "Не понял сумму" in replies[-1].text
    replies = await olga.say("-5")
    assert "Не понял сумму" in replies[-1].text
    replies = await olga.say("150 000 руб")
    assert "источников" in replies[-1].text
    assert (await the_project(running, draft.id)).budget == 150_000
    # The budget's "skip", pressed at the next step, skips nothing.
    await olga.click("⏭ Пропустить", message_id=budget_question.message_id)
    assert olga.callback_answers[-1].show_alert
    assert (await the_project(running, draft.id)).budget == 150_000
    await olga.say("Грант города и взносы жителей")
    replies = await olga.say("Волонтёры на субботник, электрик")
    assert "партнёры проекта" in replies[-1].text

    replies = await olga.say("светлячок")
    await olga.click("➕ Клуб «Светлячок»")
    replies = await olga.click("✅ Готово")
    assert "Когда проект начнётся?" in replies[-1].text

    # Bad dates: not a date, an impossible day, the end before the start.
    replies = await olga.say("завтра")
    assert "Не понял дату" in replies[-1].text
    replies = await olga.say("31.02.2030")
    assert "Не понял дату" in replies[-1].text
    replies = await olga.say(later(30))
    assert "Когда проект завершится?" in replies[-1].text
    replies = await olga.say(later(20))
    assert "не может быть раньше начала" in replies[-1].text
    replies = await olga.say(later(120))
    assert "Приложите документы или фото" in replies[-1].text

    # A voice message is not an attachment; an album is answered once; a document too.
    replies = await olga.say_voice()
    assert "пришлите документ или фото" in replies[-1].text
    replies = await olga.say_album(3)
    assert len(replies) == 1 and "Добавлено" in replies[0].text
    replies = await olga.say_document("смета.pdf", b"%PDF-1.4 estimate")
    assert "Добавлено" in replies[-1].text
    replies = await olga.click("✅ Готово")
    summary = replies[-1]
    assert "Проверьте и подайте проект" in summary.text
    for part in ("Светлый <b>двор</b>", "№2 · Центр", f"№{w.lamps}", "150 000 ₽"):
        assert part in summary.text
    assert "Клуб «Светлячок» (приглашена)" in summary.text
    assert "Вложения: 4" in summary.text
    assert "&lt;b&gt;двор&lt;/b&gt;" in summary.html

    replies = await olga.click("📨 Подать проект")
    assert "Проект №1 подан (версия 1)" in replies[-1].text
    assert olga.button_texts(olga.message(summary.message_id)) == []
    # "Submit" pressed again (a slow network): refused, no second version.
    await olga.click_data(summary.message_id, CDPropose(action="submit", id=draft.id).pack())
    assert olga.callback_answers[-1].show_alert

    project = await the_project(running, draft.id)
    assert project.status == ProjectStatus.SUBMITTED and project.version == 1
    async with running.sessionmaker() as session:
        assert list(await session.scalars(select(ProjectNeed.need_id))) == [w.lamps]
        files = list(await session.scalars(select(ProjectFile)))
        assert sorted(f.kind for f in files) == ["document", "photo", "photo", "photo"]
        assert {f.owner_type for f in files} == {"project"}
        participants = list(
            await session.scalars(select(ProjectParticipant).order_by(ProjectParticipant.id))
        )
        lead, partner = participants
        assert lead.lead and lead.status == ParticipantStatus.ACTIVE
        assert lead.organization_id == w.organization and lead.district_id == w.district
        assert not partner.lead and partner.status == ParticipantStatus.INVITED
        assert partner.organization_id == w.partner and partner.invited_by_id == w.head
        assert partner.district_id == w.other_district
        [version] = list(await session.scalars(select(ProjectVersion)))
        assert version.version == 1 and version.data["needs"] == [w.lamps]
        actions = list(await session.scalars(select(AuditEntry.action)))
        for code in ("project.create", "project.edit", "project.link_need", "project.submit"):
            assert code in actions
        notice = await session.scalar(
            select(Outbox).where(Outbox.text_key == "projects-propose-notice-partner")
        )
        assert notice is not None
        recipients = list(
            await session.scalars(select(Delivery.user_id).where(Delivery.outbox_id == notice.id))
        )
        assert recipients == [w.partner_head]
    await running.delivered()
    assert any("назвали партнёром проекта №1" in m.text for m in peter.bot_messages)


async def test_a_draft_survives_a_restart_and_continues_from_my_projects(fake, running):
    w = await world(running)
    olga = fake.user(7101, "Ольга")
    await olga.say("/propose_project")
    await olga.say("Светлый двор")
    await running.restart()
    # The dialog goes on where it was.
    replies = await olga.say("Освещение двора")
    assert "Для какого округа проект?" in replies[-1].text
    await running.restart()
    replies = await olga.say("/my_projects")
    assert "Ждут вас" in replies[-1].text and "№1 · Светлый двор — черновик" in replies[-1].text
    replies = await olga.click("✏️ №1 · Светлый двор")
    assert "Проверьте и подайте проект" in replies[-1].text
    assert "Освещение двора" in replies[-1].text
    assert "Округ:</b> №1 · Заречье" in replies[-1].html
    del w


async def test_edit_a_field_from_the_summary_and_a_refused_submission(fake, running):
    w = await world(running)
    olga = fake.user(7101, "Ольга")
    await olga.say("/propose_project")
    await olga.say("Светлый двор")
    await olga.say("Освещение двора")
    replies = await olga.click("✅ №1 · Заречье")
    # The rest later: the summary has no goals and no dates, so it cannot be submitted.
    await olga.say("/my_projects")
    await olga.click("✏️ №1 · Светлый двор")
    await olga.click("📨 Подать проект")
    answer = olga.callback_answers[-1]
    assert answer.show_alert and "заполните: Цели, Сроки" in answer.text
    assert (await the_project(running, 1)).status == ProjectStatus.DRAFT

    replies = await olga.click("✏️ Название")
    assert "Как называется проект?" in replies[-1].text
    replies = await olga.say("Тёплый двор")
    assert "Проверьте и подайте проект" in replies[-1].text and "Тёплый двор" in replies[-1].text
    # Dates from the summary: the start, then the end, then back to the summary.
    await olga.click("✏️ Сроки")
    replies = await olga.say(later(5))
    assert "Когда проект завершится?" in replies[-1].text
    replies = await olga.say(later(50))
    assert "Проверьте и подайте проект" in replies[-1].text
    await olga.click("✏️ Округ")
    replies = await olga.click("🏙 Общегородской")
    assert "Округ:</b> 🏙 Общегородской" in replies[-1].html
    assert (await the_project(running, 1)).district_id is None
    await olga.click("✏️ Цели")
    await olga.say("Тепло и светло")
    replies = await olga.click("📨 Подать проект")
    assert "подан (версия 1)" in replies[-1].text
    project = await the_project(running, 1)
    assert project.title == "Тёплый двор" and project.status == ProjectStatus.SUBMITTED
    del w, replies


async def test_later_keeps_the_draft_and_a_full_draft_fills_in_order(fake, running):
    w = await world(running)
    olga = fake.user(7101, "Ольга")
    await olga.say("/propose_project")
    await fill_all(olga, w)
    assert (await the_project(running, 1)).budget == 150_000
    # An optional field opened from the summary can be emptied.
    replies = await olga.click("✏️ Бюджет")
    assert "🗑 Оставить пустым" in olga.button_texts()
    replies = await olga.click("🗑 Оставить пустым")
    assert "Бюджет:</b> —" in replies[-1].html
    assert (await the_project(running, 1)).budget is None
    replies = await olga.click("💾 Продолжить позже")
    assert "Черновик №1 сохранён" in replies[-1].text
    project = await the_project(running, 1)
    assert project.status == ProjectStatus.DRAFT and project.goals and project.ends_on


async def test_someone_who_represents_nothing_is_refused(fake, running):
    await world(running)
    await register(running, 7103, "Иван")
    ivan = fake.user(7103, "Иван")
    replies = await ivan.say("/propose_project")
    assert "нет прав" in replies[-1].text
    replies = await ivan.say("/my_projects")
    assert "нет прав" in replies[-1].text
    assert await projects(running) == []
