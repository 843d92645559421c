"""Council votes: the rules, one ballot per voter under concurrency, secrecy, reminders only to
those who have not voted, closing by the scheduler after a restart, results, the protocol and the
recommendations registry."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest
from docx import Document
from sqlalchemy import func, select, update

from bot.keyboards.votes import CDBallot, ballot_rows
from bot.services import bodies, recommendations, users, votes
from bot.services.errors import InvalidInput, NotAllowed
from models import (
    Ballot,
    BallotChoice,
    BodyKind,
    CouncilCategory,
    FollowUp,
    JobStatus,
    Majority,
    OptionKind,
    Outcome,
    Quorum,
    Recommendation,
    Role,
    ScheduledJob,
    Vote,
    VoteKind,
    VoterUnit,
    VoteStatus,
)
from models.base import utcnow
from tests import council_support
from tests.conftest import ADMIN_ID
from tests.support import eventually, make_secretary, register

YES_NO = [(0, OptionKind.FOR), (1, OptionKind.AGAINST), (2, OptionKind.ABSTAIN)]
CHOICES = [(i, OptionKind.CHOICE) for i in range(4)]
R, Q, E = VoteKind.RECOMMENDATION, VoteKind.QUESTION, VoteKind.ELECTION
HALF, TWO3, NONE = Quorum.MORE_THAN_HALF, Quorum.TWO_THIRDS, Quorum.NONE
CAST, ELIG, M23 = Majority.OF_CAST, Majority.OF_ELIGIBLE, Majority.TWO_THIRDS


@pytest.mark.parametrize(
    ("kind", "quorum", "majority", "seats", "counts", "eligible", "cast", "outcome", "winners"),
    [
        # Recommendations: for must be more than half of the ballots cast (abstentions are cast).
        (R, HALF, CAST, 1, {0: 4, 1: 1, 2: 1}, 10, 6, Outcome.ADOPTED, (0,)),
        (R, HALF, CAST, 1, {0: 3, 1: 3}, 10, 6, Outcome.REJECTED, ()),  # a tie
        (R, HALF, CAST, 1, {0: 3, 1: 1, 2: 2}, 10, 6, Outcome.REJECTED, ()),  # abstentions count
        (R, HALF, CAST, 1, {0: 5}, 10, 5, Outcome.NO_QUORUM, ()),  # exactly half is no quorum
        (R, TWO3, CAST, 1, {0: 6}, 9, 6, Outcome.ADOPTED, (0,)),  # exactly two thirds
        (R, TWO3, CAST, 1, {0: 5}, 9, 5, Outcome.NO_QUORUM, ()),
        (R, HALF, ELIG, 1, {0: 5, 1: 1}, 10, 6, Outcome.REJECTED, ()),  # 5 of 10 members
        (R, HALF, ELIG, 1, {0: 6}, 10, 6, Outcome.ADOPTED, (0,)),
        (R, HALF, M23, 1, {0: 6, 1: 3}, 10, 9, Outcome.ADOPTED, (0,)),
        (R, HALF, M23, 1, {0: 5, 1: 4}, 10, 9, Outcome.REJECTED, ()),
        (R, NONE, CAST, 1, {0: 1}, 100, 1, Outcome.ADOPTED, (0,)),
        (R, NONE, CAST, 1, {}, 100, 0, Outcome.NO_QUORUM, ()),  # nobody voted
        (R, HALF, CAST, 1, {}, 0, 0, Outcome.NO_QUORUM, ()),  # nobody could vote
        # Custom options: the leader wins only with a majority and no tie.
        (Q, HALF, CAST, 1, {0: 5, 1: 3, 2: 1}, 10, 9, Outcome.ADOPTED, (0,)),
        (Q, HALF, CAST, 1, {0: 4, 1: 4, 2: 1}, 10, 9, Outcome.REJECTED, ()),
        (Q, HALF, CAST, 1, {0: 4, 1: 3, 2: 2}, 10, 9, Outcome.REJECTED, ()),  # plurality only
        # Multiple choice (an election for 2 seats): a tie across the last seat takes nobody.
        (E, HALF, CAST, 2, {0: 7, 1: 6, 2: 2, 3: 1}, 12, 10, Outcome.ADOPTED, (0, 1)),
        (E, HALF, CAST, 2, {0: 7, 1: 6, 2: 6, 3: 1}, 12, 10, Outcome.ADOPTED, (0,)),
        (E, HALF, CAST, 2, {0: 7, 1: 4, 2: 3}, 12, 10, Outcome.ADOPTED, (0,)),  # 4 of 10: no
        (E, HALF, CAST, 2, {0: 6, 1: 6, 2: 6}, 12, 10, Outcome.REJECTED, ()),
        (E, HALF, CAST, 3, {0: 6, 1: 6, 2: 6}, 12, 10, Outcome.ADOPTED, (0, 1, 2)),
    ],
)
def test_quorum_and_majority_rules(
    kind, quorum, majority, seats, counts, eligible, cast, outcome, winners
):
    options = YES_NO if kind == VoteKind.RECOMMENDATION else CHOICES
    decision = votes.decide(kind, quorum, majority, seats, options, counts, eligible, cast)
    assert decision.outcome == outcome
    assert tuple(sorted(decision.winners)) == winners


# --- Helpers -------------------------------------------------------------------------------------


async def council_member(running, telegram_id: int, name: str) -> int:
    user_id = await register(running, telegram_id, name)
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        council = await bodies.single(session, BodyKind.COUNCIL)
        # An honorary citizen: a category with no designation of its own to build.
        await bodies.add_member(
            session, admin, council.id, user_id, category=CouncilCategory.HONORARY
        )
    return user_id


async def presidium_member(running, telegram_id: int, name: str) -> int:
    user_id = await register(running, telegram_id, name)
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        presidium = await bodies.single(session, BodyKind.PRESIDIUM)
        # The council appoints the presidium: its decision is on record.
        decision = await council_support.appointment(session)
        await bodies.add_member(session, admin, presidium.id, user_id, basis_vote_id=decision)
    return user_id


async def open_vote(running, organizer_tg: int, **overrides) -> int:
    """A council vote drafted and opened through the service, as the card's buttons do."""
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, organizer_tg)
        council = await bodies.single(session, BodyKind.COUNCIL)
        data = votes.DraftInput(
            body_id=council.id,
            kind=overrides.pop("kind", VoteKind.RECOMMENDATION),
            question=overrides.pop("question", "Рекомендовать ремонт сквера"),
            closes_at=overrides.pop("closes_at", utcnow() + timedelta(days=3)),
            addressee=overrides.pop("addressee", "Администрации"),
            **overrides,
        )
        vote = await votes.create_draft(session, organizer, data)
        await votes.open_vote(
            session, organizer, vote.id, timezone="Europe/Moscow", buttons=ballot_rows
        )
        return vote.id


def ballot_of(person, vote_id: int):
    return next(m for m in person.bot_messages if f"Голосование №{vote_id}" in m.text)


async def run_jobs_now(running, vote_id: int, kind: str) -> None:
    async with running.sessionmaker.begin() as session:
        await session.execute(
            update(ScheduledJob)
            .where(
                ScheduledJob.kind == kind,
                ScheduledJob.object_id == vote_id,
                ScheduledJob.status == JobStatus.PENDING,
            )
            .values(due_at=utcnow() - timedelta(seconds=1))
        )
    await running.app.scheduler.tick()

    async def done() -> bool:
        async with running.sessionmaker() as session:
            status = await session.scalar(
                select(ScheduledJob.status).where(
                    ScheduledJob.kind == kind, ScheduledJob.object_id == vote_id
                )
            )
        return status in (JobStatus.DONE, JobStatus.FAILED)

    await eventually(done)


async def load_vote(running, vote_id: int) -> Vote:
    async with running.sessionmaker() as session:
        return await session.get(Vote, vote_id)


# --- End to end ----------------------------------------------------------------------------------


async def test_council_vote_from_draft_to_registry(fake, running):
    await presidium_member(running, 7001, "Председатель Президиума")
    organizer = fake.user(7001, "Председатель Президиума")
    names = ["Анна Белова", "Борис Волков", "Вера Глебова"]
    members = []
    for index, name in enumerate(names):
        await council_member(running, 7100 + index, name)
        members.append(fake.user(7100 + index, name))
    outsider_id = await register(running, 7199, "Посторонний")
    outsider = fake.user(7199, "Посторонний")
    assert outsider_id

    await organizer.say("/new_vote")
    await organizer.click("Гражданско-общественный совет (ГОС)")
    await organizer.click("Рекомендация (за / против / воздержался)")
    await organizer.say("Рекомендовать <b>ремонт</b> сквера")
    await organizer.say("Полный текст: отремонтировать сквер на ул. Ленина до 1 июня.")
    replies = await organizer.click("Администрации городского округа Серпухов")
    assert "Настройки голосования" in replies[-1].text
    await organizer.click("Кворум: больше половины")  # cycles to the next rule
    assert "Кворум: не меньше двух третей" in organizer.button_texts()
    replies = await organizer.click("💾 Сохранить черновик")
    card = replies[-1]
    assert "Голосование №" in card.text and "черновик" in card.text
    assert "&lt;b&gt;ремонт" in card.html  # the question as typed, escaped
    vote_id = int(card.text.split("№")[1].split()[0])

    await organizer.click("▶️ Открыть голосование")
    replies = await organizer.click("Да, открыть и разослать бюллетени")
    assert "Бюллетени уходят 3 участникам" in replies[-2].text
    await running.delivered()
    for member in members:
        ballot = ballot_of(member, vote_id)
        assert member.button_texts(ballot) == ["За", "Против", "Воздержался"]
        assert "до закрытия выбор можно изменить" in ballot.text.lower()
    assert not any("Голосование №" in m.text for m in outsider.bot_messages)

    # A vote is counted, confirmed on the ballot, and can be changed.
    anna, boris, vera = members
    ballot = ballot_of(anna, vote_id)
    replies = await anna.click("За", message_id=ballot.message_id)
    assert "учтён: За" in replies[-1].text and "Код квитанции" in replies[-1].text
    receipt = replies[-1].text.split("Код квитанции: ")[1].split()[0]
    assert "✅ За" in anna.button_texts(anna.message(ballot.message_id))
    replies = await anna.click("Против", message_id=ballot.message_id)
    assert "изменён: Против" in replies[-1].text
    await anna.click("За", message_id=ballot.message_id)  # back to "for"
    replies = await anna.say(f"/receipt {receipt.lower()}")
    assert "учтён в голосовании" in replies[-1].text and "За" in replies[-1].text

    # A forged press by someone outside the council changes nothing.
    forged = CDBallot(vote=vote_id, act="pick", mask=1).pack()
    await outsider.say("/help")
    await outsider.click_data(outsider.last.message_id, forged)
    assert any("не участвуете" in a for a in answers(outsider))

    # The organizer sees who is still to vote — not how anyone voted — and cannot close early.
    replies = await organizer.click("🔄 Обновить")
    assert "Проголосовали: 1 из 3" in replies[-1].text
    assert "За:" not in replies[-1].text and "• За" not in replies[-1].text  # no running tally
    replies = await organizer.click("⏳ Кто ещё не голосовал")
    waiting = replies[-1].text
    assert "Борис Волков" in waiting and "Вера Глебова" in waiting and "Анна" not in waiting
    await organizer.click("⏹ Закрыть досрочно")
    await organizer.click("Да, закрыть и подвести итоги")
    assert any("проголосовали все" in a for a in answers(organizer))

    await boris.click("За", message_id=ballot_of(boris, vote_id).message_id)
    await vera.click("Воздержался", message_id=ballot_of(vera, vote_id).message_id)
    replies = await organizer.click("⏹ Закрыть досрочно")
    replies = await organizer.click("Да, закрыть и подвести итоги")
    assert "Итог: принято" in replies[-2].text
    # The card of a closed vote says when it closed, not when it closes.
    assert "Закрыто: " in replies[-1].text and "Закрывается" not in replies[-1].text
    await running.delivered()
    for member in members:
        result = next(m for m in member.bot_messages if "Итоги голосования" in (m.text or ""))
        assert result.photo is not None  # the bar chart
        assert "За: 2 · Против: 0 · Воздержались: 1" in result.text
        assert "Реестр рекомендаций: №1" in result.text

    # A stale ballot after the close is answered, not counted.
    await vera.click("За", message_id=ballot_of(vera, vote_id).message_id)
    assert any("уже закрыто" in a for a in answers(vera))

    # The protocol: a DOCX with the question, the counts and, as the vote was open, the roll call.
    replies = await organizer.click("📄 Протокол")
    document = replies[-1].document
    assert document is not None and document["file_name"] == f"protocol-{vote_id}.docx"
    text = docx_text(fake.file(document["file_id"]).content)
    for expected in ("Рекомендовать <b>ремонт</b> сквера", "Имели право голоса", "Анна Белова"):
        assert expected in text
    assert "Поимённое голосование" in text and "Воздержался" in text

    # The presidium announces the result beyond the council.
    await organizer.click("📣 Объявить итоги всем")
    await organizer.click("Да, объявить всем")
    await running.delivered()
    assert any("Итоги голосования" in (m.text or "") for m in outsider.bot_messages)

    # Anyone browses the registry and sees how it was decided.
    replies = await outsider.say("/recommendations")
    await outsider.click(outsider.button_texts(replies[-1])[0])
    entry = outsider.last.text
    assert "Рекомендация №1" in entry and "за 2, против 0, воздержались 1" in entry
    assert "направлена" in entry


def answers(person) -> list[str]:
    return [answer.text or "" for answer in person.callback_answers]


def docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


async def test_a_hundred_presses_count_once(running):
    await presidium_member(running, 7301, "Президиум")
    voter_id = await council_member(running, 7310, "Торопыга")
    await council_member(running, 7311, "Другой")
    final_vote = await open_vote(running, 7301, changeable=False)
    changeable_vote = await open_vote(running, 7301, question="Второй вопрос")

    async def press(vote_id: int, position: int, confirmation: str | None = None):
        async with running.sessionmaker() as session:
            try:
                async with session.begin():
                    voter = await users.get_user(session, 7310)
                    return await votes.cast(
                        session, voter, vote_id, [position], confirmation=confirmation
                    )
            except InvalidInput as exc:
                return exc.key

    # The final ballot's confirmation screen, pressed a hundred times at once.
    async with running.sessionmaker.begin() as session:
        voter = await users.get_user(session, 7310)
        code = await votes.confirm(session, voter, final_vote, [0])
    outcomes = await asyncio.gather(*(press(final_vote, 0, code) for i in range(100)))
    counted = [o for o in outcomes if isinstance(o, votes.Cast)]
    assert len(counted) == 1 and counted[0].receipt
    assert set(outcomes) - set(counted) == {"votes-already-voted"}

    await asyncio.gather(*(press(changeable_vote, i % 3) for i in range(100)))
    async with running.sessionmaker() as session:
        for vote_id in (final_vote, changeable_vote):
            ballots = await session.scalar(
                select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote_id)
            )
            choices = await session.scalar(
                select(func.count())
                .select_from(BallotChoice)
                .where(BallotChoice.vote_id == vote_id)
            )
            assert (ballots, choices) == (1, 1)
        turnout = await votes.turnout(session, final_vote)
        assert (turnout.voted, turnout.eligible) == (1, 2)
        assert voter_id


async def test_reminders_go_only_to_those_who_have_not_voted(fake, running):
    await presidium_member(running, 7401, "Президиум")
    await council_member(running, 7410, "Проголосовавший")
    await council_member(running, 7411, "Забывчивый")
    voted, forgetful = fake.user(7410, "Проголосовавший"), fake.user(7411, "Забывчивый")
    vote_id = await open_vote(running, 7401, closes_at=utcnow() + timedelta(hours=30))
    async with running.sessionmaker() as session:
        kinds = {job.kind for job in await session.scalars(select(ScheduledJob))}
    assert {"vote.close", "vote.remind_24h", "vote.remind_1h"} <= kinds
    await running.delivered()
    await voted.click("За", message_id=ballot_of(voted, vote_id).message_id)

    # Extending the vote moves the reminders; it sends nothing to anyone.
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 7401)
        await votes.extend(session, organizer, vote_id, utcnow() + timedelta(hours=40))
    before = (len(voted.bot_messages), len(forgetful.bot_messages))
    await running.delivered()
    assert (len(voted.bot_messages), len(forgetful.bot_messages)) == before

    await run_jobs_now(running, vote_id, "vote.remind_24h")
    await running.delivered()
    reminders = [m for m in forgetful.bot_messages if "ещё не проголосовали" in m.text]
    assert len(reminders) == 1 and forgetful.button_texts(reminders[0]) == [
        "За",
        "Против",
        "Воздержался",
    ]
    assert not any("ещё не проголосовали" in m.text for m in voted.bot_messages)
    # The reminder's buttons vote like the ballot's.
    await forgetful.click("Против", message_id=reminders[0].message_id)
    await run_jobs_now(running, vote_id, "vote.remind_1h")
    await running.delivered()
    assert len([m for m in forgetful.bot_messages if "ещё не проголосовали" in m.text]) == 1


async def test_the_scheduler_closes_a_vote_after_a_restart(fake, running):
    await presidium_member(running, 7501, "Президиум")
    for index in range(3):
        await council_member(running, 7510 + index, f"Член {index}")
    member = fake.user(7510, "Член 0")
    vote_id = await open_vote(running, 7501, closes_at=utcnow() + timedelta(minutes=20))
    await running.delivered()
    await member.click("За", message_id=ballot_of(member, vote_id).message_id)

    await running.restart()
    async with running.sessionmaker.begin() as session:
        await session.execute(
            update(Vote).where(Vote.id == vote_id).values(closes_at=utcnow() - timedelta(seconds=1))
        )
    await run_jobs_now(running, vote_id, "vote.close")
    vote = await load_vote(running, vote_id)
    assert vote.status == VoteStatus.CLOSED and vote.outcome == Outcome.NO_QUORUM
    await running.delivered()
    result = next(m for m in member.bot_messages if "Итоги голосования" in (m.text or ""))
    assert "нет кворума" in result.text and "Проголосовали: 1 из 3" in result.text
    # Nothing enters the registry without a decision.
    async with running.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Recommendation)) == 0


async def test_recommendation_deadline_and_follow_up(fake, running):
    await presidium_member(running, 7601, "Президиум")
    await council_member(running, 7610, "Член")
    await make_secretary(running, 7620, "Секретарь")
    secretary = fake.user(7620, "Секретарь")
    vote_id = await open_vote(running, 7601, quorum=Quorum.NONE)
    async with running.sessionmaker.begin() as session:
        member = await users.get_user(session, 7610)
        await votes.cast(session, member, vote_id, [0])
        vote = await session.get(Vote, vote_id)
        await votes.close(session, vote, timezone="Europe/Moscow", reply_days=30)
        entry = await recommendations.for_vote(session, vote_id)
        assert entry is not None and entry.number == 1 and entry.status == FollowUp.SENT
        assert entry.reply_due - entry.adopted_at == timedelta(days=30)
        entry_id = entry.id

    await run_jobs_now(running, entry_id, recommendations.REMIND_KIND)
    await run_jobs_now(running, entry_id, recommendations.OVERDUE_KIND)
    await running.delivered()
    texts = [m.text for m in secretary.bot_messages]
    assert any("срок ответа" in text and "№1" in text for text in texts)
    assert any("истёк" in text for text in texts)

    await secretary.say("/recommendations")
    await secretary.click(secretary.button_texts()[0])
    assert "Срок ответа истёк" in secretary.last.text
    await secretary.click("✍️ Записать ответ")
    replies = await secretary.say("Администрация включила ремонт в план на 2027 год.")
    assert "получен ответ" in replies[-1].text and "план на 2027" in replies[-1].text
    replies = await secretary.click("✅ Отметить выполненной")
    assert "выполнена" in secretary.last.text
    async with running.sessionmaker() as session:
        entry = await session.get(Recommendation, entry_id)
        assert entry.status == FollowUp.IMPLEMENTED and not entry.overdue


async def test_only_organizers_draft_and_see_who_is_waiting(fake, running):
    await council_member(running, 7701, "Член совета")
    member = fake.user(7701, "Член совета")
    replies = await member.say("/new_vote")
    assert "нет прав" in replies[-1].text
    await presidium_member(running, 7702, "Президиум")
    vote_id = await open_vote(running, 7702)
    async with running.sessionmaker() as session:
        person = await users.get_user(session, 7701)
        with pytest.raises(NotAllowed):
            await votes.non_voters(session, person, vote_id)
        with pytest.raises(NotAllowed):
            await votes.close_early(session, person, vote_id, timezone="Europe/Moscow")


async def test_conference_vote_by_organization_with_a_proxy(running):
    from models import Organization, OrganizationKind, OrganizationStatus, Representative

    head_id = await register(running, 7801, "Руководитель НКО")
    proxy_id = await register(running, 7802, "Доверенное лицо")
    await register(running, 7803, "Президиум", Role.PRESIDIUM)
    async with running.sessionmaker.begin() as session:
        for index, status in enumerate([OrganizationStatus.APPROVED, OrganizationStatus.PENDING]):
            organization = Organization(
                name=f"НКО {index}",
                name_key=f"нко {index}",
                kind=OrganizationKind.NGO,
                description="—",
                contacts="—",
                proposals="—",
                status=status,
                agreed_at=utcnow(),
            )
            session.add(organization)
            await session.flush()
            session.add(
                Representative(organization_id=organization.id, user_id=head_id, role="head")
            )
        organizer = await users.get_user(session, 7803)
        vote = await votes.create_draft(
            session,
            organizer,
            votes.DraftInput(
                body_id=None,
                kind=VoteKind.QUESTION,
                question="Утвердить повестку конференции",
                closes_at=utcnow() + timedelta(days=1),
                options=["Утвердить", "Отклонить"],
                unit=VoterUnit.ORGANIZATION,
            ),
        )
        await votes.open_vote(
            session, organizer, vote.id, timezone="Europe/Moscow", buttons=ballot_rows
        )
        assert vote.eligible_count == 1  # only the approved member organization votes
        head = await session.get(type(organizer), head_id)
        await votes.hand_to_proxy(session, head, vote.id, proxy_id)
        with pytest.raises(NotAllowed):
            await votes.cast(session, head, vote.id, [0])
        proxy = await session.get(type(organizer), proxy_id)
        cast = await votes.cast(session, proxy, vote.id, [0])
        assert cast.receipt


async def test_a_long_text_goes_to_voters_as_a_document(fake, running):
    await presidium_member(running, 7901, "Президиум")
    await council_member(running, 7910, "Читатель")
    long_text = "Пункт рекомендации. " * 200
    reader = fake.user(7910, "Читатель")
    vote_id = await open_vote(running, 7901, text=long_text)
    await running.delivered()
    ballot = ballot_of(reader, vote_id)
    assert ballot.document is not None and ballot.document["file_name"] == f"vote-{vote_id}.docx"
    assert reader.button_texts(ballot) == ["За", "Против", "Воздержался"]
    assert "Пункт рекомендации." in docx_text(fake.file(ballot.document["file_id"]).content)


async def test_a_committee_chair_organizes_only_their_committee(running):
    from models import MemberRole

    chair_id = await register(running, 7951, "Председатель комитета")
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        committee = await bodies.create(
            session, admin, BodyKind.COMMITTEE, "Экология", "Чистый город"
        )
        other = await bodies.create(session, admin, BodyKind.COMMITTEE, "Культура", "")
        await bodies.add_member(session, admin, committee.id, chair_id, role=MemberRole.CHAIR)
        chair = await users.get_user(session, 7951)
        assert [b.id for b in await votes.organizable_bodies(session, chair)] == [committee.id]
        draft = votes.DraftInput(
            body_id=committee.id,
            kind=VoteKind.QUESTION,
            question="Где провести субботник?",
            closes_at=utcnow() + timedelta(days=1),
            options=["В парке", "У реки"],
        )
        vote = await votes.create_draft(session, chair, draft)
        await votes.open_vote(
            session, chair, vote.id, timezone="Europe/Moscow", buttons=ballot_rows
        )
        assert vote.eligible_count == 1
        draft.body_id = other.id
        with pytest.raises(NotAllowed):
            await votes.create_draft(session, chair, draft)


async def test_votes_list_and_a_called_off_vote(fake, running):
    await presidium_member(running, 7961, "Президиум")
    await council_member(running, 7962, "Член")
    member = fake.user(7962, "Член")
    vote_id = await open_vote(running, 7961)
    await running.delivered()
    replies = await member.say("/votes")
    assert f"№{vote_id}" in replies[0].text and "ждёт вашего голоса" in replies[0].text

    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 7961)
        await votes.cancel(session, organizer, vote_id)
    await running.delivered()
    assert any("отменено организаторами" in m.text for m in member.bot_messages)
    await member.click("За", message_id=ballot_of(member, vote_id).message_id)
    assert "отменено" in member.callback_answers[-1].text
    async with running.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Ballot)) == 0


async def test_a_draft_can_be_abandoned_and_bad_input_is_explained(fake, running):
    await presidium_member(running, 7971, "Президиум")
    organizer = fake.user(7971, "Президиум")
    await organizer.say("/new_vote")
    await organizer.click("Гражданско-общественный совет (ГОС)")
    await organizer.click("Вопрос со своими вариантами")
    replies = await organizer.say("x" * 400)
    assert "не длиннее 300" in replies[-1].text
    await organizer.say("Где провести отчётную конференцию?")
    replies = await organizer.say_sticker()
    assert "нужен текст" in replies[-1].text
    await organizer.say("-")
    replies = await organizer.say("ДК «Мир»\nдк «мир»")
    assert "повторяются" in replies[-1].text
    replies = await organizer.say("ДК «Мир»\nБиблиотека")
    assert "Настройки голосования" in replies[-1].text
    replies = await organizer.say("01.01.2020 10:00")
    assert "хотя бы 10 минут" in replies[-1].text
    replies = await organizer.click("✖ Отменить")
    assert "Черновик не сохранён" in replies[-1].text
    async with running.sessionmaker() as session:
        drafts = select(func.count()).select_from(Vote).where(Vote.status == VoteStatus.DRAFT)
        assert await session.scalar(drafts) == 0
