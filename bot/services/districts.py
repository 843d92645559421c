"""Districts: listing for pickers, adding one, importing a CSV list."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import InvalidInput
from models import District

NAME_MAX = 200


@dataclass(frozen=True)
class Page:
    items: list[District]
    page: int
    pages: int


async def count_districts(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(District)) or 0


async def list_districts(session: AsyncSession, page: int = 0, per_page: int = 8) -> Page:
    """One page of districts by number; an out-of-range page number is clamped, not an error."""
    total = await count_districts(session)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    rows = await session.scalars(
        select(District).order_by(District.number).offset(page * per_page).limit(per_page)
    )
    return Page(items=list(rows), page=page, pages=pages)


def _clean(number: str | int, name: str) -> tuple[int, str]:
    try:
        value = int(str(number).strip())
    except ValueError:
        raise InvalidInput("districts-bad-number", value=str(number)) from None
    if value <= 0:
        raise InvalidInput("districts-bad-number", value=str(number))
    clean = " ".join(name.split())
    if not clean or len(clean) > NAME_MAX:
        raise InvalidInput("districts-bad-name", max=NAME_MAX)
    return value, clean


async def add_district(
    session: AsyncSession, number: str | int, name: str, description: str | None = None
) -> District:
    """Add a district with a unique number and name."""
    value, clean = _clean(number, name)
    clash = await session.scalar(
        select(District).where((District.number == value) | (District.name == clean))
    )
    if clash is not None:
        raise InvalidInput("districts-exists", number=clash.number, name=clash.name)
    district = District(number=value, name=clean, description=description or None)
    session.add(district)
    await session.flush()
    return district


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    errors: list[tuple[int, InvalidInput]] = field(default_factory=list)


async def import_csv(session: AsyncSession, text: str) -> ImportResult:
    """Upsert districts by number from CSV rows `number,name[,description]`; a header may lead."""
    result = ImportResult()
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    # Spreadsheets in Russian locales write ';' between columns, others ',' or a tab.
    delimiter = max(",;\t", key=first_line.count)
    for line_no, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if line_no == 1 and not row[0].strip().isdigit():
            continue  # a header row
        if len(row) < 2:
            result.errors.append((line_no, InvalidInput("districts-import-short-row")))
            continue
        try:
            number, name = _clean(row[0], row[1])
        except InvalidInput as exc:
            result.errors.append((line_no, exc))
            continue
        description = row[2].strip() if len(row) > 2 and row[2].strip() else None
        existing = await session.scalar(select(District).where(District.number == number))
        name_owner = await session.scalar(select(District).where(District.name == name))
        if name_owner is not None and name_owner is not existing:
            result.errors.append((line_no, InvalidInput("districts-import-name-taken")))
            continue
        if existing is None:
            session.add(District(number=number, name=name, description=description))
            result.added += 1
        else:
            existing.name = name
            existing.description = description or existing.description
            result.updated += 1
        await session.flush()
    return result
