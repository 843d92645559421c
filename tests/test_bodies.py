"""Bodies end to end: the Secretariat creates a committee, seats and removes members, pages
through a long list; admins manage the Secretariat; everyone else is refused."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.keyboards.bodies import (
    CDBody,
    CDMemberAdd,
    CDMemberRemove,
    CDNewBody,
    CDPerson,
    CDSecretariatRevoke,
)
from bot.services import bodies, users
from models import AuditEntry, Body, BodyKind, CouncilCategory, MemberRole, Membership, Role
from tests.conftest import ADMIN_ID
from tests.council_support import conference_election
from tests.support import count, db_user, make_secretary, offered_commands, register

NO_RIGHTS = "У вас нет прав на это действие."


async def seat(running, kind: BodyKind, user_id: int, name: str | None = None, **kwargs) -> int:
    """Seat a person through the service, as the admin; returns the body id."""
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        if name is None:
            body = await bodies.single(session, kind)
        else:
            body = await session.scalar(select(Body).where(Body.name == name))
            if body is None:
                body = await bodies.create(session, admin, kind, name, "")
        await bodies.add_member(session, admin, body.id, user_id, **kwargs)
        return body.id


async def membership(running, body_id: int, user_id: int) -> Membership | None:
    async with running.sessionmaker() as session:
        return await session.scalar(
            select(Membership).where(Membership.body_id == body_id, Membership.user_id == user_id)
        )


async def test_create_a_committee(fake, running):
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")

    await secretary.say("/new_body")
    assert secretary.button_texts() == ["Комитет", "Рабочая группа", "Комиссия"]
    replies = await secretary.click("Комитет")
    assert "Комитет: напишите название" in replies[0].text

    replies = await secretary.say("Я" * 201)
    assert "от 1 до 200 символов" in replies[0].text
    replies = await secretary.say_photo()
    assert "ответьте текстом" in replies[0].text
    replies = await secretary.say("  Культурное   наследие ")
    assert "Направление работы" in replies[0].text
    assert secretary.button_texts() == ["Без направления"]

    replies = await secretary.say("м" * 1001)
    assert "не длиннее 1000 символов" in replies[0].text
    replies = await secretary.say("Охрана <b>памятников</b> & музеев")
    assert "Создано: Комитет «Культурное наследие»" in replies[0].text
    card = replies[-1].text
    assert "Направление: Охрана <b>памятников</b> & музеев" in card
    assert "В составе пока никого нет" in card
    assert "➕ Добавить участника" in secretary.button_texts()

    async with running.sessionmaker() as session:
        created = await session.scalar(select(Body).where(Body.kind == BodyKind.COMMITTEE))
        assert created.name == "Культурное наследие"
        assert created.direction == "Охрана <b>памятников</b> & музеев"
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
        assert actions[-1] == "body.create"

    await secretary.say("/bodies")
    assert secretary.button_texts() == [
        "Гражданско-общественный совет (ГОС) · 0 участников",
        "Президиум ГОС · 0 участников",
        "Исполком · 0 участников",
        "Секретариат · 1 участник",
        "Комитет «Культурное наследие» · 0 участников",
    ]

    # The skip button creates a body without a direction.
    await secretary.say("/new_body")
    await secretary.click("Комиссия")
    await secretary.say("Ревизионная")
    replies = await secretary.click("Без направления")
    assert any("Создано: Комиссия «Ревизионная»" in m.text for m in replies)
    assert "Направление" not in secretary.last.text

    # A name that already says its kind is not prefixed with it again; its own quotes nest.
    await secretary.say("/new_body")
    await secretary.click("Комитет")
    await secretary.say("Комитет по культуре")
    replies = await secretary.click("Без направления")
    assert any("Создано: Комитет по культуре." in m.text for m in replies)
    await secretary.say("/new_body")
    await secretary.click("Рабочая группа")
    await secretary.say("Проект «Наследие»")
    replies = await secretary.click("Без направления")
    assert any("Создано: Рабочая группа «Проект „Наследие“»." in m.text for m in replies)


async def test_add_a_council_member_by_dialog(fake, running):
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")
    petr = fake.user(5002, "Пётр")
    petr_id = await register(running, 5002, "Пётр Иванов", username="petr")

    await secretary.say("/bodies")
    replies = await secretary.click("Гражданско-общественный совет (ГОС) · 0 участников")
    assert "<b>Гражданско-общественный совет (ГОС)</b>" in replies[0].html
    await secretary.click("➕ Добавить участника")

    replies = await secretary.say("Сидоров")
    assert "Никого не нашлось" in replies[0].text
    replies = await secretary.say_sticker()
    assert "Напишите текстом" in replies[0].text
    await secretary.say("иванов")
    assert secretary.button_texts() == ["Пётр Иванов · @petr"]
    await secretary.say("@petr")
    assert secretary.button_texts() == ["Пётр Иванов · @petr"]
    await secretary.say("5002")
    replies = await secretary.click("Пётр Иванов · @petr")
    assert "Пётр Иванов — роль в составе: Гражданско-общественный совет (ГОС)?" in replies[0].text
    assert secretary.button_texts() == ["председатель", "секретарь", "член"]

    replies = await secretary.say("член")
    assert "кнопкой" in replies[0].text
    replies = await secretary.click("член")
    assert secretary.button_texts(replies[0]) == [
        "сопредседатель по должности",
        "представитель базовой общественной организации",
        "представитель общегородской структуры",
        "почётный гражданин",
        "избран(а) персонально",
    ]
    replies = await secretary.click("избран(а) персонально")
    assert "номер голосования конференции" in replies[0].text
    async with running.sessionmaker.begin() as session:
        election = await conference_election(session, petr_id)
    replies = await secretary.say(f"№{election.id}")
    assert "ДД.ММ.ГГГГ" in replies[0].text

    for bad in ("31-12-2030", "31.02.2030", "завтра", "1" * 4000):
        replies = await secretary.say(bad)
        assert "Не понимаю дату" in replies[0].text, bad
    replies = await secretary.say("01.01.2020")
    assert "Эта дата уже прошла" in replies[0].text
    assert not (await db_user(running, petr_id)).role_set & {Role.COUNCIL}

    # The dialog is kept in the FSM storage: it continues after a restart.
    await running.restart()
    replies = await secretary.say("31.12.2030")
    assert "Пётр Иванов — в составе: Гражданско-общественный совет (ГОС)" in replies[0].text
    assert "1. Пётр Иванов — член, избран(а) персонально, срок до 31.12.2030" in replies[-1].text

    async with running.sessionmaker() as session:
        council = await bodies.single(session, BodyKind.COUNCIL)
        seat_ = await session.scalar(select(Membership).where(Membership.user_id == petr_id))
        assert seat_.body_id == council.id
        assert seat_.role == MemberRole.MEMBER
        assert seat_.council_category == CouncilCategory.ELECTED
        assert seat_.basis_vote_id == election.id
        # The end of the day in Moscow.
        assert seat_.until == datetime(2030, 12, 31, 20, 59, 59, tzinfo=UTC)
    assert Role.COUNCIL in (await db_user(running, petr_id)).role_set

    await running.delivered()
    added = "Вас включили в состав: Гражданско-общественный совет (ГОС). Роль: член."
    assert added in petr.last.text
    replies = await petr.say("/me")
    assert "член Гражданско-общественного совета (ГОС)" in replies[0].text


async def test_a_seat_in_the_secretariat_body_changes_roles_and_help(fake, running):
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")
    olga = fake.user(5003, "Ольга")
    olga_id = await register(running, 5003, "Ольга Смирнова")
    assert "/applications" not in await offered_commands(olga)

    await secretary.say("/bodies")
    await secretary.click("Секретариат · 1 участник")
    await secretary.click("➕ Добавить участника")
    await secretary.say("Ольга")
    await secretary.click("Ольга Смирнова")
    replies = await secretary.click("секретарь")
    assert any("Ольга Смирнова — в составе: Секретариат" in m.text for m in replies)
    assert Role.SECRETARIAT in (await db_user(running, olga_id)).role_set
    await running.delivered()
    assert "Вас включили в состав: Секретариат. Роль: секретарь." in olga.last.text
    assert "/applications" in await offered_commands(olga)

    await secretary.say("/bodies")
    await secretary.click("Секретариат · 2 участника")
    # Chairs and secretaries are listed first.
    assert secretary.button_texts()[0] == "✖ Ольга Смирнова"
    await secretary.click("✖ Ольга Смирнова")
    await secretary.click("Да, исключить")
    assert Role.SECRETARIAT not in (await db_user(running, olga_id)).role_set
    assert "/applications" not in await offered_commands(olga)


async def test_remove_a_member_with_confirmation(fake, running):
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")
    petr_id = await register(running, 5002, "Пётр Иванов")
    body_id = await seat(running, BodyKind.COMMITTEE, petr_id, "Стратегия", role=MemberRole.CHAIR)
    assert Role.COMMITTEE in (await db_user(running, petr_id)).role_set

    await secretary.say("/bodies")
    replies = await secretary.click("Комитет «Стратегия» · 1 участник")
    assert "1. Пётр Иванов — председатель" in replies[0].text
    card = secretary.last
    remove_data = next(b.callback_data for b in card.flat_buttons if b.text == "✖ Пётр Иванов")

    replies = await secretary.click("✖ Пётр Иванов")
    assert "Исключить Пётр Иванов из состава: Комитет «Стратегия»?" in replies[0].text
    replies = await secretary.click("Нет, оставить")
    assert "1. Пётр Иванов" in replies[0].text
    assert await membership(running, body_id, petr_id) is not None

    await secretary.click("✖ Пётр Иванов")
    replies = await secretary.click("Да, исключить")
    assert "В составе пока никого нет" in replies[0].text
    assert secretary.callback_answers[-1].text == "Пётр Иванов: исключён(а) из состава."
    assert await membership(running, body_id, petr_id) is None
    assert Role.COMMITTEE not in (await db_user(running, petr_id)).role_set

    # The button of the outdated card says so.
    await secretary.click_data(card.message_id, remove_data)
    assert secretary.callback_answers[-1].show_alert
    assert "уже нет в составе" in secretary.callback_answers[-1].text
    confirm = CDMemberRemove(body=body_id, user=petr_id, confirm=True).pack()
    await secretary.click_data(card.message_id, confirm)
    assert "уже нет в составе" in secretary.callback_answers[-1].text


async def test_members_are_paged(fake, running):
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")
    for number in range(1, 26):
        person_id = await register(running, 6000 + number, f"Участник {number:02} " + "Я" * 60)
        await seat(running, BodyKind.WORKING_GROUP, person_id, "Обмен опытом")

    await secretary.say("/bodies")
    replies = await secretary.click("Рабочая группа «Обмен опытом» · 25 участников")
    text = replies[0].text
    assert "В составе 25 человек:" in text
    assert "1. Участник 01" in text and "8. Участник 08" in text and "9. Участник" not in text
    buttons = secretary.button_texts()
    assert len([b for b in buttons if b.startswith("✖")]) == 8
    assert "1/4" in buttons and "▶" in buttons and "◀" not in buttons

    replies = await secretary.click("▶")
    assert "9. Участник 09" in replies[0].text and "16. Участник 16" in replies[0].text
    await secretary.click("▶")
    replies = await secretary.click("▶")
    assert "25. Участник 25" in replies[0].text and "24." not in replies[0].text
    assert "4/4" in secretary.button_texts() and "▶" not in secretary.button_texts()
    # Pressing the page counter changes nothing and fails nothing.
    await secretary.click("4/4")
    assert not secretary.callback_answers[-1].show_alert
    replies = await secretary.click("◀")
    assert "17. Участник 17" in replies[0].text


async def test_outsiders_are_refused_and_change_nothing(fake, running):
    secretary_id = await make_secretary(running, 5001, "Ирина Секретарь")
    citizen = fake.user(5009, "Вася")
    await register(running, 5009, "Василий", Role.COUNCIL)
    petr_id = await register(running, 5002, "Пётр Иванов")
    body_id = await seat(running, BodyKind.COMMISSION, petr_id, "Ревизионная")
    entries, seats, bodies_before = (
        await count(running, AuditEntry),
        await count(running, Membership),
        await count(running, Body),
    )

    for command in ("/bodies", "/new_body", "/secretariat"):
        replies = await citizen.say(command)
        assert replies[0].text == NO_RIGHTS, command
    message_id = citizen.last.message_id
    forged = [
        CDBody(id=body_id).pack(),
        CDMemberAdd(body=body_id).pack(),
        CDMemberRemove(body=body_id, user=petr_id).pack(),
        CDMemberRemove(body=body_id, user=petr_id, confirm=True).pack(),
        CDSecretariatRevoke(user=secretary_id, confirm=True).pack(),
    ]
    for data in forged:
        await citizen.click_data(message_id, data)
        answer = citizen.callback_answers[-1]
        assert answer.show_alert and answer.text == NO_RIGHTS, data
    # Dialog buttons outside their dialog, and garbage, are stale.
    for data in (CDPerson(id=petr_id).pack(), CDNewBody(kind=BodyKind.COMMITTEE).pack(), "bma:x"):
        await citizen.click_data(message_id, data)
        assert citizen.callback_answers[-1].text == "Эта кнопка больше не действует.", data

    assert await count(running, AuditEntry) == entries
    assert await count(running, Membership) == seats
    assert await count(running, Body) == bodies_before
    assert await membership(running, body_id, petr_id) is not None
    assert Role.SECRETARIAT in (await db_user(running, secretary_id)).role_set


async def test_a_secretary_cannot_create_a_second_council(fake, running):
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")
    await secretary.say("/new_body")
    await secretary.click_data(secretary.last.message_id, CDNewBody(kind=BodyKind.COUNCIL).pack())
    assert "существуют в одном экземпляре" in secretary.callback_answers[-1].text
    # A secretary is not an admin.
    replies = await secretary.say("/secretariat")
    assert replies[0].text == NO_RIGHTS


async def test_admin_grants_and_revokes_the_secretariat(fake, running):
    admin = fake.user(ADMIN_ID, "Админ")
    olga = fake.user(5003, "Ольга")
    olga_id = await register(running, 5003, "Ольга Смирнова", username="olga")

    replies = await admin.say("/secretariat")
    assert "В Секретариате пока никого нет" in replies[0].text
    await admin.click("➕ Назначить в Секретариат")
    replies = await admin.say("Никто")
    assert "Никого не нашлось" in replies[0].text
    await admin.say("смирнова")
    replies = await admin.click("Ольга Смирнова · @olga")
    assert any("Ольга Смирнова — теперь в Секретариате" in m.text for m in replies)
    assert "1. Ольга Смирнова" in admin.last.text
    assert Role.SECRETARIAT in (await db_user(running, olga_id)).role_set
    await running.delivered()
    assert "Вам предоставлена роль Секретариата" in olga.last.text
    assert "/applications" in await offered_commands(olga)

    listing = admin.last
    await admin.click("✖ Ольга Смирнова")
    assert "Снять роль Секретариата с Ольга Смирнова?" in admin.last.text
    await admin.click("Нет, оставить")
    assert Role.SECRETARIAT in (await db_user(running, olga_id)).role_set
    await admin.click("✖ Ольга Смирнова")
    replies = await admin.click("Да, снять роль")
    assert "В Секретариате пока никого нет" in replies[0].text
    assert admin.callback_answers[-1].text == "Роль Секретариата снята: Ольга Смирнова."
    assert Role.SECRETARIAT not in (await db_user(running, olga_id)).role_set

    # Revoking again from the outdated list says so and records nothing.
    entries = await count(running, AuditEntry)
    await admin.click_data(
        listing.message_id, CDSecretariatRevoke(user=olga_id, confirm=True).pack()
    )
    assert "уже нет в составе" in admin.callback_answers[-1].text
    assert await count(running, AuditEntry) == entries


async def test_adding_people_who_cannot_be_told(fake, running):
    """Someone who blocked the bot, or was registered on paper, is seated all the same."""
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")
    blocked = fake.user(5004, "Гоша")
    blocked_id = await register(running, 5004, "Георгий Блокин")
    fake.block_bot(5004)
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        paper, _ = await users.register_on_behalf(session, admin, "Бумажный Иван", None)
        paper_id = paper.id
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        committee = await bodies.create(session, admin, BodyKind.COMMITTEE, "Методология", "")
        committee_id = committee.id

    people = (
        ("Блокин", "Георгий Блокин", "0 участников"),
        ("Бумажный", "Бумажный Иван", "1 участник"),
    )
    for query, label, members in people:
        await secretary.say("/bodies")
        await secretary.click(f"Комитет «Методология» · {members}")
        await secretary.click("➕ Добавить участника")
        await secretary.say(query)
        await secretary.click(label)
        replies = await secretary.click("член")
        assert any(f"{label} — в составе: Комитет «Методология»" in m.text for m in replies)
    assert await membership(running, committee_id, blocked_id) is not None
    assert await membership(running, committee_id, paper_id) is not None
    assert blocked.bot_messages == []
