"""The categories of needs: data the Secretariat changes (names in Russian and English, the
order they are offered in, active or not). A deactivated category keeps its needs; it is only
no longer offered for new ones."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import InvalidInput, NotFound
from bot.services.permissions import SECRETARIAT, require_role
from models import User
from models.needs import NeedCategory

NAME_MIN = 2
NAME_MAX = 100


def category_name(category: NeedCategory, language: str) -> str:
    """The category's name in `language` (Russian for any language but English)."""
    return category.name_en if language == "en" else category.name_ru


async def active_categories(session: AsyncSession) -> list[NeedCategory]:
    """The categories offered for new needs, in the Secretariat's order."""
    rows = await session.scalars(
        select(NeedCategory)
        .where(NeedCategory.active.is_(True))
        .order_by(NeedCategory.position, NeedCategory.id)
    )
    return list(rows)


async def all_categories(session: AsyncSession) -> list[NeedCategory]:
    """Every category, active or not, in order (for filters and the Secretariat's list)."""
    rows = await session.scalars(
        select(NeedCategory).order_by(NeedCategory.position, NeedCategory.id)
    )
    return list(rows)


async def find(session: AsyncSession, category_id: int | None) -> NeedCategory | None:
    if not category_id:
        return None
    return await session.get(NeedCategory, category_id)


async def get(session: AsyncSession, category_id: int) -> NeedCategory:
    category = await find(session, category_id)
    if category is None:
        raise NotFound("needs-categories-not-found")
    return category


def parse_names(raw: str) -> tuple[str, str]:
    """Two names from a message of two lines (Russian, then English), trimmed and checked."""
    lines = [" ".join(line.split()) for line in raw.splitlines() if line.strip()]
    if len(lines) != 2:
        raise InvalidInput("needs-categories-two-lines")
    for name in lines:
        if not NAME_MIN <= len(name) <= NAME_MAX:
            raise InvalidInput("needs-categories-name-length", min=NAME_MIN, max=NAME_MAX)
    return lines[0], lines[1]


async def _check_free(
    session: AsyncSession, name_ru: str, name_en: str, keep: int | None = None
) -> None:
    """Names compare with case ignored (in Python: SQLite's lower() knows only ASCII); the
    list is a few dozen rows."""
    for category in await all_categories(session):
        if category.id == keep:
            continue
        for taken, name in ((category.name_ru, name_ru), (category.name_en, name_en)):
            if taken.casefold() == name.casefold():
                raise InvalidInput("needs-categories-name-taken", name=name)


async def add(session: AsyncSession, actor: User | None, raw_names: str) -> NeedCategory:
    require_role(actor, *SECRETARIAT)
    name_ru, name_en = parse_names(raw_names)
    await _check_free(session, name_ru, name_en)
    last = await session.scalar(select(func.max(NeedCategory.position))) or 0
    category = NeedCategory(
        code=f"c{secrets.token_hex(6)}",
        name_ru=name_ru,
        name_en=name_en,
        position=last + 1,
        active=True,
    )
    session.add(category)
    await session.flush()
    return category


async def rename(
    session: AsyncSession, actor: User | None, category_id: int, raw_names: str
) -> NeedCategory:
    require_role(actor, *SECRETARIAT)
    category = await get(session, category_id)
    name_ru, name_en = parse_names(raw_names)
    await _check_free(session, name_ru, name_en, keep=category.id)
    category.name_ru, category.name_en = name_ru, name_en
    await session.flush()
    return category


async def set_active(
    session: AsyncSession, actor: User | None, category_id: int, active: bool
) -> NeedCategory:
    require_role(actor, *SECRETARIAT)
    category = await get(session, category_id)
    category.active = active
    await session.flush()
    return category


async def move(
    session: AsyncSession, actor: User | None, category_id: int, step: int
) -> NeedCategory:
    """Move a category one place up (step -1) or down (+1); at either end nothing changes."""
    require_role(actor, *SECRETARIAT)
    ordered = await all_categories(session)
    index = next((i for i, c in enumerate(ordered) if c.id == category_id), None)
    if index is None:
        raise NotFound("needs-categories-not-found")
    other = index + (1 if step > 0 else -1)
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
        # Positions are renumbered, so equal or missing positions never make a move a no-op.
        for position, category in enumerate(ordered, start=1):
            category.position = position
        await session.flush()
    return ordered[other] if 0 <= other < len(ordered) else ordered[index]
