"""Browsing needs (for everyone, registered or not): a district's needs by category and status,
sorted by supports or by date, page by page; a need's card; a person's own needs.

A page is read on the indexes `ix_needs_district_status_supports` and
`ix_needs_district_status_created`: for each status asked (and, for the whole city, each
district), the first `offset + per_page` needs come from the index already in order (LIMIT), and
the few rows of those short lists are merged and cut to the page. A district with 100,000 needs
costs what its first pages cost, never a sort of the whole district; the count behind the pager
stops at COUNT_CAP (nobody presses ▶ a hundred times: the filters narrow a long list).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Select, func, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import NotFound
from bot.services.paging import Page, page_bounds
from models import District, Organization, User
from models.needs import OPEN_STATUSES, Need, NeedEvent, NeedStatus, NeedSupport

# What the status filter may say: the open ones (the default), any single status, or all.
OPEN = "open"
ALL = "all"
STATUS_FILTERS = (OPEN, *(status.value for status in NeedStatus), ALL)
SORT_SUPPORTS = "s"
SORT_DATE = "d"
SORTS = (SORT_SUPPORTS, SORT_DATE)
# Matches counted for the pager at most ("more than 1,000 found").
COUNT_CAP = 1000
# The whole city is read district by district while the branches stay few (SQLite allows 500
# parts in a compound query); beyond that, by status alone.
MAX_BRANCHES = 300
# The public history shown on a card: the newest events, enough to follow the need.
HISTORY_SHOWN = 6


@dataclass(frozen=True)
class Filters:
    district_id: int | None = None  # None: the whole city
    category_id: int | None = None  # None: any category
    status: str = OPEN
    sort: str = SORT_SUPPORTS

    def statuses(self) -> tuple[NeedStatus, ...]:
        if self.status == ALL:
            return tuple(NeedStatus)
        if self.status in {status.value for status in NeedStatus}:
            return (NeedStatus(self.status),)
        return OPEN_STATUSES


def _conditions(filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.district_id is not None:
        conditions.append(Need.district_id == filters.district_id)
    if filters.category_id is not None:
        conditions.append(Need.category_id == filters.category_id)
    return conditions


def _sort_key(filters: Filters) -> ColumnElement[object]:
    return Need.support_count if filters.sort == SORT_SUPPORTS else Need.created_at  # type: ignore[return-value]


async def count(session: AsyncSession, filters: Filters) -> int:
    """How many needs match, counted up to COUNT_CAP + 1 (more means "over COUNT_CAP")."""
    query = select(Need.id).where(*_conditions(filters))
    statuses = filters.statuses()
    if len(statuses) < len(NeedStatus):
        query = query.where(Need.status.in_(statuses))
    capped = query.limit(COUNT_CAP + 1).subquery()
    return await session.scalar(select(func.count()).select_from(capped)) or 0


def _branches(filters: Filters, district_ids: list[int]) -> list[list[ColumnElement[bool]]]:
    """The conditions of each ordered list to merge: one per status (and district)."""
    statuses = filters.statuses()
    if filters.district_id is None and filters.sort == SORT_DATE:
        # The whole city by date: one walk down the index on created_at.
        return [[Need.status.in_(statuses)]]
    if filters.district_id is None and 0 < len(district_ids) * len(statuses) <= MAX_BRANCHES:
        return [
            [Need.district_id == district_id, Need.status == status]
            for district_id in district_ids
            for status in statuses
        ]
    return [[Need.status == status] for status in statuses]


def page_query(
    filters: Filters, offset: int, per_page: int, district_ids: list[int] | None = None
) -> Select[int]:
    """The ids of one page: a short ordered list per branch, each read on its index, merged."""
    key = _sort_key(filters)
    parts = []
    for branch in _branches(filters, district_ids or []):
        part = (
            select(Need.id.label("id"), key.label("key"))
            .where(*branch, *_conditions(filters))
            .order_by(key.desc(), Need.id.desc())
            .limit(offset + per_page)
            .subquery()
        )
        parts.append(select(part.c.id, part.c.key))
    merged = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    return (
        select(merged.c.id)
        .order_by(merged.c.key.desc(), merged.c.id.desc())
        .offset(offset)
        .limit(per_page)
    )


async def browse(
    session: AsyncSession, filters: Filters, page: int = 0, per_page: int = 8
) -> Page[Need]:
    """One page of needs matching the filters, best supported (or newest) first; `total` is at
    most COUNT_CAP + 1 (over COUNT_CAP)."""
    total = await count(session, filters)
    page, pages = page_bounds(page, min(total, COUNT_CAP), per_page)
    district_ids = None
    if filters.district_id is None:
        district_ids = list(await session.scalars(select(District.id).order_by(District.id)))
    query = page_query(filters, page * per_page, per_page, district_ids)
    ids = list(await session.scalars(query))
    return Page(await _load(session, ids), page, pages, total)


async def _load(session: AsyncSession, ids: list[int]) -> list[Need]:
    if not ids:
        return []
    found = {need.id: need for need in await session.scalars(select(Need).where(Need.id.in_(ids)))}
    return [found[need_id] for need_id in ids if need_id in found]


@dataclass(frozen=True)
class Card:
    """What a need's card shows a given viewer."""

    need: Need
    # The author's name, only when they allowed it and have not erased themselves.
    author_name: str | None
    # Who works on it (status in_work): an organization's name or a free text.
    handler: str | None
    history: list[NeedEvent] = field(default_factory=list)
    supported: bool = False  # by the viewer
    own: bool = False  # the viewer filed it


async def get_need(session: AsyncSession, need_id: int) -> Need:
    need = await session.get(Need, need_id)
    if need is None:
        raise NotFound("needs-browse-not-found")
    return need


async def card(session: AsyncSession, need_id: int, viewer: User | None) -> Card:
    need = await get_need(session, need_id)
    author_name = None
    if need.show_name and need.author_id is not None:
        author = await session.get(User, need.author_id)
        if author is not None and author.deleted_at is None and author.name:
            author_name = author.name
    handler = None
    if need.status == NeedStatus.IN_WORK:
        if need.handler_organization_id is not None:
            organization = await session.get(Organization, need.handler_organization_id)
            handler = organization.name if organization else None
        handler = handler or need.handler_text
    history = list(
        await session.scalars(
            select(NeedEvent)
            .where(NeedEvent.need_id == need.id, NeedEvent.public.is_(True))
            .order_by(NeedEvent.created_at.desc(), NeedEvent.id.desc())
            .limit(HISTORY_SHOWN)
        )
    )
    history.reverse()
    supported = False
    if viewer is not None:
        supported = (
            await session.scalar(
                select(NeedSupport.user_id).where(
                    NeedSupport.need_id == need.id, NeedSupport.user_id == viewer.id
                )
            )
            is not None
        )
    own = viewer is not None and need.author_id == viewer.id
    return Card(need, author_name, handler, history, supported, own)


@dataclass(frozen=True)
class MyNeed:
    need: Need
    filed: bool  # filed by the person (otherwise supported)


async def my_needs(
    session: AsyncSession, user: User, page: int = 0, per_page: int = 8
) -> Page[MyNeed]:
    """The needs a person filed and the ones they support, newest first."""
    supported = select(NeedSupport.need_id).where(NeedSupport.user_id == user.id)
    condition = or_(Need.author_id == user.id, Need.id.in_(supported))
    total = await session.scalar(select(func.count()).select_from(Need).where(condition)) or 0
    page, pages = page_bounds(page, total, per_page)
    rows = await session.scalars(
        select(Need)
        .where(condition)
        .order_by(Need.created_at.desc(), Need.id.desc())
        .offset(page * per_page)
        .limit(per_page)
    )
    items = [MyNeed(need, need.author_id == user.id) for need in rows]
    return Page(items, page, pages, total)
