"""Agenda proposals through the real Dispatcher and the fake Telegram: invited council members
propose items before the deadline (one offering to speak), the organizer accepts one (it goes
to the end of the agenda) and declines the other with a reason, and each proposer is told;
after the deadline, or when proposals were never opened, a proposal is refused with why; a
person's pending proposals are limited; a stranger's forged presses change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import dates
from bot.keyboards.meetings import PANEL_AGENDA, CDMeetingPanel
from bot.keyboards.meetings_minutes import CDAgenda
from bot.services import users
from bot.services.errors import InvalidInput
from bot.services.meetings import agenda, core
from models.base import utcnow
from models.meetings import AgendaItem, AgendaStatus, Meeting
from tests.meetings_support import TZ, conference, council_member, presidium
from tests.support import register
from tests.test_trust import snapshot

ORGANIZER, FIRST, SECOND, STRANGER = 7700, 7701, 7702, 7705


async def world(fake, running, *, deadline_in: timedelta | None = timedelta(days=5)) -> int:
    """A published conference with the council invited; proposals open until `deadline_in`."""
    for telegram_id in (ORGANIZER, FIRST, SECOND, STRANGER):
        fake.user(telegram_id)
    await presidium(running, ORGANIZER, "Председатель Президиума")
    await council_member(running, FIRST, "Анна Первая")
    await council_member(running, SECOND, "Борис Второй")
    await register(running, STRANGER, "Посторонний")
    meeting_id = await conference(running, ORGANIZER)
    if deadline_in is not None:
        async with running.sessionmaker.begin() as session:
            organizer = await users.get_user(session, ORGANIZER)
            await core.edit(session, organizer, meeting_id, agenda_deadline=utcnow() + deadline_in)
    await running.delivered()
    return meeting_id


async def open_agenda(person, meeting_id: int):
    anchor = (await person.say("/help"))[0]
    data = CDMeetingPanel(id=meeting_id, panel=PANEL_AGENDA).pack()
    replies = await person.click_data(anchor.message_id, data)
    panels = [m for m in replies if "Повестка:" in m.text]
    assert panels, [m.text for m in replies] or person.callback_answers[-1].text
    return panels[-1]


async def items(running, meeting_id: int) -> list[AgendaItem]:
    async with running.sessionmaker() as session:
        rows = await session.scalars(
            select(AgendaItem).where(AgendaItem.meeting_id == meeting_id).order_by(AgendaItem.id)
        )
        return list(rows)


def texts(person) -> str:
    return "\n".join(m.text or "" for m in person.bot_messages)


async def test_invitees_propose_items_before_the_deadline(fake, running):
    meeting_id = await world(fake, running)
    first, second, organizer = fake.user(FIRST), fake.user(SECOND), fake.user(ORGANIZER)

    panel = await open_agenda(first, meeting_id)
    assert "1. Отчёт совета за год" in panel.text
    assert "могут предложить пункт до" in panel.text
    await first.click("➕ Предложить пункт", panel.message_id)
    await first.say_photo()  # a photo where the title is expected: asked again
    assert "ответьте текстом" in first.last.text
    await first.say("Я" * 5000)
    assert "не длиннее 300" in first.last.text
    await first.say("Ремонт <b>дорог</b> на ул. Ленина")
    assert "Будете выступать" in first.last.text
    await first.say("да")  # typed where a button is expected
    assert "кнопкой" in first.last.text
    await first.click("🎤 Да, выступлю сам(а)")
    assert "отправлено организатору" in first.last.text

    panel = await open_agenda(second, meeting_id)
    await second.click("➕ Предложить пункт", panel.message_id)
    await second.say("Платные парковки")
    await second.click("Нет, только пункт")
    # Pressed again on the old message: the dialog is over, nothing doubles.
    asked = next(m for m in second.bot_messages if "Будете выступать" in m.text)
    await second.click_data(asked.message_id, CDAgenda(action="nospeak", id=meeting_id).pack())
    assert second.callback_answers[-1].show_alert
    proposed = [item for item in await items(running, meeting_id) if item.proposed_by_id]
    assert [(i.title, i.status, i.speaker_id is not None) for i in proposed][-2:] == [
        ("Ремонт <b>дорог</b> на ул. Ленина", AgendaStatus.PROPOSED, True),
        ("Платные парковки", AgendaStatus.PROPOSED, False),
    ]
    # A proposer sees their own proposals, not the others'.
    mine = (await open_agenda(first, meeting_id)).text
    assert "⏳ «Ремонт <b>дорог</b> на ул. Ленина»" in mine and "Платные парковки" not in mine
    # The organizer is told of each.
    await running.delivered()
    assert texts(organizer).count("Новое предложение в повестку") == 2


async def test_the_organizer_accepts_one_and_declines_another_proposers_told(fake, running):
    meeting_id = await world(fake, running)
    first, second, organizer = fake.user(FIRST), fake.user(SECOND), fake.user(ORGANIZER)
    async with running.sessionmaker.begin() as session:
        for telegram_id, title, speak in (
            (FIRST, "Ремонт <b>дорог</b> на ул. Ленина", True),
            (SECOND, "Платные парковки", False),
        ):
            person = await users.get_user(session, telegram_id)
            await agenda.propose(session, person, meeting_id, title, speak=speak)

    panel = await open_agenda(organizer, meeting_id)
    assert "Ждут решения 2 предложения" in panel.text
    assert "выступит сам(а)" in panel.text
    accept = next(b for b in organizer.button_texts(panel) if b.startswith("✅ П1"))
    await organizer.click(accept, panel.message_id)
    panel = organizer.message(panel.message_id)
    assert "2. Ремонт <b>дорог</b> на ул. Ленина — докладчик: Анна Первая" in panel.text
    await organizer.click("✖ Отклонить П1", panel.message_id)
    await organizer.say("Вопрос не в ведении конференции")
    assert "отклонено, автору сообщено" in organizer.bot_messages[-2].text

    rows = {item.title: item for item in await items(running, meeting_id)}
    roads = rows["Ремонт <b>дорог</b> на ул. Ленина"]
    assert roads.status == AgendaStatus.ACCEPTED and roads.position == 2
    parking = rows["Платные парковки"]
    assert parking.status == AgendaStatus.DECLINED
    assert parking.decline_reason == "Вопрос не в ведении конференции"

    # Accepting the same proposal again (an old button) changes nothing.
    anchor = (await organizer.say("/help"))[0]
    await organizer.click_data(
        anchor.message_id, CDAgenda(action="accept", id=meeting_id, item=roads.id).pack()
    )
    assert "уже принято" in organizer.callback_answers[-1].text

    await running.delivered()
    assert "включено в повестку" in texts(first)
    assert "отклонено" in texts(second) and "Вопрос не в ведении конференции" in texts(second)
    assert "✖ «Платные парковки» — отклонено" in (await open_agenda(second, meeting_id)).text


async def test_after_the_deadline_or_without_one_a_proposal_is_refused(fake, running):
    meeting_id = await world(fake, running)
    first = fake.user(FIRST)
    panel = await open_agenda(first, meeting_id)
    async with running.sessionmaker.begin() as session:
        meeting = await session.get(Meeting, meeting_id)
        assert meeting is not None
        meeting.agenda_deadline = utcnow() - timedelta(hours=1)
        shown = meeting.agenda_deadline
    await first.click("➕ Предложить пункт", panel.message_id)
    refusal = first.callback_answers[-1]
    assert refusal.show_alert and "Срок предложений в повестку истёк" in refusal.text
    assert dates.format_datetime(shown, "ru", TZ) in refusal.text
    panel = await open_agenda(first, meeting_id)
    assert "➕ Предложить пункт" not in first.button_texts(panel)
    assert "не принимаются" in panel.text

    # Proposals never opened (no deadline set): refused, saying so.
    closed = await conference(running, ORGANIZER, title="Внеочередная конференция")
    anchor = (await first.say("/help"))[0]
    await first.click_data(anchor.message_id, CDAgenda(action="propose", id=closed).pack())
    assert "не открыл приём" in first.callback_answers[-1].text
    assert not [i for i in await items(running, closed) if i.status == AgendaStatus.PROPOSED]


async def test_pending_proposals_of_one_person_are_limited(fake, running):
    meeting_id = await world(fake, running)
    async with running.sessionmaker.begin() as session:
        person = await users.get_user(session, FIRST)
        for index in range(agenda.PENDING_MAX):
            await agenda.propose(session, person, meeting_id, f"Пункт {index}", speak=False)
        with pytest.raises(InvalidInput) as refused:
            await agenda.propose(session, person, meeting_id, "Ещё один", speak=False)
        assert refused.value.key == "meetings-agenda-too-many"
        found = await agenda.view(session, person, meeting_id)
        assert not found.may_propose and len(found.mine) == agenda.PENDING_MAX


async def test_a_strangers_forged_presses_are_refused(fake, running):
    meeting_id = await world(fake, running)
    async with running.sessionmaker.begin() as session:
        person = await users.get_user(session, FIRST)
        item = await agenda.propose(session, person, meeting_id, "Пункт", speak=True)
        item_id = item.id
    await running.delivered()
    stranger, first = fake.user(STRANGER), fake.user(FIRST)
    anchor = (await stranger.say("/help"))[0]
    own = (await first.say("/help"))[0]
    before = await snapshot(running)
    forged = [CDMeetingPanel(id=meeting_id, panel=PANEL_AGENDA).pack()]
    forged += [
        CDAgenda(action=action, id=meeting_id, item=item_id).pack()
        for action in ("show", "propose", "speak", "nospeak", "accept", "decline", "cancel")
    ]
    for data in forged:
        await stranger.click_data(anchor.message_id, data)
        assert stranger.callback_answers[-1].show_alert, data
    # An invitee is not the organizer: accepting or declining is refused too.
    for action in ("accept", "decline"):
        data = CDAgenda(action=action, id=meeting_id, item=item_id).pack()
        await first.click_data(own.message_id, data)
        assert "нет прав" in first.callback_answers[-1].text
    assert await snapshot(running) == before
