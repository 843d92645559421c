"""Programmes through the real Dispatcher and the fake Telegram: the presidium or the executive
committee makes one in a short dialog (bad input loses nothing), everyone registered sees the
list with the projects by status and opens a project's card from a programme, only the
presidium records the council's minority allowance (after a confirmation that says what it
means), a programme is edited and closed, and a project goes into a programme by its number
under the rules (its owners while editing, the overseers always, a district's programme only
for that district); forged presses are refused and change nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.keyboards.projects import CDProject
from bot.keyboards.projects_docs import CDProgramme
from bot.services import users
from bot.services.projects import programmes
from models import AuditEntry, Role
from models.projects import Programme, Project, ProjectStatus
from tests.projects_support import district, executive, member_organization, project
from tests.support import register
from tests.test_votes import presidium_member

S = ProjectStatus
# Telegram ids.
PRESIDIUM, EXECUTIVE, REP1, REP2, CITIZEN = 7601, 7602, 7603, 7604, 7605


async def world(fake, running) -> dict[str, int]:
    for tg in (PRESIDIUM, EXECUTIVE, REP1, REP2, CITIZEN):
        fake.user(tg)
    ids = {"d1": await district(running, 1, "Центр"), "d2": await district(running, 2, "Заречье")}
    ids["presidium"] = await presidium_member(running, PRESIDIUM, "Председатель")
    ids["executive"] = await executive(running, EXECUTIVE, "Исполнитель")
    ids["org1"], ids["rep1"] = await member_organization(
        running, REP1, "Глава Один", "ТОС Центр", ids["d1"]
    )
    ids["org2"], ids["rep2"] = await member_organization(
        running, REP2, "Глава Два", "НКО Заречье", ids["d2"]
    )
    ids["citizen"] = await register(running, CITIZEN, "Житель")
    return ids


async def make_programme(running, maker_tg: int, title: str, district_id: int | None) -> int:
    async with running.sessionmaker.begin() as session:
        maker = await users.get_user(session, maker_tg)
        made = await programmes.create(session, maker, title, "Описание программы.", district_id)
        return made.id


async def saved(running, model, object_id: int):
    async with running.sessionmaker() as session:
        return await session.get(model, object_id)


async def actions(running, object_type: str, object_id: int) -> list[str]:
    async with running.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == object_type, AuditEntry.object_id == object_id)
            .order_by(AuditEntry.id)
        )
        return list(rows)


async def test_the_presidium_makes_a_programme_in_a_dialog_and_bad_input_loses_nothing(
    fake, running
):
    ids = await world(fake, running)
    chair = fake.user(PRESIDIUM, "Председатель")
    assert "Пришлите её название" in (await chair.say("/new_programme"))[-1].text
    assert "ответьте текстом" in (await chair.say_photo())[-1].text
    assert "Слишком длинно" in (await chair.say("Д" * 5000))[-1].text
    asked = await chair.say("<b>Дворы</b> Центра 🌳")
    assert "Программа «<b>Дворы</b> Центра 🌳»" in asked[-1].text  # shown as typed, escaped
    assert "Нужен текст" in (await chair.say("   "))[-1].text
    picker = (await chair.say("Освещение и лавочки во дворах округа."))[-1]
    assert "Общегородская тема" in " ".join(chair.button_texts(picker))
    assert "кнопкой" in (await chair.say("Центр"))[-1].text  # a button is expected
    replies = await chair.click("№1 · Центр", message_id=picker.message_id)
    assert not chair.button_texts(chair.message(picker.message_id))  # the step is done
    assert any("создана" in reply.text for reply in replies)
    screen = replies[-1]
    assert "Программа №" in screen.text and "округ №1 Центр" in screen.text
    assert "Контрольная доля каждого проекта — у участников округа" in screen.text
    async with running.sessionmaker() as session:
        (made,) = await session.scalars(select(Programme))
    assert made.title == "<b>Дворы</b> Центра 🌳" and made.district_id == ids["d1"]
    assert made.created_by_id == ids["presidium"] and made.active and not made.minority_allowed
    assert await actions(running, "programme", made.id) == ["programme.create"]
    # Pressing the district again (the dialog is over) makes nothing twice.
    await chair.click_data(picker.message_id, f"dist:{ids['d1']}")
    async with running.sessionmaker() as session:
        assert len(list(await session.scalars(select(Programme)))) == 1


async def test_a_city_wide_theme_from_the_executive_committee(fake, running):
    await world(fake, running)
    member = fake.user(EXECUTIVE, "Исполнитель")
    await member.say("/new_programme")
    await member.say("Зелёный город")
    picker = (await member.say("Озеленение по всему городу."))[-1]
    replies = await member.click("🏙 Общегородская тема", message_id=picker.message_id)
    assert "общегородская тема" in replies[-1].text
    async with running.sessionmaker() as session:
        (made,) = await session.scalars(select(Programme))
    assert made.district_id is None


async def test_someone_without_the_role_cannot_make_a_programme(fake, running):
    await world(fake, running)
    for tg in (CITIZEN, REP1):
        person = fake.user(tg)
        assert "нет прав" in (await person.say("/new_programme"))[0].text
        await person.say("Моя программа")  # no dialog was started: nothing is made
    async with running.sessionmaker() as session:
        assert not list(await session.scalars(select(Programme)))


async def test_the_list_counts_projects_by_status_and_a_programme_opens_their_cards(fake, running):
    ids = await world(fake, running)
    yards = await make_programme(running, PRESIDIUM, "Дворы Центра", ids["d1"])
    await make_programme(running, PRESIDIUM, "Зелёный город", None)
    made = {}
    for title, status in (
        ("Фонари", S.IN_PROGRESS),
        ("Лавочки", S.IN_PROGRESS),
        ("Клумбы", S.SUBMITTED),
        ("Черновик", S.DRAFT),
    ):
        made[title] = await project(
            running,
            ids["org1"],
            ids["rep1"],
            title=title,
            district_id=ids["d1"],
            status=status,
            programme_id=yards,
        )
    citizen = fake.user(CITIZEN, "Житель")
    listing = (await citizen.say("/programmes"))[-1]
    assert "2 программы" in listing.text
    assert "Дворы Центра" in listing.text and "Зелёный город" in listing.text
    assert "3 проекта (подан: 1; реализуется: 2)" in listing.text  # the draft is not counted
    assert "Проектов пока нет" in listing.text
    assert "/new_programme" not in listing.text  # not a maker
    screen = (await citizen.click(f"№{yards} · Дворы Центра (3)", listing.message_id))[-1]
    buttons = {b.text: b.callback_data for b in screen.flat_buttons}
    assert buttons[f"№{made['Фонари']} · Фонари"] == CDProject(id=made["Фонари"]).pack()
    assert not any("Черновик" in label for label in buttons)  # someone else's draft
    assert "➕ Добавить проект по номеру" not in buttons  # no project of theirs to add
    assert not any("Название" in label or "⚖️" in label for label in buttons)
    # The draft's owner sees it in the programme.
    owner = fake.user(REP1)
    listing = (await owner.say("/programmes"))[-1]
    screen = (await owner.click(f"№{yards} · Дворы Центра (3)", listing.message_id))[-1]
    assert f"№{made['Черновик']} · Черновик" in owner.button_texts(screen)
    assert "➕ Добавить проект по номеру" in owner.button_texts(screen)
    # And back to the list.
    back = (await owner.click("◀ Все программы", screen.message_id))[-1]
    assert "2 программы" in back.text


async def test_only_the_presidium_switches_the_minority_allowance(fake, running):
    ids = await world(fake, running)
    yards = await make_programme(running, PRESIDIUM, "Дворы Центра", ids["d1"])
    theme = await make_programme(running, EXECUTIVE, "Зелёный город", None)
    member = fake.user(EXECUTIVE)
    listing = (await member.say("/programmes"))[-1]
    screen = (await member.click(f"№{yards} · Дворы Центра (0)", listing.message_id))[-1]
    assert "✏️ Название" in member.button_texts(screen)  # a maker edits
    assert not any("⚖️" in label for label in member.button_texts(screen))
    for action in ("minority", "minority_on"):
        await member.click_data(screen.message_id, CDProgramme(action=action, id=yards).pack())
        assert member.callback_answers[-1].show_alert
        assert "нет прав" in member.callback_answers[-1].text
    assert not (await saved(running, Programme, yards)).minority_allowed

    chair = fake.user(PRESIDIUM)
    listing = (await chair.say("/programmes"))[-1]
    screen = (await chair.click(f"№{yards} · Дворы Центра (0)", listing.message_id))[-1]
    asked = (await chair.click("⚖️ Совет разрешил меньшинство", screen.message_id))[-1]
    assert "контрольная доля" in asked.text and "только предупреждает" in asked.text
    assert not (await saved(running, Programme, yards)).minority_allowed  # not yet
    shown = (await chair.click("Да, Совет так решил", asked.message_id))[-1]
    assert (await saved(running, Programme, yards)).minority_allowed
    assert "Решение Совета записано" in chair.callback_answers[-1].text
    assert "Совет разрешил проекты без контрольной доли округа" in shown.text
    # A second press of the same confirmation changes nothing more.
    await chair.click_data(shown.message_id, CDProgramme(action="minority_on", id=yards).pack())
    assert await actions(running, "programme", yards) == ["programme.create", "programme.edit"]
    # Withdrawn the same way.
    asked = (await chair.click("⚖️ Отменить разрешение Совета", shown.message_id))[-1]
    await chair.click("Да, отменить разрешение", asked.message_id)
    assert not (await saved(running, Programme, yards)).minority_allowed
    # A city-wide theme has no district: no button, and a forged press is refused.
    listing = (await chair.say("/programmes"))[-1]
    screen = (await chair.click(f"№{theme} · Зелёный город (0)", listing.message_id))[-1]
    assert not any("⚖️" in label for label in chair.button_texts(screen))
    await chair.click_data(screen.message_id, CDProgramme(action="minority_on", id=theme).pack())
    assert "нет округа" in chair.callback_answers[-1].text
    assert not (await saved(running, Programme, theme)).minority_allowed


async def test_a_maker_edits_closes_and_reopens_a_programme(fake, running):
    ids = await world(fake, running)
    yards = await make_programme(running, PRESIDIUM, "Дворы", ids["d1"])
    member = fake.user(EXECUTIVE)
    listing = (await member.say("/programmes"))[-1]
    screen = (await member.click(f"№{yards} · Дворы (0)", listing.message_id))[-1]
    await member.click("✏️ Название", screen.message_id)
    replies = await member.say("Дворы и скверы Центра")
    assert "изменена" in replies[0].text and "«Дворы и скверы Центра»" in replies[-1].text
    await member.click("✏️ Описание", replies[-1].message_id)
    replies = await member.say("Новое описание программы.")
    assert "Новое описание программы." in replies[-1].text
    screen = replies[-1]
    await member.click("🔒 Закрыть программу", screen.message_id)
    closed = await saved(running, Programme, yards)
    assert not closed.active and closed.title == "Дворы и скверы Центра"
    assert "Программа закрыта" in member.message(screen.message_id).text
    # A closed programme takes no project.
    draft = await project(running, ids["org1"], ids["rep1"], district_id=ids["d1"])
    await member.click_data(screen.message_id, CDProgramme(action="add", id=yards).pack())
    assert "закрыта" in member.callback_answers[-1].text
    await member.click("🔓 Открыть снова", screen.message_id)
    assert (await saved(running, Programme, yards)).active
    assert (await saved(running, Project, draft)).programme_id is None
    assert await actions(running, "programme", yards) == [
        "programme.create",
        "programme.edit",
        "programme.edit",
        "programme.edit",
        "programme.edit",
    ]
    # Someone else cannot edit: forged presses are refused before any question is asked.
    citizen = fake.user(CITIZEN)
    anchor = (await citizen.say("/programmes"))[-1]
    for action in ("title", "summary", "close"):
        await citizen.click_data(anchor.message_id, CDProgramme(action=action, id=yards).pack())
        assert "нет прав" in citizen.callback_answers[-1].text
    await citizen.say("Чужое название")
    assert (await saved(running, Programme, yards)).title == "Дворы и скверы Центра"


async def test_projects_go_into_a_programme_by_number_under_the_rules(fake, running):
    ids = await world(fake, running)
    yards = await make_programme(running, PRESIDIUM, "Дворы Центра", ids["d1"])
    own_draft = await project(running, ids["org1"], ids["rep1"], district_id=ids["d1"])
    own_submitted = await project(
        running, ids["org1"], ids["rep1"], district_id=ids["d1"], status=S.SUBMITTED
    )
    other_district = await project(running, ids["org1"], ids["rep1"], district_id=ids["d2"])
    strangers_draft = await project(running, ids["org2"], ids["rep2"], district_id=ids["d1"])

    owner = fake.user(REP1)
    listing = (await owner.say("/programmes"))[-1]
    screen = (await owner.click(f"№{yards} · Дворы Центра (0)", listing.message_id))[-1]

    async def add(person, number: str) -> str:
        await person.click_data(screen.message_id, CDProgramme(action="add", id=yards).pack())
        return (await person.say(number))[0].text

    assert "Нужен номер проекта" in await add(owner, "двенадцать")
    assert "включён в программу" in (await owner.say(f"№{own_draft}"))[0].text
    assert (await saved(running, Project, own_draft)).programme_id == yards
    assert "может исполком" in await add(owner, str(own_submitted))
    assert "не из округа этой программы" in await add(owner, str(other_district))
    assert "не найден" in await add(owner, str(strangers_draft))
    for refused in (own_submitted, other_district, strangers_draft):
        assert (await saved(running, Project, refused)).programme_id is None
    assert "project.edit" in await actions(running, "project", own_draft)

    # The executive committee adds a submitted project.
    member = fake.user(EXECUTIVE)
    await member.click_data(
        (await member.say("/programmes"))[-1].message_id,
        CDProgramme(action="add", id=yards).pack(),
    )
    assert "включён" in (await member.say(str(own_submitted)))[0].text
    assert (await saved(running, Project, own_submitted)).programme_id == yards

    # The owner takes its draft out again; a project not in the programme is not "removed".
    await owner.click_data(screen.message_id, CDProgramme(action="remove", id=yards).pack())
    assert "убран из программы" in (await owner.say(str(own_draft)))[0].text
    assert (await saved(running, Project, own_draft)).programme_id is None
    await owner.click_data(screen.message_id, CDProgramme(action="remove", id=yards).pack())
    assert "не входит в эту программу" in (await owner.say(str(own_draft)))[0].text
    # A submitted project stays where the executive committee put it.
    await owner.click_data(screen.message_id, CDProgramme(action="remove", id=yards).pack())
    assert "может исполком" in (await owner.say(str(own_submitted)))[0].text
    assert (await saved(running, Project, own_submitted)).programme_id == yards

    # Someone who represents nobody is refused before being asked for a number.
    citizen = fake.user(CITIZEN)
    anchor = (await citizen.say("/programmes"))[-1]
    for action in ("add", "remove"):
        await citizen.click_data(anchor.message_id, CDProgramme(action=action, id=yards).pack())
        assert "нет прав" in citizen.callback_answers[-1].text
    await citizen.say(str(other_district))
    assert (await saved(running, Project, other_district)).programme_id is None


async def test_a_maker_is_pointed_to_new_programme_from_the_list(fake, running):
    ids = await world(fake, running)
    await make_programme(running, PRESIDIUM, "Дворы Центра", ids["d1"])
    async with running.sessionmaker() as session:
        chair = await users.get_user(session, PRESIDIUM)
        assert Role.PRESIDIUM in chair.role_set
    listing = (await fake.user(PRESIDIUM).say("/programmes"))[-1]
    assert "Новая программа: /new_programme" in listing.text
