"""Social monitoring of the needs: the report's figures against a seeded dataset, the report in
the chat (summary, charts, workbook) for the council only, the city's priorities in one
message, and the open-data export without personal data."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import select

from bot.services import districts, monitoring, opendata
from bot.texts import utf16_len
from models import Role
from models.base import utcnow
from models.needs import Need, NeedCategory, NeedStatus, NeedSupport
from tests.support import make_secretary, register
from tests.test_cli import run_bot

NOW = utcnow()
CATEGORIES = (
    ("housing", "ЖКХ", "Housing and utilities"),
    ("roads", "Дороги и транспорт", "Roads and transport"),
    ("health", "Здравоохранение", "Health"),
)
DAY = timedelta(days=1)
PHONE = "+7 915 123-45-67"
SECRET_NAME = "Евлампия Перепелкина"
USERNAME = "perepelkina_e"
TELEGRAM_ID = 987_654_321


async def categories(running) -> dict[str, int]:
    """The categories by code. Migration 008 seeds them; the PostgreSQL runs empty every table
    between tests, so they are made again there."""
    async with running.sessionmaker.begin() as session:
        found = {c.code: c.id for c in await session.scalars(select(NeedCategory))}
        if not found:
            for position, (code, ru, en) in enumerate(CATEGORIES):
                category = NeedCategory(code=code, name_ru=ru, name_en=en, position=position)
                session.add(category)
                await session.flush()
                found[code] = category.id
        return found


async def seed(running) -> dict[str, int]:
    """Two districts and eight needs whose figures are worked out by hand below; returns the
    needs' ids by name."""
    author = await register(running, TELEGRAM_ID, SECRET_NAME, username=USERNAME)
    codes = await categories(running)
    rows = [
        # name, district, category, status, supports, filed days ago, decided after, resolved after
        ("n1", 1, "housing", NeedStatus.NEW, 5, 10, None, None),
        ("n2", 1, "housing", NeedStatus.ACCEPTED, 9, 20, 2, None),
        ("n3", 1, "roads", NeedStatus.IN_WORK, 1, 70, 4, None),
        ("n4", 1, "roads", NeedStatus.RESOLVED, 20, 100, 1, 30),
        ("n5", 1, "health", NeedStatus.REJECTED, 0, 8, 6, None),
        ("n6", 2, "housing", NeedStatus.NEW, 7, 3, None, None),
        ("n7", 2, "roads", NeedStatus.RESOLVED, 0, 200, 10, 60),
        # Older than the twelve months: counted by status, not in the trend or the medians.
        ("n8", 2, "roads", NeedStatus.RESOLVED, 0, 500, 1, 50),
    ]
    ids = {}
    async with running.sessionmaker.begin() as session:
        first = await districts.seed_district(session, 1, "Заречье")
        second = await districts.seed_district(session, 2, "Центр")
        by_number = {1: first.id, 2: second.id}
        for name, district, code, status, supports, ago, decided, resolved in rows:
            created = NOW - ago * DAY
            need = Need(
                district_id=by_number[district],
                category_id=codes[code],
                author_id=author,
                # What moderators accepted was read (and cleaned); new and rejected texts may
                # still hold a phone, a name and a username.
                description=f"Нужда {name}"
                + ("" if status in opendata.MODERATED else f": {PHONE}, {SECRET_NAME} @{USERNAME}"),
                address=f"ул. Лесная, 5, кв. 12, {SECRET_NAME}",
                latitude=55.7558261,
                longitude=37.6172999,
                status=status,
                support_count=supports,
                created_at=created,
                decided_at=created + decided * DAY if decided is not None else None,
                resolved_at=created + resolved * DAY if resolved is not None else None,
                show_name=True,
            )
            session.add(need)
            await session.flush()
            ids[name] = need.id
        session.add(NeedSupport(need_id=ids["n1"], user_id=author))
    return ids


def expected_months(days_ago: list[int], timezone: str) -> Counter:
    zone = ZoneInfo(timezone)
    return Counter((NOW - ago * DAY).astimezone(zone).strftime("%m.%Y") for ago in days_ago)


async def test_report_figures_match_the_seeded_needs(running):
    ids = await seed(running)
    timezone = running.settings.timezone
    codes = await categories(running)
    async with running.sessionmaker() as session:
        city = await monitoring.figures(session, None, timezone, NOW)
        first = (await districts.list_districts(session)).items[0]
        district = await monitoring.figures(session, first.id, timezone, NOW)

    assert city.total == 8 and district.total == 5
    assert city.counts[(codes["roads"], NeedStatus.RESOLVED)] == 3
    assert city.counts[(codes["housing"], NeedStatus.NEW)] == 2
    assert district.counts == {
        (codes["housing"], NeedStatus.NEW): 1,
        (codes["housing"], NeedStatus.ACCEPTED): 1,
        (codes["roads"], NeedStatus.IN_WORK): 1,
        (codes["roads"], NeedStatus.RESOLVED): 1,
        (codes["health"], NeedStatus.REJECTED): 1,
    }
    assert city.by_status()[NeedStatus.RESOLVED] == 3
    # Open needs only, most supported first: the resolved n4 (20 supports) is not a priority.
    assert [n.id for n in city.top] == [ids["n2"], ids["n6"], ids["n1"], ids["n3"]]
    assert [n.id for n in district.top] == [ids["n2"], ids["n1"], ids["n3"]]

    assert len(city.months) == 12
    shown = {f"{day:%m.%Y}": (filed, resolved) for day, filed, resolved in city.months}
    filed = expected_months([10, 20, 70, 100, 8, 3, 200], timezone)
    resolved = expected_months([100 - 30, 200 - 60], timezone)
    assert {m: f for m, (f, _) in shown.items() if f} == dict(filed)
    assert {m: r for m, (_, r) in shown.items() if r} == dict(resolved)

    # Decisions within the twelve months took 2, 4, 1, 6 and 10 days: the median is 4; the
    # district's four (1, 2, 4, 6) have 3, the mean of the middle two.
    assert city.to_decision == timedelta(days=4)
    assert district.to_decision == timedelta(days=3)
    assert city.to_resolution == timedelta(days=45)
    assert district.to_resolution == timedelta(days=30)


async def test_empty_city_report(running):
    async with running.sessionmaker() as session:
        report = await monitoring.figures(session, None, running.settings.timezone)
    assert report.total == 0 and report.top == []
    assert report.to_decision is None and report.to_resolution is None
    assert all(filed == resolved == 0 for _, filed, resolved in report.months)


async def test_council_gets_the_report_with_charts_and_workbook(fake, running):
    ids = await seed(running)
    await register(running, 4001, "Совет", Role.COUNCIL)
    councillor = fake.user(4001, "Совет")
    replies = await councillor.say("/needs_report")
    picker = replies[-1]
    assert "выберите округ" in picker.text
    # Typed text where a button is expected: a hint, and the picker again.
    replies = await councillor.say("Заречье")
    assert any("кнопк" in m.text.lower() for m in replies)

    city = next(b.callback_data for b in picker.flat_buttons if b.text == "🏙 Весь город")
    replies = await councillor.click("№1 · Заречье", picker.message_id)
    summary = next(m for m in replies if "Потребности: №1 · Заречье" in m.text)
    assert "Всего 5 потребностей" in summary.text
    assert "ЖКХ: 2 / 2 / 0" in summary.text
    assert "Дороги и транспорт: 2 / 1 / 1" in summary.text
    assert f"№{ids['n2']} · ЖКХ · 👍 9" in summary.text
    assert "до решения: 3 дн. 0 ч" in summary.text
    assert "до результата: 30 дн. 0 ч" in summary.text
    photos = [m for m in councillor.messages if m.photo]
    assert len(photos) == 2
    documents = [m.document for m in councillor.messages if m.document]
    assert len(documents) == 1 and documents[0]["file_name"].endswith(".xlsx")
    book = load_workbook(io.BytesIO(fake.file(documents[0]["file_id"]).content))
    assert book.sheetnames == ["Категории", "Поддержка", "По месяцам", "Сроки"]
    top = book["Поддержка"]
    assert [top.cell(row=r, column=1).value for r in range(2, 5)] == [
        ids["n2"],
        ids["n1"],
        ids["n3"],
    ]
    assert book["Сроки"]["B2"].value == 3
    # The picker became the status line, edited to its end.
    status = next(m for m in councillor.messages if m.message_id == picker.message_id)
    assert "Отчёт готов" in status.text and status.edited
    # A second press on the old picker changes nothing.
    before = len(councillor.messages)
    assert city is not None
    await councillor.click_data(picker.message_id, city)
    assert not [m for m in councillor.messages[before:] if m.photo or m.document]


async def test_city_report_and_roles(fake, running):
    await seed(running)
    await register(running, 4002, "Житель")
    citizen = fake.user(4002, "Житель")
    for command in ("/needs_report", "/top_needs", "/needs_opendata"):
        replies = await citizen.say(command)
        assert "нет прав" in replies[0].text, command
    await register(running, 4003, "Исполком", Role.EXECUTIVE)
    executive = fake.user(4003, "Исполком")
    replies = await executive.say("/needs_opendata")
    assert "нет прав" in replies[0].text
    replies = await executive.say("/needs_report")
    await executive.click("🏙 Весь город", replies[-1].message_id)
    summary = next(m for m in executive.messages if "Потребности: Весь город" in m.text)
    assert "Всего 8 потребностей" in summary.text
    assert "решены: 3" in summary.text
    assert len([m for m in executive.messages if m.photo]) == 2


async def test_top_needs_fit_one_message(fake, running):
    ids = await seed(running)
    housing = (await categories(running))["housing"]
    async with running.sessionmaker.begin() as session:
        # Many districts with long needs: the message stays within Telegram's limit.
        for number in range(3, 40):
            district = await districts.seed_district(session, number, f"Округ {number}")
            for k in range(3):
                session.add(
                    Need(
                        district_id=district.id,
                        category_id=housing,
                        description="Очень длинное описание <b>проблемы</b> " * 20,
                        status=NeedStatus.ACCEPTED,
                        support_count=k,
                    )
                )
    await register(running, 4004, "Президиум", Role.PRESIDIUM)
    member = fake.user(4004, "Президиум")
    replies = await member.say("/top_needs")
    assert len(replies) == 1
    text = replies[0].text
    assert utf16_len(text) <= 4096
    assert "Приоритеты города" in text
    assert text.index(f"№{ids['n2']} ") < text.index(f"№{ids['n6']} ")
    assert "№1 · Заречье" in text and "№2 · Центр" in text
    assert "и ещё" in text and "<b>проблемы</b>" in text  # user text escaped, shown as typed


async def test_open_data_has_no_personal_data(fake, running):
    ids = await seed(running)
    await make_secretary(running, 4005, "Секретарь")
    secretary = fake.user(4005, "Секретарь")
    replies = await secretary.say("/needs_opendata")
    documents = [m.document for m in replies if m.document]
    assert [d["file_name"].rsplit(".", 1)[1] for d in documents] == ["csv", "geojson"]
    assert "8 потребностей" in replies[0].text
    raw_csv = fake.file(documents[0]["file_id"]).content
    raw_geojson = fake.file(documents[1]["file_id"]).content
    async with running.sessionmaker() as session:
        author = await session.scalar(select(Need.author_id).where(Need.id == ids["n1"]))
    for raw in (raw_csv, raw_geojson):
        text = raw.decode("utf-8-sig")
        for secret in (
            SECRET_NAME.split()[1],
            PHONE,
            "123-45-67",
            USERNAME,
            "Лесная",
            str(TELEGRAM_ID),
            "7558261",
            "6172999",
            "author",
            "user",
        ):
            assert secret not in text, secret
    rows = list(csv.DictReader(io.StringIO(raw_csv.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 8
    assert {row["latitude"] for row in rows} == {"55.756"}
    assert {row["longitude"] for row in rows} == {"37.617"}
    by_number = {int(row["number"]): row for row in rows}
    # Descriptions only of moderated needs; the author's id is nowhere as a column.
    assert by_number[ids["n1"]]["description"] == ""
    assert by_number[ids["n5"]]["description"] == ""
    assert by_number[ids["n2"]]["description"].startswith("Нужда n2")
    assert author is not None and "author_id" not in rows[0]
    collection = json.loads(raw_geojson)
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 8
    point = collection["features"][0]["geometry"]
    assert point == {"type": "Point", "coordinates": [37.617, 55.756]}


def test_publish_needs_from_the_command_line(tmp_path, monkeypatch, capsys):
    result = run_bot(
        "publish-needs", "out", env={}, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 0 needs" in result.stdout
    header = (tmp_path / "out" / "needs.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.split(";") == list(opendata.COLUMNS)
    collection = json.loads((tmp_path / "out" / "needs.geojson").read_bytes())
    assert collection == {"type": "FeatureCollection", "features": []}
