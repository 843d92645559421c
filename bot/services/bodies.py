"""The Assembly's bodies and their members; roles follow from who sits where.

Besides the changes: what the Secretariat and admins read (the overview, a body's members page by
page, the Secretariat itself), behind the same role checks, and the checks a dialog makes on each
answer before the final change."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, council, roles, users
from bot.services.errors import InvalidInput, NotFound
from bot.services.paging import Page, page_bounds
from bot.services.permissions import ADMINS, SECRETARIAT, require_role
from models import (
    Body,
    BodyKind,
    CouncilCategory,
    MemberRole,
    Membership,
    Role,
    ScheduledJob,
    User,
)
from models.base import utcnow
from models.bodies import SINGLE_BODIES
from scheduler import jobs

NAME_MAX = 200
DIRECTION_MAX = 1000
EXPIRE_KIND = "membership.expire"
# The order of the Regulations: the steering bodies first, then the standing ones by kind.
KIND_ORDER = (
    BodyKind.COUNCIL,
    BodyKind.PRESIDIUM,
    BodyKind.EXECUTIVE,
    BodyKind.SECRETARIAT,
    BodyKind.COMMITTEE,
    BodyKind.WORKING_GROUP,
    BodyKind.COMMISSION,
)
CREATABLE = tuple(kind for kind in KIND_ORDER if kind not in SINGLE_BODIES)
BODIES_PER_PAGE = 10
MEMBERS_PER_PAGE = 8
QUERY_MAX = 100
# Whom a person is picked for, and who may pick: a seat in a body (the Secretariat) or the
# Secretariat role itself (admins).
Picking = Literal["seat", "secretariat"]
PICKERS: dict[Picking, frozenset[Role]] = {"seat": SECRETARIAT, "secretariat": ADMINS}
_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")


def require_manager(actor: User | None) -> User:
    """The Secretariat keeps the bodies and seats people in them; NotAllowed for anyone else."""
    return require_role(actor, *SECRETARIAT)


def require_appointer(actor: User | None) -> User:
    """Admins grant and revoke the Secretariat role; NotAllowed for anyone else."""
    return require_role(actor, *ADMINS)


async def single(session: AsyncSession, kind: BodyKind) -> Body:
    """The council, presidium, executive committee or secretariat (created on first use)."""
    if kind not in SINGLE_BODIES:
        raise ValueError(f"{kind} is not a single body")
    body = await session.scalar(select(Body).where(Body.kind == kind).order_by(Body.id).limit(1))
    if body is None:
        body = Body(kind=kind)
        session.add(body)
        await session.flush()
    return body


async def all_bodies(session: AsyncSession) -> list[Body]:
    for kind in SINGLE_BODIES:
        await single(session, kind)
    rows = await session.scalars(select(Body).order_by(Body.id))
    return list(rows)


async def get(session: AsyncSession, body_id: int) -> Body:
    body = await session.get(Body, body_id)
    if body is None:
        raise NotFound("bodies-not-found")
    return body


async def create(
    session: AsyncSession, actor: User | None, kind: BodyKind, name: str, direction: str
) -> Body:
    """A committee, working group or commission, with a name and a direction."""
    actor = require_manager(actor)
    if kind in SINGLE_BODIES:
        raise InvalidInput("bodies-single-exists")
    name = " ".join(name.split())
    direction = direction.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInput("bodies-bad-name", max=NAME_MAX)
    if len(direction) > DIRECTION_MAX:
        raise InvalidInput("bodies-bad-direction", max=DIRECTION_MAX)
    body = Body(kind=kind, name=name, direction=direction or None)
    session.add(body)
    await session.flush()
    await audit.record(session, actor, "body.create", "body", body.id, kind=kind.value, name=name)
    return body


async def members(session: AsyncSession, body_id: int) -> list[Membership]:
    rows = await session.scalars(
        select(Membership).where(Membership.body_id == body_id).order_by(Membership.id)
    )
    return list(rows)


async def member_count(session: AsyncSession, body_id: int) -> int:
    query = select(func.count()).select_from(Membership).where(Membership.body_id == body_id)
    return await session.scalar(query) or 0


async def add_member(
    session: AsyncSession,
    actor: User | None,
    body_id: int,
    user_id: int,
    role: MemberRole = MemberRole.MEMBER,
    category: CouncilCategory | None = None,
    until: datetime | None = None,
    *,
    organization_id: int | None = None,
    office: str | None = None,
    basis_vote_id: int | None = None,
    basis_text: str | None = None,
) -> Membership:
    """The Secretariat seats a person in a body; council members carry a category, elected ones a
    term end (see `seat`)."""
    actor = require_manager(actor)
    return await seat(
        session,
        actor,
        body_id,
        user_id,
        role,
        category,
        until,
        organization_id=organization_id,
        office=office,
        basis_vote_id=basis_vote_id,
        basis_text=basis_text,
    )


async def seat(
    session: AsyncSession,
    actor: User | None,
    body_id: int,
    user_id: int,
    role: MemberRole = MemberRole.MEMBER,
    category: CouncilCategory | None = None,
    until: datetime | None = None,
    *,
    organization_id: int | None = None,
    office: str | None = None,
    basis_vote_id: int | None = None,
    basis_text: str | None = None,
) -> Membership:
    """Seat a person in a body, whoever asks: the Secretariat (`add_member` checks it), or the
    bot itself (`actor` None) carrying out a decision, such as a conference election. Council
    members carry a category, elected ones a term end; `organization_id`, `office` and the
    `basis_*` record which rule of the council's composition the seat was given under."""
    body = await get(session, body_id)
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("bodies-person-not-found")
    if body.kind == BodyKind.COUNCIL and category is None:
        raise InvalidInput("bodies-category-required")
    if body.kind != BodyKind.COUNCIL:
        category = None
    if category == CouncilCategory.ELECTED and until is None:
        raise InvalidInput("bodies-term-required")
    if until is not None and until <= utcnow():
        raise InvalidInput("bodies-term-past")
    # The council's categories and the presidium's appointment are rules (services/council.py).
    rule = await council.check_seat(
        session,
        body,
        user,
        category,
        organization_id=organization_id,
        office=office,
        basis_vote_id=basis_vote_id,
        basis_text=basis_text,
    )
    membership = await session.scalar(
        select(Membership).where(Membership.body_id == body.id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(body=body, user=user)
        session.add(membership)
    membership.role = role
    membership.council_category = category
    membership.until = until if category == CouncilCategory.ELECTED else None
    membership.organization_id = rule.organization_id
    membership.office = rule.office
    membership.basis_vote_id = rule.basis_vote_id
    membership.basis_text = rule.basis_text
    await session.flush()
    await audit.record(
        session,
        actor,
        "body.add_member",
        "body",
        body.id,
        user_id=user.id,
        role=role.value,
        category=category.value if category else None,
        until=until.isoformat() if until else None,
        organization_id=rule.organization_id,
        office=rule.office,
        basis_vote_id=rule.basis_vote_id,
    )
    # One seat per organization and per office: whoever held it before gives it up.
    await council.hand_over(session, actor, rule, user)
    # An elected term ends on its own: the scheduler takes the role away at `until`.
    if membership.until is not None:
        await jobs.schedule(session, EXPIRE_KIND, "membership", membership.id, membership.until)
    else:
        await jobs.cancel(session, "membership", membership.id, EXPIRE_KIND)
    await roles.sync_roles(session, user)
    return membership


async def expire_term(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
    """Scheduled at a term's end: the person's roles follow their remaining memberships."""
    membership = await session.get(Membership, job.object_id)
    if membership is None:
        return {"skipped": "membership removed"}
    _, lost = await roles.sync_roles(session, membership.user)
    return {"user_id": membership.user_id, "lost": sorted(role.value for role in lost)}


async def remove_member(
    session: AsyncSession, actor: User | None, body_id: int, user_id: int
) -> User:
    actor = require_manager(actor)
    membership = await session.scalar(
        select(Membership).where(Membership.body_id == body_id, Membership.user_id == user_id)
    )
    if membership is None:
        raise NotFound("bodies-member-not-found")
    return await unseat(session, actor, membership)


async def unseat(
    session: AsyncSession, actor: User | None, membership: Membership, reason: str | None = None
) -> User:
    """End a seat, whoever asks: the Secretariat (`remove_member` checks it), or a rule of the
    council's composition when the designation the seat rested on moves or ends (`reason`)."""
    user, body_id = membership.user, membership.body_id
    await jobs.cancel(session, "membership", membership.id, EXPIRE_KIND)
    await session.delete(membership)
    await session.flush()
    details = {"reason": reason} if reason else {}
    await audit.record(
        session, actor, "body.remove_member", "body", body_id, user_id=user.id, **details
    )
    await roles.sync_roles(session, user)
    return user


async def set_secretariat(
    session: AsyncSession, actor: User | None, user_id: int, grant: bool
) -> User:
    """Admins grant and revoke the Secretariat role: a seat in the secretariat body."""
    actor = require_appointer(actor)
    body = await single(session, BodyKind.SECRETARIAT)
    user = await session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("bodies-person-not-found")
    membership = await session.scalar(
        select(Membership).where(Membership.body_id == body.id, Membership.user_id == user.id)
    )
    if grant == (membership is not None):
        return user  # already as asked: nothing to record, nobody to notify twice
    if grant:
        session.add(Membership(body=body, user=user, role=MemberRole.MEMBER))
    else:
        await session.delete(membership)
    await session.flush()
    await audit.record(
        session,
        actor,
        "role.grant_secretariat" if grant else "role.revoke_secretariat",
        "user",
        user.id,
    )
    await roles.sync_roles(session, user)
    return user


# --- What the Secretariat and admins read, and the dialog's checks -----------------------------


@dataclass(frozen=True)
class BodyLine:
    body: Body
    members: int


@dataclass(frozen=True)
class BodyCard:
    body: Body
    members: Page[Membership]


async def overview(
    session: AsyncSession, actor: User | None, page: int = 0, per_page: int = BODIES_PER_PAGE
) -> Page[BodyLine]:
    """Every body with its member count, steering bodies first; for the Secretariat."""
    require_manager(actor)
    everything = await all_bodies(session)
    counts = dict(
        (
            await session.execute(
                select(Membership.body_id, func.count()).group_by(Membership.body_id)
            )
        ).all()
    )
    everything.sort(key=lambda body: (KIND_ORDER.index(body.kind), body.id))
    page, pages = page_bounds(page, len(everything), per_page)
    chosen = everything[page * per_page : (page + 1) * per_page]
    lines = [BodyLine(body, counts.get(body.id, 0)) for body in chosen]
    return Page(lines, page, pages, len(everything))


async def body_to_change(session: AsyncSession, actor: User | None, body_id: int) -> Body:
    """A body the Secretariat is about to change."""
    require_manager(actor)
    return await get(session, body_id)


async def _members_page(
    session: AsyncSession, body_id: int, page: int, per_page: int
) -> Page[Membership]:
    total = await member_count(session, body_id)
    page, pages = page_bounds(page, total, per_page)
    # Chairs and secretaries first; otherwise in the order people were seated.
    rank = case({MemberRole.CHAIR: 0, MemberRole.SECRETARY: 1}, value=Membership.role, else_=2)
    rows = await session.scalars(
        select(Membership)
        .where(Membership.body_id == body_id)
        .order_by(rank, Membership.id)
        .offset(page * per_page)
        .limit(per_page)
    )
    return Page(list(rows), page, pages, total)


async def card(
    session: AsyncSession,
    actor: User | None,
    body_id: int,
    page: int = 0,
    per_page: int = MEMBERS_PER_PAGE,
) -> BodyCard:
    """A body with one page of its members; for the Secretariat."""
    found = await body_to_change(session, actor, body_id)
    return BodyCard(found, await _members_page(session, found.id, page, per_page))


async def membership(
    session: AsyncSession, actor: User | None, body_id: int, user_id: int
) -> Membership:
    """A seat the Secretariat is about to remove (NotFound when a card is out of date)."""
    require_manager(actor)
    return await _seat(session, body_id, user_id)


async def _seat(session: AsyncSession, body_id: int, user_id: int) -> Membership:
    found = await session.scalar(
        select(Membership).where(Membership.body_id == body_id, Membership.user_id == user_id)
    )
    if found is None:
        raise NotFound("bodies-member-not-found")
    return found


async def secretariat(
    session: AsyncSession, actor: User | None, page: int = 0, per_page: int = MEMBERS_PER_PAGE
) -> Page[Membership]:
    """Who holds the Secretariat role (a seat in the secretariat body); for admins."""
    require_appointer(actor)
    found = await single(session, BodyKind.SECRETARIAT)
    return await _members_page(session, found.id, page, per_page)


async def secretariat_member(session: AsyncSession, actor: User | None, user_id: int) -> User:
    """A Secretariat member an admin is about to revoke (NotFound when a list is out of date)."""
    require_appointer(actor)
    found = await single(session, BodyKind.SECRETARIAT)
    return (await _seat(session, found.id, user_id)).user


async def find_people(
    session: AsyncSession, actor: User | None, query: str, purpose: Picking
) -> list[User]:
    """People a manager may pick (by part of the name, @username or Telegram id)."""
    require_role(actor, *PICKERS[purpose])
    if len(query) > QUERY_MAX:
        return []
    return await users.search_people(session, query)


async def person(session: AsyncSession, actor: User | None, user_id: int, purpose: Picking) -> User:
    """A registered, living person picked from search results."""
    require_role(actor, *PICKERS[purpose])
    found = await session.get(User, user_id)
    if found is None or not found.is_registered:
        raise NotFound("bodies-person-not-found")
    return found


def creatable_kind(actor: User | None, kind: BodyKind) -> BodyKind:
    """Only committees, working groups and commissions are created; the rest exist once."""
    require_manager(actor)
    if kind not in CREATABLE:
        raise InvalidInput("bodies-single-exists")
    return kind


def clean_name(raw: str) -> str:
    """A body's name as `bodies.create` will take it, checked at the dialog step."""
    name = " ".join(raw.split())
    if not name or len(name) > NAME_MAX:
        raise InvalidInput("bodies-bad-name", max=NAME_MAX)
    return name


def parse_term_end(text: str, timezone: str, today: date | None = None) -> datetime:
    """A term end typed as DD.MM.YYYY: the last second of that day in the Assembly's time zone.

    Today is still within the term; an earlier day is refused.
    """
    zone = ZoneInfo(timezone)
    match = _DATE.match(text)
    if match is None:
        raise InvalidInput("bodies-bad-date")
    day, month, year = (int(part) for part in match.groups())
    try:
        chosen = date(year, month, day)
    except ValueError:
        raise InvalidInput("bodies-bad-date") from None
    today = today or datetime.now(zone).date()
    if chosen < today:
        raise InvalidInput("bodies-term-past")
    return datetime.combine(chosen, time(23, 59, 59), zone)
