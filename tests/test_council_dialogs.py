"""The council's composition end to end: the Secretariat records city-wide structures and the
co-chairs' offices in /council_composition, seats members through /bodies with the steps each
category needs, and is refused with the reason when a rule is not met; designations move seats
and the people concerned are told; strangers' and forged presses change nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.keyboards.council import (
    CDCitywide,
    CDCitywidePick,
    CDCitywideRevoke,
    CDCouncilSeats,
    CDOfficeClear,
    CDOfficeSet,
    CDSeatOrganization,
)
from bot.services import bodies, council
from models import BodyKind, CouncilCategory, Membership, Outcome, Role, User
from models.council import CouncilDesignation, DesignationKind, Office
from tests.council_support import conference_election, council_vote
from tests.projects_support import district, member_organization
from tests.support import db_user, make_secretary, register

SECRETARY = 5101
BASIS = "Постановление Главы г.о. Серпухов № 123 от 01.02.2026"
COUNCIL_CARD = "Гражданско-общественный совет (ГОС)"


async def seat_of(running, user_id: int, kind: BodyKind = BodyKind.COUNCIL) -> Membership | None:
    async with running.sessionmaker() as session:
        body = await bodies.single(session, kind)
        return await session.scalar(
            select(Membership).where(Membership.body_id == body.id, Membership.user_id == user_id)
        )


async def open_add_member(secretary, body_button: str, query: str, person_button: str):
    """/bodies → the body → ➕ → search → the person; returns the role question's replies."""
    await secretary.say("/bodies")
    card = next(b for b in secretary.button_texts() if b.startswith(body_button))
    await secretary.click(card)
    await secretary.click("➕ Добавить участника")
    await secretary.say(query)
    return await secretary.click(person_button)


async def test_a_citywide_structure_is_recorded_seated_and_revoked(fake, running):
    secretary = fake.user(SECRETARY, "Ирина")
    await make_secretary(running, SECRETARY, "Ирина Секретарь")
    union_id, head_id = await member_organization(
        running, 5102, "Анна Ветеранова", "Союз ветеранов", None
    )
    head = fake.user(5102, "Анна")

    replies = await secretary.say("/council_composition")
    text = replies[0].text
    assert "Состав ГОС по Положению" in text
    assert "Председатель Совета депутатов: не записан(а)" in text
    assert "Общегородские структуры · в составе: 0" in text
    assert "Записано общегородских структур: 0" in text

    replies = await secretary.click("🌐 Общегородские структуры")
    assert "Пока ни одной." in replies[0].text
    replies = await secretary.click("➕ Записать общегородскую структуру")
    assert "Выберите из принятых членов Ассамблеи" in replies[0].text
    assert secretary.button_texts()[0] == "Союз ветеранов"
    replies = await secretary.click("Союз ветеранов")
    assert "напишите основание" in replies[0].text

    replies = await secretary.say_photo()
    assert "текстом" in replies[0].text
    replies = await secretary.say("я" * 5000)
    assert "от 1 до 500 символов" in replies[0].text
    replies = await secretary.say(BASIS)
    assert "«Союз ветеранов» записана как общегородская структура" in replies[0].text
    assert "основание: " + BASIS in replies[-1].text
    assert "место в ГОС: свободно" in replies[-1].text

    # The seating dialog offers the structures this person represents, and only those.
    await open_add_member(secretary, COUNCIL_CARD, "Ветеранова", "Анна Ветеранова")
    await secretary.click("член")
    replies = await secretary.click("представитель общегородской структуры")
    assert "Показаны только записанные общегородскими" in replies[0].text
    assert secretary.button_texts() == ["Союз ветеранов"]
    replies = await secretary.say("Союз ветеранов")
    assert "кнопкой" in replies[0].text
    replies = await secretary.click("Союз ветеранов")
    assert any("Анна Ветеранова — в составе" in m.text for m in replies)
    seat = await seat_of(running, head_id)
    assert seat.council_category == CouncilCategory.CITYWIDE and seat.organization_id == union_id
    assert Role.COUNCIL in (await db_user(running, head_id)).role_set

    await secretary.say("/council_composition")
    replies = await secretary.click("Общегородские структуры · 1")
    assert "1. Анна Ветеранова — «Союз ветеранов»" in replies[0].text
    await secretary.click("◀ Назад")
    replies = await secretary.click("🌐 Общегородские структуры")
    assert "место в ГОС: Анна Ветеранова" in replies[0].text

    # Revoking the designation ends the seat, after a confirmation.
    replies = await secretary.click("✖ Союз ветеранов")
    assert "Отозвать статус общегородской структуры у «Союз ветеранов»?" in replies[0].text
    replies = await secretary.click("Нет, оставить")
    assert "место в ГОС: Анна Ветеранова" in replies[0].text
    await secretary.click("✖ Союз ветеранов")
    confirm = secretary.last
    yes = next(b.callback_data for b in confirm.flat_buttons if b.text == "Да, отозвать")
    replies = await secretary.click("Да, отозвать")
    assert (
        secretary.callback_answers[-1].text == "«Союз ветеранов» больше не общегородская структура."
    )
    assert "Пока ни одной." in replies[0].text
    assert await seat_of(running, head_id) is None
    assert Role.COUNCIL not in (await db_user(running, head_id)).role_set
    await running.delivered()
    assert "Статус общегородской структуры у «Союз ветеранов» отозван" in head.last.text

    # The confirmation pressed again finds nothing to revoke.
    await secretary.click_data(confirm.message_id, yes)
    assert secretary.callback_answers[-1].show_alert
    assert "Этой записи уже нет" in secretary.callback_answers[-1].text


async def test_the_seating_dialog_refuses_with_the_reason(fake, running):
    secretary = fake.user(SECRETARY, "Ирина")
    await make_secretary(running, SECRETARY, "Ирина Секретарь")
    petr_id = await register(running, 5103, "Пётр Иванов")
    olga_id = await register(running, 5104, "Ольга Смирнова")
    async with running.sessionmaker.begin() as session:
        won = await conference_election(session, olga_id, losers=(petr_id,))
        not_an_election = await council_vote(session)

    await open_add_member(secretary, COUNCIL_CARD, "Иванов", "Пётр Иванов")
    await secretary.click("член")
    await secretary.click("представитель базовой общественной организации")
    answer = secretary.callback_answers[-1]
    assert answer.show_alert and "не представитель ни одной базовой организации" in answer.text
    await secretary.click("представитель общегородской структуры")
    assert (
        "не представитель ни одной общегородской структуры" in secretary.callback_answers[-1].text
    )
    await secretary.click("сопредседатель по должности")
    assert "не записан(а) ни на одну из должностей" in secretary.callback_answers[-1].text

    # Still on the category step: an elected member needs the conference election's number.
    replies = await secretary.click("избран(а) персонально")
    assert "номер голосования конференции" in replies[0].text
    for typed, reason in (
        ("вчерашнее", "Напишите номер голосования цифрами"),
        ("№999", "Голосования №999 нет."),
        (str(not_an_election.id), "не выборы на конференции Ассамблеи"),
        (str(won.id), f"Пётр Иванов не среди избранных в голосовании №{won.id}"),
    ):
        replies = await secretary.say(typed)
        assert reason in replies[0].text, typed
    replies = await secretary.say_voice()
    assert "Напишите номер голосования цифрами" in replies[0].text
    assert await seat_of(running, petr_id) is None

    # An honorary citizen sits by status: no further step.
    await open_add_member(secretary, COUNCIL_CARD, "Иванов", "Пётр Иванов")
    await secretary.click("член")
    replies = await secretary.click("почётный гражданин")
    assert any("Пётр Иванов — в составе" in m.text for m in replies)
    assert (await seat_of(running, petr_id)).council_category == CouncilCategory.HONORARY


async def test_designating_another_base_organization_moves_the_seat(fake, running):
    secretary = fake.user(SECRETARY, "Ирина")
    await make_secretary(running, SECRETARY, "Ирина Секретарь")
    center = await district(running, 1, "Центр")
    _, anna_id = await member_organization(running, 5105, "Анна Родникова", "Родник", center)
    _, vera_id = await member_organization(running, 5106, "Вера Зарина", "Заря", center)
    anna, vera = fake.user(5105, "Анна"), fake.user(5106, "Вера")

    # Not yet a base organization: the seating dialog has nothing to offer.
    await open_add_member(secretary, COUNCIL_CARD, "Родникова", "Анна Родникова")
    await secretary.click("член")
    await secretary.click("представитель базовой общественной организации")
    assert "/districts" in secretary.callback_answers[-1].text

    await secretary.say("/districts")
    await secretary.click("№1 — Центр")
    await secretary.click("🏛 Назначить базовую организацию")
    await secretary.click("Родник")
    assert (await seat_of(running, anna_id)).council_category == CouncilCategory.BASE_ORGANIZATION
    await running.delivered()
    assert (
        "«Родник» назначена базовой общественной организацией округа №1 «Центр»" in anna.last.text
    )

    await secretary.click("🏛 Назначить базовую организацию")
    await secretary.click("Заря")
    assert await seat_of(running, anna_id) is None
    assert Role.COUNCIL not in (await db_user(running, anna_id)).role_set
    assert (await seat_of(running, vera_id)).council_category == CouncilCategory.BASE_ORGANIZATION
    await running.delivered()
    assert "ваше членство в ГОС как представителя «Родник» прекращено" in anna.last.text
    assert "«Заря» назначена базовой общественной организацией" in vera.last.text

    await secretary.say("/council_composition")
    assert "Округов с назначенной БОО: 1" in secretary.last.text
    replies = await secretary.click("Представители БОО · 1")
    assert "1. Вера Зарина — «Заря»; округ №1 «Центр»" in replies[0].text


async def test_a_new_office_holder_moves_the_co_chairs_seat(fake, running):
    secretary = fake.user(SECRETARY, "Ирина")
    await make_secretary(running, SECRETARY, "Ирина Секретарь")
    anna_id = await register(running, 5107, "Анна Председателева")
    boris_id = await register(running, 5108, "Борис Главин")
    anna = fake.user(5107, "Анна")

    await secretary.say("/council_composition")
    replies = await secretary.click("✏ Председатель Совета депутатов")
    assert "кто занимает должность" in replies[0].text
    replies = await secretary.say("Сидоров")
    assert "Никого не нашлось" in replies[0].text
    await secretary.say("Председателева")
    replies = await secretary.click("Анна Председателева")
    assert "Напишите основание" in replies[0].text
    replies = await secretary.say("Решение Совета депутатов № 1/1 от 20.09.2024")
    assert "Анна Председателева записан(а): Председатель Совета депутатов" in replies[0].text
    assert "Председатель Совета депутатов: Анна Председателева — в составе ГОС" in replies[-1].text
    seat = await seat_of(running, anna_id)
    assert seat.council_category == CouncilCategory.CO_CHAIR and seat.office == "council_chair"
    await running.delivered()
    assert "входите в ГОС как его сопредседатель" in anna.last.text

    # Only the recorded holder may be seated as this office's co-chair.
    await open_add_member(secretary, COUNCIL_CARD, "Главин", "Борис Главин")
    await secretary.click("председатель")
    await secretary.click("сопредседатель по должности")
    assert "не записан(а) ни на одну из должностей" in secretary.callback_answers[-1].text

    await secretary.say("/council_composition")
    await secretary.click("✏ Председатель Совета депутатов")
    await secretary.say("Главин")
    await secretary.click("Борис Главин")
    await secretary.say("Решение Совета депутатов № 7/2 от 01.03.2026")
    assert await seat_of(running, anna_id) is None
    assert (await seat_of(running, boris_id)).office == "council_chair"
    await running.delivered()
    assert "Ваше место сопредседателя ГОС прекращено" in anna.last.text

    # Clearing the record ends the seat.
    await secretary.say("/council_composition")
    replies = await secretary.click("✖ Снять запись")
    assert "Снять запись «Председатель Совета депутатов: Борис Главин»?" in replies[0].text
    replies = await secretary.click("Да, снять")
    assert "Председатель Совета депутатов: не записан(а)" in replies[0].text
    assert await seat_of(running, boris_id) is None


async def test_a_holder_is_seated_as_co_chair_through_the_dialog(fake, running):
    secretary = fake.user(SECRETARY, "Ирина")
    await make_secretary(running, SECRETARY, "Ирина Секретарь")
    boris_id = await register(running, 5108, "Борис Главин")
    async with running.sessionmaker.begin() as session:
        session.add(
            CouncilDesignation(
                kind=DesignationKind.OFFICE,
                office=Office.CITY_HEAD,
                holder_id=boris_id,
                basis=BASIS,
            )
        )
    await open_add_member(secretary, COUNCIL_CARD, "Главин", "Борис Главин")
    await secretary.click("председатель")
    replies = await secretary.click("сопредседатель по должности")
    assert "Показаны должности, на которые он(а) записан(а)" in replies[0].text
    assert secretary.button_texts() == ["Глава города"]
    replies = await secretary.click("Глава города")
    assert any("Борис Главин — в составе" in m.text for m in replies)
    assert (await seat_of(running, boris_id)).office == "city_head"


async def test_a_presidium_seat_needs_the_councils_adopted_decision(fake, running):
    secretary = fake.user(SECRETARY, "Ирина")
    await make_secretary(running, SECRETARY, "Ирина Секретарь")
    olga_id = await register(running, 5109, "Ольга Смирнова")
    async with running.sessionmaker.begin() as session:
        rejected = await council_vote(session, outcome=Outcome.REJECTED)
        adopted = await council_vote(session)

    await open_add_member(secretary, "Президиум ГОС", "Смирнова", "Ольга Смирнова")
    replies = await secretary.click("член")
    assert "Президиум назначает ГОС" in replies[0].text
    replies = await secretary.say(str(rejected.id))
    assert f"Голосование №{rejected.id} не закончилось принятием решения" in replies[0].text
    assert await seat_of(running, olga_id, BodyKind.PRESIDIUM) is None

    replies = await secretary.say(f"№{adopted.id}")
    assert any("Ольга Смирнова — в составе: Президиум ГОС" in m.text for m in replies)
    seat = await seat_of(running, olga_id, BodyKind.PRESIDIUM)
    assert seat.basis_vote_id == adopted.id
    assert Role.PRESIDIUM in (await db_user(running, olga_id)).role_set


async def test_strangers_and_forged_presses_are_refused(fake, running):
    await make_secretary(running, SECRETARY, "Ирина Секретарь")
    union_id, head_id = await member_organization(running, 5110, "Анна", "Союз ветеранов", None)
    stranger = fake.user(5111, "Чужой")
    await register(running, 5111, "Чужой Человек")
    async with running.sessionmaker.begin() as session:
        designation = CouncilDesignation(
            kind=DesignationKind.CITYWIDE, organization_id=union_id, basis=BASIS
        )
        session.add(designation)
        session.add(
            CouncilDesignation(
                kind=DesignationKind.OFFICE, office=Office.CITY_HEAD, holder_id=head_id, basis=BASIS
            )
        )
        await session.flush()
        designation_id = designation.id

    replies = await stranger.say("/council_composition")
    assert "нет прав" in replies[0].text
    anchor = (await stranger.say("/start"))[0]
    for data in (
        CDCouncilSeats(category=CouncilCategory.ELECTED),
        CDCitywide(),
        CDCitywidePick(org=union_id),
        CDCitywideRevoke(id=designation_id, confirm=True),
        CDOfficeSet(office=Office.COUNCIL_CHAIR),
        CDOfficeClear(office=Office.CITY_HEAD, confirm=True),
        CDSeatOrganization(org=union_id),
    ):
        await stranger.click_data(anchor.message_id, data.pack())
        answer = stranger.callback_answers[-1]
        assert answer.show_alert, data
        assert "нет прав" in answer.text or "больше не действует" in answer.text, data
    async with running.sessionmaker() as session:
        living = await session.scalars(
            select(CouncilDesignation).where(CouncilDesignation.revoked_at.is_(None))
        )
        assert len(list(living)) == 2
    assert await seat_of(running, head_id) is None


async def test_long_lists_are_paged_within_telegrams_limits(fake, running):
    secretary = fake.user(SECRETARY, "Ирина")
    secretary_id = await make_secretary(running, SECRETARY, "Ирина Секретарь")
    for number in range(7):
        org_id, head_id = await member_organization(
            running, 5200 + number, f"Ж{number} " + "Я" * 95, f"О{number} " + "Ю" * 190, None
        )
        async with running.sessionmaker.begin() as session:
            actor = await session.get(User, secretary_id)
            await council.designate_citywide(session, actor, org_id, "Акт " + "ъ" * 490)
            council_body = await bodies.single(session, BodyKind.COUNCIL)
            await bodies.add_member(
                session,
                actor,
                council_body.id,
                head_id,
                category=CouncilCategory.CITYWIDE,
                organization_id=org_id,
                basis_text="Основание " + "щ" * 480,
            )

    await secretary.say("/council_composition")
    replies = await secretary.click("Общегородские структуры · 7")
    assert "6. Ж5" in replies[0].text and "7. Ж6" not in replies[0].text
    replies = await secretary.click("▶")
    assert "7. Ж6" in replies[0].text
    await secretary.click("◀ Назад")
    replies = await secretary.click("🌐 Общегородские структуры")
    assert "6. «О5" in replies[0].text and "«О6" not in replies[0].text
    assert "1/2" in secretary.button_texts()
    replies = await secretary.click("▶")
    assert "7. «О6" in replies[0].text
