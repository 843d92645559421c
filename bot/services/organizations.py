"""Organizations join the Assembly: applications, the Secretariat's decisions, representatives,
invitations, suspension and leaving, and the public directory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected
from bot.services import audit, invites, roles, users
from bot.services.errors import DomainError, InvalidInput, NotAllowed, NotFound
from bot.services.permissions import REPRESENTATIVES, require_registered, require_role
from models import (
    ApplicationMessage,
    District,
    Invite,
    InviteKind,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Representative,
    RepresentativeRole,
    User,
)
from models.base import utcnow
from models.organizations import ACTIVE_STATUSES

# Field limits keep a full application card under Telegram's 4096 characters.
LIMITS: dict[str, tuple[int, int]] = {
    "name": (3, 200),
    "description": (20, 1000),
    "contacts": (5, 300),
    # The Concept asks for real proposals, not a word: a paragraph at least.
    "proposals": (100, 2000),
}
INVITE_TTL = timedelta(days=7)


class AlreadyDecided(DomainError):
    key = "organizations-already-decided"


def name_key(name: str) -> str:
    """Names compare with case and spaces ignored: «ТОС  Заречье» is «тос заречье»."""
    return "".join(name.casefold().split())


def clean_field(field: str, raw: str) -> str:
    """A field of an application, trimmed and checked against its length limits."""
    low, high = LIMITS[field]
    value = raw.strip()
    if field == "name":
        value = " ".join(value.split())
    if len(value) < low:
        raise InvalidInput(f"organizations-{field}-too-short", min=low, length=len(value))
    if len(value) > high:
        raise InvalidInput(f"organizations-{field}-too-long", max=high, length=len(value))
    return value


@dataclass
class Draft:
    name: str
    kind: OrganizationKind
    district_id: int | None
    description: str
    contacts: str
    proposals: str


async def find_active_by_name(session: AsyncSession, name: str) -> Organization | None:
    return await session.scalar(
        select(Organization).where(
            Organization.name_key == name_key(name), Organization.status.in_(ACTIVE_STATUSES)
        )
    )


async def check_name_free(session: AsyncSession, name: str) -> None:
    """Refuse a name another pending or member organization holds."""
    existing = await find_active_by_name(session, name)
    if existing is not None:
        raise InvalidInput(
            "organizations-duplicate-name", name=existing.name, status=existing.status.value
        )


async def submit(
    session: AsyncSession, applicant: User, draft: Draft, *, entered_by: User | None = None
) -> Organization:
    """File an application; the applicant becomes its head representative once approved."""
    if entered_by is None:
        require_registered(applicant)
    else:
        users.require_registrar(entered_by)
    fields = {f: clean_field(f, getattr(draft, f)) for f in LIMITS}
    if draft.district_id is not None and await session.get(District, draft.district_id) is None:
        raise NotFound("districts-not-found")
    await check_name_free(session, fields["name"])
    organization = Organization(
        **fields,
        name_key=name_key(fields["name"]),
        kind=OrganizationKind(draft.kind),
        district_id=draft.district_id,
        applicant_id=applicant.id,
        entered_by_id=entered_by.id if entered_by else None,
        agreed_at=utcnow(),
        representatives=[Representative(user=applicant, role=RepresentativeRole.HEAD)],
    )
    session.add(organization)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        # Another application with this name slipped in between the check and the insert.
        raise InvalidInput("organizations-duplicate-name-race") from None
    await audit.record(
        session,
        entered_by or applicant,
        "organization.apply",
        "organization",
        organization.id,
        name=organization.name,
        entered_by_secretariat=entered_by is not None,
    )
    return organization


async def get(session: AsyncSession, organization_id: int) -> Organization:
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("organizations-not-found")
    return organization


@dataclass(frozen=True)
class Page:
    items: list[Organization]
    page: int
    pages: int
    total: int


async def _page(
    session: AsyncSession, query: Select[Organization], page: int, per_page: int
) -> Page:
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    rows = await session.scalars(query.offset(page * per_page).limit(per_page))
    return Page(list(rows), page, pages, total)


async def queue(
    session: AsyncSession, actor: User | None, page: int = 0, per_page: int = 5
) -> Page:
    """Pending applications, oldest first, for the Secretariat."""
    users.require_registrar(actor)
    query = (
        select(Organization)
        .where(Organization.status == OrganizationStatus.PENDING)
        .order_by(Organization.created_at, Organization.id)
    )
    return await _page(session, query, page, per_page)


async def decide(
    session: AsyncSession, actor: User | None, organization_id: int, approve: bool, reason: str = ""
) -> Organization:
    """Approve or reject a pending application; only the first of two racing decisions counts."""
    actor = users.require_registrar(actor)
    reason = reason.strip()
    if not approve and not reason:
        raise InvalidInput("organizations-reason-required")
    if len(reason) > 1000:
        raise InvalidInput("organizations-reason-too-long", max=1000)
    status = OrganizationStatus.APPROVED if approve else OrganizationStatus.REJECTED
    # The conditional update is the arbiter: the database lets one transaction change the row.
    result = await session.execute(
        update(Organization)
        .where(
            Organization.id == organization_id,
            Organization.status == OrganizationStatus.PENDING,
        )
        .values(
            status=status,
            decided_at=utcnow(),
            decided_by_id=actor.id,
            decision_reason=reason or None,
        )
        .execution_options(synchronize_session=False)
    )
    organization = await get(session, organization_id)
    await session.refresh(organization)
    if affected(result) == 0:
        raise _already_decided(organization)
    # The reason is free text that may name people: it stays on the organization, where erasure
    # can scrub it; the audit log, which nothing may edit, keeps ids only.
    await audit.record(
        session,
        actor,
        "organization.approve" if approve else "organization.reject",
        "organization",
        organization.id,
    )
    for representative in organization.representatives:
        await roles.sync_roles(session, representative.user)
    return organization


def _already_decided(organization: Organization) -> AlreadyDecided:
    return AlreadyDecided(
        by=organization.decided_by.name if organization.decided_by else "—",
        status=organization.status.value,
    )


# The status an organization must have for each of the Secretariat's actions.
ACTION_STATUS = {
    "approve": OrganizationStatus.PENDING,
    "reject": OrganizationStatus.PENDING,
    "ask": OrganizationStatus.PENDING,
    "suspend": OrganizationStatus.APPROVED,
    "restore": OrganizationStatus.SUSPENDED,
}


def check_action(organization: Organization, action: str) -> None:
    """Refuse an action a stale card offers: the organization has moved on since."""
    expected = ACTION_STATUS[action]
    if organization.status == expected:
        return
    if expected == OrganizationStatus.PENDING:
        raise _already_decided(organization)
    raise InvalidInput("organizations-status-changed", status=organization.status.value)


def recipients(organization: Organization) -> list[User]:
    """The people to tell about an organization's news: its living representatives."""
    return [
        r.user
        for r in organization.representatives
        if r.user.telegram_id is not None and r.user.deleted_at is None
    ]


async def request_info(
    session: AsyncSession, actor: User | None, organization_id: int, text: str
) -> Organization:
    """The Secretariat asks the applicant a question; the application stays pending."""
    actor = users.require_registrar(actor)
    text = _clean_message(text)
    organization = await get(session, organization_id)
    check_action(organization, "ask")
    session.add(
        ApplicationMessage(
            organization_id=organization.id, author_id=actor.id, from_secretariat=True, text=text
        )
    )
    organization.info_requested_at = utcnow()
    await audit.record(session, actor, "organization.ask", "organization", organization.id)
    return organization


async def answer_info(
    session: AsyncSession, user: User | None, organization_id: int, text: str
) -> Organization:
    """The applicant answers the Secretariat's question; the answer lands on the card."""
    user = require_registered(user)
    text = _clean_message(text)
    organization = await get(session, organization_id)
    if not is_representative(organization, user):
        raise NotAllowed()
    if organization.status != OrganizationStatus.PENDING:
        raise InvalidInput("organizations-not-pending")
    session.add(
        ApplicationMessage(
            organization_id=organization.id, author_id=user.id, from_secretariat=False, text=text
        )
    )
    organization.info_requested_at = None
    await audit.record(session, user, "organization.answer", "organization", organization.id)
    return organization


def _clean_message(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInput("organizations-message-empty")
    if len(text) > 2000:
        raise InvalidInput("organizations-message-too-long", max=2000, length=len(text))
    return text


async def conversation(session: AsyncSession, organization_id: int) -> list[ApplicationMessage]:
    rows = await session.scalars(
        select(ApplicationMessage)
        .where(ApplicationMessage.organization_id == organization_id)
        .order_by(ApplicationMessage.id)
    )
    return list(rows)


def is_representative(organization: Organization, user: User, *, head: bool = False) -> bool:
    return any(
        r.user_id == user.id and (not head or r.role == RepresentativeRole.HEAD)
        for r in organization.representatives
    )


def may_see_representatives(organization: Organization, user: User) -> bool:
    """Its representatives and the Secretariat see who represents an organization."""
    return is_representative(organization, user) or users.is_registrar(user)


def require_representative(actor: User | None) -> User:
    """Someone who represents an approved organization (and so may invite colleagues)."""
    return require_role(actor, *REPRESENTATIVES)


async def of_user(session: AsyncSession, user: User) -> list[Organization]:
    """Organizations the person represents, newest first (any status: they follow their fate)."""
    rows = await session.scalars(
        select(Organization)
        .join(Representative, Representative.organization_id == Organization.id)
        .where(Representative.user_id == user.id)
        .order_by(Organization.created_at.desc())
    )
    return list(rows)


async def set_membership_status(
    session: AsyncSession, actor: User | None, organization_id: int, suspend: bool, reason: str
) -> Organization:
    """Suspend a member organization or restore it, with a reason."""
    actor = users.require_registrar(actor)
    reason = reason.strip()
    if not reason:
        raise InvalidInput("organizations-reason-required")
    before = OrganizationStatus.APPROVED if suspend else OrganizationStatus.SUSPENDED
    after = OrganizationStatus.SUSPENDED if suspend else OrganizationStatus.APPROVED
    result = await session.execute(
        update(Organization)
        .where(Organization.id == organization_id, Organization.status == before)
        .values(status=after, decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    organization = await get(session, organization_id)
    await session.refresh(organization)
    if affected(result) == 0:
        raise InvalidInput("organizations-status-changed", status=organization.status.value)
    await audit.record(
        session,
        actor,
        "organization.suspend" if suspend else "organization.restore",
        "organization",
        organization.id,
    )
    for representative in organization.representatives:
        await roles.sync_roles(session, representative.user)
    return organization


async def leave(session: AsyncSession, user: User | None, organization_id: int) -> Organization:
    """The organization's head takes it out of the Assembly."""
    user = require_registered(user)
    organization = await get(session, organization_id)
    if not is_representative(organization, user, head=True):
        raise NotAllowed()
    if organization.status not in ACTIVE_STATUSES:
        raise InvalidInput("organizations-status-changed", status=organization.status.value)
    organization.status = OrganizationStatus.LEFT
    await session.flush()
    await audit.record(session, user, "organization.leave", "organization", organization.id)
    for representative in organization.representatives:
        await roles.sync_roles(session, representative.user)
    return organization


async def create_invite(
    session: AsyncSession, user: User | None, organization_id: int, ttl: timedelta = INVITE_TTL
) -> Invite:
    """A one-time link for a colleague to become a co-representative; it expires."""
    user = require_registered(user)
    organization = await get(session, organization_id)
    if not is_representative(organization, user):
        raise NotAllowed()
    if organization.status not in ACTIVE_STATUSES:
        raise InvalidInput("organizations-status-changed", status=organization.status.value)
    invite = await invites.create(
        session, InviteKind.CO_REPRESENTATIVE, user, ttl, organization_id=organization.id
    )
    await audit.record(session, user, "organization.invite", "organization", organization.id)
    return invite


async def accept_invite(session: AsyncSession, user: User | None, token: str) -> Organization:
    """A colleague follows an invitation link and becomes a co-representative."""
    user = require_registered(user)
    invite = await invites.claim(session, token, InviteKind.CO_REPRESENTATIVE, user)
    organization = await get(session, invite.organization_id or 0)
    if organization.status not in ACTIVE_STATUSES:
        raise InvalidInput("organizations-status-changed", status=organization.status.value)
    if not is_representative(organization, user):
        organization.representatives.append(
            Representative(user=user, role=RepresentativeRole.REPRESENTATIVE)
        )
        await session.flush()
    await audit.record(
        session, user, "organization.join_representative", "organization", organization.id
    )
    await roles.sync_roles(session, user)
    return organization


async def remove_representative(
    session: AsyncSession, actor: User | None, organization_id: int, user_id: int
) -> Organization:
    """The head or the Secretariat removes a representative; the head stays."""
    actor = require_registered(actor)
    organization = await get(session, organization_id)
    if not (is_representative(organization, actor, head=True) or users.is_registrar(actor)):
        raise NotAllowed()
    target = next((r for r in organization.representatives if r.user_id == user_id), None)
    if target is None:
        raise NotFound("organizations-representative-not-found")
    if target.role == RepresentativeRole.HEAD:
        raise InvalidInput("organizations-cannot-remove-head")
    organization.representatives.remove(target)
    await session.flush()
    await audit.record(
        session,
        actor,
        "organization.remove_representative",
        "organization",
        organization.id,
        user_id=user_id,
    )
    await roles.sync_roles(session, target.user)
    return organization


async def directory(
    session: AsyncSession,
    *,
    query: str = "",
    district_id: int | None = None,
    kind: OrganizationKind | None = None,
    page: int = 0,
    per_page: int = 8,
) -> Page:
    """Member organizations for anyone to browse: search by name, filter by district and kind."""
    statement = select(Organization).where(Organization.status == OrganizationStatus.APPROVED)
    if query.strip():
        # name_key has no spaces, so the query is folded the same way.
        statement = statement.where(Organization.name_key.contains(name_key(query)))
    if district_id is not None:
        statement = statement.where(Organization.district_id == district_id)
    if kind is not None:
        statement = statement.where(Organization.kind == kind)
    statement = statement.order_by(Organization.name_key, Organization.id)
    return await _page(session, statement, page, per_page)


async def registry_rows(session: AsyncSession) -> list[Organization]:
    """Every organization with its status, for the Secretariat's export."""
    return list(await session.scalars(select(Organization).order_by(Organization.id)))
