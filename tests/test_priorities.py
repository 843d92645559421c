"""The priorities poll: the presidium asks a district's citizens (or the city's) to choose among
the most supported open needs; the roll is exactly those citizens, one ballot each; the scheduler
closes it, and each need's place is written beside it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from bot.keyboards.priorities import CDPriority
from bot.keyboards.votes import CDBallot, ballot_rows
from bot.services import districts, priorities, users, votes
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.votes.citizens import places
from models import Vote, VoterUnit, VoteStatus, VoteVoter
from models.base import utcnow
from models.needs import (
    Need,
    NeedCategory,
    NeedEvent,
    NeedEventKind,
    NeedStatus,
    PriorityPoll,
)
from tests.support import register
from tests.test_votes import answers, ballot_of, presidium_member, run_jobs_now


async def citizen(running, telegram_id: int, name: str, district_id: int | None) -> int:
    user_id = await register(running, telegram_id, name)
    async with running.sessionmaker.begin() as session:
        user = await users.get_user(session, telegram_id)
        await users.set_district(session, user, district_id)
    return user_id


async def seed(running) -> dict:
    """Two districts, their citizens (one only half-registered, one erased), and needs."""
    async with running.sessionmaker.begin() as session:
        north = await districts.seed_district(session, 1, "Заречный")
        south = await districts.seed_district(session, 2, "Центральный")
        category = await session.scalar(select(NeedCategory).order_by(NeedCategory.id))
        if category is None:  # a database emptied between tests has lost the seeded list
            category = NeedCategory(code="yards", name_ru="Дворы", name_en="Yards")
            session.add(category)
            await session.flush()
        ids = {"north": north.id, "south": south.id}

        def need(district_id: int, text: str, supports: int, status=NeedStatus.ACCEPTED) -> Need:
            found = Need(
                district_id=district_id,
                category_id=category.id,
                description=text,
                support_count=supports,
                status=status,
            )
            session.add(found)
            return found

        ids["lights"] = need(north.id, "Нет освещения во дворе <b>дома 5</b>", 5)
        ids["road"] = need(north.id, "Яма на дороге у школы", 3)
        ids["bench"] = need(north.id, "Скамейки в сквере", 2)
        ids["trees"] = need(north.id, "Посадить деревья", 1)
        ids["done"] = need(north.id, "Уже решено", 20, NeedStatus.RESOLVED)
        ids["far"] = need(south.id, "Детская площадка в центре", 10)
        await session.flush()
        for key in ("lights", "road", "bench", "trees", "done", "far"):
            ids[key] = ids[key].id
    for index in range(3):
        ids[f"n{index}"] = await citizen(running, 8100 + index, f"Житель {index}", north.id)
    ids["s0"] = await citizen(running, 8200, "Житель юга", south.id)
    # Consented and chose the district, but never finished registering.
    async with running.sessionmaker.begin() as session:
        half = await users.give_consent(session, 8300, language="ru", username=None)
        await users.set_district(session, half, north.id)
        ids["half"] = half.id
    ids["gone"] = await citizen(running, 8301, "Стёрший себя", north.id)
    # Turned off news about needs in /settings: not invited.
    ids["muted"] = await citizen(running, 8302, "Без новостей", north.id)
    async with running.sessionmaker.begin() as session:
        (await users.get_user(session, 8302)).muted_topics = ["digest", "needs"]
    async with running.sessionmaker.begin() as session:
        await users.erase_user(session, await users.get_user(session, 8301))
    return ids


async def roll(running, vote_id: int) -> set[int]:
    async with running.sessionmaker() as session:
        rows = await session.scalars(select(VoteVoter.user_id).where(VoteVoter.vote_id == vote_id))
        return set(rows)


async def test_a_district_poll_from_the_dialog_to_the_ranks(fake, running):
    organizer_id = await presidium_member(running, 8001, "Председатель Президиума")
    organizer = fake.user(8001, "Председатель Президиума")
    ids = await seed(running)
    north = [fake.user(8100 + index, f"Житель {index}") for index in range(3)]
    south = fake.user(8200, "Житель юга")

    replies = await organizer.say("/priority_poll")
    assert "Опрос о приоритетах" in replies[-1].text
    assert "🏙 Весь город" in organizer.button_texts(replies[-1])
    replies = await organizer.say("<b>Заречный</b> " * 500)  # typed instead of pressed
    assert "кнопками" in replies[-1].text
    replies = await organizer.say_photo("район")
    assert "кнопками" in replies[-1].text
    replies = await organizer.click("№1 · Заречный")
    offered = organizer.button_texts(replies[-1])
    # The district's open needs by supports: not the resolved one, not another district's.
    assert offered[0].startswith(f"☑️ №{ids['lights']} · Нет освещения")
    assert [text.split(" · ")[0].split(" ")[1] for text in offered[:4]] == [
        f"№{ids[key]}" for key in ("lights", "road", "bench", "trees")
    ]
    assert not any(f"№{ids['done']} " in text or f"№{ids['far']} " in text for text in offered)
    assert offered[4] == "Дальше (отмечено: 3)"
    # Unticking down to one is refused at "next".
    await organizer.click(offered[1])
    await organizer.click(organizer.button_texts()[2])
    await organizer.click("Дальше (отмечено: 1)")
    assert any("от 2 до 10" in answer for answer in answers(organizer))
    await organizer.click(organizer.button_texts()[1])  # road again
    await organizer.click(organizer.button_texts()[3])  # trees
    replies = await organizer.click("Дальше (отмечено: 3)")
    summary = replies[-1].text
    assert "округ №1 · Заречный" in summary and "Право голоса у жителей: 3" in summary
    assert "&lt;b&gt;дома 5" in replies[-1].html  # the need's text, escaped
    await organizer.click("3 дн.")
    assert "Срок: 3 дн." in organizer.last.text
    replies = await organizer.click("▶️ Открыть опрос и разослать бюллетени")
    assert "Право голоса у 3 жителей" in replies[-1].text
    vote_id = int(replies[-1].text.split("голосование №")[1].split(".")[0])

    # Exactly the district's registered citizens: not the south, not the half-registered, not
    # the erased one, not one who muted news about needs, not the organizer (no district).
    assert await roll(running, vote_id) == {ids["n0"], ids["n1"], ids["n2"]}
    assert organizer_id not in await roll(running, vote_id)
    await running.delivered()
    for person in north:
        ballot = ballot_of(person, vote_id)
        assert len(person.button_texts(ballot)) == 3
        assert person.button_texts(ballot)[0].startswith(f"№{ids['lights']} · ")
    assert not any(f"№{vote_id}" in (m.text or "") for m in south.bot_messages)

    # One ballot each: a double press counts once; a forged press from the south is refused.
    for person, choice in zip(north, (0, 0, 1), strict=True):
        ballot = ballot_of(person, vote_id)
        data = ballot.flat_buttons[choice].callback_data
        await person.click_data(ballot.message_id, data)
        await person.click_data(ballot.message_id, data)  # the same choice again: no change
    await south.say("/help")
    await south.click_data(south.last.message_id, CDBallot(vote=vote_id, act="pick", mask=1).pack())
    assert any("не участвуете" in answer for answer in answers(south))
    async with running.sessionmaker() as session:
        voted = await session.scalar(
            select(func.count()).where(VoteVoter.vote_id == vote_id, VoteVoter.voted.is_(True))
        )
        assert voted == 3

    # The scheduler closes it on time, the results with the chart go to the voters, and the
    # places are written beside the needs (ties share a place).
    async with running.sessionmaker.begin() as session:
        await session.execute(
            update(Vote).where(Vote.id == vote_id).values(closes_at=utcnow() - timedelta(seconds=1))
        )
    await run_jobs_now(running, vote_id, "vote.close")
    async with running.sessionmaker() as session:
        vote = await session.get(Vote, vote_id)
        assert vote.status == VoteStatus.CLOSED and vote.unit == VoterUnit.CITIZEN
        # An open poll's protocol still names nobody: how a citizen chose is theirs.
        assert await votes.roll_call(session, vote) == []
        ranks = {
            key: (await session.get(Need, ids[key])).priority_rank
            for key in ("lights", "road", "trees", "bench", "far")
        }
        assert ranks == {"lights": 1, "road": 2, "trees": 3, "bench": None, "far": None}
        events = list(
            await session.scalars(select(NeedEvent).where(NeedEvent.kind == NeedEventKind.PRIORITY))
        )
        assert {event.need_id for event in events} == {ids["lights"], ids["road"], ids["trees"]}
        assert all(event.public and event.subject_type == "priority_poll" for event in events)
        poll = await session.scalar(select(PriorityPoll).where(PriorityPoll.vote_id == vote_id))
        assert poll.district_id == ids["north"] and poll.recorded_at is not None
    await running.delivered()
    for person in north:
        result = next(m for m in person.bot_messages if "Итоги опроса" in (m.text or ""))
        assert result.photo is not None
        assert "Проголосовали: 3 из 3" in result.text
        # Places, not "adopted": a poll ranks the needs.
        places = [line for line in result.text.splitlines() if line[:2] in ("1.", "2.", "3.")]
        assert [line[:2] for line in places] == ["1.", "2.", "3."]
        assert f"№{ids['lights']} · Нет освещения" in places[0]
        assert "принято" not in result.text and "Итог:" not in result.text
    assert not any("Итоги опроса" in (m.text or "") for m in south.bot_messages)
    card = (await north[0].say(f"/needcard {ids['lights']}"))[0].text
    assert "🏅 приоритет №1 в опросе жителей" in card


async def test_a_citizen_cannot_create_a_poll(fake, running):
    ids = await seed(running)
    person = fake.user(8100, "Житель 0")
    replies = await person.say("/priority_poll")
    assert "Опрос о приоритетах" not in replies[-1].text
    for act, value in (("open", 0), ("tick", ids["lights"]), ("next", 0), ("days", 1)):
        await person.click_data(person.last.message_id, CDPriority(act=act, value=value).pack())
    async with running.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Vote)) == 0
        citizen_user = await users.get_user(session, 8100)
        with pytest.raises(NotAllowed):
            await priorities.create(
                session,
                citizen_user,
                priorities.PollInput(
                    district_id=ids["north"],
                    need_ids=[ids["lights"], ids["road"]],
                    days=1,
                    question="?",
                ),
                timezone="Europe/Moscow",
                buttons=ballot_rows,
            )


async def test_a_city_poll_asks_every_registered_citizen(fake, running):
    organizer_id = await presidium_member(running, 8001, "Председатель Президиума")
    ids = await seed(running)
    nowhere = await citizen(running, 8400, "Без округа", None)
    lonely = fake.user(8400, "Без округа")
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 8001)
        offered = await priorities.candidates(session, None)
        # The city's most supported open needs, whatever their district.
        assert [need.id for need in offered[:2]] == [ids["far"], ids["lights"]]
        with pytest.raises(Exception) as refused:
            await priorities.create(
                session,
                organizer,
                priorities.PollInput(None, [ids["far"], ids["done"]], 7, "Что главное?"),
                timezone="Europe/Moscow",
                buttons=ballot_rows,
            )
        assert getattr(refused.value, "key", "") == "priorities-need-not-candidate"
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 8001)
        expected = await priorities.roll_size(session, None)
        vote = await priorities.create(
            session,
            organizer,
            priorities.PollInput(None, [ids["far"], ids["lights"]], 7, "Что главное?", True),
            timezone="Europe/Moscow",
            buttons=ballot_rows,
        )
        vote_id = vote.id
        assert vote.eligible_count == expected and vote.secret
    people = await roll(running, vote_id)
    assert {ids["n0"], ids["n1"], ids["n2"], ids["s0"], nowhere, organizer_id} <= people
    assert not {ids["half"], ids["gone"], ids["muted"]} & people
    await running.delivered()
    assert any(f"№{vote_id}" in (m.text or "") for m in lonely.bot_messages)

    # A secret poll: confirmed ballots, no list of who stayed away, places recorded at the close.
    async with running.sessionmaker.begin() as session:
        for telegram_id, position in ((8100, 1), (8200, 1), (8400, 0)):
            voter = await users.get_user(session, telegram_id)
            code = await votes.confirm(session, voter, vote_id, [position])
            await votes.cast(session, voter, vote_id, [position], confirmation=code)
        organizer = await users.get_user(session, 8001)
        with pytest.raises(InvalidInput):
            await votes.non_voters(session, organizer, vote_id)
    async with running.sessionmaker.begin() as session:
        await session.execute(
            update(Vote).where(Vote.id == vote_id).values(closes_at=utcnow() - timedelta(seconds=1))
        )
    await run_jobs_now(running, vote_id, "vote.close")
    async with running.sessionmaker() as session:
        assert (await session.get(Vote, vote_id)).status == VoteStatus.CLOSED
        assert (await session.get(Need, ids["lights"])).priority_rank == 1
        assert (await session.get(Need, ids["far"])).priority_rank == 2
    await running.delivered()
    assert any("Итоги опроса" in (m.text or "") for m in lonely.bot_messages)


def test_places_share_ties():
    assert places({0: 5, 1: 5, 2: 1, 3: 0}) == {0: 1, 1: 1, 2: 3, 3: 4}


async def test_a_called_off_poll_tells_the_citizens_and_ranks_nothing(fake, running):
    await presidium_member(running, 8001, "Председатель Президиума")
    ids = await seed(running)
    person = fake.user(8100, "Житель 0")
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 8001)
        vote = await priorities.create(
            session,
            organizer,
            priorities.PollInput(ids["north"], [ids["lights"], ids["road"]], 1, "Что главное?"),
            timezone="Europe/Moscow",
            buttons=ballot_rows,
        )
        vote_id = vote.id
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 8001)
        await votes.cancel(session, organizer, vote_id)
    await running.delivered()
    assert any("отменено" in (m.text or "").lower() for m in person.bot_messages)
    async with running.sessionmaker() as session:
        assert (await session.get(Need, ids["lights"])).priority_rank is None


async def test_a_committee_chair_asks_on_behalf_of_their_committee(running):
    from bot.services import bodies
    from models import BodyKind, MemberRole
    from tests.conftest import ADMIN_ID

    ids = await seed(running)
    chair_id = await register(running, 8501, "Председатель комитета")
    member_id = await register(running, 8502, "Член комитета")
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        committee = await bodies.create(session, admin, BodyKind.COMMITTEE, "ЖКХ", "Дворы")
        await bodies.add_member(session, admin, committee.id, chair_id, role=MemberRole.CHAIR)
        await bodies.add_member(session, admin, committee.id, member_id)
        committee_id = committee.id
    poll = priorities.PollInput(ids["north"], [ids["lights"], ids["road"]], 1, "Что главное?")
    async with running.sessionmaker.begin() as session:
        member = await users.get_user(session, 8502)
        with pytest.raises(NotAllowed):
            await priorities.create(
                session, member, poll, timezone="Europe/Moscow", buttons=ballot_rows
            )
        chair = await users.get_user(session, 8501)
        vote = await priorities.create(
            session, chair, poll, timezone="Europe/Moscow", buttons=ballot_rows
        )
        assert vote.body_id == committee_id and vote.eligible_count == 3
