"""Filing a need, end to end through the fake Telegram: /need for a citizen, /file_need for the
Secretariat, photos and albums, the place, the similar needs to support instead, the summary."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.services import districts, users
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.needs import categories, filing
from bot.services.needs.filing import NeedDraft
from models import AuditEntry, District, ScheduledJob, User
from models.needs import (
    Need,
    NeedCategory,
    NeedEvent,
    NeedEventKind,
    NeedStatus,
    NeedSupport,
    NeedTerm,
)
from tests.support import make_secretary, offered_commands, register

# The categories migration 008 seeds (a PostgreSQL test database is emptied before each test).
CATEGORIES = [
    ("housing", "ЖКХ", "Housing and utilities"),
    ("yards", "Дворы и улицы", "Yards and streets"),
    ("roads", "Дороги и транспорт", "Roads and transport"),
    ("other", "Другое", "Other"),
]
LAMPS = "Во дворе дома 5 по улице Ленина не горят фонари уже месяц, вечером темно"


async def seed(running) -> None:
    async with running.sessionmaker.begin() as session:
        await districts.seed_district(session, 1, "Заречье")
        await districts.seed_district(session, 2, "Центр")
        if not await session.scalar(select(func.count()).select_from(NeedCategory)):
            session.add_all(
                NeedCategory(code=code, name_ru=ru, name_en=en, position=n)
                for n, (code, ru, en) in enumerate(CATEGORIES, start=1)
            )


async def by_number(session, number: int) -> District:
    return await session.scalar(select(District).where(District.number == number))


async def citizen(running, telegram_id: int, name: str, district_number: int | None = 1) -> int:
    user_id = await register(running, telegram_id, name)
    if district_number is not None:
        async with running.sessionmaker.begin() as session:
            district = await by_number(session, district_number)
            user = await session.get(User, user_id)
            await users.set_district(session, user, district.id)
    return user_id


async def needs(running) -> list[Need]:
    async with running.sessionmaker() as session:
        return list(await session.scalars(select(Need).order_by(Need.id)))


async def file_directly(running, author_id: int, district_number: int, text: str) -> int:
    async with running.sessionmaker.begin() as session:
        author = await session.get(User, author_id)
        district = await by_number(session, district_number)
        category = (await categories.active_categories(session))[0]
        need = await filing.file_need(
            session, author, NeedDraft(category.id, district.id, text, show_name=True)
        )
        return need.id


async def start(person, category: str = "Дороги и транспорт") -> None:
    replies = await person.say("/need")
    assert "Новая потребность" in replies[0].text
    assert "О чём потребность?" in replies[-1].text
    await person.click(category)
    assert "Ваш округ — №1 · Заречье" in person.last.text


async def to_summary(person, description: str = LAMPS) -> None:
    """From the district question to the summary: own district, text, no photos, no place."""
    await person.click("✅ №1 · Заречье")
    replies = await person.say(description)
    assert "Пришлите фото места" in replies[-1].text
    await person.click("Без фото")
    await person.say("Пропустить")
    await person.click("🙈 Нет, не показывать")
    assert "Проверьте потребность" in person.last.text


async def test_filing_with_an_album_and_a_typed_address(fake, running):
    await seed(running)
    anna_id = await citizen(running, 7001, "Анна")
    anna = fake.user(7001, "Анна")
    await start(anna)
    replies = await anna.click("✅ №1 · Заречье")
    assert "Опишите своими словами" in replies[-1].text
    replies = await anna.say(LAMPS)
    assert "Пришлите фото места" in replies[-1].text

    # An album of three photos arrives as three messages and is answered once.
    replies = await anna.say_album(3)
    assert [m.text for m in replies] == [replies[0].text]
    assert "Фото добавлено" in replies[0].text
    replies = await anna.click("✅ Готово")
    assert any("Прикреплено 3 фото" in m.text for m in replies)
    assert "Где именно это?" in replies[-1].text
    assert anna.reply_keyboard == [["📍 Отправить моё место"], ["Пропустить"]]

    replies = await anna.say("ул. Ленина, 5 <двор>")
    assert any("Адрес записан: ул. Ленина, 5 <двор>" in m.text for m in replies)
    assert anna.reply_keyboard is None
    replies = await anna.click("✅ Да, показывать имя")
    summary = replies[-1]
    assert "Проверьте потребность" in summary.text
    for part in ("Дороги и транспорт", "№1 · Заречье", "ул. Ленина, 5", "Фото: 3", LAMPS):
        assert part in summary.text
    assert "&lt;двор&gt;" in summary.html

    replies = await anna.click("📨 Отправить")
    assert "Потребность №1 записана" in replies[-1].text and "/my_needs" in replies[-1].text
    assert anna.button_texts(anna.message(summary.message_id)) == []

    [need] = await needs(running)
    assert need.author_id == anna_id and need.entered_by_id is None
    assert need.category.code == "roads" and need.district.number == 1
    assert need.address == "ул. Ленина, 5 <двор>" and need.latitude is None
    assert need.show_name is True and len(need.photos) == 3
    assert len({photo.file_id for photo in need.photos}) == 3
    async with running.sessionmaker() as session:
        events = list(await session.scalars(select(NeedEvent)))
        assert [(e.kind, e.actor_id) for e in events] == [(NeedEventKind.FILED, anna_id)]
        assert await session.scalar(select(func.count()).select_from(NeedTerm)) > 3
        audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "need.file"))
        assert audit is not None and audit.object_id == need.id
        # Its base organization is reminded in 3 days and the Secretariat told in 7 unless decided.
        waits = {
            job.kind: (job.due_at - need.created_at).days
            for job in await session.scalars(
                select(ScheduledJob).where(ScheduledJob.object_id == need.id)
            )
        }
        assert waits == {"need.remind_base": 3, "need.escalate": 7}
    # Nothing of the dialog is left behind.
    assert "Не понимаю" not in (await anna.say("/need"))[0].text


async def test_voice_refused_then_text_and_a_location_without_photos(fake, running):
    await seed(running)
    await citizen(running, 7002, "Борис")
    boris = fake.user(7002, "Борис")
    await start(boris, "ЖКХ")
    await boris.click("🔀 Другой округ")
    assert "Выберите из списка" in boris.last.text
    replies = await boris.click("Не знаю округ")
    assert not replies and "Потребность относится к округу" in boris.callback_answers[-1].text
    await boris.click("№2 · Центр")

    for sending in (boris.say_voice(), boris.say_sticker()):
        replies = await sending
        assert "напишите описание словами" in replies[0].text
    replies = await boris.say("Крыша")
    assert "Слишком коротко" in replies[0].text
    replies = await boris.say("В подъезде дома 12 течёт крыша, вода на пятом этаже")
    assert "Пришлите фото места" in replies[-1].text
    replies = await boris.say("фото нет")
    assert "жду фото" in replies[0].text
    await boris.click("Без фото")
    replies = await boris.say_location(54.9215, 37.4112)
    assert any("Место записано" in m.text for m in replies)
    replies = await boris.click("🙈 Нет, не показывать")
    assert "точка на карте (54.9215, 37.4112)" in replies[-1].text
    assert "Фото: 0" in replies[-1].text
    await boris.click("📨 Отправить")

    [need] = await needs(running)
    assert need.district.number == 2 and need.category.code == "housing"
    assert (need.latitude, need.longitude) == (54.9215, 37.4112)
    assert need.address is None and need.photos == [] and need.show_name is False


async def test_cancel_at_the_place_step_takes_the_location_keyboard_away(fake, running):
    await seed(running)
    await citizen(running, 7003, "Вера")
    vera = fake.user(7003, "Вера")
    await start(vera)
    await vera.click("✅ №1 · Заречье")
    await vera.say(LAMPS)
    await vera.click("Без фото")
    assert vera.reply_keyboard == [["📍 Отправить моё место"], ["Пропустить"]]
    replies = await vera.say("/cancel")
    assert "Отменено" in replies[-1].text
    assert vera.reply_keyboard is None
    assert await needs(running) == []


async def test_similar_needs_of_the_district_are_offered_and_supported_once(fake, running):
    await seed(running)
    anna_id = await citizen(running, 7003, "Анна")
    first = await file_directly(running, anna_id, 1, LAMPS)
    elsewhere = await file_directly(running, anna_id, 2, LAMPS)
    await citizen(running, 7004, "Борис")
    boris = fake.user(7004, "Борис")

    await start(boris, "Дворы и улицы")
    await boris.click("✅ №1 · Заречье")
    replies = await boris.say("Не горит фонарь во дворе у дома 5, очень темно вечером")
    offer = replies[-1]
    assert "похожие потребности" in offer.text
    assert f"№{first}" in offer.text and f"№{elsewhere}" not in offer.text
    assert "👍 0" in offer.text
    assert boris.button_texts(offer) == [f"👍 Поддержать №{first}", "Нет, подать мою"]
    replies = await boris.click(f"👍 Поддержать №{first}")
    assert f"Вы поддержали потребность №{first}" in replies[-1].text
    # A second press of the same button: the dialog is over, nothing changes.
    await boris.click_data(offer.message_id, offer.flat_buttons[0].callback_data)
    assert boris.callback_answers[-1].show_alert

    # Filing again, the same suggestion: supporting again counts once.
    await start(boris, "Дворы и улицы")
    await boris.click("✅ №1 · Заречье")
    await boris.say("Не горит фонарь во дворе у дома 5, очень темно вечером")
    replies = await boris.click(f"👍 Поддержать №{first}")
    assert "уже поддерживаете" in replies[-1].text
    async with running.sessionmaker() as session:
        need = await session.get(Need, first)
        assert need.support_count == 1
        assert await session.scalar(select(func.count()).select_from(NeedSupport)) == 1

    # The filer is not offered to support their own need, and "file mine" goes on.
    anna = fake.user(7003, "Анна")
    await start(anna, "Дворы и улицы")
    await anna.click("✅ №1 · Заречье")
    # An album whose caption is the description: the offer comes once, the photos are kept.
    replies = await anna.say_album(2, LAMPS)
    assert len(replies) == 1 and "похожие потребности" in replies[0].text
    await anna.click(f"👍 Поддержать №{first}")
    assert "подана этим же человеком" in anna.callback_answers[-1].text
    replies = await anna.click("Нет, подать мою")
    assert "Фото прикреплены" in replies[-1].text
    replies = await anna.click("✅ Готово")
    assert any("Прикреплено 2 фото" in m.text for m in replies)

    # In another district the same text finds nothing of district 1.
    await citizen(running, 7005, "Вера", district_number=2)
    vera = fake.user(7005, "Вера")
    await vera.say("/need")
    await vera.click("Дворы и улицы")
    await vera.click("✅ №2 · Центр")
    replies = await vera.say("Не горит фонарь во дворе у дома 5, очень темно вечером")
    assert f"№{elsewhere}" in replies[-1].text and f"№{first}" not in replies[-1].text


async def test_a_field_edited_from_the_summary(fake, running):
    await seed(running)
    await citizen(running, 7006, "Галина")
    galina = fake.user(7006, "Галина")
    await start(galina)
    await to_summary(galina)
    replies = await galina.click("✏️ Описание")
    assert "Опишите своими словами" in replies[-1].text
    replies = await galina.say("Яма на дороге у остановки «Рынок», машины объезжают по тротуару")
    assert "Проверьте потребность" in replies[-1].text and "Яма на дороге" in replies[-1].text
    await galina.click("✏️ Категория")
    replies = await galina.click("ЖКХ")
    assert "Категория: ЖКХ" in replies[-1].text
    await galina.click("✏️ Место")
    replies = await galina.say("Советская, 10")
    assert "Место: Советская, 10" in replies[-1].text
    await galina.click("✏️ Фото")
    await galina.say_photo()
    replies = await galina.click("✅ Готово")
    assert "Фото: 1" in replies[-1].text
    await galina.click("📨 Отправить")
    [need] = await needs(running)
    assert need.description.startswith("Яма на дороге") and need.category.code == "housing"
    assert need.address == "Советская, 10" and len(need.photos) == 1


async def test_a_restart_mid_dialog_keeps_the_draft(fake, running):
    await seed(running)
    await citizen(running, 7007, "Дмитрий")
    dmitry = fake.user(7007, "Дмитрий")
    await start(dmitry)
    await dmitry.click("✅ №1 · Заречье")
    # A photo with a caption is the description and the first photo.
    replies = await dmitry.say_photo("Сломана скамейка на остановке у школы №3, сесть негде")
    assert "Фото прикреплены" in replies[-1].text
    await running.restart()
    replies = await dmitry.say_photo()
    assert "Фото добавлено" in replies[-1].text
    replies = await dmitry.click("✅ Готово")
    assert any("Прикреплено 2 фото" in m.text for m in replies)
    await dmitry.say("Пропустить")
    replies = await dmitry.click("✅ Да, показывать имя")
    assert "Сломана скамейка" in replies[-1].text
    await dmitry.click("📨 Отправить")
    [need] = await needs(running)
    assert len(need.photos) == 2 and need.description.startswith("Сломана скамейка")


async def test_the_secretariat_files_for_a_citizen(fake, running):
    await seed(running)
    ivan_id = await citizen(running, 7008, "Иван")
    olga_id = await make_secretary(running, 7009, "Ольга")
    olga, ivan = fake.user(7009, "Ольга"), fake.user(7008, "Иван")

    replies = await ivan.say(f"/file_need {ivan_id}")
    assert "нет прав" in replies[0].text
    offered = await offered_commands(ivan)
    assert "/need" in offered and "/file_need" not in offered
    assert "/file_need" in await offered_commands(olga)

    assert "номер человека" in (await olga.say("/file_need"))[0].text
    assert "номер человека" in (await olga.say("/file_need 99999"))[0].text
    replies = await olga.say(f"/file_need {ivan_id}")
    assert "Потребность за жителя" in replies[0].text and "Иван" in replies[0].text
    await olga.click("Дороги и транспорт")
    assert "Ваш округ — №1 · Заречье" in olga.last.text  # the citizen's district
    await olga.click("✅ №1 · Заречье")
    await olga.say("Нет пандуса у входа в поликлинику, на коляске не заехать")
    await olga.click("Без фото")
    replies = await olga.say("Пропустить")
    summary = replies[-1]  # the name question is skipped: not shown unless changed
    assert "Проверьте потребность" in summary.text
    assert "За жителя: Иван" in summary.text and "Показывать имя: нет" in summary.text
    replies = await olga.click("📨 Отправить")
    assert "записана за жителя Иван" in replies[-1].text

    [need] = await needs(running)
    assert need.author_id == ivan_id and need.entered_by_id == olga_id
    assert need.show_name is False
    await running.delivered()
    assert any(f"записал с ваших слов потребность №{need.id}" in m.text for m in ivan.bot_messages)


async def test_long_text_and_html_in_the_description(fake, running):
    await seed(running)
    await citizen(running, 7010, "Елена")
    elena = fake.user(7010, "Елена")
    await start(elena)
    await elena.click("✅ №1 · Заречье")
    replies = await elena.say("Очень длинно. " * 358)  # 5,012 characters
    assert "Слишком длинно: 5011 символов, можно не больше 2000" in replies[0].text
    text = "<b>Яма</b> & <script>alert(1)</script> на Ленина 😡"
    replies = await elena.say(text)
    assert "Пришлите фото места" in replies[-1].text
    await elena.click("Без фото")
    await elena.say("Пропустить")
    replies = await elena.click("🙈 Нет, не показывать")
    assert text in replies[-1].text and "&lt;script&gt;" in replies[-1].html
    await elena.click("📨 Отправить")
    [need] = await needs(running)
    assert need.description == text


async def test_the_service_checks_who_files_and_what_is_supported(session):
    district = await districts.seed_district(session, 1, "Заречье")
    if not await session.scalar(select(func.count()).select_from(NeedCategory)):
        session.add(NeedCategory(code="other", name_ru="Другое", name_en="Other"))
    category = (await categories.active_categories(session))[0]
    people = []
    for telegram_id, name in ((7101, "Анна"), (7102, "Борис")):
        person = await users.give_consent(session, telegram_id, language="ru", username=None)
        await users.set_name(session, person, name, max_length=100)
        await users.complete_registration(session, person)
        people.append(person)
    anna, boris = people
    draft = NeedDraft(category.id, district.id, LAMPS)
    # A citizen cannot file for another person.
    with pytest.raises(NotAllowed):
        await filing.file_need(session, anna, draft, entered_by=boris)
    with pytest.raises(InvalidInput):
        await filing.file_need(session, anna, NeedDraft(category.id, district.id, "x" * 2001))
    need = await filing.file_need(session, anna, draft)
    assert (await filing.similar(session, district.id, "фонари не горят во дворе"))[0][0] is need
    assert await filing.support_instead(session, boris, need.id) == (need, True)
    assert await filing.support_instead(session, boris, need.id) == (need, False)
    assert need.support_count == 1
    with pytest.raises(InvalidInput):
        await filing.support_instead(session, anna, need.id)
    need.status = NeedStatus.RESOLVED
    with pytest.raises(NotFound):
        await filing.support_instead(session, boris, need.id)
