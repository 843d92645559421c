"""/new_meeting through the real Dispatcher and the fake Telegram: the presidium convenes a
conference (the rotation's district proposed with the reason and accepted, or another chosen
from the list with when each last hosted), with bad answers refused on the way and a restart in
the middle; a committee chair calls a session of their committee and cannot create a
conference; a stranger is refused."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.keyboards.meetings_convene import CDNewMeeting
from models import Delivery, DeliveryStatus
from models.base import utcnow
from models.meetings import Meeting, MeetingKind, MeetingStatus
from tests.meetings_support import TZ, conference, council_member, presidium
from tests.projects_support import committee, district
from tests.support import eventually, register

PRESIDIUM, COUNCILLOR, CHAIR, MEMBER, STRANGER = 7400, 7401, 7402, 7403, 7404


def typed(days: int, hour: int = 18, minute: int = 0) -> tuple[str, datetime]:
    """A moment `days` ahead on the Assembly's clock, and how a person types it."""
    zone = ZoneInfo(TZ)
    day = (utcnow() + timedelta(days=days)).astimezone(zone).date()
    moment = datetime.combine(day, time(hour, minute), tzinfo=zone)
    return moment.strftime("%d.%m.%Y %H:%M"), moment


async def all_sent(running) -> None:
    """Every notice queued so far is sent, also those paced for later (a message a second to a
    chat): a conference's news reaches everyone, the organizer too, and must not land in the
    middle of what a test reads."""

    async def none_pending() -> bool:
        async with running.sessionmaker() as session:
            pending = await session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.status == DeliveryStatus.PENDING)
            )
            return not pending

    await eventually(none_pending)


def texts(messages) -> str:
    return "\n".join(m.text for m in messages)


async def meetings(running) -> list[Meeting]:
    async with running.sessionmaker() as session:
        return list(await session.scalars(select(Meeting).order_by(Meeting.id)))


async def test_the_presidium_convenes_a_conference_by_the_dialog(fake, running):
    first = await district(running, 1, "Центральный")
    second = await district(running, 2, "Северный")
    await district(running, 3, "Южный")
    await presidium(running, PRESIDIUM, "Председатель")
    await council_member(running, COUNCILLOR, "Член Совета")
    # Two districts hosted already: the third, never, is the rotation's turn.
    await conference(running, PRESIDIUM, district_id=first, starts_in=timedelta(days=3))
    await conference(running, PRESIDIUM, district_id=second, starts_in=timedelta(days=4))
    await all_sent(running)
    organizer = fake.user(PRESIDIUM)

    shown = texts(await organizer.say("/new_meeting"))
    assert "Что созываем" in shown
    await organizer.click("📣 Конференция Ассамблеи")
    assert "название" in organizer.last.text

    await organizer.say("Конференция <b>2027</b>")
    assert "ДД.ММ.ГГГГ ЧЧ:ММ" in organizer.last.text
    when_typed, starts_at = typed(20)
    await organizer.say(when_typed)
    assert "продлится" in organizer.last.text
    await organizer.click("2 ч")

    # The rotation proposes the district that never hosted, and says so.
    question = organizer.last
    assert "Южный" in question.text and "ни разу не принимал" in question.text
    assert "✅ Принять: Южный" in organizer.button_texts(question)
    await organizer.click("✅ Принять: Южный")
    assert "место" in organizer.last.text

    # The dialog survives a restart of the bot.
    await running.restart()
    await organizer.say("ДК «Октябрь», ул. Ленина, 1")
    assert "предлагать пункты повестки" in organizer.last.text
    deadline, _ = typed(15)
    await organizer.say(deadline.split()[0])
    assert "голосования" in organizer.last.text
    await organizer.click("🗳 Да")

    summary = organizer.last
    assert "Конференция <b>2027</b>" in summary.text and "Южный" in summary.text
    assert "18:00–20:00" in summary.text
    # A field fixed from the summary comes back to the summary.
    await organizer.click("✏️ Название", summary.message_id)
    await organizer.say("Ежегодная конференция 2027")
    summary = organizer.last
    assert "Ежегодная конференция 2027" in summary.text
    assert len(await meetings(running)) == 2  # nothing saved before the press

    replies = await organizer.click("💾 Сохранить черновик", summary.message_id)
    saved = (await meetings(running))[-1]
    assert saved.kind == MeetingKind.CONFERENCE and saved.status == MeetingStatus.DRAFT
    assert saved.title == "Ежегодная конференция 2027"
    assert saved.starts_at == starts_at and saved.ends_at == starts_at + timedelta(hours=2)
    assert saved.place == "ДК «Октябрь», ул. Ленина, 1" and saved.votes_planned
    assert saved.agenda_deadline is not None and saved.agenda_deadline < starts_at
    card = next(m for m in replies if f"№{saved.id}" in m.text and "Статус" in m.text)
    assert "Решения о созыве пока нет" in card.text
    assert "черновик" in card.text and "Южный" in card.text
    assert "✏️ Подготовка и изменения" in organizer.button_texts(card)
    # The summary's buttons are gone: pressing save again creates nothing.
    await organizer.click_data(summary.message_id, CDNewMeeting(field="save").pack())
    assert len(await meetings(running)) == 3


async def test_bad_answers_are_refused_and_the_step_kept(fake, running):
    await district(running, 1, "Центральный")
    await presidium(running, PRESIDIUM, "Председатель")
    organizer = fake.user(PRESIDIUM)
    await organizer.say("/new_meeting")
    await organizer.say("Конференция")  # typed where a button answers
    assert "кнопкой" in organizer.last.text
    await organizer.click("📣 Конференция Ассамблеи")
    # A photo, a voice, too long a title: each refused with what to do, the step kept.
    await organizer.say_photo()
    assert "ответьте текстом" in organizer.last.text
    await organizer.say_voice()
    assert "ответьте текстом" in organizer.last.text
    await organizer.say("Я" * 5000)
    assert "не длиннее 200 символов" in organizer.last.text
    await organizer.say("Конференция")
    await organizer.say("завтра вечером")
    assert "Не получилось прочитать" in organizer.last.text
    await organizer.say("01.01.2020 10:00")
    assert "уже прошло" in organizer.last.text
    await organizer.say(typed(20)[0])
    await organizer.say("2 часа")
    assert "кнопкой" in organizer.last.text
    await organizer.click("2 ч")
    await organizer.click("✅ Принять: Центральный")
    await organizer.say("Место " * 1000)
    assert "не длиннее 300 символов" in organizer.last.text
    await organizer.say("Зал")
    await organizer.say(typed(25)[0].split()[0])  # after the start
    assert "раньше начала" in organizer.last.text
    await organizer.say("31.02.2030")
    assert "Не получилось прочитать дату" in organizer.last.text
    await organizer.say_sticker()
    assert "ответьте текстом" in organizer.last.text
    # Cancel leaves the dialog, nothing kept; its old buttons are stale.
    await organizer.click("✖️ Отмена")
    assert "ничего не сохранено" in organizer.last.text
    await organizer.click("✖️ Отмена")  # an earlier question's
    assert "больше не действует" in organizer.callback_answers[-1].text
    assert await meetings(running) == []


async def test_choose_another_district_lists_when_each_hosted(fake, running):
    first = await district(running, 1, "Центральный")
    await district(running, 2, "Северный")
    await presidium(running, PRESIDIUM, "Председатель")
    await council_member(running, COUNCILLOR, "Член Совета")
    await conference(running, PRESIDIUM, district_id=first, starts_in=timedelta(days=3))
    await all_sent(running)
    organizer = fake.user(PRESIDIUM)
    await organizer.say("/new_meeting")
    await organizer.click("📣 Конференция Ассамблеи")
    await organizer.say("Внеочередная конференция")
    await organizer.say(typed(30)[0])
    await organizer.click("3 ч ✓")
    assert "Северный" in organizer.last.text
    question = organizer.last
    await organizer.click("🗺 Выбрать другой округ", question.message_id)
    labels = organizer.button_texts(organizer.message(question.message_id))
    hosted = (utcnow() + timedelta(days=3)).astimezone(ZoneInfo(TZ)).strftime("%d.%m.%Y")
    assert f"№1 Центральный · {hosted}" in labels
    assert "№2 Северный · ещё не принимал" in labels
    await organizer.click(f"№1 Центральный · {hosted}", question.message_id)
    await organizer.say("Зал администрации")
    await organizer.click("🚫 Без предложений")
    await organizer.click("Нет")
    assert "Центральный" in organizer.last.text and "не принимаются" in organizer.last.text
    await organizer.click("💾 Сохранить черновик")
    saved = (await meetings(running))[-1]
    assert saved.district_id == first and saved.agenda_deadline is None
    assert saved.ends_at - saved.starts_at == timedelta(hours=3)


async def test_a_committee_chair_calls_a_session_but_no_conference(fake, running):
    chair = await register(running, CHAIR, "Председатель комитета")
    member = await register(running, MEMBER, "Член комитета")
    body = await committee(running, "Комитет по культуре", "Культура", chair, member)
    await district(running, 1, "Центральный")
    person = fake.user(CHAIR)

    shown = (await person.say("/new_meeting"))[-1]
    labels = person.button_texts(shown)
    assert "📣 Конференция Ассамблеи" not in labels
    assert any("Комитет по культуре" in label for label in labels)
    # A forged "conference" press is refused and changes nothing.
    await person.click_data(shown.message_id, CDNewMeeting(field="kind", value=0).pack())
    assert "нет прав" in person.callback_answers[-1].text
    await person.click_data(shown.message_id, CDNewMeeting(field="kind", value=body).pack())
    await person.say("Заседание комитета")
    await person.say(typed(7, 17, 30)[0])
    await person.click("1 ч")
    assert "Без округа" in person.button_texts()
    await person.click("Без округа")
    await person.say("Библиотека, зал 2")
    await person.click("🚫 Без предложений")
    await person.click("Нет")
    assert "Комитет по культуре" in person.last.text
    await person.click("💾 Сохранить черновик")
    [saved] = await meetings(running)
    assert saved.kind == MeetingKind.SESSION and saved.body_id == body
    assert saved.district_id is None and not saved.votes_planned
    async with running.sessionmaker() as session:
        conferences = await session.scalar(
            select(func.count()).select_from(Meeting).where(Meeting.kind == "conference")
        )
    assert conferences == 0


async def test_someone_who_organizes_nothing_cannot_start(fake, running):
    await register(running, STRANGER, "Посторонний")
    replies = await fake.user(STRANGER).say("/new_meeting")
    assert "нет прав" in replies[0].text
    assert await meetings(running) == []
