"""/projects_export and /projects_portfolio through the real Dispatcher and the fake Telegram:
the list of projects as CSV and XLSX (a status line edited when done, drafts only for the
overseers, no personal data), and the council's chart of projects by district and status with
its table; both refused to anyone else."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from models import Role
from models.base import utcnow
from models.projects import Milestone, ProjectReport, ProjectStatus
from tests.projects_support import a_date, district, executive, member_organization, project
from tests.support import register

S = ProjectStatus
EXECUTIVE, REP1, REP2, COUNCILLOR, CITIZEN = 7801, 7802, 7803, 7804, 7805


async def world(fake, running) -> dict[str, int]:
    for tg in (EXECUTIVE, REP1, REP2, COUNCILLOR, CITIZEN):
        fake.user(tg)
    ids = {"d1": await district(running, 1, "Центр"), "d2": await district(running, 2, "Заречье")}
    ids["executive"] = await executive(running, EXECUTIVE, "Исполнитель")
    ids["org1"], ids["rep1"] = await member_organization(
        running, REP1, "Глава Один", "ТОС Центр", ids["d1"]
    )
    ids["org2"], ids["rep2"] = await member_organization(
        running, REP2, "Глава Два", "НКО Заречье", ids["d2"]
    )
    ids["councillor"] = await register(running, COUNCILLOR, "Советник", Role.COUNCIL)
    ids["citizen"] = await register(running, CITIZEN, "Житель")
    return ids


async def portfolio_projects(running, ids) -> dict[str, int]:
    """District 1: two in progress, one submitted, a draft; district 2: one recommended;
    city-wide: one completed."""
    made = {}
    for name, org, rep, district_id, status in (
        ("Фонари", "org1", "rep1", ids["d1"], S.IN_PROGRESS),
        ("Лавочки", "org1", "rep1", ids["d1"], S.IN_PROGRESS),
        ("Клумбы", "org1", "rep1", ids["d1"], S.SUBMITTED),
        ("=HYPERLINK(1)", "org1", "rep1", ids["d1"], S.DRAFT),
        ("Набережная", "org2", "rep2", ids["d2"], S.RECOMMENDED),
        ("Город-сад", "org2", "rep2", None, S.COMPLETED),
    ):
        made[name] = await project(
            running, ids[org], ids[rep], title=name, district_id=district_id, status=status
        )
    async with running.sessionmaker.begin() as session:
        lights = made["Фонари"]
        session.add_all(
            [
                Milestone(project_id=lights, title="Шаг 1", due_on=a_date(5), done_at=utcnow()),
                Milestone(project_id=lights, title="Шаг 2", due_on=a_date(9), done_at=utcnow()),
                Milestone(project_id=lights, title="Шаг 3", due_on=a_date(30)),
                ProjectReport(project_id=lights, progress=30, submitted_at=utcnow() - a_gap(2)),
                ProjectReport(project_id=lights, progress=70, submitted_at=utcnow() - a_gap(1)),
                # Planned, not submitted: not the last progress.
                ProjectReport(project_id=lights, due_on=a_date(30)),
            ]
        )
    return made


def a_gap(days: int) -> timedelta:
    return timedelta(days=days)


async def export_files(fake, person) -> tuple[list[list[str]], list[tuple], str]:
    replies = await person.say("/projects_export")
    documents = [reply.document for reply in replies if reply.document]
    names = [document["file_name"].rsplit(".", 1)[1] for document in documents]
    assert names == ["csv", "xlsx"]
    raw = fake.file(documents[0]["file_id"]).content
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    book = load_workbook(io.BytesIO(fake.file(documents[1]["file_id"]).content))
    sheet = book.worksheets[0]
    status = person.message(replies[0].message_id)
    return rows, list(sheet.iter_rows(values_only=True)), status.text


async def test_the_export_lists_every_project_with_its_plan_and_progress(fake, running):
    ids = await world(fake, running)
    made = await portfolio_projects(running, ids)
    rows, sheet, status = await export_files(fake, fake.user(EXECUTIVE))
    assert "Готово: 6 проектов в списке" in status  # the status line, edited when done
    header = rows[0]
    assert header[:4] == ["Номер", "Название", "Статус", "Организация"]
    assert "Этапов выполнено" in header and "Прогресс по последнему отчёту, %" in header
    by_number = {int(row[0]): row for row in rows[1:]}
    assert set(by_number) == set(made.values())  # the overseers see drafts too
    lights = by_number[made["Фонари"]]
    assert lights[1:5] == ["Фонари", "реализуется", "ТОС Центр", "округ №1 Центр"]
    assert lights[-3:] == ["2", "3", "70"]  # steps done, steps in all, the last progress
    assert by_number[made["Город-сад"]][4] == "общегородской"
    assert by_number[made["=HYPERLINK(1)"]][1] == "'=HYPERLINK(1)"  # never a formula
    assert sheet[0][0] == "Номер" and len(sheet) == len(rows)
    in_sheet = {row[0]: row for row in sheet[1:]}
    assert in_sheet[made["Фонари"]][-3:] == (2, 3, 70)  # numbers, for the spreadsheet to sum
    # No personal data: neither the representatives nor anyone else is named.
    flat = "\n".join(";".join(row) for row in rows)
    assert "Глава" not in flat and "Исполнитель" not in flat


async def test_the_council_exports_without_drafts_and_others_are_refused(fake, running):
    ids = await world(fake, running)
    made = await portfolio_projects(running, ids)
    rows, _, _ = await export_files(fake, fake.user(COUNCILLOR))
    numbers = {int(row[0]) for row in rows[1:]}
    assert made["=HYPERLINK(1)"] not in numbers and len(numbers) == 5
    for tg in (CITIZEN, REP1):
        person = fake.user(tg)
        replies = await person.say("/projects_export")
        assert "нет прав" in replies[0].text
        assert not [reply for reply in replies if reply.document]


async def test_the_portfolio_chart_and_its_table(fake, running):
    ids = await world(fake, running)
    await portfolio_projects(running, ids)
    councillor = fake.user(COUNCILLOR)
    replies = await councillor.say("/projects_portfolio")
    photos = [reply for reply in replies if reply.photo]
    assert len(photos) == 1
    image = fake.file(photos[0].photo[-1]["file_id"]).content
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    table = replies[-1].text
    assert "Портфель: 5 проектов по округам и статусам" in table  # the draft is not counted
    lines = table.split("\n")
    assert "округ №1 Центр — 3: подан: 1; реализуется: 2" in lines
    assert "округ №2 Заречье — 1: рекомендован Советом: 1" in lines
    assert "общегородской — 1: завершён: 1" in lines
    assert lines.index("округ №1 Центр — 3: подан: 1; реализуется: 2") < lines.index(
        "общегородской — 1: завершён: 1"
    )
    assert (
        "Всего по статусам: подан: 1; рекомендован Советом: 1; реализуется: 2; завершён: 1" in table
    )


async def test_the_portfolio_is_refused_to_others_and_empty_is_said(fake, running):
    await world(fake, running)
    for tg in (CITIZEN, REP1):
        replies = await fake.user(tg).say("/projects_portfolio")
        assert "нет прав" in replies[0].text and not any(r.photo for r in replies)
    replies = await fake.user(EXECUTIVE).say("/projects_portfolio")
    assert "портфель пуст" in replies[-1].text
