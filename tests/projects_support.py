"""Shared by the projects' tests: districts, member organizations with their representatives,
committees and projects made directly through the services."""

from __future__ import annotations

from datetime import date, timedelta

from bot.services import bodies, districts, organizations, users
from bot.services.organizations import Draft
from models import BodyKind, MemberRole, OrganizationKind, Role
from models.base import utcnow
from models.projects import ParticipantStatus, Project, ProjectParticipant, ProjectStatus
from tests.conftest import ADMIN_ID
from tests.support import register

ORG_TEXT = "Описание организации, достаточно длинное для заявки. "
PROPOSALS = "Конкретные предложения по благоустройству дворов и учёту потребностей жителей. " * 2


async def district(running, number: int, name: str) -> int:
    async with running.sessionmaker.begin() as session:
        return (await districts.seed_district(session, number, name)).id


async def member_organization(
    running,
    rep_telegram_id: int,
    rep_name: str,
    org_name: str,
    district_id: int | None,
    kind: OrganizationKind = OrganizationKind.NGO,
) -> tuple[int, int]:
    """An approved member organization whose head is a new registered person; returns
    (organization id, the head's user id)."""
    head_id = await register(running, rep_telegram_id, rep_name)
    async with running.sessionmaker.begin() as session:
        head = await users.get_user(session, rep_telegram_id)
        admin = await users.get_user(session, ADMIN_ID)
        assert head is not None and admin is not None
        draft = Draft(org_name, kind, district_id, ORG_TEXT, "тел. 1", PROPOSALS)
        organization = await organizations.submit(session, head, draft)
        await organizations.decide(session, admin, organization.id, approve=True)
        return organization.id, head_id


async def committee(running, name: str, direction: str, chair: int, *members: int) -> int:
    """A committee with a chair and members (user ids); returns its id."""
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        body = await bodies.create(session, admin, BodyKind.COMMITTEE, name, direction)
        await bodies.add_member(session, admin, body.id, chair, MemberRole.CHAIR)
        for member in members:
            await bodies.add_member(session, admin, body.id, member)
        return body.id


async def executive(running, telegram_id: int, name: str) -> int:
    """A member of the executive committee."""
    user_id = await register(running, telegram_id, name)
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        body = await bodies.single(session, BodyKind.EXECUTIVE)
        await bodies.add_member(session, admin, body.id, user_id)
    return user_id


async def project(
    running,
    organization_id: int,
    proposer_id: int,
    *,
    title: str = "Светлый двор",
    district_id: int | None = None,
    status: ProjectStatus = ProjectStatus.DRAFT,
    committee_id: int | None = None,
    programme_id: int | None = None,
) -> int:
    """A project with every field filled, put straight into `status` (no history): for tests
    of what comes after that status."""
    async with running.sessionmaker.begin() as session:
        organization = await organizations.get(session, organization_id)
        today = utcnow().date()
        item = Project(
            organization_id=organization_id,
            proposer_id=proposer_id,
            district_id=district_id,
            programme_id=programme_id,
            committee_id=committee_id,
            status=status,
            title=title,
            summary="Освещение и скамейки во дворе на Советской.",
            goals="Двор освещён вечером; жители сидят на скамейках.",
            budget=150_000,
            budget_sources="Грант города и взносы жителей",
            wanted="Волонтёры на субботник, электрик",
            starts_on=today + timedelta(days=10),
            ends_on=today + timedelta(days=100),
            version=0 if status == ProjectStatus.DRAFT else 1,
        )
        session.add(item)
        await session.flush()
        session.add(
            ProjectParticipant(
                project_id=item.id,
                organization_id=organization_id,
                district_id=organization.district_id,
                role="инициатор",
                status=ParticipantStatus.ACTIVE,
                lead=True,
            )
        )
        return item.id


def a_date(days: int) -> date:
    return utcnow().date() + timedelta(days=days)


__all__ = ["Role", "a_date", "committee", "district", "executive", "member_organization", "project"]
