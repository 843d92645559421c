"""After the dialog: a project returned for revision edited and resubmitted (a second version),
the card's "edit" panel, withdrawing, choosing among several organizations, /my_projects page by
page, and someone else's draft that forged buttons cannot touch."""

from __future__ import annotations

from sqlalchemy import select

from bot.keyboards.projects import CDProject, CDProjectPanel
from bot.keyboards.projects_propose import CDPropose, CDProposeFor
from bot.services import organizations, users
from bot.services.organizations import Draft
from bot.services.projects import lifecycle
from models import OrganizationKind, User
from models.projects import ProjectEventKind, ProjectStatus, ProjectVersion
from tests import projects_support as ps
from tests.conftest import ADMIN_ID
from tests.propose_support import projects, the_project, world
from tests.test_trust import snapshot


async def returned_project(running, w) -> int:
    """A project submitted once, taken into review and returned with a reason and a comment."""
    project_id = await ps.project(running, w.organization, w.head)
    async with running.sessionmaker.begin() as session:
        head = await session.get(User, w.head)
        admin = await users.get_user(session, ADMIN_ID)
        await lifecycle.submit(session, head, project_id)
        project = await lifecycle.access.get(session, project_id)
        await lifecycle.move(session, admin, project, ProjectStatus.IN_REVIEW)
        await lifecycle.record(
            session, admin, project, ProjectEventKind.COMMENT, text="Смета <без> подробностей"
        )
        await lifecycle.move(
            session, admin, project, ProjectStatus.RETURNED, text="Уточните бюджет"
        )
    return project_id


async def test_a_returned_project_is_edited_and_resubmitted_as_version_two(fake, running):
    w = await world(running)
    olga, peter = fake.user(7101, "Ольга"), fake.user(7102, "Пётр")
    project_id = await returned_project(running, w)
    await running.delivered()  # the notices of the moves, out of the way

    replies = await olga.say("/my_projects")
    assert f"№{project_id} · Светлый двор — возвращён на доработку" in replies[-1].text
    replies = await olga.click(f"✏️ №{project_id} · Светлый двор")
    summary = replies[-1]
    assert "Возвращён на доработку: Уточните бюджет" in summary.text
    assert "Смета <без> подробностей" in summary.text
    assert "📨 Подать снова" in olga.button_texts()

    await olga.click("✏️ Бюджет")
    replies = await olga.say("200000")
    assert "200 000 ₽" in replies[-1].text
    # A partner named during the revision is told at the resubmission.
    await olga.click("✏️ Партнёры")
    await olga.say("Светлячок")
    await olga.click("➕ Клуб «Светлячок»")
    await olga.click("✅ Готово")
    replies = await olga.click("📨 Подать снова")
    assert f"Проект №{project_id} подан (версия 2)" in replies[-1].text

    project = await the_project(running, project_id)
    assert project.status == ProjectStatus.SUBMITTED and project.version == 2
    assert project.budget == 200_000
    async with running.sessionmaker() as session:
        versions = list(
            await session.scalars(select(ProjectVersion).order_by(ProjectVersion.version))
        )
    assert [(v.version, v.data["budget"]) for v in versions] == [(1, 150_000), (2, 200_000)]
    await running.delivered()
    assert any(f"партнёром проекта №{project_id}" in m.text for m in peter.bot_messages)
    assert "назвали партнёром" not in " ".join(m.text for m in olga.bot_messages)

    # Submitted, it is no longer edited: the card's "edit" panel says so.
    anchor = (await olga.say("/my_projects"))[-1]
    await olga.click_data(anchor.message_id, CDProjectPanel(id=project_id, panel="edit").pack())
    answer = olga.callback_answers[-1]
    assert answer.show_alert and "в его нынешнем статусе" in answer.text
    assert CDProject(id=project_id).pack() in [b.callback_data for b in anchor.flat_buttons]


async def test_the_cards_edit_panel_opens_the_summary_and_withdraw_asks_first(fake, running):
    w = await world(running)
    olga = fake.user(7101, "Ольга")
    project_id = await ps.project(running, w.organization, w.head)
    anchor = (await olga.say("/my_projects"))[-1]
    replies = await olga.click_data(
        anchor.message_id, CDProjectPanel(id=project_id, panel="edit").pack()
    )
    assert "Проверьте и подайте проект" in replies[-1].text
    replies = await olga.click("🚫 Отозвать проект")
    assert "Отозвать проект №1 «Светлый двор»?" in replies[-1].text
    replies = await olga.click("↩️ Нет, вернуться")
    assert "Проверьте и подайте проект" in replies[-1].text
    assert (await the_project(running, project_id)).status == ProjectStatus.DRAFT
    await olga.click("🚫 Отозвать проект")
    replies = await olga.click("🚫 Да, отозвать")
    assert "Проект №1 отозван" in replies[-1].text
    assert (await the_project(running, project_id)).status == ProjectStatus.WITHDRAWN
    # The confirmation pressed again (a slow network, a forged client) changes nothing more.
    again = CDPropose(action="wd!", id=project_id).pack()
    await olga.click_data(replies[-1].message_id, again)
    assert olga.callback_answers[-1].show_alert
    assert (await the_project(running, project_id)).status == ProjectStatus.WITHDRAWN
    replies = await olga.say("/my_projects")
    assert "Остальные" in replies[-1].text and "отозван" in replies[-1].text


async def test_someone_elses_draft_cannot_be_opened_or_changed(fake, running):
    w = await world(running)
    olga, peter = fake.user(7101, "Ольга"), fake.user(7102, "Пётр")
    await olga.say("/propose_project")
    await olga.say("Светлый двор")  # Olga is at the summary question now
    project_id = (await projects(running))[0].id
    anchor = (await peter.say("/my_projects"))[-1]
    assert "пока нет проектов" in anchor.text
    before = await snapshot(running)
    forged = [CDProjectPanel(id=project_id, panel="edit").pack()]
    for action in ("open", "next", "dist", "distp", "need", "org", "clear", "later", "wd", "wd!"):
        forged.append(CDPropose(action=action, id=project_id, arg=w.lamps).pack())
    for index in (0, 5, 10):
        forged.append(CDPropose(action="edit", id=project_id, arg=index).pack())
    forged.append(CDPropose(action="submit", id=project_id).pack())
    forged.append(CDProposeFor(id=w.organization).pack())
    for data in forged:
        replies = await peter.click_data(anchor.message_id, data)
        answer = peter.callback_answers[-1]
        assert answer.show_alert and answer.text, data
        assert not any("Проверьте" in m.text for m in replies), data
    assert await snapshot(running) == before
    assert not any("Светлый двор" in m.text for m in peter.bot_messages)
    # Olga's dialog goes on untouched.
    replies = await olga.say("Описание")
    assert "Для какого округа проект?" in replies[-1].text


async def test_a_representative_of_two_organizations_picks_one(fake, running):
    w = await world(running)
    async with running.sessionmaker.begin() as session:
        head = await session.get(User, w.head)
        admin = await users.get_user(session, ADMIN_ID)
        second = await organizations.submit(
            session,
            head,
            Draft(
                "Совет дома 7",
                OrganizationKind.NGO,
                w.other_district,
                ps.ORG_TEXT,
                "тел. 2",
                ps.PROPOSALS,
            ),
        )
        await organizations.decide(session, admin, second.id, approve=True)
    olga = fake.user(7101, "Ольга")
    replies = await olga.say("/propose_project")
    assert "От какой организации" in replies[-1].text
    assert olga.button_texts() == ["Совет дома 7", "ТОС «Заречье»"]
    choice = replies[-1]
    replies = await olga.click("Совет дома 7")
    assert any("Как называется проект?" in m.text for m in replies)
    assert olga.button_texts(olga.message(choice.message_id)) == []
    # Pressed twice: one draft only.
    await olga.click_data(choice.message_id, CDProposeFor(id=second.id).pack())
    [draft] = await projects(running)
    assert draft.organization_id == second.id and draft.district_id == w.other_district
    await olga.say("Дом")
    replies = await olga.say("Ремонт подъезда")
    assert olga.button_texts()[0] == "✅ №2 · Центр"


async def test_my_projects_page_by_page(fake, running):
    w = await world(running)
    for n in range(12):
        status = ProjectStatus.DRAFT if n < 2 else ProjectStatus.SUBMITTED
        await ps.project(running, w.organization, w.head, title=f"Проект {n}", status=status)
    olga = fake.user(7101, "Ольга")
    replies = await olga.say("/my_projects")
    page = replies[-1]
    assert "Ждут вас" in page.text and "№2 · Проект 1 — черновик" in page.text
    assert "Остальные" in page.text and "№12 · Проект 11 — подан" in page.text
    assert "1/2" in olga.button_texts() and "▶" in olga.button_texts()
    replies = await olga.click("▶")
    assert "№3 · Проект 2 — подан" in replies[-1].text and "черновик" not in replies[-1].text
    assert "2/2" in olga.button_texts()


async def test_many_districts_are_shown_page_by_page(fake, running):
    w = await world(running)
    for number in range(3, 13):
        await ps.district(running, number, f"Округ {number}")
    olga = fake.user(7101, "Ольга")
    await olga.say("/propose_project")
    await olga.say("Светлый двор")
    await olga.say("Освещение двора")
    assert "▶" in olga.button_texts() and "🏙 Общегородской" in olga.button_texts()
    assert "№12 · Округ 12" not in olga.button_texts()
    await olga.click("▶")
    replies = await olga.click("№12 · Округ 12")
    assert "Округ: №12 · Округ 12" in replies[0].text
    assert (await the_project(running, 1)).district_id not in (w.district, w.other_district)


async def test_attachments_stop_at_the_limit_and_an_album_is_answered_once(
    fake, running, monkeypatch
):
    from bot.services.projects import drafts

    monkeypatch.setattr(drafts, "FILES_MAX", 2)
    w = await world(running)
    project_id = await ps.project(running, w.organization, w.head)
    olga = fake.user(7101, "Ольга")
    await olga.say("/my_projects")
    await olga.click(f"✏️ №{project_id} · Светлый двор")
    await olga.click("✏️ Вложения")
    replies = await olga.say_sticker()
    assert "пришлите документ или фото" in replies[-1].text
    replies = await olga.say_album(4)
    assert [m.text for m in replies][:1] == ["📎 Добавлено. Пришлите ещё или нажмите «Готово»."]
    assert len(replies) == 2 and "не больше 2 файлов" in replies[-1].text
    async with running.sessionmaker() as session:
        assert await drafts.files_count(session, project_id) == 2
    await olga.click("🗑 Убрать все вложения")
    async with running.sessionmaker() as session:
        assert await drafts.files_count(session, project_id) == 0
    replies = await olga.click("⏭ Без вложений")
    assert "Вложения:</b> 0" in replies[-1].html
