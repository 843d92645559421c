"""The Concept's district-majority rule: in a district's programme the participants from that
district hold more than half of the consortium's contributions. Pure checks of the stakes, then
the consortium's services refusing (or, where the council allowed it, warning about) a change
that breaks the rule, with every edge case."""

from __future__ import annotations

from fractions import Fraction

import pytest
from sqlalchemy import select

from bot.services import users
from bot.services.projects import access, consortium, contributions, stakes
from bot.services.projects.stakes import MinorityRefused, Stakes
from models.projects import (
    ContributionKind,
    ParticipantStatus,
    Programme,
    ProjectContribution,
    ProjectParticipant,
    ProjectStatus,
)
from tests import projects_support as ps
from tests.support import register

MONEY = ContributionKind.MONEY


def make(values: dict[int, int], local: set[int], *, district: int | None = 1) -> Stakes:
    return Stakes(district, False, values, frozenset(local))


def test_nothing_valued_means_nothing_to_check():
    empty = make({1: 0, 2: 0}, {1})
    assert empty.total == 0 and empty.share is None and empty.controlling
    assert stakes.percent(empty.share) == "—"


def test_exactly_half_is_not_controlling_and_more_is():
    assert not make({1: 50, 2: 50}, {1}).controlling
    assert make({1: 51, 2: 50}, {1}).controlling
    assert make({1: 1, 2: 0}, {1}).share == Fraction(1)
    assert stakes.percent(Fraction(2, 3)) == "66.7%"


def test_no_rule_without_a_district():
    assert make({1: 0, 2: 100}, {1}, district=None).controlling


def test_judge_refuses_breaking_allows_repairing_and_improving():
    good = make({1: 60, 2: 40}, {1})
    with pytest.raises(MinorityRefused):
        stakes.judge(good, good.with_value(2, 60))
    broken = make({1: 20, 2: 80}, {1})
    assert stakes.judge(broken, broken.with_value(1, 30)) is False  # better, still broken
    assert stakes.judge(broken, broken.with_value(1, 100)) is False  # repaired
    assert stakes.judge(broken, broken.without(2)) is False
    with pytest.raises(MinorityRefused):
        stakes.judge(broken, broken.with_value(2, 90))  # worse
    # Nothing of value moves: the gap stays, so it is allowed even while broken.
    with_idle = make({1: 20, 2: 80, 3: 0}, {1})
    assert stakes.judge(with_idle, with_idle.without(3)) is False
    allowed = Stakes(1, True, {1: 60, 2: 40}, frozenset({1}))
    assert stakes.judge(allowed, allowed.with_value(2, 100)) is True  # warn


# --- Through the services ---------------------------------------------------------------------


async def programme(running, district_id: int | None, *, minority_allowed: bool = False) -> int:
    async with running.sessionmaker.begin() as session:
        item = Programme(
            title="Развитие Заречья", district_id=district_id, minority_allowed=minority_allowed
        )
        session.add(item)
        await session.flush()
        return item.id


async def world(running, *, district_programme: bool = True, minority_allowed: bool = False):
    """District A's programme; the lead organization from A, a partner from B (invited and
    accepted), a project in progress."""
    a = await ps.district(running, 1, "Заречье")
    b = await ps.district(running, 2, "Центр")
    lead_org, lead_head = await ps.member_organization(running, 8101, "Анна", "ТОС Заречье", a)
    partner_org, _ = await ps.member_organization(running, 8102, "Борис", "Фонд", b)
    prog = await programme(
        running, a if district_programme else None, minority_allowed=minority_allowed
    )
    project_id = await ps.project(
        running,
        lead_org,
        lead_head,
        district_id=a,
        status=ProjectStatus.IN_PROGRESS,
        programme_id=prog,
    )
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8101)
        partner = await users.get_user(session, 8102)
        row = await consortium.invite(session, lead, project_id, partner_org)
        await consortium.answer_invite(session, partner, row.participant.id, True)
        lead_row = await session.scalar(
            select(ProjectParticipant).where(
                ProjectParticipant.project_id == project_id, ProjectParticipant.lead.is_(True)
            )
        )
        return {
            "a": a,
            "b": b,
            "project": project_id,
            "programme": prog,
            "lead": lead_row.id,
            "partner": row.participant.id,
            "partner_org": partner_org,
        }


async def add(running, telegram_id: int, participant_id: int, value: int) -> bool:
    async with running.sessionmaker.begin() as session:
        person = await users.get_user(session, telegram_id)
        _, warning = await contributions.add_contribution(
            session, person, participant_id, MONEY, value, "Взнос"
        )
        return warning


async def current(running, project_id: int) -> Stakes:
    async with running.sessionmaker() as session:
        project = await access.get(session, project_id)
        return await stakes.compute(session, project)


async def test_the_rule_in_a_district_programme(running):
    w = await world(running)
    # Nothing valued yet: nothing to check, the partner may even bring 0.
    assert (await current(running, w["project"])).share is None
    assert await add(running, 8102, w["partner"], 0) is False
    # The partner from another district cannot bring value first: 0% of 100.
    with pytest.raises(MinorityRefused):
        await add(running, 8102, w["partner"], 100)
    await add(running, 8101, w["lead"], 100)
    # Exactly half is not controlling.
    with pytest.raises(MinorityRefused):
        await add(running, 8102, w["partner"], 100)
    assert await add(running, 8102, w["partner"], 99) is False
    now = await current(running, w["project"])
    assert (now.total, now.district_value, now.controlling) == (199, 100, True)

    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8101)
        mine = await session.scalar(
            select(ProjectContribution).where(ProjectContribution.participant_id == w["lead"])
        )
        # The district's own participant cannot shrink or take back its stake below control.
        with pytest.raises(MinorityRefused):
            await contributions.edit_contribution(session, lead, mine.id, value=99)
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8101)
        with pytest.raises(MinorityRefused):
            await contributions.delete_contribution(session, lead, mine.id)
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8101)
        # A description change does not touch the stakes.
        await contributions.edit_contribution(session, lead, mine.id, description="Грант района")
    # The partner leaving only raises the district's share.
    async with running.sessionmaker.begin() as session:
        partner = await users.get_user(session, 8102)
        outcome = await consortium.leave(session, partner, w["partner"])
        assert outcome.participant.status == ParticipantStatus.LEFT
    assert (await current(running, w["project"])).share == Fraction(1)


async def test_a_participant_without_a_district_counts_against_it(running):
    w = await world(running)
    await register(running, 8103, "Вера")  # no district recorded
    await add(running, 8101, w["lead"], 100)
    async with running.sessionmaker.begin() as session:
        person = await users.get_user(session, 8103)
        joined = await consortium.volunteer(session, person, w["project"])
        assert joined.participant.district_id is None
        volunteer = joined.participant.id
    with pytest.raises(MinorityRefused):
        await add(running, 8103, volunteer, 100)
    assert await add(running, 8103, volunteer, 50) is False


async def test_a_city_wide_programme_or_no_programme_has_no_rule(running):
    w = await world(running, district_programme=False)
    assert await add(running, 8102, w["partner"], 1_000_000) is False
    assert not (await current(running, w["project"])).applies
    async with running.sessionmaker.begin() as session:
        project = await access.get(session, w["project"])
        project.programme_id = None
    assert await add(running, 8102, w["partner"], 5) is False


async def test_a_change_that_repairs_a_broken_state_is_allowed(running):
    w = await world(running)
    # Broken before the rule was checked (contributions recorded while the project was in no
    # programme): the partner holds everything.
    async with running.sessionmaker.begin() as session:
        session.add(
            ProjectContribution(
                project_id=w["project"], participant_id=w["partner"], kind=MONEY, value=300
            )
        )
    assert not (await current(running, w["project"])).controlling
    # Making it worse is refused; improving it, even partly, is allowed; then repaired.
    with pytest.raises(MinorityRefused):
        await add(running, 8102, w["partner"], 1)
    assert await add(running, 8101, w["lead"], 100) is False
    assert await add(running, 8101, w["lead"], 250) is False
    assert (await current(running, w["project"])).controlling


async def test_accepting_an_invitation_with_contributions_is_judged(running):
    w = await world(running)
    await add(running, 8101, w["lead"], 100)
    third_org, _ = await ps.member_organization(running, 8104, "Гоша", "Клуб", w["b"])
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8101)
        invited = (await consortium.invite(session, lead, w["project"], third_org)).participant
        # The proposal recorded what the invited organization would bring.
        session.add(
            ProjectContribution(
                project_id=w["project"], participant_id=invited.id, kind=MONEY, value=500
            )
        )
        invited_id = invited.id
    async with running.sessionmaker.begin() as session:
        head = await users.get_user(session, 8104)
        with pytest.raises(MinorityRefused):
            await consortium.answer_invite(session, head, invited_id, True)
    async with running.sessionmaker() as session:
        row = await session.get(ProjectParticipant, invited_id)
        assert row.status == ParticipantStatus.INVITED


async def test_removing_a_district_participant_is_judged(running):
    w = await world(running)
    local_org, _ = await ps.member_organization(running, 8105, "Дина", "Двор", w["a"])
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8101)
        local = (await consortium.invite(session, lead, w["project"], local_org)).participant
        await consortium.answer_invite(session, await users.get_user(session, 8105), local.id, True)
        local_id = local.id
    await add(running, 8105, local_id, 100)
    await add(running, 8102, w["partner"], 60)
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8101)
        with pytest.raises(MinorityRefused):
            await consortium.remove(session, lead, local_id)
    async with running.sessionmaker.begin() as session:
        lead = await users.get_user(session, 8101)
        # Removing the partner repairs nothing that was broken, and breaks nothing.
        outcome = await consortium.remove(session, lead, w["partner"])
        assert outcome.warning is False


async def test_minority_allowed_by_the_council_warns_and_saves(running):
    w = await world(running, minority_allowed=True)
    await add(running, 8101, w["lead"], 100)
    assert await add(running, 8102, w["partner"], 400) is True
    now = await current(running, w["project"])
    assert (now.total, now.controlling) == (500, False)
    assert stakes.percent(now.share) == "20%"
