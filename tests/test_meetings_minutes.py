"""Attendance and minutes through the real Dispatcher and the fake Telegram: "I'm here" during
the meeting and refused outside its window; the secretary marks those who answered "I'll come"
and toggles people; decisions recorded and removed; the minutes published as text (long, in
several messages) and as a document, every invitee notified, the meeting minuted and its
minutes read by everyone; a decision becomes the next recommendation in the registry, once,
and its card says which meeting decided it; a stranger's forged presses change nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import dates
from bot.keyboards.meetings import (
    PANEL_ATTENDANCE,
    PANEL_MINUTES,
    CDMeetingHere,
    CDMeetingPanel,
    visible_panels,
)
from bot.keyboards.meetings_minutes import CDAttendance, CDMinutes
from bot.services.meetings.access import Viewer
from models import Recommendation
from models.base import utcnow
from models.meetings import Answer, Meeting, MeetingDecision, MeetingInvitee, MeetingStatus
from tests.meetings_support import TZ, conference, council_member, presidium
from tests.support import make_secretary, register
from tests.test_trust import snapshot

ORGANIZER, ANNA, BORIS, VERA, SECRETARY, STRANGER = 7800, 7801, 7802, 7803, 7804, 7805


async def world(fake, running, *, started: bool = True) -> dict[str, int]:
    """A published conference with three council members invited (two answered "I'll come",
    one "I can't"), a secretary of the Secretariat and a stranger; the meeting is under way
    unless `started` is False."""
    for telegram_id in (ORGANIZER, ANNA, BORIS, VERA, SECRETARY, STRANGER):
        fake.user(telegram_id)
    ids = {"organizer": await presidium(running, ORGANIZER, "Председатель Президиума")}
    ids["anna"] = await council_member(running, ANNA, "Анна")
    ids["boris"] = await council_member(running, BORIS, "Борис")
    ids["vera"] = await council_member(running, VERA, "Вера")
    ids["secretary"] = await make_secretary(running, SECRETARY, "Секретарь")
    ids["stranger"] = await register(running, STRANGER, "Посторонний")
    ids["meeting"] = await conference(running, ORGANIZER)
    answers = {ids["anna"]: Answer.YES, ids["boris"]: Answer.YES, ids["vera"]: Answer.NO}
    async with running.sessionmaker.begin() as session:
        for row in await session.scalars(
            select(MeetingInvitee).where(MeetingInvitee.meeting_id == ids["meeting"])
        ):
            row.answer = answers[row.user_id]
        if started:
            await _under_way(session, ids["meeting"])
    await running.delivered()
    return ids


async def _under_way(session, meeting_id: int) -> None:
    meeting = await session.get(Meeting, meeting_id)
    meeting.starts_at = utcnow() - timedelta(hours=1)
    meeting.ends_at = utcnow() + timedelta(hours=2)


async def open_panel(person, meeting_id: int, panel: str, marker: str):
    anchor = (await person.say("/help"))[0]
    data = CDMeetingPanel(id=meeting_id, panel=panel).pack()
    replies = await person.click_data(anchor.message_id, data)
    found = [m for m in replies if marker in m.text]
    assert found, [m.text for m in replies] or person.callback_answers[-1].text
    return found[-1]


async def invitees(running, meeting_id: int) -> dict[int, MeetingInvitee]:
    async with running.sessionmaker() as session:
        rows = await session.scalars(
            select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting_id)
        )
        return {row.user_id: row for row in rows}


async def meeting_of(running, meeting_id: int) -> Meeting:
    async with running.sessionmaker() as session:
        found = await session.get(Meeting, meeting_id)
        assert found is not None
        return found


def texts(person) -> str:
    return "\n".join(m.text or "" for m in person.bot_messages)


async def test_im_here_only_during_the_meeting(fake, running):
    ids = await world(fake, running, started=False)
    meeting_id = ids["meeting"]
    anna = fake.user(ANNA)
    anchor = (await anna.say("/help"))[0]
    await anna.click_data(anchor.message_id, CDMeetingHere(id=meeting_id).pack())
    refusal = anna.callback_answers[-1]
    meeting = await meeting_of(running, meeting_id)
    assert refusal.show_alert and "только во время мероприятия" in refusal.text
    assert dates.format_datetime(meeting.starts_at, "ru", TZ) in refusal.text
    assert not (await invitees(running, meeting_id))[ids["anna"]].present

    async with running.sessionmaker.begin() as session:
        await _under_way(session, meeting_id)
    await anna.click_data(anchor.message_id, CDMeetingHere(id=meeting_id).pack())
    assert anna.callback_answers[-1].text == "Вы отмечены как присутствующий(ая)"
    await anna.click_data(anchor.message_id, CDMeetingHere(id=meeting_id).pack())
    assert "уже отмечены" in anna.callback_answers[-1].text
    row = (await invitees(running, meeting_id))[ids["anna"]]
    assert row.present and row.present_source == "self" and row.present_at is not None

    # Someone not invited cannot register.
    stranger = fake.user(STRANGER)
    anchor = (await stranger.say("/help"))[0]
    await stranger.click_data(anchor.message_id, CDMeetingHere(id=meeting_id).pack())
    assert "нет прав" in stranger.callback_answers[-1].text
    assert ids["stranger"] not in await invitees(running, meeting_id)


async def test_the_secretary_marks_from_the_answers_and_toggles(fake, running):
    ids = await world(fake, running)
    meeting_id = ids["meeting"]
    anna = fake.user(ANNA)
    anchor = (await anna.say("/help"))[0]
    await anna.click_data(anchor.message_id, CDMeetingHere(id=meeting_id).pack())

    secretary = fake.user(SECRETARY)
    panel = await open_panel(secretary, meeting_id, PANEL_ATTENDANCE, "Регистрация")
    assert "Присутствуют 1 из 3 приглашённых." in panel.text
    assert "✅ Анна — отметился(ась) сам(а)" in panel.text
    assert "▫️ Вера — ответ: не смогу" in panel.text
    await secretary.click("☑️ Отметить всех, кто ответил «Приду»", panel.message_id)
    assert secretary.callback_answers[-1].text == "Отмечен 1 человек"
    rows = await invitees(running, meeting_id)
    assert rows[ids["boris"]].present and rows[ids["boris"]].present_source == "secretary"
    assert rows[ids["anna"]].present_source == "self"  # kept as she registered herself
    assert not rows[ids["vera"]].present

    await secretary.click("▫️ Вера", panel.message_id)
    await secretary.click("✅ Анна", panel.message_id)
    panel = secretary.message(panel.message_id)
    assert "Присутствуют 2 из 3 приглашённых." in panel.text
    rows = await invitees(running, meeting_id)
    assert rows[ids["vera"]].present and rows[ids["vera"]].present_source == "secretary"
    assert not rows[ids["anna"]].present and rows[ids["anna"]].present_source is None


async def test_the_secretary_records_and_removes_decisions(fake, running):
    ids = await world(fake, running)
    meeting_id = ids["meeting"]
    secretary = fake.user(SECRETARY)
    panel = await open_panel(secretary, meeting_id, PANEL_MINUTES, "Протокол:")
    assert "Решения не записаны" in panel.text
    await secretary.click("➕ Решение", panel.message_id)
    await secretary.say_photo()
    assert "ответьте текстом" in secretary.last.text
    await secretary.say("Я" * 5000)
    assert "не длиннее 3000" in secretary.last.text
    await secretary.say("Рекомендовать администрации отремонтировать дорогу на ул. Ленина")
    panel = await open_panel(secretary, meeting_id, PANEL_MINUTES, "Протокол:")
    await secretary.click("➕ Решение", panel.message_id)
    await secretary.say("Провести субботник")
    panel = secretary.last
    assert "Принято 2 решения" in panel.text
    await secretary.click("🗑 2. Провести субботник", panel.message_id)
    assert "Принято 1 решение" in secretary.message(panel.message_id).text
    async with running.sessionmaker() as session:
        texts_kept = list(
            await session.scalars(
                select(MeetingDecision.text).where(MeetingDecision.meeting_id == meeting_id)
            )
        )
    assert texts_kept == ["Рекомендовать администрации отремонтировать дорогу на ул. Ленина"]


async def test_minutes_as_text_reach_every_invitee_and_everyone_reads_them(fake, running):
    ids = await world(fake, running)
    meeting_id = ids["meeting"]
    async with running.sessionmaker.begin() as session:
        session.add(
            MeetingDecision(
                meeting_id=meeting_id,
                position=1,
                text="Рекомендовать администрации отремонтировать дорогу на ул. Ленина",
            )
        )
    secretary = fake.user(SECRETARY)
    panel = await open_panel(secretary, meeting_id, PANEL_MINUTES, "Протокол:")
    await secretary.click("📤 Опубликовать протокол", panel.message_id)
    await secretary.say_photo()
    assert "текстом или документом" in secretary.last.text
    # A long text arrives in parts (Telegram cuts it); they are joined.
    first_part, second_part = "Слушали: " + "а" * 2400, "Постановили: " + "б" * 2400
    await secretary.say(first_part)
    await secretary.say(second_part)
    joined = f"{first_part}\n{second_part}"
    assert f"текст — {len(joined)} из 20000" in secretary.last.text
    await secretary.click("✅ Опубликовать и разослать")
    assert "опубликован" in secretary.last.text

    meeting = await meeting_of(running, meeting_id)
    assert meeting.status == MeetingStatus.MINUTED
    assert meeting.minutes_text == joined and meeting.minutes_by_id == ids["secretary"]
    await running.delivered()
    for telegram_id in (ANNA, BORIS, VERA):
        person = fake.user(telegram_id)
        got = texts(person)
        assert "Протокол: Конференция" in got, telegram_id
        assert "1. Рекомендовать администрации" in got
        # Longer than one message: the delivery engine split it.
        assert "б" * 2400 in got and "а" * 2400 in got
    assert "Протокол: Конференция" not in texts(fake.user(STRANGER))


async def test_published_minutes_are_read_by_everyone_and_edited_by_nobody(fake, running):
    ids = await world(fake, running)
    meeting_id = ids["meeting"]
    long_text = "Слушали: " + "а" * 3990 + "\nПостановили: " + "б" * 3000
    async with running.sessionmaker.begin() as session:
        meeting = await session.get(Meeting, meeting_id)
        meeting.status = MeetingStatus.MINUTED
        meeting.minutes_text = long_text
        meeting.minutes_at = utcnow()
        meeting.minutes_by_id = ids["secretary"]
        session.add(MeetingDecision(meeting_id=meeting_id, position=1, text="Провести субботник"))
    meeting = await meeting_of(running, meeting_id)
    assert PANEL_MINUTES in visible_panels(meeting, Viewer())
    assert PANEL_MINUTES in visible_panels(meeting, Viewer(secretary=True))

    # A conference is public: anyone registered reads its minutes, invited or not.
    stranger = fake.user(STRANGER)
    panel = await open_panel(stranger, meeting_id, PANEL_MINUTES, "Протокол:")
    assert "Опубликован" in panel.text and "Секретарь" in panel.text
    assert "1. Провести субботник" in panel.text and "Слушали: ааа" in panel.text
    assert "➕ Решение" not in stranger.button_texts(panel)
    shown = await stranger.click("📄 Полный текст", panel.message_id)
    assert len(shown) >= 2 and "б" * 3000 in "".join(m.text for m in shown)
    assert all(len(m.text) <= 4096 for m in shown)
    # The longest minutes would be a flood of messages: they come as one text file.
    async with running.sessionmaker.begin() as session:
        meeting = await session.get(Meeting, meeting_id)
        meeting.minutes_text = "Стенограмма <выступлений>\n" + "в" * 19_000
    shown = await stranger.click("📄 Полный текст", panel.message_id)
    files = [m for m in shown if m.document]
    assert [m.document["file_name"] for m in files] == [f"minutes-{meeting_id}.txt"]
    content = fake.file(files[0].document["file_id"]).content.decode()
    assert "Стенограмма <выступлений>" in content and "1. Провести субботник" in content

    # The card of a meeting held says who was there: to the one present, not to the absent.
    async with running.sessionmaker.begin() as session:
        row = (
            await session.scalars(
                select(MeetingInvitee).where(
                    MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.user_id == ids["anna"]
                )
            )
        ).one()
        row.present = True
    card = (await fake.user(ANNA).say(f"/meeting_{meeting_id}"))[-1]
    assert "отмечены среди присутствовавших" in card.text
    card = (await fake.user(VERA).say(f"/meeting_{meeting_id}"))[-1]
    assert "присутствовавших" not in card.text

    secretary = fake.user(SECRETARY)
    panel = await open_panel(secretary, meeting_id, PANEL_MINUTES, "Протокол:")
    assert "➕ Решение" not in secretary.button_texts(panel)
    anchor = (await secretary.say("/help"))[0]
    for action in ("add", "publish"):
        data = CDMinutes(action=action, id=meeting_id).pack()
        await secretary.click_data(anchor.message_id, data)
        assert "уже опубликован" in secretary.callback_answers[-1].text


async def test_minutes_as_a_document_and_before_the_start(fake, running):
    ids = await world(fake, running, started=False)
    meeting_id = ids["meeting"]
    organizer = fake.user(ORGANIZER)
    panel = await open_panel(organizer, meeting_id, PANEL_MINUTES, "Протокол:")
    assert "когда мероприятие начнётся" in panel.text
    assert "📤 Опубликовать протокол" not in organizer.button_texts(panel)
    anchor = (await organizer.say("/help"))[0]
    data = CDMinutes(action="publish", id=meeting_id).pack()
    await organizer.click_data(anchor.message_id, data)
    assert "с начала мероприятия" in organizer.callback_answers[-1].text

    async with running.sessionmaker.begin() as session:
        await _under_way(session, meeting_id)
    panel = await open_panel(organizer, meeting_id, PANEL_MINUTES, "Протокол:")
    asked = (await organizer.click("📤 Опубликовать протокол", panel.message_id))[-1]
    # Publishing before anything was sent (a forged or hurried press) publishes nothing.
    send = CDMinutes(action="send", id=meeting_id).pack()
    await organizer.click_data(asked.message_id, send)
    assert "Пришлите текст протокола или документ" in organizer.callback_answers[-1].text
    await organizer.say_document("protokol.pdf", b"%PDF-1.4 minutes")
    assert "документ — protokol.pdf" in organizer.last.text
    await organizer.click("✅ Опубликовать и разослать")

    meeting = await meeting_of(running, meeting_id)
    assert meeting.status == MeetingStatus.MINUTED and meeting.minutes_text is None
    assert meeting.minutes_file_id and meeting.minutes_file_name == "protokol.pdf"
    await running.delivered()
    for telegram_id in (ANNA, VERA):
        documents = [m for m in fake.user(telegram_id).bot_messages if m.document]
        assert documents[-1].document["file_name"] == "protokol.pdf", telegram_id
        assert "Протокол: Конференция" in documents[-1].text
    anna = fake.user(ANNA)
    panel = await open_panel(anna, meeting_id, PANEL_MINUTES, "Протокол:")
    shown = await anna.click("📎 Документ", panel.message_id)
    assert [m.document["file_name"] for m in shown if m.document] == ["protokol.pdf"]


async def test_a_decision_becomes_the_next_recommendation_once(fake, running):
    ids = await world(fake, running)
    meeting_id = ids["meeting"]
    async with running.sessionmaker.begin() as session:
        meeting = await session.get(Meeting, meeting_id)
        meeting.status = MeetingStatus.MINUTED
        meeting.minutes_text = "Протокол заседания"
        meeting.minutes_at = utcnow()
        decision = MeetingDecision(
            meeting_id=meeting_id,
            position=1,
            text="Рекомендовать администрации отремонтировать дорогу на ул. Ленина",
        )
        session.add(decision)
        # The registry already holds recommendation №7: the decision gets the next number.
        session.add(
            Recommendation(
                number=7, addressee="Совет депутатов", adopted_at=utcnow(), reply_due=utcnow()
            )
        )
        await session.flush()
        decision_id = decision.id

    # The Secretariat keeps the minutes but does not put decisions to the registry.
    secretary = fake.user(SECRETARY)
    panel = await open_panel(secretary, meeting_id, PANEL_MINUTES, "Протокол:")
    assert not [b for b in secretary.button_texts(panel) if b.startswith("📮")]
    anchor = (await secretary.say("/help"))[0]
    data = CDMinutes(action="recommend", id=meeting_id, item=decision_id).pack()
    await secretary.click_data(anchor.message_id, data)
    assert "нет прав" in secretary.callback_answers[-1].text

    organizer = fake.user(ORGANIZER)
    panel = await open_panel(organizer, meeting_id, PANEL_MINUTES, "Протокол:")
    button = next(b for b in organizer.button_texts(panel) if b.startswith("📮"))
    await organizer.click(button, panel.message_id)
    await organizer.say("Администрация г.о. Серпухов")
    assert "рекомендация №8" in organizer.last.text
    await organizer.click("📚 Открыть в реестре")
    card = organizer.last.text
    started = (await meeting_of(running, meeting_id)).starts_at
    assert "Рекомендация №8" in card and "Администрация г.о. Серпухов" in card
    assert f"Решение мероприятия: Конференция №{meeting_id} от " in card
    assert dates.format_date(started, "ru", TZ) in card
    assert "Как решили" not in card

    # Once per decision: the old button is refused, saying under which number it is.
    await organizer.click_data(anchor.message_id, data)
    assert "рекомендация №8" in organizer.callback_answers[-1].text
    registry = (await organizer.say("/recommendations"))[0]
    assert any(label.startswith("№8") for label in organizer.button_texts(registry))
    panel = await open_panel(organizer, meeting_id, PANEL_MINUTES, "Протокол:")
    assert "→ рекомендация №8 в реестре" in panel.text
    async with running.sessionmaker() as session:
        entered = await session.scalar(
            select(Recommendation).where(Recommendation.decision_id == decision_id)
        )
        assert entered is not None and entered.vote_id is None
        due = entered.reply_due - entered.adopted_at
        assert due == timedelta(days=30)


async def test_a_strangers_forged_presses_are_refused(fake, running):
    ids = await world(fake, running)
    meeting_id = ids["meeting"]
    async with running.sessionmaker.begin() as session:
        decision = MeetingDecision(meeting_id=meeting_id, position=1, text="Решение")
        session.add(decision)
        await session.flush()
        decision_id = decision.id
    stranger = fake.user(STRANGER)
    anchor = (await stranger.say("/help"))[0]
    before = await snapshot(running)
    forged = [
        CDMeetingPanel(id=meeting_id, panel=panel).pack()
        for panel in (PANEL_ATTENDANCE, PANEL_MINUTES)
    ]
    forged += [
        CDAttendance(action=action, id=meeting_id, item=ids["anna"]).pack()
        for action in ("page", "mark", "toggle")
    ]
    forged += [
        CDMinutes(action=action, id=meeting_id, item=decision_id).pack()
        for action in ("show", "add", "remove", "publish", "send", "cancel", "recommend", "text")
    ]
    for data in forged:
        await stranger.click_data(anchor.message_id, data)
        assert stranger.callback_answers[-1].show_alert, data
    assert await snapshot(running) == before
