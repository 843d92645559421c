"""Organizations join the Assembly, end to end through the fake Telegram."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy import func, select, update

from bot.services import districts, users
from models import AuditEntry, Invite, Organization, OrganizationStatus, Role
from models.base import utcnow
from tests.support import make_secretary, offered_commands, register

PROPOSALS = (
    "Предлагаем провести субботник во дворах Заречья, собрать заявки жителей на ремонт освещения "
    "и вместе с управляющей компанией составить план работ на весну."
)


async def person(running, telegram_id: int, name: str, *, secretary: bool = False) -> int:
    return await (make_secretary if secretary else register)(running, telegram_id, name)


async def open_application(secretary, label: str = "#1 · ТОС «Заречье»") -> int:
    """The Secretariat's queue, then the card of one application; returns the card's message."""
    replies = await secretary.say("/applications")
    # The delivery worker may send a notice (a new application) within the same moment.
    queue = next(m for m in replies if label in secretary.button_texts(m))
    await secretary.click(label, message_id=queue.message_id)
    return queue.message_id


async def apply(fake, telegram_id: int, name: str = "ТОС «Заречье»"):
    applicant = fake.user(telegram_id, "Анна")
    await applicant.say("/join")
    await applicant.say(name)
    await applicant.click("территориальное общественное самоуправление (ТОС)")
    await applicant.click("№1 · Заречье")
    await applicant.say("Самоуправление микрорайона Заречье: дворы, освещение, праздники.")
    await applicant.say("+7 900 000-00-00, zarechye@example.org")
    await applicant.say(PROPOSALS)
    replies = await applicant.click("✅ Согласны сотрудничать и получать информацию")
    assert any("Проверьте заявку" in m.text for m in replies)
    return applicant


async def organization(running, name: str = "ТОС «Заречье»") -> Organization:
    async with running.sessionmaker() as session:
        return await session.scalar(select(Organization).where(Organization.name == name))


async def add_district(running) -> None:
    async with running.sessionmaker.begin() as session:
        await districts.add_district(session, 1, "Заречье")


async def test_application_approval_gives_the_role_and_new_commands(fake, running):
    await add_district(running)
    await person(running, 3001, "Анна")
    await person(running, 3100, "Ольга", secretary=True)
    secretary = fake.user(3100, "Ольга")  # has talked to the bot before, so it can write to her
    applicant = await apply(fake, 3001)
    summary = applicant.last
    assert "ТОС «Заречье»" in summary.text and "Заречье" in summary.text

    replies = await applicant.click("📨 Отправить заявку")
    assert any("отправлена в Секретариат" in m.text for m in replies)
    await running.delivered()
    assert any("Новая заявка" in m.text for m in secretary.bot_messages)

    replies = await secretary.say("/applications")
    assert "1 заявка ждёт решения" in replies[0].text
    await secretary.click("#1 · ТОС «Заречье»", message_id=replies[0].message_id)
    assert "Самоуправление микрорайона" in secretary.last.text
    await secretary.click("✅ Принять")
    assert "член Ассамблеи" in secretary.last.text

    await running.delivered()
    assert any("принята в Ассамблею" in m.text for m in applicant.bot_messages)
    async with running.sessionmaker() as session:
        saved = await users.get_user(session, 3001)
        assert Role.REPRESENTATIVE in saved.role_set
    menu = [c["command"] for c in fake.commands(scope_type="chat", chat_id=3001)]
    assert "invite" in menu
    help_text = await offered_commands(applicant)
    assert "/invite" in help_text
    profile = (await applicant.say("/me"))[0].text
    assert "Организации: ТОС «Заречье»" in profile


async def test_rejection_sends_the_reason(fake, running):
    await add_district(running)
    await person(running, 3002, "Анна")
    await person(running, 3100, "Ольга", secretary=True)
    applicant = await apply(fake, 3002)
    await applicant.click("📨 Отправить заявку")
    secretary = fake.user(3100, "Ольга")
    await open_application(secretary)
    await secretary.click("❌ Отклонить")
    replies = await secretary.say("   ")  # Telegram strips it; a blank reason is refused anyway
    replies = await secretary.say("Нет устава <script>")
    assert any("отклонена" in m.text for m in replies)
    await running.delivered()
    notice = next(m for m in applicant.bot_messages if "отклонена Секретариатом" in m.text)
    assert "Нет устава <script>" in notice.text and "&lt;script&gt;" in notice.html
    assert (await organization(running)).status == OrganizationStatus.REJECTED


async def test_more_information_round_trip(fake, running):
    await add_district(running)
    await person(running, 3003, "Анна")
    await person(running, 3100, "Ольга", secretary=True)
    applicant = await apply(fake, 3003)
    await applicant.click("📨 Отправить заявку")
    secretary = fake.user(3100, "Ольга")
    await open_application(secretary)
    await secretary.click("❓ Запросить сведения")
    await secretary.say("Сколько жителей участвует?")

    await running.delivered()
    assert any("Секретариат спрашивает" in m.text for m in applicant.bot_messages)
    mine = (await applicant.say("/my_orgs"))[0]
    await applicant.click("💬 Ответить Секретариату", message_id=mine.message_id)
    replies = await applicant.say("Около двухсот человек")
    assert any("передан в Секретариат" in m.text for m in replies)
    await running.delivered()
    assert any("Пришёл ответ" in m.text for m in secretary.bot_messages)

    await open_application(secretary)
    card = secretary.last.text
    assert "Сколько жителей участвует?" in card and "Около двухсот человек" in card


async def test_second_press_on_a_decided_card_changes_nothing(fake, running):
    await add_district(running)
    await person(running, 3004, "Анна")
    await person(running, 3100, "Ольга", secretary=True)
    await person(running, 3101, "Павел", secretary=True)
    applicant = await apply(fake, 3004)
    await applicant.click("📨 Отправить заявку")
    olga, pavel = fake.user(3100, "Ольга"), fake.user(3101, "Павел")
    cards = {}
    for secretary in (olga, pavel):
        cards[secretary.id] = await open_application(secretary)
    await olga.click("✅ Принять")
    # Pavel's card still shows the buttons of a pending application.
    await pavel.click("❌ Отклонить", message_id=cards[3101])
    assert pavel.callback_answers[-1].text.startswith("Уже решено: Ольга")
    await pavel.click("✅ Принять", message_id=cards[3101])
    assert pavel.callback_answers[-1].text.startswith("Уже решено: Ольга")
    assert (await organization(running)).status == OrganizationStatus.APPROVED
    async with running.sessionmaker() as session:
        decisions = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action.in_(["organization.approve", "organization.reject"]))
        )
    assert decisions == 1


async def test_duplicate_name_is_refused_in_the_dialog(fake, running):
    await add_district(running)
    await person(running, 3005, "Анна")
    await person(running, 3006, "Борис")
    applicant = await apply(fake, 3005)
    await applicant.click("📨 Отправить заявку")
    other = fake.user(3006, "Борис")
    await other.say("/join")
    replies = await other.say("  тос «ЗАРЕЧЬЕ»  ")
    assert "уже подавала заявку" in replies[0].text
    replies = await other.say("Клуб «Заречье»")
    assert any("Какая это организация" in m.text for m in replies)


async def test_edit_a_field_before_sending(fake, running):
    await add_district(running)
    await person(running, 3007, "Анна")
    applicant = await apply(fake, 3007)
    await applicant.click("✏️ контакты")
    replies = await applicant.say("тел. 8 (4967) 00-00-00")
    assert "Проверьте заявку" in replies[-1].text and "8 (4967) 00-00-00" in replies[-1].text
    await applicant.click("📨 Отправить заявку")
    assert (await organization(running)).contacts == "тел. 8 (4967) 00-00-00"


async def test_restart_in_the_middle_of_an_application(fake, running):
    await add_district(running)
    await person(running, 3008, "Анна")
    applicant = fake.user(3008, "Анна")
    await applicant.say("/join")
    await applicant.say("Совет ветеранов Заречья")
    await running.restart()
    replies = await applicant.click("инициативная группа")
    assert any("В каком округе" in m.text for m in replies)


async def test_short_proposals_and_photos_are_refused_with_a_reason(fake, running):
    await add_district(running)
    await person(running, 3009, "Анна")
    applicant = fake.user(3009, "Анна")
    await applicant.say("/join")
    await applicant.say("Клуб садоводов")
    await applicant.click("другое")
    await applicant.click("Весь город / не в округе")
    replies = await applicant.say_photo()
    assert "ответьте текстом" in replies[0].text
    await applicant.say("Объединяем садоводов города и помогаем им с рассадой.")
    await applicant.say("sad@example.org")
    replies = await applicant.say("Хотим дружить.")
    assert "нужно не меньше 100" in replies[0].text
    replies = await applicant.say("x" * 5000)
    assert "можно не больше 2000" in replies[0].text


async def test_invite_link_works_once_and_expires(fake, running):
    await add_district(running)
    await person(running, 3010, "Анна")
    await person(running, 3011, "Коллега")
    await person(running, 3012, "Третий")
    await person(running, 3100, "Ольга", secretary=True)
    applicant = await apply(fake, 3010)
    await applicant.click("📨 Отправить заявку")
    secretary = fake.user(3100, "Ольга")
    await open_application(secretary)
    await secretary.click("✅ Принять")

    # The approval notice comes through the delivery worker: let it arrive first, so that the
    # reply to /invite is not mistaken for it.
    await running.delivered()
    replies = await applicant.say("/invite")
    payload = re.search(r"start=(inv_[\w-]+)", replies[-1].text).group(1)
    assert len(payload) <= 64
    colleague = fake.user(3011, "Коллега")
    replies = await colleague.say(f"/start {payload}")
    assert any("Вы стали представителем" in m.text for m in replies)
    third = fake.user(3012, "Третий")
    replies = await third.say(f"/start {payload}")
    assert any("уже воспользовались" in m.text for m in replies)

    replies = await applicant.say("/invite")
    second = re.search(r"start=(inv_[\w-]+)", replies[-1].text).group(1)
    async with running.sessionmaker.begin() as session:
        await session.execute(
            update(Invite)
            .where(Invite.token == second.removeprefix("inv_"))
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    replies = await third.say(f"/start {second}")
    assert any("Срок действия ссылки истёк" in m.text for m in replies)
    async with running.sessionmaker() as session:
        assert Role.REPRESENTATIVE not in (await users.get_user(session, 3012)).role_set


async def test_invite_to_a_newcomer_is_used_after_registration(fake, running):
    await add_district(running)
    await person(running, 3013, "Анна")
    await person(running, 3100, "Ольга", secretary=True)
    applicant = await apply(fake, 3013)
    await applicant.click("📨 Отправить заявку")
    replies = await applicant.say("/my_orgs")
    await applicant.click("👥 Пригласить коллегу", message_id=replies[0].message_id)
    payload = re.search(r"start=(inv_[\w-]+)", applicant.last.text).group(1)
    newcomer = fake.user(3014, "Новичок")
    await newcomer.say(f"/start {payload}")
    await newcomer.click("Русский")
    await newcomer.click("✅ Согласен(на)")
    await newcomer.say("Новичок")
    replies = await newcomer.click("№1 · Заречье")
    assert any("Вы стали представителем" in m.text for m in replies)


async def test_registry_search_and_export(fake, running):
    await add_district(running)
    await person(running, 3015, "Анна")
    await person(running, 3100, "Ольга", secretary=True)
    applicant = await apply(fake, 3015, name='=HYPERLINK("x") Клуб')
    await applicant.click("📨 Отправить заявку")
    secretary = fake.user(3100, "Ольга")
    await open_application(secretary, '#1 · =HYPERLINK("x") Клуб')
    await secretary.click("✅ Принять")

    visitor = fake.user(3099, "Гость")
    replies = await visitor.say("/registry")
    assert "Найдена 1 организация" in replies[0].text
    await visitor.click("🔎 Поиск")
    replies = await visitor.say("клуб")
    assert "Найдена 1 организация" in replies[0].text
    await visitor.click("🔎 Поиск")
    replies = await visitor.say("нет такого")
    assert "Ничего не нашлось" in replies[0].text
    replies = await visitor.say("/export")
    assert "нет прав" in replies[0].text

    replies = await secretary.say("/export")
    documents = [m.document for m in replies if m.document]
    assert [d["file_name"].rsplit(".", 1)[1] for d in documents] == ["csv", "xlsx"]
    csv_bytes = fake.file(documents[0]["file_id"]).content
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Номер", "Название"]
    assert rows[1][1] == '\'=HYPERLINK("x") Клуб'  # never a live formula
    sheet = load_workbook(io.BytesIO(fake.file(documents[1]["file_id"]).content)).active
    assert sheet["E2"].value == "член Ассамблеи"


async def test_paper_registration_and_take_over(fake, running):
    await add_district(running)
    await person(running, 3100, "Ольга", secretary=True)
    secretary = fake.user(3100, "Ольга")
    await secretary.say("/register_person")
    await secretary.say("Мария Ивановна Петрова")
    replies = await secretary.click("№1 · Заречье")
    text = replies[-1].text
    assert "Согласие записано как данное на бумаге" in text
    payload = re.search(r"start=(own_[\w-]+)", text).group(1)
    number = re.search(r"/register_org (\d+)", text).group(1)

    await secretary.say(f"/register_org {number}")
    await secretary.say("Совет дома 5")
    await secretary.click("инициативная группа")
    await secretary.click("№1 · Заречье")
    await secretary.say("Совет дома: двор, подъезды, детская площадка у дома 5.")
    await secretary.say("через Секретариат")
    await secretary.say(PROPOSALS)
    await secretary.click("✅ Согласны сотрудничать и получать информацию")
    await secretary.click("📨 Отправить заявку")
    entered = await organization(running, "Совет дома 5")
    assert entered.entered_by_id is not None and entered.applicant_id == int(number)

    maria = fake.user(3200, "Мария")
    replies = await maria.say(f"/start {payload}")
    assert any("теперь эта учётная запись ваша" in m.text for m in replies)
    replies = await maria.say("/my_orgs")
    assert "Совет дома 5" in replies[0].text
