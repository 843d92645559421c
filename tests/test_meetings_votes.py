"""Votes at a conference, through the real Dispatcher and the fake Telegram: the presidium opens
a vote by organization from the meeting's votes panel; only the organizations whose delegate is
registered as present get a ballot; a delegate hands their organization's vote to a proxy, who
casts it; the refusals are clear; the closed vote is among the meeting's decisions; a
stranger's forged presses change nothing."""

from __future__ import annotations

from sqlalchemy import select

from bot.keyboards.meetings import PANEL_VOTES, CDMeetingPanel
from bot.keyboards.meetings_votes import CDMeetingVote, CDProxy, ballot_rows
from bot.services import users, votes
from bot.services.meetings import voting
from models import Outcome, Vote, VoteKind, VoterUnit, VoteStatus, VoteVoter
from tests.meetings_support import TZ, conference, council_member, presidium
from tests.meetings_votes_support import (
    alerts,
    ballots,
    decisions,
    mark_present,
    meeting_votes,
    open_panel,
)
from tests.projects_support import district, member_organization
from tests.support import register
from tests.test_trust import snapshot

ORGANIZER, COUNCILLOR, HEAD_A, HEAD_B, HEAD_C, PROXY, STRANGER = range(7700, 7707)
PROXY_BUTTON = "🤝 Передать голос организации доверенному лицу"


async def world(fake, running) -> dict[str, int]:
    d1 = await district(running, 1, "Центральный")
    ids = {"organizer": await presidium(running, ORGANIZER, "Председатель Президиума")}
    ids["councillor"] = await council_member(running, COUNCILLOR, "Член Совета")
    for key, tg, org in (
        ("a", HEAD_A, "НКО Альфа"),
        ("b", HEAD_B, "НКО Бета"),
        ("c", HEAD_C, "ТОС Гамма"),
    ):
        ids[f"org_{key}"], ids[f"head_{key}"] = await member_organization(
            running, tg, f"Глава {org}", org, d1
        )
    ids["proxy"] = await register(running, PROXY, "Доверенный Дмитрий")
    ids["stranger"] = await register(running, STRANGER, "Посторонний")
    for tg in (ORGANIZER, COUNCILLOR, HEAD_A, HEAD_B, HEAD_C, PROXY, STRANGER):
        fake.user(tg)
    ids["meeting"] = await conference(running, ORGANIZER, district_id=d1)
    return ids


async def votes_get(running, vote_id: int) -> Vote:
    async with running.sessionmaker() as session:
        found = await session.get(Vote, vote_id)
        assert found is not None
        return found


async def test_a_conference_votes_by_organization_and_only_those_present_get_ballots(fake, running):
    ids = await world(fake, running)
    organizer = fake.user(ORGANIZER)
    head_a, head_b, head_c = fake.user(HEAD_A), fake.user(HEAD_B), fake.user(HEAD_C)
    proxy, councillor = fake.user(PROXY), fake.user(COUNCILLOR)
    meeting_id = ids["meeting"]

    # Nobody registered yet: the panel says so and opening is refused, the dialog kept.
    panel = await open_panel(organizer, meeting_id)
    assert "Сейчас голосуют 0 организаций" in panel.text
    assert "➕ Выборы членов совета" in organizer.button_texts(panel)
    await organizer.click("➕ Вопрос с вариантами")
    replies = await organizer.say_photo()
    assert "ответьте текстом" in replies[-1].text
    replies = await organizer.say("Х" * 5000)
    assert "300" in replies[-1].text  # the limit is told
    await organizer.say("Утвердить повестку конференции")
    replies = await organizer.say("Утвердить\nОтклонить")
    assert "Сколько длится голосование" in replies[-1].text
    await organizer.click("▶️ Открыть на 30 мин")
    assert "никто не отмечен присутствующим" in alerts(organizer)[-1]
    assert await meeting_votes(running, meeting_id) == []

    # Alpha's and Beta's delegates are here, Gamma's is not; the councillor is here too, but a
    # conference votes by organization.
    await mark_present(running, meeting_id, ids["head_a"], ids["head_b"], ids["councillor"])
    replies = await organizer.click("▶️ Открыть на 30 мин")
    assert "бюллетени ушли 2 присутствующим" in replies[-1].text
    [vote] = await meeting_votes(running, meeting_id)
    assert vote.unit == VoterUnit.ORGANIZATION and vote.body_id is None
    assert vote.status == VoteStatus.OPEN
    assert (vote.closes_at - vote.opened_at).total_seconds() == 30 * 60
    await running.delivered()
    for person in (head_a, head_b):
        [ballot] = ballots(person, vote.id)
        assert person.button_texts(ballot) == ["Утвердить", "Отклонить", PROXY_BUTTON]
    assert ballots(head_c, vote.id) == []
    assert ballots(councillor, vote.id) == []
    assert ballots(proxy, vote.id) == []

    # Both vote; everyone present voted, so the organizer closes: the vote is among the
    # meeting's decisions.
    for person in (head_a, head_b):
        [ballot] = ballots(person, vote.id)
        await person.click("Утвердить", message_id=ballot.message_id)
    async with running.sessionmaker.begin() as session:
        actor = await users.get_user(session, ORGANIZER)
        closed = await votes.close_early(session, actor, vote.id, timezone=TZ)
        assert closed.outcome == Outcome.ADOPTED
    [decision] = await decisions(running, meeting_id)
    assert decision.vote_id == vote.id
    assert decision.text.startswith("Утвердить повестку конференции")
    assert "Итог: принято; голосовали 2 из 2" in decision.text
    assert "✅ Утвердить: 2" in decision.text
    replies = await open_panel(organizer, meeting_id)
    assert f"№{vote.id} · завершено · Утвердить повестку" in replies.text


async def open_question(running, meeting_id: int) -> int:
    """A question opened at the meeting through the service, as the panel's dialog opens it."""
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, ORGANIZER)
        vote = await voting.open_at_meeting(
            session,
            organizer,
            meeting_id,
            voting.MeetingVoteInput(
                kind=VoteKind.QUESTION,
                question="Утвердить повестку конференции",
                options=["Утвердить", "Отклонить"],
            ),
            timezone=TZ,
            buttons=ballot_rows,
        )
        return vote.id


async def test_a_delegate_hands_the_vote_to_a_proxy_who_casts_it(fake, running):
    ids = await world(fake, running)
    head_a, head_b, proxy = fake.user(HEAD_A), fake.user(HEAD_B), fake.user(PROXY)
    await mark_present(running, ids["meeting"], ids["head_a"], ids["head_b"])
    vote = await votes_get(running, await open_question(running, ids["meeting"]))
    await running.delivered()

    # Beta votes; its delegate can no longer hand the vote over.
    [ballot_b] = ballots(head_b, vote.id)
    await head_b.click("Утвердить", message_id=ballot_b.message_id)
    # The counted ballot shows no proxy button any more; an old press of it is refused.
    assert PROXY_BUTTON not in head_b.button_texts(head_b.message(ballot_b.message_id))
    forged = CDProxy(vote=vote.id, act="start").pack()
    await head_b.click_data(ballot_b.message_id, forged)
    assert "уже подан" in alerts(head_b)[-1]

    # Alpha's delegate hands the vote over: Beta's delegate already holds a seat, so not to him.
    [ballot_a] = ballots(head_a, vote.id)
    replies = await head_a.click(PROXY_BUTTON, message_id=ballot_a.message_id)
    assert "«НКО Альфа»" in replies[-1].text
    replies = await head_a.say("Глава НКО Бета")
    await head_a.click("Глава НКО Бета")
    assert "уже есть голос" in alerts(head_a)[-1]
    replies = await head_a.say("доверенный")
    assert head_a.button_texts(replies[-1]) == ["Доверенный Дмитрий", "✖️ Отмена"]
    replies = await head_a.click("Доверенный Дмитрий")
    assert "Передать голос организации «НКО Альфа»" in replies[-1].text
    replies = await head_a.click("✅ Да, передать голос")
    assert "Доверенный Дмитрий получает бюллетень" in replies[-1].text
    # The same confirmation pressed again is stale: nothing happens twice.
    sure = CDProxy(vote=vote.id, act="sure", user=ids["proxy"]).pack()
    await head_a.click_data(replies[-1].message_id, sure)
    assert "больше не действует" in alerts(head_a)[-1]

    await running.delivered()
    [proxied] = ballots(proxy, vote.id)
    assert "передаёт вам голос организации «НКО Альфа»" in proxied.text
    assert "Глава НКО Альфа" in proxied.text
    # The delegate's own ballot no longer counts; the proxy's does.
    await head_a.click("Утвердить", message_id=ballot_a.message_id)
    assert "не участвуете" in alerts(head_a)[-1]
    replies = await proxy.click("Утвердить", message_id=proxied.message_id)
    assert "учтён" in replies[-1].text
    async with running.sessionmaker() as session:
        seats = {
            row.organization_id: (row.user_id, row.voted)
            for row in await session.scalars(select(VoteVoter).where(VoteVoter.vote_id == vote.id))
        }
    assert seats == {ids["org_a"]: (ids["proxy"], True), ids["org_b"]: (ids["head_b"], True)}


async def test_a_strangers_forged_presses_change_nothing(fake, running):
    ids = await world(fake, running)
    meeting_id = ids["meeting"]
    await mark_present(running, meeting_id, ids["head_a"])
    vote = await votes_get(running, await open_question(running, meeting_id))
    await running.delivered()
    stranger = fake.user(STRANGER)
    anchor = (await stranger.say("/help"))[0]
    before = await snapshot(running)
    presses = {
        CDMeetingPanel(id=meeting_id, panel=PANEL_VOTES).pack(): "нет прав",
        CDMeetingVote(id=meeting_id, act="new", item=0).pack(): "нет прав",
        CDMeetingVote(id=meeting_id, act="dur", item=30).pack(): "больше не действует",
        CDMeetingVote(
            id=meeting_id, act="cand", item=ids["stranger"]
        ).pack(): "больше не действует",
        CDProxy(vote=vote.id, act="start").pack(): "не у вас",
        CDProxy(vote=vote.id, act="pick", user=ids["stranger"]).pack(): "больше не действует",
        CDProxy(vote=vote.id, act="sure", user=ids["stranger"]).pack(): "больше не действует",
    }
    for data, refusal in presses.items():
        await stranger.click_data(anchor.message_id, data)
        assert refusal in alerts(stranger)[-1], data
    assert await snapshot(running) == before
    # A delegate who may start the proxy screen still cannot confirm a screen they never saw.
    head_a = fake.user(HEAD_A)
    [ballot] = ballots(head_a, vote.id)
    await head_a.click_data(
        ballot.message_id, CDProxy(vote=vote.id, act="sure", user=ids["proxy"]).pack()
    )
    assert "больше не действует" in alerts(head_a)[-1]
    assert await snapshot(running) == before
