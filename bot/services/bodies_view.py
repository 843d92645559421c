"""What the Secretariat and admins read about bodies (the overview, a body's members page by
page, the Secretariat itself), behind the same role checks as the changes, and the checks a
dialog makes on each answer before the final change in `bot.services.bodies`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import bodies, users
from bot.services.districts import Page, page_bounds
from bot.services.errors import InvalidInput, NotFound
from bot.services.permissions import require_role
from models import Body, BodyKind, MemberRole, Membership, Role, User
from models.bodies import SINGLE_BODIES

SECRETARIAT = (Role.SECRETARIAT,)
ADMINS = (Role.ADMIN,)
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
_DATE = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s*$")


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
    require_role(actor, *SECRETARIAT)
    everything = await bodies.all_bodies(session)
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


async def body(session: AsyncSession, actor: User | None, body_id: int) -> Body:
    """A body the Secretariat is about to change."""
    require_role(actor, *SECRETARIAT)
    return await bodies.get(session, body_id)


async def _members_page(
    session: AsyncSession, body_id: int, page: int, per_page: int
) -> Page[Membership]:
    total = await bodies.member_count(session, body_id)
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
    found = await body(session, actor, body_id)
    return BodyCard(found, await _members_page(session, found.id, page, per_page))


async def membership(
    session: AsyncSession, actor: User | None, body_id: int, user_id: int
) -> Membership:
    """A seat the Secretariat is about to remove (NotFound when a card is out of date)."""
    require_role(actor, *SECRETARIAT)
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
    require_role(actor, *ADMINS)
    found = await bodies.single(session, BodyKind.SECRETARIAT)
    return await _members_page(session, found.id, page, per_page)


async def secretariat_member(session: AsyncSession, actor: User | None, user_id: int) -> User:
    """A Secretariat member an admin is about to revoke (NotFound when a list is out of date)."""
    require_role(actor, *ADMINS)
    found = await bodies.single(session, BodyKind.SECRETARIAT)
    return (await _seat(session, found.id, user_id)).user


async def find_people(
    session: AsyncSession, actor: User | None, query: str, *roles: Role
) -> list[User]:
    """People a manager may pick (by part of the name, @username or Telegram id)."""
    require_role(actor, *roles)
    if len(query) > QUERY_MAX:
        return []
    return await users.search_people(session, query)


async def person(session: AsyncSession, actor: User | None, user_id: int, *roles: Role) -> User:
    """A registered, living person picked from search results."""
    require_role(actor, *roles)
    found = await session.get(User, user_id)
    if found is None or not found.is_registered:
        raise NotFound("bodies-person-not-found")
    return found


def creatable_kind(actor: User | None, kind: BodyKind) -> BodyKind:
    """Only committees, working groups and commissions are created; the rest exist once."""
    require_role(actor, *SECRETARIAT)
    if kind not in CREATABLE:
        raise InvalidInput("bodies-single-exists")
    return kind


def clean_name(raw: str) -> str:
    """A body's name as `bodies.create` will take it, checked at the dialog step."""
    name = " ".join(raw.split())
    if not name or len(name) > bodies.NAME_MAX:
        raise InvalidInput("bodies-bad-name", max=bodies.NAME_MAX)
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
