"""Answers, delegates and the organizers' overview through the real Dispatcher and the fake
Telegram: invitees answer a conference's notice (and change their answer), a stranger's forged
press and an answer after the cancellation are refused; an organization's head names a colleague
as its delegate (the colleague is invited, the head told); the organizer reads the answers by
person and by organization, who is silent, and the quorum forecast."""

from __future__ import annotations

from sqlalchemy import select

from bot.keyboards.meetings import PANEL_ANSWERS, PANEL_DELEGATES, CDMeetingAnswer, CDMeetingPanel
from bot.keyboards.meetings_answers import CDAnswers, CDDelegates
from bot.services import organizations, users
from bot.services.meetings import core, forecast
from models.meetings import Answer, InviteReason, MeetingDelegate, MeetingInvitee
from tests.meetings_support import TZ, conference, council_member, presidium
from tests.projects_support import district, member_organization
from tests.support import make_secretary, register

ORGANIZER, COUNCILLOR, HEAD_A, HEAD_B, STRANGER, COLLEAGUE, SECRETARY, HEAD_C = (
    7600,
    7601,
    7602,
    7603,
    7604,
    7605,
    7606,
    7607,
)


async def co_representative(running, organization_id: int, head_tg: int, tg: int, name: str):
    """A colleague who joined the organization by its head's invitation link."""
    user_id = await register(running, tg, name)
    async with running.sessionmaker.begin() as session:
        head = await users.get_user(session, head_tg)
        invite = await organizations.create_invite(session, head, organization_id)
        colleague = await users.get_user(session, tg)
        await organizations.accept_invite(session, colleague, invite.token)
    return user_id


async def world(fake, running) -> dict[str, int]:
    for tg in (ORGANIZER, COUNCILLOR, HEAD_A, HEAD_B, STRANGER, COLLEAGUE, SECRETARY, HEAD_C):
        fake.user(tg)
    ids = {"d": await district(running, 1, "Центральный")}
    await presidium(running, ORGANIZER, "Председатель Президиума")
    ids["councillor"] = await council_member(running, COUNCILLOR, "Член Совета")
    ids["org_a"], ids["head_a"] = await member_organization(
        running, HEAD_A, "Глава А", "Организация А", ids["d"]
    )
    ids["org_b"], ids["head_b"] = await member_organization(
        running, HEAD_B, "Глава Б", "Организация Б", ids["d"]
    )
    ids["org_c"], ids["head_c"] = await member_organization(
        running, HEAD_C, "Глава В", "Организация В", None
    )
    ids["colleague"] = await co_representative(
        running, ids["org_a"], HEAD_A, COLLEAGUE, "Коллега А"
    )
    ids["stranger"] = await register(running, STRANGER, "Посторонний")
    ids["secretary"] = await make_secretary(running, SECRETARY, "Секретарь")
    return ids


def notice_of(person):
    """The latest message with the answer buttons in the person's chat."""
    found = [m for m in person.bot_messages if "✅ Приду" in person.button_texts(m)]
    assert found, f"no notice with answer buttons for {person.id}"
    return found[-1]


async def answer_of(running, meeting_id: int, user_id: int) -> Answer | None:
    async with running.sessionmaker() as session:
        row = await session.scalar(
            select(MeetingInvitee).where(
                MeetingInvitee.meeting_id == meeting_id, MeetingInvitee.user_id == user_id
            )
        )
        return row.answer if row is not None else None


async def test_invitees_answer_and_change_strangers_and_late_answers_are_refused(fake, running):
    ids = await world(fake, running)
    meeting_id = await conference(running, ORGANIZER, district_id=ids["d"])
    await running.delivered()
    councillor, head_a, stranger = fake.user(COUNCILLOR), fake.user(HEAD_A), fake.user(STRANGER)

    notice = notice_of(councillor)
    shown = await councillor.click("✅ Приду", notice.message_id)
    assert councillor.callback_answers[-1].text == "Записано: ✅ Приду"
    assert not councillor.callback_answers[-1].show_alert
    assert "• ✅ Приду •" in councillor.button_texts(shown[0])
    assert await answer_of(running, meeting_id, ids["councillor"]) == Answer.YES
    async with running.sessionmaker() as session:
        first = await session.scalar(
            select(MeetingInvitee.answered_at).where(MeetingInvitee.user_id == ids["councillor"])
        )
    assert first is not None

    # The same answer again is harmless: the same toast, nothing changes.
    await councillor.click("• ✅ Приду •", notice.message_id)
    assert councillor.callback_answers[-1].text == "Записано: ✅ Приду"
    # A change of mind moves the mark.
    await councillor.click("❌ Не смогу", notice.message_id)
    assert await answer_of(running, meeting_id, ids["councillor"]) == Answer.NO
    labels = councillor.button_texts(councillor.message(notice.message_id))
    assert "• ❌ Не смогу •" in labels and "✅ Приду" in labels
    assert "📅 Карточка" in labels  # the rest of the keyboard stays

    await head_a.click("🤔 Возможно", notice_of(head_a).message_id)
    assert await answer_of(running, meeting_id, ids["head_a"]) == Answer.MAYBE

    # A stranger forges the press: refused, and no answer appears for them.
    anchor = (await stranger.say("/help"))[0]
    forged = CDMeetingAnswer(id=meeting_id, answer="yes").pack()
    await stranger.click_data(anchor.message_id, forged)
    assert stranger.callback_answers[-1].show_alert
    assert "только приглашённые" in stranger.callback_answers[-1].text
    assert await answer_of(running, meeting_id, ids["stranger"]) is None
    # "none" is no answer one can give.
    await head_a.click_data(notice_of(head_a).message_id, f"mta:{meeting_id}:none")
    assert head_a.callback_answers[-1].show_alert
    assert await answer_of(running, meeting_id, ids["head_a"]) == Answer.MAYBE

    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, ORGANIZER)
        await core.cancel(session, organizer, meeting_id, timezone=TZ, reason="Зал закрыт")
    await councillor.click("✅ Приду", notice.message_id)
    assert councillor.callback_answers[-1].show_alert
    assert "отменено" in councillor.callback_answers[-1].text
    assert await answer_of(running, meeting_id, ids["councillor"]) == Answer.NO


async def test_the_head_names_a_colleague_as_the_delegate(fake, running):
    ids = await world(fake, running)
    meeting_id = await conference(running, ORGANIZER, district_id=ids["d"])
    await running.delivered()
    head_a, colleague, stranger = fake.user(HEAD_A), fake.user(COLLEAGUE), fake.user(STRANGER)
    assert not [m for m in colleague.bot_messages if "приглаш" in m.text.lower()]

    panel = CDMeetingPanel(id=meeting_id, panel=PANEL_DELEGATES).pack()
    shown = (await head_a.click_data(notice_of(head_a).message_id, panel))[-1]
    assert "Делегаты организации «Организация А»" in shown.text
    assert "пока делегат — её руководитель" in shown.text
    assert head_a.button_texts(shown) == ["☑️ Глава А", "⬜ Коллега А", "💾 Сохранить"]

    # Nobody ticked: refused.
    await head_a.click("☑️ Глава А", shown.message_id)
    await head_a.click("💾 Сохранить", shown.message_id)
    assert head_a.callback_answers[-1].show_alert
    assert "хотя бы одного" in head_a.callback_answers[-1].text

    await head_a.click("⬜ Коллега А", shown.message_id)
    await head_a.click("💾 Сохранить", shown.message_id)
    assert head_a.callback_answers[-1].text == "Сохранено. Делегатов: 1"
    saved = head_a.message(shown.message_id)
    assert "Сейчас делегаты: Коллега А" in saved.text
    async with running.sessionmaker() as session:
        named = list(
            await session.execute(
                select(MeetingDelegate.organization_id, MeetingDelegate.user_id).where(
                    MeetingDelegate.meeting_id == meeting_id
                )
            )
        )
        invited = {
            row.user_id: (row.reason, row.organization_id)
            for row in await session.scalars(
                select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting_id)
            )
        }
    assert [tuple(row) for row in named] == [(ids["org_a"], ids["colleague"])]
    assert invited[ids["colleague"]] == (InviteReason.DELEGATE, ids["org_a"])
    assert ids["head_a"] not in invited

    await running.delivered()
    invitation = notice_of(colleague)
    assert "Вас пригласили" in invitation.text and "Ежегодная конференция" in invitation.text
    assert any("вы больше не её делегат" in m.text for m in head_a.bot_messages)
    # The new delegate answers at once.
    await colleague.click("✅ Приду", invitation.message_id)
    assert await answer_of(running, meeting_id, ids["colleague"]) == Answer.YES

    # The colleague is not the head: they see the delegates, and may not change them.
    anchor = (await colleague.say("/help"))[0]
    view = (await colleague.click_data(anchor.message_id, panel))[-1]
    assert "Делегатов назначает руководитель" in view.text
    assert colleague.button_texts(view) == []
    forged = CDDelegates(id=meeting_id, org=ids["org_a"], act="save", mask=1).pack()
    await colleague.click_data(view.message_id, forged)
    assert colleague.callback_answers[-1].show_alert
    # A stranger may open nothing, save nothing.
    anchor = (await stranger.say("/help"))[0]
    await stranger.click_data(anchor.message_id, panel)
    assert stranger.callback_answers[-1].show_alert
    await stranger.click_data(anchor.message_id, forged)
    assert stranger.callback_answers[-1].show_alert
    async with running.sessionmaker() as session:
        delegates = list(
            await session.scalars(
                select(MeetingDelegate.user_id).where(MeetingDelegate.meeting_id == meeting_id)
            )
        )
    assert delegates == [ids["colleague"]]


async def test_a_person_of_two_organizations_chooses_the_organization_first(fake, running):
    ids = await world(fake, running)
    # The head of В also represents А.
    async with running.sessionmaker.begin() as session:
        head = await users.get_user(session, HEAD_A)
        invite = await organizations.create_invite(session, head, ids["org_a"])
        await organizations.accept_invite(
            session, await users.get_user(session, HEAD_C), invite.token
        )
    meeting_id = await conference(running, ORGANIZER, district_id=ids["d"])
    await running.delivered()
    head_c = fake.user(HEAD_C)
    panel = CDMeetingPanel(id=meeting_id, panel=PANEL_DELEGATES).pack()
    chooser = (await head_c.click_data(notice_of(head_c).message_id, panel))[-1]
    assert "несколько организаций" in chooser.text
    assert head_c.button_texts(chooser) == ["Организация А", "Организация В"]
    opened = (await head_c.click("Организация В", chooser.message_id))[-1]
    assert "Делегаты организации «Организация В»" in opened.text
    assert head_c.button_texts(opened) == ["☑️ Глава В", "💾 Сохранить", "◀ Организации"]
    await head_c.click("◀ Организации", chooser.message_id)
    opened = (await head_c.click("Организация А", chooser.message_id))[-1]
    assert "Делегатов назначает руководитель" in opened.text
    assert head_c.button_texts(opened) == ["◀ Организации"]


async def test_the_overview_by_person_organization_silence_and_the_forecast(
    fake, running, monkeypatch
):
    ids = await world(fake, running)
    meeting_id = await conference(running, ORGANIZER, district_id=ids["d"], votes_planned=True)
    await running.delivered()
    for tg, label in ((HEAD_A, "✅ Приду"), (HEAD_B, "🤔 Возможно"), (COUNCILLOR, "✅ Приду")):
        person = fake.user(tg)
        await person.click(label, notice_of(person).message_id)
    organizer = fake.user(ORGANIZER)
    anchor = (await organizer.say("/help"))[0]
    panel = CDMeetingPanel(id=meeting_id, panel=PANEL_ANSWERS).pack()

    totals = (await organizer.click_data(anchor.message_id, panel))[-1]
    text = totals.text
    assert "Ответы: Конференция №" in text
    assert "Приглашено: 4 человека" in text
    assert "✅ Придут: 2 человека" in text
    assert "🤔 Возможно: 1 человек" in text
    assert "❌ Не смогут: 0 человек" in text
    assert "❔ Не ответили: 1 человек" in text
    # Three member organizations: one comes (А), one may (Б), one is silent (В); two needed.
    assert "придут делегаты 1 из 3 организаций, нужно 2" in text
    assert "больше половины" in text
    assert "ответившие «возможно» (1); с ними — будет" in text
    assert organizer.button_texts(totals) == [
        "👤 По людям",
        "🏢 По организациям",
        "❔ Не ответили",
        "📅 Карточка",
    ]

    people = (await organizer.click("👤 По людям", totals.message_id))[-1]
    assert "Ответы по людям</b>" not in people.text  # rendered, not raw
    assert "Ответы по людям: 4 приглашённых" in people.text
    assert "• Глава А ✅ придёт · Организация А" in people.text
    assert "• Глава Б 🤔 возможно · Организация Б" in people.text
    assert "• Член Совета ✅ придёт" in people.text
    assert "• Глава В ❔ нет ответа · Организация В" in people.text

    by_org = (await organizer.click("🏢 По организациям", totals.message_id))[-1]
    assert "Ответы по организациям: 3 организации-члена" in by_org.text
    assert "Придут: 1 · возможно: 1 · не смогут: 0 · без ответа: 1" in by_org.text
    assert "Организация В — ❔ нет ответа" in by_org.text
    assert "делегаты: Глава А ✅ придёт" in by_org.text

    silent = (await organizer.click("❔ Не ответили", totals.message_id))[-1]
    assert "Ещё не ответили: 1 человек" in silent.text
    assert "Глава В" in silent.text and "Глава А" not in silent.text

    # Б says yes: the quorum is expected.
    head_b = fake.user(HEAD_B)
    await head_b.click("✅ Приду", notice_of(head_b).message_id)
    again = (await organizer.click("📋 Итоги", totals.message_id))[-1]
    assert "придут делегаты 2 из 3 организаций, нужно 2" in again.text
    assert "✅ Кворум ожидается." in again.text

    # Pages: two people a page.
    monkeypatch.setattr(forecast, "PEOPLE_PER_PAGE", 2)
    first = (await organizer.click("👤 По людям", totals.message_id))[-1]
    assert organizer.button_texts(first)[:2] == ["1/2", "▶"]
    second = (await organizer.click("▶", totals.message_id))[-1]
    assert organizer.button_texts(second)[:2] == ["◀", "2/2"]
    assert first.text.count("• ") == 2 and second.text.count("• ") == 2

    # The Secretariat reads it too; a stranger and an invitee do not.
    secretary = fake.user(SECRETARY)
    anchor = (await secretary.say("/help"))[0]
    shown = (await secretary.click_data(anchor.message_id, panel))[-1]
    assert "Приглашено: 4 человека" in shown.text
    for tg in (STRANGER, COUNCILLOR):
        person = fake.user(tg)
        anchor = (await person.say("/help"))[0]
        for data in (panel, CDAnswers(id=meeting_id, view="ppl").pack()):
            await person.click_data(anchor.message_id, data)
            assert person.callback_answers[-1].show_alert
