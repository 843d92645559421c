"""Districts: adding, paging and the CSV import."""

from __future__ import annotations

import pytest

from bot.services import districts
from bot.services.errors import InvalidInput


async def test_add_and_refuse_duplicates(session):
    await districts.add_district(session, "3", "  Заречный  ")
    with pytest.raises(InvalidInput) as info:
        await districts.add_district(session, 3, "Другой")
    assert info.value.key == "districts-exists"
    with pytest.raises(InvalidInput):
        await districts.add_district(session, 4, "Заречный")
    with pytest.raises(InvalidInput) as info:
        await districts.add_district(session, "три", "Название")
    assert info.value.key == "districts-bad-number"


async def test_pages_are_clamped(session):
    for number in range(1, 20):
        await districts.add_district(session, number, f"Округ {number}")
    page = await districts.list_districts(session, page=99, per_page=8)
    assert (page.page, page.pages, len(page.items)) == (2, 3, 3)
    assert next(d.number for d in (await districts.list_districts(session, -5)).items) == 1


async def test_csv_import_upserts_and_reports_bad_rows(session):
    await districts.add_district(session, 1, "Старое имя")
    result = await districts.import_csv(
        session,
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
    result = await districts.import_csv(session, "1,Первый\n2,Второй\n")
    assert result.added == 2 and not result.errors
