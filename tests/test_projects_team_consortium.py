"""The consortium panel through the real Dispatcher and the fake Telegram: a citizen
volunteers and leaves; an owner invites an organization whose representative accepts from the
notice; contributions through the dialog, refused when the district would lose the controlling
stake; forged presses refused with nothing changed; erasure takes a person's follows and part."""

from __future__ import annotations

from sqlalchemy import select, text

from bot.services import erasure, users
from bot.services.projects import consortium, contributions
from models import User
from models.needs import ResourceKind, ResourceOffer
from models.projects import (
    ContributionKind,
    ParticipantStatus,
    Programme,
    Project,
    ProjectContribution,
    ProjectFollower,
    ProjectParticipant,
    ProjectStatus,
)
from tests import projects_support as ps
from tests.support import register

S = ProjectStatus
P = ParticipantStatus
TABLES = ("project_participants", "project_contributions", "project_followers", "projects")


async def snapshot(running) -> dict[str, list[tuple]]:
    async with running.sessionmaker() as session:
        return {
            table: sorted(
                tuple(map(str, row))
                for row in (await session.execute(text(f'SELECT * FROM "{table}"'))).all()
            )
            for table in TABLES
        }


async def card_of(person, number: int):
    """The project's card, found among the replies (a notice may arrive meanwhile)."""
    replies = await person.say(f"/project_{number}")
    return next(m for m in replies if f"Проект №{number}" in m.text)


async def set_district(running, user_id: int, district_id: int | None) -> None:
    async with running.sessionmaker.begin() as session:
        person = await session.get(User, user_id)
        assert person is not None
        person.district_id = district_id


async def participants(running, project_id: int) -> list[ProjectParticipant]:
    async with running.sessionmaker() as session:
        rows = await session.scalars(
            select(ProjectParticipant)
            .where(ProjectParticipant.project_id == project_id)
            .order_by(ProjectParticipant.id)
        )
        return list(rows)


async def world(
    fake, running, *, programme: bool = True, minority_allowed: bool = False
) -> dict[str, int]:
    """Анна heads the lead organization (district A), Борис a partner (district B); their chats
    exist from the start, so notices reach them."""
    fake.user(8301, "Анна")
    fake.user(8302, "Борис")
    a = await ps.district(running, 1, "Заречье")
    b = await ps.district(running, 2, "Центр")
    org, head = await ps.member_organization(running, 8301, "Анна", "ТОС Заречье", a)
    partner, partner_head = await ps.member_organization(running, 8302, "Борис", "Фонд Центр", b)
    programme_id = None
    if programme:
        async with running.sessionmaker.begin() as session:
            item = Programme(title="Заречье-2030", district_id=a, minority_allowed=minority_allowed)
            session.add(item)
            await session.flush()
            programme_id = item.id
    project = await ps.project(
        running, org, head, district_id=a, status=S.IN_PROGRESS, programme_id=programme_id
    )
    return {
        "a": a,
        "b": b,
        "org": org,
        "head": head,
        "partner": partner,
        "partner_head": partner_head,
        "project": project,
    }


async def test_a_citizen_volunteers_and_leaves(fake, running):
    w = await world(fake, running)
    citizen_id = await register(running, 8303, "Вера")
    await set_district(running, citizen_id, w["a"])
    citizen = fake.user(8303, "Вера")
    card = await card_of(citizen, w["project"])
    shown = (await citizen.click("🙋 Стать волонтёром", card.message_id))[-1]
    assert "волонтёр" in citizen.callback_answers[-1].text
    assert "Консорциум проекта" in shown.text and "Вера" in shown.text
    row = (await participants(running, w["project"]))[-1]
    assert (row.user_id, row.status, row.role, row.district_id) == (
        citizen_id,
        P.ACTIVE,
        "volunteer",
        w["a"],
    )
    await running.delivered()
    owner = fake.user(8301, "Анна")
    assert any("записался волонтёр" in m.text for m in owner.bot_messages)
    # Pressed twice: still one row.
    await citizen.click_data(card.message_id, f"ptm:{w['project']}:join")
    assert "уже участвуете" in citizen.callback_answers[-1].text
    assert len(await participants(running, w["project"])) == 2
    # The card tells them; /followed_projects lists what they take part in.
    card = await card_of(citizen, w["project"])
    assert "Вы участвуете в проекте как волонтёр" in card.text
    assert "🙋 Стать волонтёром" not in citizen.button_texts(card)
    assert f"№{w['project']}" in (await citizen.say("/followed_projects"))[0].text

    panel = (await citizen.click("🤝 Консорциум", card.message_id))[-1]
    # The citizen may open only their own row.
    assert [b for b in citizen.button_texts(panel) if b[0].isdigit()] == ["2. Вера"]
    member = (await citizen.click("2. Вера", panel.message_id))[-1]
    ask = (await citizen.click("🚪 Выйти из консорциума", member.message_id))[-1]
    await citizen.click("✅ Да", ask.message_id)
    assert "вышли" in citizen.callback_answers[-1].text
    row = (await participants(running, w["project"]))[-1]
    assert row.status == P.LEFT


async def test_volunteering_for_a_closed_project_is_refused(fake, running):
    w = await world(fake, running, programme=False)
    rejected = await ps.project(running, w["org"], w["head"], status=S.REJECTED)
    await register(running, 8303, "Вера")
    citizen = fake.user(8303, "Вера")
    card = await card_of(citizen, rejected)
    assert "🙋 Стать волонтёром" not in citizen.button_texts(card)
    before = await snapshot(running)
    await citizen.click_data(card.message_id, f"ptm:{rejected}:join")
    assert citizen.callback_answers[-1].show_alert
    assert "закрыт" in citizen.callback_answers[-1].text
    assert await snapshot(running) == before


async def test_invite_accept_and_contribute_under_the_rule(fake, running):
    w = await world(fake, running)
    owner = fake.user(8301, "Анна")
    partner = fake.user(8302, "Борис")
    card = await card_of(owner, w["project"])
    panel = (await owner.click("🤝 Консорциум", card.message_id))[-1]
    assert "Доля участников округа: —" in panel.text
    await owner.click("➕ Пригласить организацию", panel.message_id)
    assert "Таких организаций" in (await owner.say("несуществующая"))[0].text
    found = (await owner.say("фонд"))[0]
    assert owner.button_texts(found)[0] == "Фонд Центр"
    await owner.click("Фонд Центр", found.message_id)
    assert "Приглашение отправлено" in owner.callback_answers[-1].text
    invited = (await participants(running, w["project"]))[-1]
    assert (invited.organization_id, invited.status, invited.district_id) == (
        w["partner"],
        P.INVITED,
        w["b"],
    )
    await running.delivered()
    notice = next(m for m in partner.bot_messages if "приглашают в консорциум" in m.text)
    listed = (await partner.say("/project_invites"))[0]
    assert f"Проект №{w['project']}" in listed.text
    await partner.click("✅ Принять приглашение", notice.message_id)
    assert "принято" in partner.callback_answers[-1].text
    await partner.click_data(notice.message_id, f"pti:{invited.id}:0")  # pressed again
    assert "уже ответили" in partner.callback_answers[-1].text
    assert (await participants(running, w["project"]))[-1].status == P.ACTIVE
    assert "нет" in (await partner.say("/project_invites"))[0].text
    await running.delivered()
    assert any("вступает в консорциум" in m.text for m in owner.bot_messages)

    # The lead brings 100 000 through the dialog.
    panel = await card_of(owner, w["project"])
    panel = (await owner.click("🤝 Консорциум", panel.message_id))[-1]
    member = (await owner.click("1. ТОС Заречье", panel.message_id))[-1]
    kinds = (await owner.click("➕ Добавить вклад", member.message_id))[-1]
    await owner.click("деньги", kinds.message_id)
    assert "целое число рублей" in (await owner.say("сто тысяч"))[0].text  # asked again
    await owner.say("100 000")
    replies = await owner.say("Грант района на освещение")
    assert any("Вклад сохранён" in m.text for m in replies)

    # The partner from another district may not hold half.
    card = await card_of(partner, w["project"])
    panel = (await partner.click("🤝 Консорциум", card.message_id))[-1]
    assert "Доля участников округа: 100%" in panel.text
    assert [b for b in partner.button_texts(panel) if b[0].isdigit()] == ["2. Фонд Центр"]
    member = (await partner.click("2. Фонд Центр", panel.message_id))[-1]
    kinds = (await partner.click("➕ Добавить вклад", member.message_id))[-1]
    await partner.click("оборудование", kinds.message_id)
    refused = (await partner.say("100000"))[0]
    assert "Нельзя" in refused.text and "50%" in refused.text
    assert "контрольный пакет" in refused.text
    await partner.say("60000")
    replies = await partner.say("Прожекторы")
    assert any("Вклад сохранён" in m.text for m in replies)
    async with running.sessionmaker() as session:
        values = sorted(await session.scalars(select(ProjectContribution.value)))
    assert values == [60_000, 100_000]
    card = await card_of(partner, w["project"])
    assert "Доля участников округа: 62.5%" in card.text

    # Editing the lead's contribution down to where it would lose control is refused, and the
    # dialog waits for another value.
    panel = await card_of(owner, w["project"])
    panel = (await owner.click("🤝 Консорциум", panel.message_id))[-1]
    member = (await owner.click("1. ТОС Заречье", panel.message_id))[-1]
    item = (await owner.click("деньги · 100\u00a0000\u00a0₽", member.message_id))[-1]
    await owner.click("✏️ Сумма", item.message_id)
    assert "Нельзя" in (await owner.say("50000"))[0].text
    assert any("Вклад сохранён" in m.text for m in await owner.say("70000"))
    async with running.sessionmaker() as session:
        values = sorted(await session.scalars(select(ProjectContribution.value)))
    assert values == [60_000, 70_000]


async def test_the_owner_names_roles_and_removes_a_participant(fake, running):
    w = await world(fake, running, programme=False)
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8301)
        row = (await consortium.invite(session, lead, w["project"], w["partner"])).participant
        await consortium.answer_invite(session, await users.get_user(session, 8302), row.id, True)
    await running.delivered()
    owner = fake.user(8301, "Анна")
    panel = await card_of(owner, w["project"])
    panel = (await owner.click("🤝 Консорциум", panel.message_id))[-1]
    member = (await owner.click("2. Фонд Центр", panel.message_id))[-1]
    await owner.click("✏️ Роль", member.message_id)
    await owner.say_photo()  # not text: asked again
    await owner.say("<b>партнёр</b> по освещению")
    shown = owner.bot_messages[-1]
    assert "&lt;b&gt;" not in shown.text and "<b>партнёр</b> по освещению" in shown.text
    member = (await owner.click("2. Фонд Центр", shown.message_id))[-1]
    ask = (await owner.click("✖️ Исключить", member.message_id))[-1]
    await owner.click("✅ Да", ask.message_id)
    assert (await participants(running, w["project"]))[-1].status == P.LEFT
    await running.delivered()
    assert any("исключили" in m.text for m in fake.user(8302, "Борис").bot_messages)
    # The lead cannot be removed, whatever the button says.
    lead_row = (await participants(running, w["project"]))[0]
    before = await snapshot(running)
    await owner.click_data(shown.message_id, f"ptp:{lead_row.id}:remove!")
    assert owner.callback_answers[-1].show_alert
    assert await snapshot(running) == before


async def test_forged_presses_on_another_project_are_refused(fake, running):
    w = await world(fake, running, programme=False)
    # Борис owns a project of his own, so he is an owner, just not of Анна's.
    await ps.project(running, w["partner"], w["partner_head"], status=S.IN_PROGRESS)
    third, _ = await ps.member_organization(running, 8304, "Гоша", "Клуб", w["b"])
    citizen_id = await register(running, 8303, "Вера")
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8301)
        invited = (await consortium.invite(session, lead, w["project"], third)).participant
        volunteer = (
            await consortium.volunteer(session, await session.get(User, citizen_id), w["project"])
        ).participant
        lead_row = await session.scalar(
            select(ProjectParticipant).where(
                ProjectParticipant.project_id == w["project"], ProjectParticipant.lead.is_(True)
            )
        )
        contribution, _ = await contributions.add_contribution(
            session, lead, lead_row.id, ContributionKind.WORK, 5000, "Субботник"
        )
        ids = {"invited": invited.id, "volunteer": volunteer.id, "lead": lead_row.id}
        ids["contribution"] = contribution.id
    intruder = fake.user(8302, "Борис")
    anchor = (await intruder.say("/projects"))[0]
    before = await snapshot(running)
    forged = [
        f"ptm:{w['project']}:invite",
        f"pto:{w['project']}:{w['partner']}",
        f"pti:{ids['invited']}:1",
        f"pti:{ids['invited']}:0",
        f"ptp:{ids['volunteer']}:remove!",
        f"ptp:{ids['volunteer']}:leave!",
        f"ptp:{ids['lead']}:leave!",
        f"ptp:{ids['lead']}:role",
        f"ptp:{ids['lead']}:add",
        f"ptp:{ids['lead']}:open",
        f"ptk:{ids['lead']}:money",
        f"ptc:{ids['contribution']}:delete!",
        f"ptc:{ids['contribution']}:value",
        f"ptr:{ids['contribution']}",
    ]
    for data in forged:
        await intruder.click_data(anchor.message_id, data)
        answer = intruder.callback_answers[-1]
        assert answer.show_alert, data
    # Nothing typed after them reaches a dialog.
    await intruder.say("99999")
    assert await snapshot(running) == before


async def test_erasure_takes_follows_and_a_citizens_part(fake, running):
    w = await world(fake, running, programme=False)
    citizen_id = await register(running, 8303, "Вера")
    async with running.sessionmaker.begin() as session:
        citizen = await session.get(User, citizen_id)
        await consortium.volunteer(session, citizen, w["project"])
        session.add(ProjectFollower(project_id=w["project"], user_id=citizen_id))
        mine = await session.scalar(
            select(ProjectParticipant).where(ProjectParticipant.user_id == citizen_id)
        )
        await contributions.add_contribution(
            session, citizen, mine.id, ContributionKind.WORK, 0, "Покрашу скамейки — Вера"
        )
    async with running.sessionmaker.begin() as session:
        await erasure.erase(session, await session.get(User, citizen_id))
    async with running.sessionmaker() as session:
        assert await session.scalar(select(ProjectFollower)) is None
        rows = list(await session.scalars(select(ProjectParticipant)))
        assert [(r.organization_id, r.user_id) for r in rows] == [(w["org"], None)]
        assert await session.scalar(select(ProjectContribution)) is None


async def test_a_huge_consortium_and_long_texts_still_arrive(fake, running):
    w = await world(fake, running, programme=False)
    long = "🌳 <b>Скамейки</b> & фонари " * 200
    people = [await register(running, 8400 + n, f"Житель {n} 🌳" * 5) for n in range(30)]
    async with running.sessionmaker.begin() as session:
        project = await session.get(Project, w["project"])
        project.title = ("<i>Двор</i> 🌳" * 40)[:200]
        for field in ("summary", "goals", "budget_sources", "wanted"):
            setattr(project, field, long[:3000])
        for person_id in people:
            row = ProjectParticipant(
                project_id=w["project"], user_id=person_id, status=P.ACTIVE, role=long[:100]
            )
            session.add(row)
            await session.flush()
            for _ in range(6):
                session.add(
                    ProjectContribution(
                        project_id=w["project"],
                        participant_id=row.id,
                        kind=ContributionKind.OTHER,
                        value=10**12,
                        description=long[:500],
                    )
                )
    owner = fake.user(8301, "Анна")
    card = await card_of(owner, w["project"])
    assert "Консорциум: 31 участник" in card.text
    panel = (await owner.click("🤝 Консорциум", card.message_id))[-1]
    assert "сокращён" in panel.text
    assert "31. Житель 29" in " ".join(owner.button_texts(panel))
    member = (await owner.click(owner.button_texts(panel)[5], panel.message_id))[-1]
    assert "Роль:" in member.text


async def test_where_the_council_allowed_a_minority_the_bot_warns(fake, running):
    w = await world(fake, running, minority_allowed=True)
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8301)
        row = (await consortium.invite(session, lead, w["project"], w["partner"])).participant
        await consortium.answer_invite(session, await users.get_user(session, 8302), row.id, True)
    await running.delivered()
    partner = fake.user(8302, "Борис")
    card = await card_of(partner, w["project"])
    panel = (await partner.click("🤝 Консорциум", card.message_id))[-1]
    member = (await partner.click("2. Фонд Центр", panel.message_id))[-1]
    kinds = (await partner.click("➕ Добавить вклад", member.message_id))[-1]
    await partner.click("деньги", kinds.message_id)
    await partner.say("500000")
    replies = await partner.say("Взнос фонда")
    assert any("Совет разрешил" in m.text for m in replies)
    card = await card_of(partner, w["project"])
    assert "Доля участников округа: 0%" in card.text


async def test_a_volunteer_pledges_an_offer_from_the_resources_database(fake, running):
    w = await world(fake, running, programme=False)
    citizen_id = await register(running, 8303, "Вера")
    other_id = await register(running, 8305, "Олег")
    async with running.sessionmaker.begin() as session:
        mine = ResourceOffer(
            owner_id=citizen_id,
            kind=ResourceKind.EQUIPMENT,
            description="Газонокосилка на выходные",
            available="по субботам",
        )
        theirs = ResourceOffer(
            owner_id=other_id,
            kind=ResourceKind.PREMISES,
            description="Зал для собраний",
            available="вечером",
        )
        session.add_all([mine, theirs])
        await session.flush()
        offers = {"mine": mine.id, "theirs": theirs.id}
        await consortium.volunteer(session, await session.get(User, citizen_id), w["project"])
    await running.delivered()
    citizen = fake.user(8303, "Вера")
    card = await card_of(citizen, w["project"])
    panel = (await citizen.click("🤝 Консорциум", card.message_id))[-1]
    member = (await citizen.click("2. Вера", panel.message_id))[-1]
    kinds = (await citizen.click("➕ Добавить вклад", member.message_id))[-1]
    await citizen.click("оборудование", kinds.message_id)
    await citizen.say("0")
    await citizen.say_sticker()  # not text: asked again, nothing lost
    ask = (await citizen.say("Покошу траву во дворе"))[-1]
    assert citizen.button_texts(ask) == [
        f"№{offers['mine']} · Газонокосилка на выходные",
        "Без ресурса из базы",
    ]
    # Someone else's offer, forged into the same step, is refused.
    await citizen.click_data(ask.message_id, f"ptr:{offers['theirs']}")
    assert citizen.callback_answers[-1].show_alert
    replies = await citizen.click(f"№{offers['mine']} · Газонокосилка на выходные", ask.message_id)
    assert any("Вклад сохранён" in m.text for m in replies)
    # The same button again saves nothing more.
    await citizen.click_data(ask.message_id, f"ptr:{offers['mine']}")
    assert citizen.callback_answers[-1].show_alert
    async with running.sessionmaker() as session:
        rows = list(await session.scalars(select(ProjectContribution)))
    assert [(r.resource_id, r.value, r.kind) for r in rows] == [
        (offers["mine"], 0, ContributionKind.EQUIPMENT)
    ]


async def test_project_invites_lists_and_answers_each(fake, running):
    w = await world(fake, running, programme=False)
    second = await ps.project(running, w["org"], w["head"], title="Сквер", status=S.SUBMITTED)
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8301)
        first_row = (await consortium.invite(session, lead, w["project"], w["partner"])).participant
        second_row = (await consortium.invite(session, lead, second, w["partner"])).participant
        ids = (first_row.id, second_row.id)
    await running.delivered()
    partner = fake.user(8302, "Борис")
    listed = next(
        m for m in await partner.say("/project_invites") if "Приглашения в консорциумы" in m.text
    )
    assert "«Светлый двор»" in listed.text and "«Сквер»" in listed.text
    await partner.click(f"✅ Принять: №{w['project']} · Фонд Центр", listed.message_id)
    assert "принято" in partner.callback_answers[-1].text
    # The other invitation's buttons stay on the list.
    assert partner.button_texts(partner.message(listed.message_id)) == [
        f"✅ Принять: №{second} · Фонд Центр",
        "❌ Отказаться",
    ]
    await partner.click("❌ Отказаться", listed.message_id)
    assert "отклонено" in partner.callback_answers[-1].text
    async with running.sessionmaker() as session:
        statuses = [(await session.get(ProjectParticipant, i)).status for i in ids]
    assert statuses == [P.ACTIVE, P.DECLINED]
    assert "нет" in (await partner.say("/project_invites"))[0].text
