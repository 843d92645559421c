"""Districts: listing for pickers, adding one, importing a CSV list, and the Secretariat's edits
(name, borders, the base public organization)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, council
from bot.services.errors import InvalidInput, NotFound
from bot.services.paging import Page, page_bounds
from bot.services.permissions import SECRETARIAT, require_role
from models import District, Organization, OrganizationStatus, User

NAME_MAX = 200
DESCRIPTION_MAX = 2000


def require_manager(actor: User | None) -> User:
    """The Secretariat keeps the districts; NotAllowed for anyone else."""
    return require_role(actor, *SECRETARIAT)


async def find(session: AsyncSession, district_id: int | None) -> District | None:
    """A district by id; None for none chosen (0) or one that no longer exists."""
    return await session.get(District, district_id) if district_id else None


async def count_districts(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(District)) or 0


async def list_districts(session: AsyncSession, page: int = 0, per_page: int = 8) -> Page[District]:
    """One page of districts by number; an out-of-range page number is clamped, not an error."""
    total = await count_districts(session)
    page, pages = page_bounds(page, total, per_page)
    rows = await session.scalars(
        select(District).order_by(District.number).offset(page * per_page).limit(per_page)
    )
    return Page(items=list(rows), page=page, pages=pages, total=total)


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
    session: AsyncSession,
    actor: User | None,
    number: str | int,
    name: str,
    description: str | None = None,
) -> District:
    """The Secretariat adds a district with a unique number and name."""
    require_manager(actor)
    return await seed_district(session, number, name, description)


async def seed_district(
    session: AsyncSession, number: str | int, name: str, description: str | None = None
) -> District:
    """Add a district with a unique number and name, with no one acting: for the operator's
    set-up (the sandbox's demo data) and for `add_district` once it checked the actor."""
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


async def import_csv(session: AsyncSession, actor: User | None, text: str) -> ImportResult:
    """The Secretariat imports a district list (see `seed_csv`)."""
    require_manager(actor)
    return await seed_csv(session, text)


async def seed_csv(session: AsyncSession, text: str) -> ImportResult:
    """Upsert districts by number from CSV rows `number,name[,description]`; a header may lead.

    No one is acting: for the operator's command line and the sandbox's demo data, and for
    `import_csv` once it checked the actor.
    """
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


# --- The Secretariat's district management ----------------------------------------------------


async def get_district(session: AsyncSession, district_id: int) -> District:
    district = await session.get(District, district_id)
    if district is None:
        raise NotFound("districts-not-found")
    return district


async def manage_page(
    session: AsyncSession, actor: User | None, page: int = 0, per_page: int = 8
) -> Page[District]:
    """The district list as the Secretariat manages it (the same list, behind the role check)."""
    require_manager(actor)
    return await list_districts(session, page, per_page)


@dataclass(frozen=True)
class DistrictCard:
    district: District
    base_organization: Organization | None


async def card(session: AsyncSession, actor: User | None, district_id: int) -> DistrictCard:
    """A district with its base public organization, for the Secretariat."""
    require_manager(actor)
    district = await get_district(session, district_id)
    base = None
    if district.base_organization_id is not None:
        base = await session.get(Organization, district.base_organization_id)
    return DistrictCard(district, base)


async def rename_district(
    session: AsyncSession, actor: User | None, district_id: int, name: str
) -> District:
    """The Secretariat renames a district; no two districts share a name."""
    actor = require_manager(actor)
    district = await get_district(session, district_id)
    _, clean = _clean(district.number, name)
    clash = await session.scalar(
        select(District).where(District.name == clean, District.id != district.id)
    )
    if clash is not None:
        raise InvalidInput("districts-exists", number=clash.number, name=clash.name)
    old = district.name
    district.name = clean
    await session.flush()
    await audit.record(
        session, actor, "district.rename", "district", district.id, old=old, new=clean
    )
    return district


async def describe_district(
    session: AsyncSession, actor: User | None, district_id: int, description: str
) -> District:
    """The Secretariat describes a district's borders in free text of bounded length."""
    actor = require_manager(actor)
    district = await get_district(session, district_id)
    text = description.strip()
    if not text or len(text) > DESCRIPTION_MAX:
        raise InvalidInput("districts-bad-description", max=DESCRIPTION_MAX, length=len(text))
    district.description = text
    await session.flush()
    await audit.record(session, actor, "district.describe", "district", district.id)
    return district


async def approved_organizations(
    session: AsyncSession, actor: User | None, district_id: int, page: int = 0, per_page: int = 8
) -> Page[Organization]:
    """The organizations that may become the district's base one: approved, of this district."""
    require_manager(actor)
    district = await get_district(session, district_id)
    where = (
        Organization.district_id == district.id,
        Organization.status == OrganizationStatus.APPROVED,
    )
    total = await session.scalar(select(func.count()).select_from(Organization).where(*where))
    page, pages = page_bounds(page, total or 0, per_page)
    rows = await session.scalars(
        select(Organization)
        .where(*where)
        .order_by(Organization.name_key, Organization.id)
        .offset(page * per_page)
        .limit(per_page)
    )
    return Page(items=list(rows), page=page, pages=pages, total=total or 0)


async def set_base_organization(
    session: AsyncSession, actor: User | None, district_id: int, organization_id: int
) -> District:
    """The Secretariat designates the district's base public organization: an approved member
    organization of that same district. The council seat of the district's base organization
    moves with it (`council.base_moved`)."""
    actor = require_manager(actor)
    district = await get_district(session, district_id)
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("districts-organization-not-found")
    if organization.status != OrganizationStatus.APPROVED:
        raise InvalidInput("districts-base-not-approved", name=organization.name)
    if organization.district_id != district.id:
        raise InvalidInput("districts-base-other-district", name=organization.name)
    previous = district.base_organization_id
    district.base_organization_id = organization.id
    await session.flush()
    await audit.record(
        session,
        actor,
        "district.set_base",
        "district",
        district.id,
        organization_id=organization.id,
        previous_id=previous,
    )
    await council.base_moved(session, actor, district, previous)
    return district
