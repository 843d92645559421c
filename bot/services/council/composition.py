"""The council's composition as the Secretariat reads it: counts by category, members page by
page with what each seat rests on."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import bodies
from bot.services.council.designations import OfficeLine, offices
from bot.services.council.rules import CATEGORY_ORDER, PER_PAGE, base_district, living_citywide_ids
from bot.services.paging import Page, page_bounds
from models import (
    BodyKind,
    CouncilCategory,
    District,
    Membership,
    Organization,
    User,
)

# --- The composition, for the Secretariat's screen ---------------------------------------------


@dataclass(frozen=True)
class Composition:
    counts: dict[CouncilCategory, int]
    offices: list[OfficeLine]
    base_designated: int  # districts with a base organization
    citywide_designated: int


@dataclass(frozen=True)
class SeatLine:
    membership: Membership
    organization: Organization | None
    district: District | None


async def composition(session: AsyncSession, actor: User | None) -> Composition:
    """How many sit in each category, the offices, and how many seats the designations call for."""
    bodies.require_manager(actor)
    council = await bodies.single(session, BodyKind.COUNCIL)
    rows = await session.execute(
        select(Membership.council_category, func.count())
        .where(Membership.body_id == council.id)
        .group_by(Membership.council_category)
    )
    counts = {category: 0 for category in CATEGORY_ORDER}
    for category, number in rows.all():
        if category is not None:
            counts[category] = number
    base = await session.scalar(
        select(func.count(func.distinct(District.base_organization_id))).where(
            District.base_organization_id.is_not(None)
        )
    )
    citywide = await session.scalar(
        select(func.count()).select_from(living_citywide_ids().subquery())
    )
    return Composition(counts, await offices(session, actor), base or 0, citywide or 0)


async def members(
    session: AsyncSession,
    actor: User | None,
    category: CouncilCategory,
    page: int = 0,
    per_page: int = PER_PAGE,
) -> Page[SeatLine]:
    """One page of the council's members of a category, with what each seat rests on."""
    bodies.require_manager(actor)
    council = await bodies.single(session, BodyKind.COUNCIL)
    where = (Membership.body_id == council.id, Membership.council_category == category)
    total = await session.scalar(select(func.count()).select_from(Membership).where(*where))
    page, pages = page_bounds(page, total or 0, per_page)
    rows = await session.scalars(
        select(Membership)
        .where(*where)
        .order_by(Membership.id)
        .offset(page * per_page)
        .limit(per_page)
    )
    lines = []
    for seat in rows:
        organization = district = None
        if seat.organization_id is not None:
            organization = await session.get(Organization, seat.organization_id)
            district = await base_district(session, seat.organization_id)
        lines.append(SeatLine(seat, organization, district))
    return Page(lines, page, pages, total or 0)
