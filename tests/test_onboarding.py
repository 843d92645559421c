"""Onboarding end to end: the real bot polls the fake Telegram and a test plays the user."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import func, select

from bot import dates
from bot.services import districts
from models import Role, User, UserRole
from tests.conftest import ADMIN_ID
from tests.support import offered_commands

RU_AGREE = "✅ Согласен(на)"


async def add_districts(running, count: int = 3) -> None:
    async with running.sessionmaker.begin() as session:
        for number in range(1, count + 1):
            await districts.seed_district(session, number, f"Округ {number}")


async def db_user(running, telegram_id: int) -> User | None:
    async with running.sessionmaker() as session:
        return await session.scalar(select(User).where(User.telegram_id == telegram_id))


async def count(running, model) -> int:
    async with running.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def dialog_state(running, user_id: int) -> tuple[str | None, dict]:
    key = StorageKey(bot_id=running.app.bot.id, chat_id=user_id, user_id=user_id)
    storage = running.app.dp.storage
    return await storage.get_state(key), await storage.get_data(key)


async def register(fake, running, user_id: int, name: str = "Анна Петрова", language="ru"):
    user = fake.user(user_id, "Анна", language_code=language)
    await user.say("/start")
    await user.click("Русский" if language == "ru" else "English")
    await user.click(RU_AGREE if language == "ru" else "✅ I agree")
    await user.say(name)
    return user


async def test_onboarding_in_russian(fake, running):
    await add_districts(running)
    user = fake.user(2001, "Анна", language_code="ru")

    replies = await user.say("/start")
    assert "Серпуховской ассамблеи гражданского общества" in replies[0].text
    assert user.button_texts() == ["Русский", "English"]

    replies = await user.click("Русский")
    assert any("Согласие на обработку персональных данных" in m.text for m in replies)
    assert await db_user(running, 2001) is None  # nothing is kept before consent

    replies = await user.click(RU_AGREE)
    assert any("Как к вам обращаться" in m.text for m in replies)
    assert "Использовать «Анна»" in user.button_texts()

    replies = await user.say("Анна Петрова")
    assert any("Приятно познакомиться, Анна Петрова" in m.text for m in replies)
    assert "№2 · Округ 2" in user.button_texts()

    replies = await user.click("№2 · Округ 2")
    assert any("Готово, Анна Петрова" in m.text for m in replies)
    assert "/me" in user.last.text

    saved = await db_user(running, 2001)
    assert saved.name == "Анна Петрова" and saved.language == "ru"
    assert saved.district.name == "Округ 2"
    assert saved.consent_at is not None and saved.consent_version
    assert saved.role_set == {Role.CITIZEN}
    assert await dialog_state(running, 2001) == (None, {})

    replies = await user.say("/me")
    assert "Округ 2" in replies[0].text and "житель" in replies[0].text


async def test_onboarding_in_english(fake, running):
    await add_districts(running, 1)
    user = fake.user(2002, "John", language_code="en")
    replies = await user.say("/start")
    assert "Serpukhov Civil Society Assembly" in replies[0].text
    replies = await user.click("English")
    assert any("Consent to personal data processing" in m.text for m in replies)
    await user.click("✅ I agree")
    replies = await user.click("Use “John”")
    assert any("Nice to meet you, John" in m.text for m in replies)
    replies = await user.click("I don't know")
    assert any("Done, John!" in m.text for m in replies)
    saved = await db_user(running, 2002)
    assert saved.language == "en" and saved.district is None and saved.is_registered
    # The consent time is on the Moscow clock, in the reader's language; never in UTC.
    replies = await user.say("/privacy")
    shown = dates.format_datetime(saved.consent_at, "en", running.settings.timezone)
    assert f"Your consent: {shown}, version" in replies[-1].text
    assert "UTC" not in replies[-1].text


async def test_a_russian_speaker_can_choose_english(fake, running):
    user = fake.user(2003, "Ivan", language_code="ru")
    await user.say("/start")
    replies = await user.click("English")
    assert any("Do you agree?" in m.text for m in replies)


async def test_declining_consent_stores_nothing(fake, running):
    user = fake.user(2010, "Олег")
    await user.say("/start")
    await user.click("Русский")
    replies = await user.click("Не согласен(на)")
    assert any("ничего о вас не сохранили" in m.text for m in replies)
    assert await count(running, User) == 1  # only the admin from settings
    assert await db_user(running, 2010) is None
    assert await dialog_state(running, 2010) == (None, {})


async def test_start_twice_duplicates_nothing(fake, running):
    await add_districts(running, 1)
    user = fake.user(2020, "Вера")
    await user.say("/start")
    await user.say("/start")
    assert await count(running, User) == 1
    await user.click("Русский")
    await user.click(RU_AGREE)
    replies = await user.say("/start")
    # Mid-dialog /start resumes the step the person is on.
    assert any("Как к вам обращаться" in m.text for m in replies)
    await user.say("Вера")
    await user.click("№1 · Округ 1")
    replies = await user.say("/start")
    assert any("С возвращением, Вера" in m.text for m in replies)
    assert await count(running, User) == 2
    assert await count(running, UserRole) == 2  # the admin's and Vera's citizen role


async def test_consent_button_pressed_twice_counts_once(fake, running):
    user = fake.user(2021, "Пётр")
    await user.say("/start")
    await user.click("Русский")
    consent = user.last
    await user.click(RU_AGREE, message_id=consent.message_id)
    await user.press_data(consent.message_id, "consent:1")
    await fake.wait_processed(fake.last_update_id)
    assert user.callback_answers[-1].text == "Эта кнопка больше не действует."
    assert await count(running, User) == 2


async def test_cancel_leaves_the_dialog_from_any_step(fake, running):
    user = fake.user(2030, "Нина")
    await user.say("/start")
    await user.click("Русский")
    await user.click(RU_AGREE)
    replies = await user.say("/cancel")
    assert "Отменено" in replies[0].text
    assert (await dialog_state(running, 2030))[0] is None
    replies = await user.say("Нина")
    assert "Не понял вас" in replies[0].text  # no longer taken as a name
    assert (await db_user(running, 2030)).name is None
    replies = await user.say("/start")
    assert any("Как к вам обращаться" in m.text for m in replies)
    replies = await user.say("/cancel")
    replies = await user.say("/cancel")
    assert "нечего отменять" in replies[0].text


async def test_restart_in_the_middle_of_onboarding_continues(fake, running):
    await add_districts(running, 1)
    user = fake.user(2040, "Илья")
    await user.say("/start")
    await user.click("Русский")
    await user.click(RU_AGREE)
    await running.restart()
    replies = await user.say("Илья Ильин")
    assert any("Приятно познакомиться, Илья Ильин" in m.text for m in replies)
    await running.restart()
    replies = await user.click("№1 · Округ 1")
    assert any("Готово, Илья Ильин" in m.text for m in replies)


async def test_restart_before_consent_keeps_the_language(fake, running):
    user = fake.user(2041, "Kate", language_code="ru")
    await user.say("/start")
    await user.click("English")
    await running.restart()
    replies = await user.click("✅ I agree")
    assert any("What should we call you" in m.text for m in replies)


async def test_bad_names_get_a_clear_answer_and_lose_nothing(fake, running):
    user = fake.user(2050, "Ян")
    await user.say("/start")
    await user.click("Русский")
    await user.click(RU_AGREE)

    replies = await user.say_photo()
    assert "ответьте текстом" in replies[0].text
    replies = await user.say("я" * 5000)
    assert "Слишком длинно: 5000 символов" in replies[0].text
    replies = await user.say("😀😀😀")
    assert "хотя бы одна буква" in replies[0].text
    assert (await dialog_state(running, 2050))[0] == "Onboarding:name"

    replies = await user.say("Ян")
    assert any("Приятно познакомиться, Ян" in m.text for m in replies)


async def test_html_in_a_name_is_shown_escaped(fake, running):
    user = await register(fake, running, 2060, name="<b>Boss</b> & <i>Co")
    saved = await db_user(running, 2060)
    assert saved.name == "<b>Boss</b> & <i>Co"
    greeting = next(m for m in user.bot_messages if "Приятно познакомиться" in m.text)
    assert "<b>Boss</b> & <i>Co" in greeting.text  # what the person sees
    assert "&lt;b&gt;Boss&lt;/b&gt; &amp; &lt;i&gt;Co" in greeting.html


async def test_delete_me_erases_personal_data(fake, running):
    await add_districts(running, 1)
    user = await register(fake, running, 2070, name="Софья")
    await user.click("№1 · Округ 1")
    internal_id = (await db_user(running, 2070)).id

    replies = await user.say("/delete_me")
    assert "Удалить ваши персональные данные?" in replies[0].text
    replies = await user.click("🗑 Да, удалить")
    assert "Ваши данные удалены" in replies[0].text

    async with running.sessionmaker() as session:
        row = await session.get(User, internal_id)
    assert row.telegram_id is None and row.name is None and row.district_id is None
    assert row.consent_at is None and row.deleted_at is not None
    assert await db_user(running, 2070) is None
    replies = await user.say("/me")
    assert "Сначала зарегистрируйтесь" in replies[0].text


async def test_help_depends_on_roles_and_menus_are_registered(fake, running):
    citizen = await register(fake, running, 2080)
    await citizen.say("/cancel")
    citizen_help = await offered_commands(citizen)
    assert "/me" in citizen_help and "/add_district" not in citizen_help

    admin = fake.user(ADMIN_ID, "Админ")
    admin_help = await offered_commands(admin)
    assert "/add_district" in admin_help

    ru = [c["command"] for c in fake.commands(scope_type="default", language_code="ru")]
    assert "start" in ru and "add_district" not in ru
    en = fake.commands(scope_type="default", language_code="en")
    assert any(c["description"] == "see what the bot can do" for c in en)
    admin_menu = [c["command"] for c in fake.commands(scope_type="chat", chat_id=ADMIN_ID)]
    assert "add_district" in admin_menu


async def test_district_list_pages(fake, running):
    await add_districts(running, 12)
    user = await register(fake, running, 2090)
    assert "▶" in user.button_texts()
    await user.click("▶")
    assert "№12 · Округ 12" in user.button_texts()
    await user.click("◀")
    replies = await user.click("№3 · Округ 3")
    assert any("Готово" in m.text for m in replies)


async def test_language_command_switches_the_replies(fake, running):
    user = await register(fake, running, 2100)
    await user.say("/cancel")
    await user.say("/language")
    await user.click("English")
    replies = await user.say("/help")
    assert "/me — see my profile" in replies[0].text
    assert (await db_user(running, 2100)).language == "en"
