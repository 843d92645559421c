"""Social monitoring: the figures of the citizens' needs for a district or for the city.

Every figure is computed by the database on an index or in one pass (GROUP BY, SUM(CASE …),
a median read at its offset), so the city report stays fast with a hundred thousand needs
(bench/bench_needs.py). Who may see them is checked here: the council, the presidium, the
executive committee and the Secretariat (admins pass every check).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, desc, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import raiseload

from bot.services.permissions import require_role
from models import District, Role, User
from models.base import utcnow
from models.needs import OPEN_STATUSES, Need, NeedCategory, NeedStatus

# Who reads the reports and the top priorities.
READERS = frozenset({Role.COUNCIL, Role.PRESIDIUM, Role.EXECUTIVE, Role.SECRETARIAT})
TOP = 10
MONTHS = 12
PAGE = 10


def require_reader(user: User | None) -> User:
    return require_role(user, *READERS)


def open_page_query(district_id: int, limit: int = PAGE, offset: int = 0) -> Select[Need]:
    """A district's page of open needs, most supported first (newer first among equals): the
    browsing page's query, on ix_needs_district_status_supports."""
    return (
        select(Need)
        .where(Need.district_id == district_id, Need.status.in_(OPEN_STATUSES))
        .order_by(desc(Need.support_count), desc(Need.id))
        .limit(limit)
        .offset(offset)
    )


def _scope(district_id: int | None) -> list[ColumnElement[bool]]:
    return [] if district_id is None else [Need.district_id == district_id]


def counts_query(district_id: int | None) -> Select[int, NeedStatus, int]:
    """Needs by category and status."""
    return (
        select(Need.category_id, Need.status, func.count())
        .where(*_scope(district_id))
        .group_by(Need.category_id, Need.status)
    )


def top_query(district_id: int | None, limit: int = TOP) -> Select[Need]:
    """The most supported open needs (newer first among equals)."""
    return (
        select(Need)
        # The report shows no photos: not loaded.
        .options(raiseload(Need.photos))
        .where(Need.status.in_(OPEN_STATUSES), *_scope(district_id))
        .order_by(desc(Need.support_count), desc(Need.id))
        .limit(limit)
    )


def month_starts(now: datetime, timezone: str, months: int = MONTHS) -> list[datetime]:
    """The starts of the last `months` calendar months on the Assembly's clock (the current one
    last), and the start of the next month after them, as UTC moments: months + 1 bounds."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    year, month = local.year, local.month
    bounds = []
    for back in range(months - 1, -2, -1):
        index = year * 12 + (month - 1) - back
        bounds.append(
            datetime(index // 12, index % 12 + 1, 1, tzinfo=zone).astimezone(ZoneInfo("UTC"))
        )
    return bounds


def trend_query(district_id: int | None, bounds: Sequence[datetime], column: Any) -> Select[Any]:
    """Needs per month by `column` (created_at: filed; resolved_at: resolved). The city: one
    count per month, each a range of the column's index. A district: one pass over its few
    thousand needs on its own index (a month's range of the city-wide index would visit every
    district's needs to keep the district's)."""
    months = list(itertools.pairwise(bounds))
    if district_id is None:
        return select(
            *(
                select(func.count())
                .select_from(Need)
                .where(column >= start, column < end)
                .scalar_subquery()
                for start, end in months
            )
        )
    return select(
        *(
            func.sum(case((and_(column >= start, column < end), 1), else_=0))
            for start, end in months
        )
    ).where(Need.district_id == district_id)


def median_queries(
    district_id: int | None, end: Any, since: datetime
) -> tuple[Select[int], Callable[[int], Select[Any]]]:
    """The count of the needs whose `end` (decided_at, resolved_at) falls after `since`, and
    for that count the query of the middle one or two values of (end - created_at)."""
    duration = Need.decision_seconds if end is Need.decided_at else Need.resolution_seconds
    where = [duration.is_not(None), end >= since, *_scope(district_id)]

    def middle(total: int) -> Select[Any]:
        return (
            select(duration)
            .where(*where)
            .order_by(duration)
            .offset((total - 1) // 2)
            .limit(2 - total % 2)
        )

    return select(func.count()).select_from(Need).where(*where), middle


async def median_seconds(
    session: AsyncSession, district_id: int | None, end: Any, since: datetime
) -> float | None:
    """The median of (end - created_at) over the needs whose `end` falls after `since`: counted,
    then the middle one or two read at their offset (the same on SQLite and PostgreSQL)."""
    count, middle = median_queries(district_id, end, since)
    total = await session.scalar(count) or 0
    if not total:
        return None
    values = (await session.scalars(middle(total))).all()
    return float(sum(values)) / len(values)


@dataclass
class Report:
    district: District | None
    categories: list[NeedCategory]
    # (category_id, status) -> count
    counts: dict[tuple[int, NeedStatus], int]
    top: list[Need]
    # (first day of the month on the Assembly's clock, filed, resolved), oldest first
    months: list[tuple[date, int, int]]
    to_decision: timedelta | None
    to_resolution: timedelta | None
    made_at: datetime = field(default_factory=utcnow)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def by_status(self) -> dict[NeedStatus, int]:
        found = dict.fromkeys(NeedStatus, 0)
        for (_, status), n in self.counts.items():
            found[status] += n
        return found

    def by_category(self) -> list[tuple[NeedCategory, dict[NeedStatus, int]]]:
        """Every category with needs (and every active one), in the list's order."""
        rows = []
        for category in self.categories:
            row = {s: self.counts.get((category.id, s), 0) for s in NeedStatus}
            if category.active or any(row.values()):
                rows.append((category, row))
        return rows


async def report(
    session: AsyncSession,
    user: User | None,
    district_id: int | None,
    timezone: str,
    now: datetime | None = None,
) -> Report:
    """The figures of a district (or of the city, None) for a reader."""
    require_reader(user)
    return await figures(session, district_id, timezone, now)


async def figures(
    session: AsyncSession, district_id: int | None, timezone: str, now: datetime | None = None
) -> Report:
    now = now or utcnow()
    district = await session.get(District, district_id) if district_id is not None else None
    categories = list(
        await session.scalars(select(NeedCategory).order_by(NeedCategory.position, NeedCategory.id))
    )
    counts = {
        (category_id, NeedStatus(status)): n
        for category_id, status, n in (await session.execute(counts_query(district_id))).all()
    }
    top = list(await session.scalars(top_query(district_id)))
    bounds = month_starts(now, timezone)
    filed = (await session.execute(trend_query(district_id, bounds, Need.created_at))).one()
    resolved = (await session.execute(trend_query(district_id, bounds, Need.resolved_at))).one()
    zone = ZoneInfo(timezone)
    months = [
        (bounds[i].astimezone(zone).date(), int(filed[i] or 0), int(resolved[i] or 0))
        for i in range(MONTHS)
    ]
    since = bounds[0]
    decision = await median_seconds(session, district_id, Need.decided_at, since)
    resolution = await median_seconds(session, district_id, Need.resolved_at, since)
    return Report(
        district=district,
        categories=categories,
        counts=counts,
        top=top,
        months=months,
        to_decision=timedelta(seconds=decision) if decision is not None else None,
        to_resolution=timedelta(seconds=resolution) if resolution is not None else None,
        made_at=now,
    )


@dataclass
class Priorities:
    city: list[Need]
    # (district, its most supported open needs), districts with open needs only
    districts: list[tuple[District, list[Need]]]


async def priorities(session: AsyncSession, user: User | None, per_district: int = 3) -> Priorities:
    """The city's top priorities: the most supported open needs of the city and of each district
    (one indexed query per district)."""
    require_reader(user)
    city = list(await session.scalars(top_query(None)))
    found = []
    for district in await session.scalars(select(District).order_by(District.number)):
        needs = list(await session.scalars(open_page_query(district.id, per_district)))
        if needs:
            found.append((district, needs))
    return Priorities(city=city, districts=found)
