"""The organizer's panel of a meeting's card, through the real Dispatcher and the fake Telegram:
the presidium's decision recorded, agenda items with a registered and a typed speaker and a
document, a guest found by name, publishing after a last look (the invited get notices with an
.ics a calendar library reads); a published conference moved and its place changed (everyone
told, the event replaced), then cancelled; a stale panel; the decision put to the council; a
stranger's and another organizer's forged presses refused, nothing changed."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar
from sqlalchemy import select

from bot.keyboards.meetings import CDMeetingPanel
from bot.keyboards.meetings_convene import CDConvene
from bot.services import users
from bot.services.meetings import convening, core, files
from bot.services.meetings.core import MeetingInput
from models import Vote, VoteStatus
from models.base import utcnow
from models.meetings import AgendaItem, MeetingFile, MeetingKind, MeetingStatus
from tests.meetings_support import TZ, conference, council_member, meeting, presidium
from tests.projects_support import committee, district, member_organization
from tests.support import register
from tests.test_meetings_convene import all_sent
from tests.test_trust import snapshot

ORGANIZER, COUNCILLOR, HEAD, GUEST, SPEAKER, STRANGER, CHAIR = (
    7500,
    7501,
    7502,
    7503,
    7504,
    7505,
    7506,
)


def local(days: int, hour: int) -> datetime:
    zone = ZoneInfo(TZ)
    day = (utcnow() + timedelta(days=days)).astimezone(zone).date()
    return datetime.combine(day, time(hour), tzinfo=zone)


def typed(moment: datetime) -> str:
    return moment.strftime("%d.%m.%Y %H:%M")


async def world(fake, running) -> dict[str, int]:
    ids = {"district": await district(running, 1, "Центральный")}
    ids["organizer"] = await presidium(running, ORGANIZER, "Председатель")
    ids["councillor"] = await council_member(running, COUNCILLOR, "Член Совета")
    ids["org"], ids["head"] = await member_organization(
        running, HEAD, "Глава НКО", "НКО Рассвет", ids["district"]
    )
    ids["guest"] = await register(running, GUEST, "Гость Иванов")
    ids["speaker"] = await register(running, SPEAKER, "Докладчик Петров")
    ids["stranger"] = await register(running, STRANGER, "Чужой")
    for telegram_id in (ORGANIZER, COUNCILLOR, HEAD, GUEST, SPEAKER, STRANGER):
        fake.user(telegram_id)
    return ids


async def draft_conference(running, starts_at: datetime, district_id: int) -> int:
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, ORGANIZER)
        found = await core.create(
            session,
            organizer,
            MeetingInput(
                kind=MeetingKind.CONFERENCE,
                title="Ежегодная конференция",
                starts_at=starts_at,
                place="ДК «Октябрь»",
                district_id=district_id,
            ),
        )
        return found.id


async def open_panel(person, meeting_id: int):
    card = (await person.say(f"/meeting_{meeting_id}"))[-1]
    replies = await person.click("✏️ Подготовка и изменения", card.message_id)
    panels = [m for m in replies if "Подготовка:" in m.text]
    assert panels, replies
    return panels[-1]


def event_of(fake, chat_id: int):
    documents = [m for m in fake.chat(chat_id) if m.from_bot and m.document]
    assert documents, f"no .ics was sent to {chat_id}"
    calendar = Calendar.from_ical(fake.file(documents[-1].document["file_id"]).content)
    [event] = [part for part in calendar.walk() if part.name == "VEVENT"]
    return calendar, event


def chat_text(fake, chat_id: int) -> str:
    return "\n".join(m.text for m in fake.chat(chat_id) if m.from_bot)


async def test_decision_agenda_and_documents_of_a_draft(fake, running):
    ids = await world(fake, running)
    meeting_id = await draft_conference(running, local(12, 18), ids["district"])
    organizer = fake.user(ORGANIZER)

    panel = await open_panel(organizer, meeting_id)
    assert "решение совета" in panel.text
    labels = organizer.button_texts(panel)
    assert "📝 Записать решение президиума" in labels and "🗳 Вынести на совет" in labels
    await organizer.click("📣 Опубликовать", panel.message_id)  # no decision yet
    assert "сначала вынесите вопрос" in organizer.callback_answers[-1].text

    await organizer.click("📝 Записать решение президиума", panel.message_id)
    await organizer.say_photo()
    assert "ответьте текстом" in organizer.last.text
    replies = await organizer.say("Решение президиума от 01.12.2026 №5")
    assert "Решение о созыве записано" in replies[0].text
    panel = replies[-1]
    assert "📝 Записать решение президиума" not in organizer.button_texts(panel)

    # A draft is moved at once: nobody to tell.
    await organizer.click("🕒 Перенести", panel.message_id)
    starts_at = local(14, 17)
    replies = await organizer.say(typed(starts_at))
    assert "Теперь" in replies[0].text and "Все приглашённые" not in replies[0].text
    assert (await meeting(running, meeting_id)).starts_at == starts_at
    panel = replies[-1]

    # The agenda: an item with a registered speaker and a document, one with a typed name.
    await organizer.click("🗂 Повестка (0)", panel.message_id)
    await organizer.click("➕ Пункт повестки", panel.message_id)
    await organizer.say("Отчёт совета за год")
    await organizer.say("Петров")
    assert "Докладчик Петров" in organizer.button_texts()
    agenda = (await organizer.click("Докладчик Петров"))[-1]
    assert "Отчёт совета за год — Докладчик Петров" in agenda.text
    await organizer.click("➕ Пункт повестки", agenda.message_id)
    await organizer.say("Разное")
    await organizer.say("Сидоров С.С.")
    assert "не нашлось" in organizer.last.text
    agenda = (await organizer.click("✍️ Записать: Сидоров С.С."))[-1]
    assert "2. Разное — Сидоров С.С." in agenda.text
    await organizer.click("📎 1", agenda.message_id)
    await organizer.say_document("otchet.pdf", b"%PDF-1.4 report")
    assert "Сохранено: 1 из 10" in organizer.last.text
    await organizer.say("и ещё текст")
    assert "документ или фото" in organizer.last.text
    agenda = (await organizer.click("✅ Готово"))[-1]
    assert "Докладчик Петров 📎1" in agenda.text
    await organizer.click("🗑 2", agenda.message_id)
    assert "Пункт убран" in organizer.callback_answers[-1].text
    assert "Разное" not in organizer.message(agenda.message_id).text
    async with running.sessionmaker() as session:
        [item] = list(await session.scalars(select(AgendaItem)))
        assert item.speaker_id == ids["speaker"]
        [stored] = list(await session.scalars(select(MeetingFile)))
        assert stored.agenda_item_id == item.id and stored.name == "otchet.pdf"


async def test_a_guest_and_publishing(fake, running):
    ids = await world(fake, running)
    starts_at = local(12, 18)
    meeting_id = await draft_conference(running, starts_at, ids["district"])
    async with running.sessionmaker.begin() as session:
        organizer_user = await users.get_user(session, ORGANIZER)
        await convening.record_decision(session, organizer_user, meeting_id, "Решение №5")
        item = await core.add_item(
            session, organizer_user, meeting_id, "Отчёт совета за год", speaker_id=ids["speaker"]
        )
        document = stored_document(fake)
        await files.add(
            session, organizer_user, meeting_id, item.id, kind="document", file_id=document
        )
    organizer = fake.user(ORGANIZER)
    panel = await open_panel(organizer, meeting_id)
    await organizer.click("👤 Гости (0)", panel.message_id)
    await organizer.click("➕ Пригласить гостя", panel.message_id)
    await organizer.say("Никтоневстречался")
    assert "никого не нашлось" in organizer.last.text
    await organizer.say("иванов")
    replies = await organizer.click("Гость Иванов")
    assert any("в списке гостей" in m.text for m in replies)
    assert "• Гость Иванов" in replies[-1].text

    # Publishing: a last look at how many are invited, then the notices.
    await organizer.click("« Назад", replies[-1].message_id)
    panel = organizer.message(replies[-1].message_id)
    await organizer.click("📣 Опубликовать", panel.message_id)
    assert "получат 3 человека" in organizer.message(panel.message_id).text
    replies = await organizer.click("✅ Да, опубликовать и разослать", panel.message_id)
    assert any("отправлено 3 адресатам" in m.text for m in replies)
    assert (await meeting(running, meeting_id)).status == MeetingStatus.PUBLISHED
    await all_sent(running)
    for chat in (COUNCILLOR, HEAD, GUEST):
        assert "Ежегодная конференция" in chat_text(fake, chat), chat
        _, event = event_of(fake, chat)
        assert event.decoded("dtstart") == starts_at
        assert str(event["summary"]) == "Ежегодная конференция"
        assert "Отчёт совета за год" in str(event["description"])
    assert "Вы приглашены" not in chat_text(fake, SPEAKER)

    # The invited see their answer on the card, and the documents.
    guest = fake.user(GUEST)
    card = (await guest.say(f"/meeting_{meeting_id}"))[-1]
    # No answer yet: no button is marked; once answered, the card opened again marks it.
    assert not any(label.startswith("•") for label in guest.button_texts(card))
    await guest.click("✅ Приду", card.message_id)
    card = (await guest.say(f"/meeting_{meeting_id}"))[-1]
    assert "• ✅ Приду •" in guest.button_texts(card)
    assert "Созвана решением президиума" in card.text and "Решение №5" in card.text
    assert "Отчёт совета за год — Докладчик Петров 📎1" in card.text
    assert "✏️ Подготовка и изменения" not in guest.button_texts(card)
    replies = await guest.say(f"/meeting_{meeting_id}_files")
    assert replies and replies[0].document and "Отчёт совета за год" in replies[0].text
    card = (await organizer.say(f"/meeting_{meeting_id}"))[-1]
    assert "✅ 1" in card.text and "без ответа 2" in card.text


def stored_document(fake) -> str:
    """A document the fake Telegram holds, as if an organizer had sent it."""
    stored = fake.store_file(b"%PDF-1.4 report", "documents", "otchet.pdf", "application/pdf")
    return stored.file_id


async def test_move_and_change_the_place_of_a_published_conference(fake, running):
    ids = await world(fake, running)
    meeting_id = await conference(running, ORGANIZER, district_id=ids["district"])
    await all_sent(running)
    organizer = fake.user(ORGANIZER)
    panel = await open_panel(organizer, meeting_id)
    assert "📣 Опубликовать" not in organizer.button_texts(panel)

    await organizer.click("🕒 Перенести", panel.message_id)
    later = local(15, 11)
    await organizer.say(typed(later))
    assert "Все приглашённые (2 человека)" in organizer.last.text
    assert (await meeting(running, meeting_id)).starts_at != later  # not before the confirmation
    replies = await organizer.click("✅ Изменить и известить")
    assert any("Извещение отправлено 2 приглашённым" in m.text for m in replies)
    await running.delivered()
    assert "Изменение" in [m for m in fake.chat(COUNCILLOR) if m.from_bot][-1].text
    _, event = event_of(fake, COUNCILLOR)
    assert int(event["sequence"]) == 1 and event.decoded("dtstart") == later

    await organizer.click("📍 Место", panel.message_id)
    await organizer.say("Новый зал, ул. Чехова, 5")
    await organizer.click("✅ Изменить и известить")
    await running.delivered()
    assert "Новый зал" in [m for m in fake.chat(HEAD) if m.from_bot][-1].text
    assert (await meeting(running, meeting_id)).place == "Новый зал, ул. Чехова, 5"


async def test_cancel_a_published_conference_and_its_stale_panel(fake, running):
    ids = await world(fake, running)
    meeting_id = await conference(running, ORGANIZER, district_id=ids["district"])
    await all_sent(running)
    organizer = fake.user(ORGANIZER)
    panel = await open_panel(organizer, meeting_id)
    await organizer.click("🚫 Отменить мероприятие", panel.message_id)
    await organizer.say("Зал закрыт на ремонт")
    assert "Все приглашённые (2 человека)" in organizer.last.text
    replies = await organizer.click("🚫 Да, отменить")
    assert any("извещение отправлено 2 адресатам" in m.text for m in replies)
    await all_sent(running)
    assert "Зал закрыт на ремонт" in [m for m in fake.chat(HEAD) if m.from_bot][-1].text
    calendar, event = event_of(fake, HEAD)
    assert str(calendar["method"]) == "CANCEL" and str(event["status"]) == "CANCELLED"

    # The old panel is stale now: a press says why and changes nothing.
    before = await snapshot(running)
    await organizer.click("🕒 Перенести", panel.message_id)
    assert "отменено" in organizer.callback_answers[-1].text
    assert await snapshot(running) == before
    card = (await organizer.say(f"/meeting_{meeting_id}"))[-1]
    assert "Отменено" in card.text and "Зал закрыт на ремонт" in card.text


async def test_a_draft_cancelled_without_a_reason_tells_nobody(fake, running):
    ids = await world(fake, running)
    meeting_id = await draft_conference(running, local(9, 10), ids["district"])
    organizer = fake.user(ORGANIZER)
    panel = await open_panel(organizer, meeting_id)
    await organizer.click("🚫 Отменить мероприятие", panel.message_id)
    await organizer.click("Без причины")
    assert "Никого извещать не нужно" in organizer.last.text
    await organizer.click("🚫 Да, отменить")
    assert (await meeting(running, meeting_id)).status == MeetingStatus.CANCELLED
    await running.delivered()
    assert chat_text(fake, COUNCILLOR) == ""


async def test_the_decision_put_to_the_council(fake, running):
    ids = await world(fake, running)
    meeting_id = await draft_conference(running, local(30, 12), ids["district"])
    organizer = fake.user(ORGANIZER)
    panel = await open_panel(organizer, meeting_id)
    replies = await organizer.click("🗳 Вынести на совет", panel.message_id)
    async with running.sessionmaker() as session:
        [vote] = list(await session.scalars(select(Vote)))
    assert vote.subject_type == "conference" and vote.subject_id == meeting_id
    assert vote.status == VoteStatus.DRAFT and "«Ежегодная конференция»" in vote.question
    assert "Центральный" in vote.question and vote.addressee == "Конференция Ассамблеи"
    assert timedelta(days=2) < vote.closes_at - utcnow() <= timedelta(days=3)
    assert any(f"голосование совета №{vote.id}" in m.text for m in replies)
    labels = organizer.button_texts(organizer.message(panel.message_id))
    assert f"🗳 Голосование №{vote.id}" in labels and "🗳 Вынести на совет" not in labels
    # A second press (an old button) puts nothing twice.
    data = CDConvene(action="council", id=meeting_id).pack()
    await organizer.click_data(panel.message_id, data)
    assert f"уже идёт: №{vote.id}" in organizer.callback_answers[-1].text
    replies = await organizer.click(f"🗳 Голосование №{vote.id}", panel.message_id)
    assert any(f"№{vote.id}" in m.text for m in replies)
    card = (await organizer.say(f"/meeting_{meeting_id}"))[-1]
    assert f"совет голосует, №{vote.id}" in card.text


ACTIONS = (
    *("pub", "pub!", "dec", "council", "move", "place", "cnl", "cnl!", "chg!", "agenda", "add"),
    *("files", "rm", "guests", "guest", "g", "ung", "spk", "skip", "done", "abort", "back"),
    "nores",
)


async def test_forged_presses_of_strangers_are_refused(fake, running):
    ids = await world(fake, running)
    chair = await register(running, CHAIR, "Председатель комитета")
    await committee(running, "Комитет по культуре", "Культура", chair)
    draft_id = await draft_conference(running, local(9, 10), ids["district"])
    published_id = await conference(running, ORGANIZER, district_id=ids["district"])
    await all_sent(running)
    before = await snapshot(running)
    for telegram_id in (STRANGER, CHAIR):
        person = fake.user(telegram_id)
        anchor = (await person.say("/help"))[0]
        replies = await person.say(f"/meeting_{draft_id}")
        assert "нет прав" in replies[0].text
        # Every action on the draft; on the published one what would tell people.
        presses = [CDMeetingPanel(id=draft_id, panel="edit").pack()]
        presses += [
            CDConvene(action=action, id=draft_id, item=ids["stranger"]).pack() for action in ACTIONS
        ]
        presses.append(CDMeetingPanel(id=published_id, panel="edit").pack())
        presses += [
            CDConvene(action=action, id=published_id, item=ids["stranger"]).pack()
            for action in ("pub!", "chg!", "cnl!", "g")
        ]
        seen = len(person.callback_answers)
        for data in presses:
            last = await person.press_data(anchor.message_id, data)
        await fake.wait_processed(last)
        answers = person.callback_answers[seen:]
        assert len(answers) == len(presses)
        wrong = [a.data for a in answers if not (a.show_alert and "нет прав" in (a.text or ""))]
        assert wrong == []
    assert await snapshot(running) == before
    assert (await meeting(running, draft_id)).status == MeetingStatus.DRAFT
