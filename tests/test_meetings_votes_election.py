"""The council election at a conference, and a vote at a body's session, through the real
Dispatcher and the fake Telegram: the presidium names registered people as candidates, the
seats and the term; the present delegates' organizations elect; the winners become council
members (category ELECTED, until the term, on the basis of the vote) with the council's role and
are told. A committee's session votes by person, present members only, and is closed by the
scheduler; both votes are recorded among their meeting's decisions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.keyboards.meetings_votes import CDMeetingVote
from bot.services import bodies, recommendations, users, votes
from models import BodyKind, CouncilCategory, Membership, Outcome, Role, Vote, VoterUnit
from models.base import utcnow
from tests.meetings_support import TZ, conference, council_member, presidium, session_of
from tests.meetings_votes_support import (
    alerts,
    ballots,
    decisions,
    mark_present,
    meeting_votes,
    open_panel,
)
from tests.projects_support import committee, district, member_organization
from tests.support import db_user, register
from tests.test_votes import run_jobs_now

ORGANIZER, COUNCILLOR, HEAD_A, HEAD_B, HEAD_C = range(7720, 7725)
FIRST, SECOND, THIRD = range(7730, 7733)
CHAIR, MEMBER_1, MEMBER_2, MEMBER_3 = range(7740, 7744)


async def test_the_conference_elects_council_members_for_a_term(fake, running):
    d1 = await district(running, 1, "Центральный")
    await presidium(running, ORGANIZER, "Председатель Президиума")
    await council_member(running, COUNCILLOR, "Член Совета")
    heads = []
    for tg, org in ((HEAD_A, "НКО Альфа"), (HEAD_B, "НКО Бета"), (HEAD_C, "ТОС Гамма")):
        heads.append((await member_organization(running, tg, f"Глава {org}", org, d1))[1])
    first = await register(running, FIRST, "Кандидат Первый")
    second = await register(running, SECOND, "Кандидат Второй")
    third = await register(running, THIRD, "Кандидат Третий")
    for tg in (ORGANIZER, HEAD_A, HEAD_B, HEAD_C, FIRST, SECOND, THIRD):
        fake.user(tg)
    organizer, delegate = fake.user(ORGANIZER), fake.user(HEAD_A)
    meeting_id = await conference(running, ORGANIZER, district_id=d1)
    await mark_present(running, meeting_id, *heads)

    await open_panel(organizer, meeting_id)
    await organizer.click("➕ Выборы членов совета")
    await organizer.say("Выборы членов совета")
    for name in ("Первый", "Второй", "Третий"):
        replies = await organizer.say(name)
        replies = await organizer.click(f"Кандидат {name}", message_id=replies[-1].message_id)
    assert "3 кандидата" in replies[-1].text
    # A person already on the list is not added twice.
    replies = await organizer.say("Первый")
    assert organizer.button_texts(replies[-1]) == ["✅ Готово (кандидатов: 3)", "✖️ Отмена"]
    await organizer.click("✅ Готово (кандидатов: 3)")
    replies = await organizer.say("3")
    assert "от 1 до 2" in replies[-1].text
    await organizer.say("2")
    replies = await organizer.say("31.02.2027")
    assert "ДД.ММ.ГГГГ" in replies[-1].text
    year = utcnow().year + 2
    await organizer.say(f"31.12.{year}")
    replies = await organizer.click("▶️ Открыть на 1 ч")
    assert "бюллетени ушли 3 присутствующим" in replies[-1].text
    [vote] = await meeting_votes(running, meeting_id)
    term = bodies.parse_term_end(f"31.12.{year}", TZ)
    assert vote.term_until == term and vote.max_choices == 2
    assert vote.unit == VoterUnit.ORGANIZATION
    assert [option.candidate_id for option in vote.options] == [first, second, third]
    assert [option.label for option in vote.options] == [
        "Кандидат Первый",
        "Кандидат Второй",
        "Кандидат Третий",
    ]

    # One delegate ticks two candidates on the ballot; the other two vote through the service.
    await running.delivered()
    [ballot] = ballots(delegate, vote.id)
    await delegate.click("Кандидат Первый", message_id=ballot.message_id)
    await delegate.click("⬜ Кандидат Второй", message_id=ballot.message_id)
    replies = await delegate.click("📨 Отправить (2)", message_id=ballot.message_id)
    assert "Кандидат Первый, Кандидат Второй" in replies[-1].text
    async with running.sessionmaker.begin() as session:
        for tg, chosen in ((HEAD_B, [0, 1]), (HEAD_C, [0, 2])):
            await votes.cast(session, await users.get_user(session, tg), vote.id, chosen)
        actor = await users.get_user(session, ORGANIZER)
        closed = await votes.close_early(session, actor, vote.id, timezone=TZ)
        assert closed.outcome == Outcome.ADOPTED and closed.result["winners"] == [0, 1]

    async with running.sessionmaker() as session:
        council = await bodies.single(session, BodyKind.COUNCIL)
        seats = {
            m.user_id: m
            for m in await session.scalars(
                select(Membership).where(Membership.body_id == council.id)
            )
        }
    for elected in (first, second):
        seat = seats[elected]
        assert seat.council_category == CouncilCategory.ELECTED
        assert seat.until == term and seat.basis_vote_id == vote.id
        assert Role.COUNCIL in (await db_user(running, elected)).role_set
    assert third not in seats
    assert Role.COUNCIL not in (await db_user(running, third)).role_set

    await running.delivered()
    told = [m.text for m in fake.user(FIRST).bot_messages]
    assert any("избрала вас членом" in text and f"31.12.{year}" in text for text in told)
    assert not any("избрала вас" in m.text for m in fake.user(THIRD).bot_messages)
    [decision] = await decisions(running, meeting_id)
    assert decision.vote_id == vote.id
    assert f"Избраны членами совета до 31.12.{year}: Кандидат Первый, Кандидат Второй" in (
        decision.text
    )


async def test_a_session_votes_by_person_present_members_only(fake, running):
    chair_id = await register(running, CHAIR, "Председатель комитета")
    members = [
        await register(running, tg, name)
        for tg, name in ((MEMBER_1, "Член Один"), (MEMBER_2, "Член Два"), (MEMBER_3, "Член Три"))
    ]
    body_id = await committee(running, "Комитет по наследию", "Наследие", chair_id, *members)
    for tg in (CHAIR, MEMBER_1, MEMBER_2, MEMBER_3):
        fake.user(tg)
    chair = fake.user(CHAIR)
    meeting_id = await session_of(running, CHAIR, body_id)
    await mark_present(running, meeting_id, members[0], members[1])

    panel = await open_panel(chair, meeting_id)
    assert "Сейчас голосуют 2 члена органа" in panel.text
    assert "➕ Выборы членов совета" not in chair.button_texts(panel)
    # The election belongs to a conference, whatever the button says.
    election = CDMeetingVote(id=meeting_id, act="new", item=2).pack()
    await chair.click_data(panel.message_id, election)
    assert "только на ней" in alerts(chair)[-1]

    await chair.click("➕ Рекомендация (за / против)")
    await chair.say("Рекомендовать реставрацию усадьбы")
    await chair.click("Администрации городского округа Серпухов")
    replies = await chair.say("45")
    assert "бюллетени ушли 2 присутствующим" in replies[-1].text
    [vote] = await meeting_votes(running, meeting_id)
    assert vote.unit == VoterUnit.PERSON and vote.body_id == body_id
    await running.delivered()
    for tg in (MEMBER_1, MEMBER_2):
        person = fake.user(tg)
        [ballot] = ballots(person, vote.id)
        assert person.button_texts(ballot) == ["За", "Против", "Воздержался"]
        await person.click("За", message_id=ballot.message_id)
    assert ballots(fake.user(MEMBER_3), vote.id) == []
    assert ballots(chair, vote.id) == []

    # The scheduler closes it at its time; the decision is written in the Assembly's language.
    async with running.sessionmaker.begin() as session:
        await session.execute(
            update(Vote).where(Vote.id == vote.id).values(closes_at=utcnow() - timedelta(seconds=1))
        )
    await run_jobs_now(running, vote.id, "vote.close")
    [decision] = await decisions(running, meeting_id)
    assert decision.vote_id == vote.id
    assert decision.text.startswith("Рекомендовать реставрацию усадьбы\nИтог: принято")
    assert "За: 2 · Против: 0 · Воздержались: 0" in decision.text
    async with running.sessionmaker() as session:
        assert await recommendations.for_vote(session, vote.id) is not None
