"""The council's categories are rules, without Telegram: each seat is accepted when its rule is
met and refused with the reason when not, for the Secretariat and for the bot alike; designations
move and end seats, and the people concerned are told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.services import bodies, council, districts, organizations, users
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.organizations import Draft
from models import (
    BodyKind,
    CouncilCategory,
    Delivery,
    MemberRole,
    Membership,
    OrganizationKind,
    Outbox,
    Outcome,
    Representative,
    RepresentativeRole,
    Role,
    User,
)
from models.base import utcnow
from models.council import Office
from models.meetings import Meeting, MeetingKind
from tests.council_support import conference_election, council_vote

PROPOSALS = "Предлагаем наладить учёт потребностей жителей округа и общие субботники. " * 2
BASIS = "Постановление Главы г.о. Серпухов № 123 от 01.02.2026"


async def person(session, telegram_id: int, name: str, *roles: Role) -> User:
    user = await users.give_consent(session, telegram_id, language="ru", username=None)
    await users.set_name(session, user, name, max_length=100)
    await users.complete_registration(session, user)
    for role in roles:
        await users.grant_role(session, user, role)
    return user


async def organization(session, secretary: User, head: User, name: str, district_id=None):
    draft = Draft(name, OrganizationKind.NGO, district_id, "Описание " * 5, "тел. 1", PROPOSALS)
    found = await organizations.submit(session, head, draft)
    await organizations.decide(session, secretary, found.id, approve=True)
    return found


async def seat_of(session, user: User, kind: BodyKind = BodyKind.COUNCIL) -> Membership | None:
    body = await bodies.single(session, kind)
    return await session.scalar(
        select(Membership).where(Membership.body_id == body.id, Membership.user_id == user.id)
    )


async def notices_to(session, user: User) -> list[str]:
    rows = await session.scalars(
        select(Outbox.text_key)
        .join(Delivery, Delivery.outbox_id == Outbox.id)
        .where(Delivery.user_id == user.id)
        .order_by(Outbox.id)
    )
    return list(rows)


async def refused(call, key: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        await call
    assert info.value.key == key
    return info.value


@pytest.fixture
async def people(session):
    return {
        "secretary": await person(session, 1, "Секретарь", Role.SECRETARIAT),
        "anna": await person(session, 2, "Анна"),
        "boris": await person(session, 3, "Борис"),
        "vera": await person(session, 4, "Вера"),
    }


async def test_a_base_organizations_seat_follows_the_designation(session, people):
    secretary, anna, boris, vera = (people[k] for k in ("secretary", "anna", "boris", "vera"))
    north = await districts.seed_district(session, 1, "Северный")
    spring = await organization(session, secretary, anna, "Родник", north.id)
    session.add(
        Representative(
            organization_id=spring.id, user_id=boris.id, role=RepresentativeRole.REPRESENTATIVE
        )
    )
    dawn = await organization(session, secretary, vera, "Заря", north.id)
    await session.flush()
    council_body = await bodies.single(session, BodyKind.COUNCIL)

    def seat(user, organization_id=None):
        return bodies.add_member(
            session,
            secretary,
            council_body.id,
            user.id,
            category=CouncilCategory.BASE_ORGANIZATION,
            organization_id=organization_id,
        )

    await refused(seat(anna), "council-organization-required")
    error = await refused(seat(anna, spring.id), "council-not-base")
    assert error.params == {"name": "Родник"}

    # Designating the district's base organization seats its head.
    await districts.set_base_organization(session, secretary, north.id, spring.id)
    held = await seat_of(session, anna)
    assert held is not None and held.council_category == CouncilCategory.BASE_ORGANIZATION
    assert held.organization_id == spring.id
    assert Role.COUNCIL in anna.role_set
    assert await notices_to(session, anna) == ["council-seated-base"]

    error = await refused(seat(vera, spring.id), "council-not-representative")
    assert error.params == {"person": "Вера", "name": "Родник"}

    # Another representative takes the organization's one seat over.
    await seat(boris, spring.id)
    assert await seat_of(session, anna) is None and Role.COUNCIL not in anna.role_set
    assert await notices_to(session, anna) == ["council-seated-base", "council-seat-replaced"]

    # Another base organization: the seat moves to it.
    await districts.set_base_organization(session, secretary, north.id, dawn.id)
    assert await seat_of(session, boris) is None and Role.COUNCIL not in boris.role_set
    assert await notices_to(session, boris) == ["council-seat-ended-base"]
    moved = await seat_of(session, vera)
    assert moved is not None and moved.organization_id == dawn.id
    assert await notices_to(session, vera) == ["council-seated-base"]
    # The old organization is no longer any district's base.
    await refused(seat(boris, spring.id), "council-not-base")


async def test_a_head_who_already_sits_keeps_their_seat(session, people):
    secretary, anna = people["secretary"], people["anna"]
    north = await districts.seed_district(session, 1, "Северный")
    spring = await organization(session, secretary, anna, "Родник", north.id)
    council_body = await bodies.single(session, BodyKind.COUNCIL)
    await bodies.add_member(
        session, secretary, council_body.id, anna.id, category=CouncilCategory.HONORARY
    )
    await districts.set_base_organization(session, secretary, north.id, spring.id)
    assert (await seat_of(session, anna)).council_category == CouncilCategory.HONORARY


async def test_a_citywide_seat_needs_a_living_designation(session, people):
    secretary, anna, boris = people["secretary"], people["anna"], people["boris"]
    union = await organization(session, secretary, anna, "Союз ветеранов")
    council_body = await bodies.single(session, BodyKind.COUNCIL)

    def seat(user):
        return bodies.add_member(
            session,
            secretary,
            council_body.id,
            user.id,
            category=CouncilCategory.CITYWIDE,
            organization_id=union.id,
        )

    await refused(seat(anna), "council-not-citywide")
    with pytest.raises(NotAllowed):
        await council.designate_citywide(session, anna, union.id, BASIS)
    await refused(
        council.designate_citywide(session, secretary, union.id, "  "), "council-bad-basis"
    )
    await refused(
        council.designate_citywide(session, secretary, union.id, "я" * 501), "council-bad-basis"
    )
    designation = await council.designate_citywide(session, secretary, union.id, BASIS)
    assert designation.basis == BASIS and designation.decided_by_id == secretary.id
    await refused(
        council.designate_citywide(session, secretary, union.id, BASIS), "council-already-citywide"
    )
    await refused(seat(boris), "council-not-representative")
    await seat(anna)
    assert Role.COUNCIL in anna.role_set

    # Revoking the designation ends the seat; a second revocation finds nothing.
    await council.revoke_citywide(session, secretary, designation.id)
    assert await seat_of(session, anna) is None and Role.COUNCIL not in anna.role_set
    assert await notices_to(session, anna) == ["council-seat-ended-citywide"]
    await refused(seat(anna), "council-not-citywide")
    with pytest.raises(NotFound) as info:
        await council.revoke_citywide(session, secretary, designation.id)
    assert info.value.key == "council-designation-not-found"


async def test_a_pending_organization_cannot_be_designated_citywide(session, people):
    secretary, anna = people["secretary"], people["anna"]
    draft = Draft("Новички", OrganizationKind.NGO, None, "Описание " * 5, "тел. 1", PROPOSALS)
    pending = await organizations.submit(session, anna, draft)
    await refused(
        council.designate_citywide(session, secretary, pending.id, BASIS),
        "council-citywide-not-approved",
    )


async def test_only_the_office_holder_is_a_co_chair_and_a_new_holder_moves_the_seat(
    session, people
):
    secretary, anna, boris = people["secretary"], people["anna"], people["boris"]
    council_body = await bodies.single(session, BodyKind.COUNCIL)

    def seat(user, office="council_chair"):
        return bodies.add_member(
            session,
            secretary,
            council_body.id,
            user.id,
            MemberRole.CHAIR,
            CouncilCategory.CO_CHAIR,
            office=office,
        )

    await refused(seat(anna, None), "council-office-required")
    await refused(seat(anna, "mayor"), "council-office-required")
    error = await refused(seat(anna), "council-not-holder-council_chair")
    assert error.params == {"person": "Анна"}

    await council.set_office_holder(session, secretary, Office.COUNCIL_CHAIR, anna.id, BASIS)
    held = await seat_of(session, anna)
    assert held.council_category == CouncilCategory.CO_CHAIR and held.role == MemberRole.CHAIR
    assert held.office == "council_chair"
    assert await notices_to(session, anna) == ["council-seated-office"]
    await refused(seat(boris), "council-not-holder-council_chair")
    await refused(seat(anna, "city_head"), "council-not-holder-city_head")

    await council.set_office_holder(session, secretary, Office.COUNCIL_CHAIR, boris.id, BASIS)
    assert await seat_of(session, anna) is None and Role.COUNCIL not in anna.role_set
    assert await notices_to(session, anna) == [
        "council-seated-office",
        "council-seat-replaced-office",
    ]
    assert (await seat_of(session, boris)).office == "council_chair"
    lines = {line.office: line for line in await council.offices(session, secretary)}
    assert lines[Office.COUNCIL_CHAIR].holder.id == boris.id
    assert lines[Office.COUNCIL_CHAIR].seated
    assert lines[Office.CITY_HEAD].designation is None

    await council.clear_office(session, secretary, Office.COUNCIL_CHAIR)
    assert await seat_of(session, boris) is None
    assert await notices_to(session, boris) == [
        "council-seated-office",
        "council-seat-ended-office",
    ]
    await refused(
        council.clear_office(session, secretary, Office.COUNCIL_CHAIR), "council-office-vacant"
    )
    with pytest.raises(NotAllowed):
        await council.set_office_holder(session, anna, Office.CITY_HEAD, anna.id, BASIS)


async def test_an_elected_member_needs_a_closed_conference_election_they_won(session, people):
    secretary, anna, boris = people["secretary"], people["anna"], people["boris"]
    council_body = await bodies.single(session, BodyKind.COUNCIL)
    term = utcnow() + timedelta(days=365)

    def seat(user, vote_id, actor=secretary, until=term):
        return bodies.seat(
            session,
            actor,
            council_body.id,
            user.id,
            MemberRole.MEMBER,
            CouncilCategory.ELECTED,
            until,
            basis_vote_id=vote_id,
        )

    won = await conference_election(session, anna.id, losers=(boris.id,))
    await refused(seat(anna, None), "council-election-required")
    await refused(seat(anna, 999), "council-vote-not-found")
    not_election = await council_vote(session)
    await refused(seat(anna, not_election.id), "council-not-conference-election")
    at_a_session = await conference_election(session, anna.id)
    (await session.get(Meeting, at_a_session.subject_id)).kind = MeetingKind.SESSION
    await refused(seat(anna, at_a_session.id), "council-not-conference-election")
    running = await conference_election(session, anna.id, closed=False)
    await refused(seat(anna, running.id), "council-election-not-closed")
    error = await refused(seat(boris, won.id), "council-not-elected")
    assert error.params == {"number": won.id, "person": "Борис"}
    await refused(seat(anna, won.id, until=None), "bodies-term-required")

    # The bot itself seats the winner after the election, under the same rule.
    held = await seat(anna, won.id, actor=None)
    assert held.basis_vote_id == won.id and held.until == term
    assert Role.COUNCIL in anna.role_set


async def test_an_honorary_citizen_sits_by_status(session, people):
    secretary, anna = people["secretary"], people["anna"]
    council_body = await bodies.single(session, BodyKind.COUNCIL)
    await refused(
        bodies.add_member(
            session,
            secretary,
            council_body.id,
            anna.id,
            category=CouncilCategory.HONORARY,
            basis_text="я" * 501,
        ),
        "council-bad-basis",
    )
    held = await bodies.add_member(
        session,
        secretary,
        council_body.id,
        anna.id,
        category=CouncilCategory.HONORARY,
        basis_text=" Решение Совета депутатов  № 5 ",
        organization_id=42,  # not this category's: not kept
    )
    assert held.basis_text == "Решение Совета депутатов № 5" and held.organization_id is None


async def test_the_presidium_is_appointed_by_the_council(session, people):
    secretary, anna = people["secretary"], people["anna"]
    presidium = await bodies.single(session, BodyKind.PRESIDIUM)

    def seat(vote_id):
        return bodies.add_member(session, secretary, presidium.id, anna.id, basis_vote_id=vote_id)

    await refused(seat(None), "council-decision-required")
    await refused(seat(12345), "council-vote-not-found")
    committee_vote = await council_vote(session, body=BodyKind.EXECUTIVE)
    await refused(seat(committee_vote.id), "council-not-council-vote")
    rejected = await council_vote(session, outcome=Outcome.REJECTED)
    await refused(seat(rejected.id), "council-vote-not-adopted")
    election = await conference_election(session, anna.id)
    await refused(seat(election.id), "council-not-council-vote")
    assert Role.PRESIDIUM not in anna.role_set

    adopted = await council_vote(session)
    held = await seat(adopted.id)
    assert held.basis_vote_id == adopted.id and Role.PRESIDIUM in anna.role_set


def test_vote_numbers_are_read_as_people_type_them():
    assert council.parse_vote_number(" №12 ") == 12
    assert council.parse_vote_number("#7") == 7
    assert council.parse_vote_number("No. 3") == 3
    for bad in ("двенадцать", "12a", "", "1" * 12):
        with pytest.raises(InvalidInput):
            council.parse_vote_number(bad)
