"""Districts: adding, paging, the CSV import and the Secretariat's edits."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.services import audit, districts, users
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from models import (
    AuditEntry,
    District,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Role,
    User,
)
from models.base import utcnow


async def test_add_and_refuse_duplicates(session):
    secretary = await person(session, 1, "Секретарь", Role.SECRETARIAT)
    await districts.add_district(session, secretary, "3", "  Заречный  ")
    with pytest.raises(InvalidInput) as info:
        await districts.add_district(session, secretary, 3, "Другой")
    assert info.value.key == "districts-exists"
    with pytest.raises(InvalidInput):
        await districts.add_district(session, secretary, 4, "Заречный")
    with pytest.raises(InvalidInput) as info:
        await districts.add_district(session, secretary, "три", "Название")
    assert info.value.key == "districts-bad-number"


async def test_only_the_secretariat_adds_and_imports(session):
    citizen = await person(session, 2, "Житель")
    for actor in (citizen, None):
        with pytest.raises(NotAllowed):
            await districts.add_district(session, actor, 1, "Центральный")
        with pytest.raises(NotAllowed):
            await districts.import_csv(session, actor, "1,Центральный\n")
    assert (await districts.list_districts(session)).total == 0


async def test_pages_are_clamped(session):
    for number in range(1, 20):
        await districts.seed_district(session, number, f"Округ {number}")
    page = await districts.list_districts(session, page=99, per_page=8)
    assert (page.page, page.pages, len(page.items)) == (2, 3, 3)
    assert next(d.number for d in (await districts.list_districts(session, -5)).items) == 1


async def test_csv_import_upserts_and_reports_bad_rows(session):
    secretary = await person(session, 1, "Секретарь", Role.SECRETARIAT)
    await districts.seed_district(session, 1, "Старое имя")
    result = await districts.import_csv(
        session,
        secretary,
        "номер;название;границы\n1;Центральный;от реки до вокзала\n2;Северный\n"
        "три;Южный\n4\n5;Северный\n",
    )
    assert (result.added, result.updated) == (1, 1)
    assert [(line, error.key) for line, error in result.errors] == [
        (4, "districts-bad-number"),
        (5, "districts-import-short-row"),
        (6, "districts-import-name-taken"),
    ]
    page = await districts.list_districts(session)
    assert [(d.number, d.name) for d in page.items] == [(1, "Центральный"), (2, "Северный")]
    assert page.items[0].description == "от реки до вокзала"


async def test_csv_import_single_column_and_comma(session):
    result = await districts.seed_csv(session, "1,Первый\n2,Второй\n")
    assert result.added == 2 and not result.errors


# --- the Secretariat's edits ---------------------------------------------------------------------


async def person(session, telegram_id: int, name: str, *roles: Role) -> User:
    user = await users.give_consent(session, telegram_id, language="ru", username=None)
    await users.set_name(session, user, name, max_length=100)
    await users.complete_registration(session, user)
    for role in roles:
        await users.grant_role(session, user, role)
    return user


async def organization(session, name: str, district: District | None, status) -> Organization:
    found = Organization(
        name=name,
        name_key=name.casefold(),
        kind=OrganizationKind.NGO,
        district_id=district.id if district else None,
        description="Описание.",
        contacts="+7 900 000-00-00",
        proposals="Предложения.",
        status=status,
        agreed_at=utcnow(),
    )
    session.add(found)
    await session.flush()
    return found


async def actions(session) -> list[tuple[str, int | None, dict]]:
    rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
    return [(entry.action, entry.object_id, entry.details) for entry in rows]


async def test_rename_checks_the_role_and_uniqueness_and_is_audited(session):
    secretary = await person(session, 1, "Секретарь", Role.SECRETARIAT)
    citizen = await person(session, 2, "Житель")
    first = await districts.seed_district(session, 1, "Центральный")
    await districts.seed_district(session, 2, "Северный")

    with pytest.raises(NotAllowed):
        await districts.rename_district(session, citizen, first.id, "Новый")
    with pytest.raises(NotAllowed):
        await districts.rename_district(session, None, first.id, "Новый")
    with pytest.raises(InvalidInput) as info:
        await districts.rename_district(session, secretary, first.id, "  Северный ")
    assert info.value.key == "districts-exists"
    with pytest.raises(InvalidInput) as info:
        await districts.rename_district(session, secretary, first.id, "   ")
    assert info.value.key == "districts-bad-name"
    with pytest.raises(NotFound):
        await districts.rename_district(session, secretary, 999, "Новый")
    assert first.name == "Центральный"
    assert await actions(session) == []

    renamed = await districts.rename_district(session, secretary, first.id, "  Заречный   край ")
    assert renamed.name == "Заречный край"
    # Renaming to its own name is not a clash.
    await districts.rename_district(session, secretary, first.id, "Заречный край")
    log = await actions(session)
    assert log[0] == (
        "district.rename",
        first.id,
        {"old": "Центральный", "new": "Заречный край"},
    )
    assert len(log) == 2
    assert (await audit.verify(session)).ok


async def test_describe_bounds_the_length_and_is_audited(session):
    secretary = await person(session, 1, "Секретарь", Role.SECRETARIAT)
    citizen = await person(session, 2, "Житель")
    district = await districts.seed_district(session, 1, "Центральный")

    with pytest.raises(NotAllowed):
        await districts.describe_district(session, citizen, district.id, "от реки до вокзала")
    for bad in ("", "   \n", "x" * (districts.DESCRIPTION_MAX + 1)):
        with pytest.raises(InvalidInput) as info:
            await districts.describe_district(session, secretary, district.id, bad)
        assert info.value.key == "districts-bad-description"
    assert district.description is None

    await districts.describe_district(session, secretary, district.id, " от реки\nдо вокзала ")
    assert district.description == "от реки\nдо вокзала"
    assert [a[0] for a in await actions(session)] == ["district.describe"]


async def test_base_organization_must_be_approved_and_of_the_district(session):
    secretary = await person(session, 1, "Секретарь", Role.SECRETARIAT)
    citizen = await person(session, 2, "Житель")
    center = await districts.seed_district(session, 1, "Центральный")
    north = await districts.seed_district(session, 2, "Северный")
    approved = await organization(session, "Совет Центра", center, OrganizationStatus.APPROVED)
    pending = await organization(session, "Новая", center, OrganizationStatus.PENDING)
    suspended = await organization(session, "Спящая", center, OrganizationStatus.SUSPENDED)
    elsewhere = await organization(session, "Северяне", north, OrganizationStatus.APPROVED)
    nowhere = await organization(session, "Городская", None, OrganizationStatus.APPROVED)

    page = await districts.approved_organizations(session, secretary, center.id)
    assert [o.name for o in page.items] == ["Совет Центра"]
    with pytest.raises(NotAllowed):
        await districts.approved_organizations(session, citizen, center.id)

    with pytest.raises(NotAllowed):
        await districts.set_base_organization(session, citizen, center.id, approved.id)
    for wrong, key in (
        (pending, "districts-base-not-approved"),
        (suspended, "districts-base-not-approved"),
        (elsewhere, "districts-base-other-district"),
        (nowhere, "districts-base-other-district"),
    ):
        with pytest.raises(InvalidInput) as info:
            await districts.set_base_organization(session, secretary, center.id, wrong.id)
        assert info.value.key == key
    with pytest.raises(NotFound) as info:
        await districts.set_base_organization(session, secretary, center.id, 999)
    assert info.value.key == "districts-organization-not-found"
    assert center.base_organization_id is None

    await districts.set_base_organization(session, secretary, center.id, approved.id)
    card = await districts.card(session, secretary, center.id)
    assert card.base_organization is not None and card.base_organization.name == "Совет Центра"
    assert await actions(session) == [
        ("district.set_base", center.id, {"organization_id": approved.id, "previous_id": None})
    ]
    with pytest.raises(NotAllowed):
        await districts.card(session, citizen, center.id)


async def test_approved_organizations_are_paged(session):
    secretary = await person(session, 1, "Секретарь", Role.SECRETARIAT)
    district = await districts.seed_district(session, 1, "Центральный")
    for number in range(11):
        name = f"Организация {number:02}"
        await organization(session, name, district, OrganizationStatus.APPROVED)
    page = await districts.approved_organizations(session, secretary, district.id, 1, per_page=8)
    assert (page.page, page.pages, page.total, len(page.items)) == (1, 2, 11, 3)
    assert page.items[0].name == "Организация 08"


async def test_manage_page_needs_the_secretariat(session):
    citizen = await person(session, 2, "Житель")
    admin = await person(session, 3, "Админ", Role.ADMIN)
    await districts.seed_district(session, 1, "Центральный")
    with pytest.raises(NotAllowed):
        await districts.manage_page(session, citizen)
    assert (await districts.manage_page(session, admin)).total == 1
