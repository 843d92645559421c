"""Registry rules without Telegram: applications, decisions, invites, bodies, roles, audit."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from bot import db
from bot.services import audit, bodies, districts, organizations, users
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.organizations import AlreadyDecided, Draft
from models import (
    AuditEntry,
    BodyKind,
    CouncilCategory,
    Invite,
    MemberRole,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Role,
)
from models.base import utcnow
from tests.conftest import AUDIT_KEYS
from tests.council_support import conference_election

PROPOSALS = (
    "Предлагаем провести субботник во дворах округа и наладить учёт потребностей жителей. " * 2
)


async def person(session, telegram_id: int, name: str = "Житель", *role_list: Role):
    user = await users.give_consent(session, telegram_id, language="ru", username=f"u{telegram_id}")
    await users.set_name(session, user, name, max_length=100)
    await users.complete_registration(session, user)
    for role in role_list:
        await users.grant_role(session, user, role)
    return user


def draft(name: str = "ТОС «Заречье»", district_id: int | None = None) -> Draft:
    return Draft(
        name=name,
        kind=OrganizationKind.TOS,
        district_id=district_id,
        description="Территориальное общественное самоуправление микрорайона Заречье.",
        contacts="+7 900 000-00-00",
        proposals=PROPOSALS,
    )


async def test_apply_and_approve_gives_the_representative_role(session):
    applicant = await person(session, 1, "Анна")
    secretary = await person(session, 2, "Секретарь", Role.SECRETARIAT)
    organization = await organizations.submit(session, applicant, draft())
    assert organization.status == OrganizationStatus.PENDING
    assert Role.REPRESENTATIVE not in applicant.role_set

    await organizations.decide(session, secretary, organization.id, approve=True)
    assert organization.status == OrganizationStatus.APPROVED
    assert organization.decided_by.id == secretary.id
    assert Role.REPRESENTATIVE in applicant.role_set


async def test_duplicate_names_ignore_case_and_spaces(session):
    applicant = await person(session, 1)
    await organizations.submit(session, applicant, draft("ТОС «Заречье»"))
    with pytest.raises(InvalidInput) as info:
        await organizations.submit(session, applicant, draft("  тос   «ЗАРЕЧЬЕ» "))
    assert info.value.key == "organizations-duplicate-name"
    assert await session.scalar(select(func.count()).select_from(Organization)) == 1


async def test_rejected_name_can_apply_again(session):
    applicant = await person(session, 1)
    secretary = await person(session, 2, "С", Role.SECRETARIAT)
    first = await organizations.submit(session, applicant, draft())
    await organizations.decide(
        session, secretary, first.id, approve=False, reason="Нет предложений"
    )
    second = await organizations.submit(session, applicant, draft())
    assert second.id != first.id


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("proposals", "Сделаем хорошо.", "organizations-proposals-too-short"),
        ("name", "x" * 201, "organizations-name-too-long"),
        ("description", "коротко", "organizations-description-too-short"),
    ],
)
async def test_application_fields_are_checked(session, field, value, key):
    applicant = await person(session, 1)
    bad = draft()
    setattr(bad, field, value)
    with pytest.raises(InvalidInput) as info:
        await organizations.submit(session, applicant, bad)
    assert info.value.key == key


async def test_reject_needs_a_reason_and_a_second_decision_is_refused(session):
    applicant = await person(session, 1)
    first = await person(session, 2, "Ольга", Role.SECRETARIAT)
    second = await person(session, 3, "Павел", Role.SECRETARIAT)
    organization = await organizations.submit(session, applicant, draft())
    with pytest.raises(InvalidInput):
        await organizations.decide(session, first, organization.id, approve=False, reason="  ")
    await organizations.decide(session, first, organization.id, approve=False, reason="Дубль")
    with pytest.raises(AlreadyDecided) as info:
        await organizations.decide(session, second, organization.id, approve=True)
    assert info.value.params == {"by": "Ольга", "status": "rejected"}
    assert organization.status == OrganizationStatus.REJECTED


async def test_concurrent_decisions_record_exactly_one(engine):
    sessionmaker = db.create_sessionmaker(engine, audit=AUDIT_KEYS)
    async with sessionmaker.begin() as session:
        applicant = await person(session, 1)
        secretaries = [await person(session, 10 + i, f"С{i}", Role.SECRETARIAT) for i in range(2)]
        organization = await organizations.submit(session, applicant, draft())
    ids = [s.id for s in secretaries]

    async def decide(secretary_id: int, approve: bool) -> str:
        async with sessionmaker() as session:
            actor = await session.get(type(secretaries[0]), secretary_id)
            try:
                await organizations.decide(session, actor, organization.id, approve, "причина")
            except AlreadyDecided:
                await session.rollback()
                return "refused"
            await session.commit()
            return "decided"

    outcomes = await asyncio.gather(decide(ids[0], True), decide(ids[1], False))
    assert sorted(outcomes) == ["decided", "refused"]
    async with sessionmaker() as session:
        decisions = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action.in_(["organization.approve", "organization.reject"]))
        )
        assert decisions == 1
        assert (await audit.verify(session)).ok


async def test_only_the_secretariat_decides(session):
    applicant = await person(session, 1)
    organization = await organizations.submit(session, applicant, draft())
    with pytest.raises(NotAllowed):
        await organizations.decide(session, applicant, organization.id, approve=True)
    with pytest.raises(NotAllowed):
        await organizations.queue(session, applicant)
    assert organization.status == OrganizationStatus.PENDING


async def test_more_information_round_trip(session):
    applicant = await person(session, 1)
    stranger = await person(session, 3)
    secretary = await person(session, 2, "С", Role.SECRETARIAT)
    organization = await organizations.submit(session, applicant, draft())
    await organizations.request_info(session, secretary, organization.id, "Пришлите устав")
    assert organization.info_requested_at is not None
    with pytest.raises(NotAllowed):
        await organizations.answer_info(session, stranger, organization.id, "Вот")
    await organizations.answer_info(session, applicant, organization.id, "Устав по ссылке")
    talk = await organizations.conversation(session, organization.id)
    assert [(m.from_secretariat, m.text) for m in talk] == [
        (True, "Пришлите устав"),
        (False, "Устав по ссылке"),
    ]
    assert organization.info_requested_at is None


async def test_queue_is_oldest_first_and_paginated(session):
    applicant = await person(session, 1)
    secretary = await person(session, 2, "С", Role.SECRETARIAT)
    for i in range(7):
        await organizations.submit(session, applicant, draft(f"Организация {i}"))
    first = await organizations.queue(session, secretary, page=0, per_page=5)
    second = await organizations.queue(session, secretary, page=1, per_page=5)
    assert [o.name for o in first.items] == [f"Организация {i}" for i in range(5)]
    assert (second.total, len(second.items), second.pages) == (7, 2, 2)


async def test_invite_link_once_and_not_after_expiry(session):
    head = await person(session, 1, "Глава")
    colleague = await person(session, 2, "Коллега")
    third = await person(session, 3, "Третий")
    secretary = await person(session, 4, "С", Role.SECRETARIAT)
    organization = await organizations.submit(session, head, draft())
    await organizations.decide(session, secretary, organization.id, approve=True)

    invite = await organizations.create_invite(session, head, organization.id)
    assert len(invite.token) <= 64
    await organizations.accept_invite(session, colleague, invite.token)
    assert Role.REPRESENTATIVE in colleague.role_set
    with pytest.raises(InvalidInput) as info:
        await organizations.accept_invite(session, third, invite.token)
    assert info.value.key == "invites-used"

    expired = await organizations.create_invite(session, head, organization.id)
    await session.execute(
        update(Invite).where(Invite.id == expired.id).values(expires_at=utcnow() - timedelta(1))
    )
    with pytest.raises(InvalidInput) as info:
        await organizations.accept_invite(session, third, expired.token)
    assert info.value.key == "invites-expired"
    with pytest.raises(NotFound):
        await organizations.accept_invite(session, third, "forged-token")
    with pytest.raises(NotAllowed):
        await organizations.create_invite(session, third, organization.id)


async def test_remove_representative_and_leave(session):
    head = await person(session, 1, "Глава")
    colleague = await person(session, 2, "Коллега")
    secretary = await person(session, 4, "С", Role.SECRETARIAT)
    organization = await organizations.submit(session, head, draft())
    await organizations.decide(session, secretary, organization.id, approve=True)
    invite = await organizations.create_invite(session, head, organization.id)
    await organizations.accept_invite(session, colleague, invite.token)
    with pytest.raises(NotAllowed):
        await organizations.remove_representative(session, colleague, organization.id, head.id)
    await organizations.remove_representative(session, head, organization.id, colleague.id)
    assert Role.REPRESENTATIVE not in colleague.role_set
    await organizations.leave(session, head, organization.id)
    assert organization.status == OrganizationStatus.LEFT
    assert Role.REPRESENTATIVE not in head.role_set


async def test_suspend_and_restore_with_reason(session):
    head = await person(session, 1)
    secretary = await person(session, 4, "С", Role.SECRETARIAT)
    organization = await organizations.submit(session, head, draft())
    await organizations.decide(session, secretary, organization.id, approve=True)
    with pytest.raises(InvalidInput):
        await organizations.set_membership_status(session, secretary, organization.id, True, "")
    await organizations.set_membership_status(
        session, secretary, organization.id, True, "Неактивна"
    )
    assert organization.status == OrganizationStatus.SUSPENDED
    assert Role.REPRESENTATIVE not in head.role_set
    await organizations.set_membership_status(
        session, secretary, organization.id, False, "Вернулась"
    )
    assert Role.REPRESENTATIVE in head.role_set


async def test_directory_search_and_filters(session):
    head = await person(session, 1)
    secretary = await person(session, 4, "С", Role.SECRETARIAT)
    north = await districts.seed_district(session, 1, "Северный")
    names = ["Зелёный город", "Зелёная улица", "Клуб ветеранов"]
    for i, name in enumerate(names):
        organization = await organizations.submit(
            session, head, draft(name, north.id if i == 0 else None)
        )
        await organizations.decide(session, secretary, organization.id, approve=True)
    await organizations.submit(session, head, draft("Зелёный пруд"))  # pending: not listed
    found = await organizations.directory(session, query="ЗЕЛЁН")
    assert [o.name for o in found.items] == ["Зелёная улица", "Зелёный город"]
    assert [
        o.name for o in (await organizations.directory(session, district_id=north.id)).items
    ] == ["Зелёный город"]
    tos = await organizations.directory(session, kind=OrganizationKind.TOS, per_page=2)
    assert (tos.total, tos.pages) == (3, 2)


async def test_bodies_memberships_drive_roles(session):
    admin = await person(session, 1, "Админ", Role.ADMIN)
    member = await person(session, 2, "Член совета")
    council = await bodies.single(session, BodyKind.COUNCIL)
    with pytest.raises(InvalidInput) as info:
        await bodies.add_member(session, admin, council.id, member.id)
    assert info.value.key == "bodies-category-required"
    with pytest.raises(InvalidInput):
        await bodies.add_member(
            session, admin, council.id, member.id, category=CouncilCategory.ELECTED
        )
    with pytest.raises(InvalidInput) as info:
        await bodies.add_member(
            session,
            admin,
            council.id,
            member.id,
            MemberRole.MEMBER,
            CouncilCategory.ELECTED,
            utcnow() + timedelta(days=365),
        )
    assert info.value.key == "council-election-required"
    election = await conference_election(session, member.id)
    await bodies.add_member(
        session,
        admin,
        council.id,
        member.id,
        MemberRole.MEMBER,
        CouncilCategory.ELECTED,
        utcnow() + timedelta(days=365),
        basis_vote_id=election.id,
    )
    assert Role.COUNCIL in member.role_set
    committee = await bodies.create(
        session, admin, BodyKind.COMMITTEE, "Комитет по наследию", "Культурное наследие"
    )
    await bodies.add_member(session, admin, committee.id, member.id, MemberRole.CHAIR)
    assert {Role.COUNCIL, Role.COMMITTEE} <= member.role_set
    await bodies.remove_member(session, admin, council.id, member.id)
    assert Role.COUNCIL not in member.role_set and Role.COMMITTEE in member.role_set
    with pytest.raises(NotAllowed):
        await bodies.create(session, member, BodyKind.COMMISSION, "x", "y")


async def test_admin_grants_and_revokes_the_secretariat(session):
    admin = await person(session, 1, "Админ", Role.ADMIN)
    clerk = await person(session, 2, "Клерк")
    with pytest.raises(NotAllowed):
        await bodies.set_secretariat(session, clerk, clerk.id, grant=True)
    await bodies.set_secretariat(session, admin, clerk.id, grant=True)
    assert Role.SECRETARIAT in clerk.role_set
    await bodies.set_secretariat(session, admin, clerk.id, grant=False)
    assert Role.SECRETARIAT not in clerk.role_set


async def test_register_on_behalf_and_take_over(session):
    secretary = await person(session, 2, "С", Role.SECRETARIAT)
    paper, invite = await users.register_on_behalf(session, secretary, "Мария Ивановна", None)
    assert paper.telegram_id is None and paper.consent_source == "paper"
    assert paper.entered_by_id == secretary.id and paper.is_registered
    await users.give_consent(session, 777, language="ru", username=None)  # a half-done record
    taken = await users.take_over(session, 777, "maria", invite.token)
    assert taken.id == paper.id and taken.telegram_id == 777
    assert (await users.get_user(session, 777)).id == paper.id
    with pytest.raises(InvalidInput):
        await users.take_over(session, 778, None, invite.token)


async def test_search_people(session):
    await person(session, 1, "Анна Петрова")
    await person(session, 2, "Пётр Анненков")
    found = await users.search_people(session, "анн")
    assert {u.name for u in found} == {"Анна Петрова", "Пётр Анненков"}
    assert [u.name for u in await users.search_people(session, "@u2")] == ["Пётр Анненков"]
    assert [u.name for u in await users.search_people(session, "1")] == ["Анна Петрова"]


async def test_audit_chain_detects_edits_and_deletions(session):
    admin = await person(session, 1, "Админ", Role.ADMIN)
    for i in range(5):
        await audit.record(session, admin, "test.action", "thing", i, n=i, note="ё<>&")
    await session.commit()
    result = await audit.verify(session)
    assert result.ok and result.entries == 5

    await session.execute(text("UPDATE audit_log SET details = '{\"n\": 99}' WHERE seq = 3"))
    await session.commit()
    result = await audit.verify(session)
    assert (result.ok, result.broken_at, result.reason) == (False, 3, "audit-broken-edited")


async def test_audit_chain_detects_a_deleted_entry(session):
    for i in range(4):
        await audit.record(session, None, "test.action", "thing", i)
    await session.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    await session.commit()
    result = await audit.verify(session)
    assert (result.ok, result.broken_at, result.reason) == (False, 2, "audit-broken-missing")


async def test_audit_chain_detects_a_deleted_last_entry(session):
    for i in range(3):
        await audit.record(session, None, "test.action", "thing", i)
    await session.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    await session.commit()
    result = await audit.verify(session)
    assert (result.ok, result.reason) == (False, "audit-broken-tail")
