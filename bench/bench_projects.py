"""Projects at city scale: the portfolio list (by status, district, programme, direction), the
executive committee's control list (overdue milestones and missing reports first) and the
council's portfolio counts, timed through the real service code, with the query plans.

The data: 20,000 projects of 600 organizations over 24 districts, 30 programmes and 8
committees, in every status; 200,000 milestones (10 a project, the running projects' partly
overdue) and 40,000 reports (the running projects' partly missing).

    python bench/bench_projects.py                      # SQLite (temp file)
    python bench/bench_projects.py -n 2000 -r 5
    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/bench_projects.py

On PostgreSQL the run gets a throwaway database next to the one named in DATABASE_URL. The
target is a median under 50 ms for each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench_needs import database as needs_database
from bench_needs import insert_chunked, plan, timed
from sqlalchemy import Select, func, select, text

from bot import db
from bot.services.audit import AuditKeys
from bot.services.projects import browse, control, documents
from models import (
    Body,
    BodyKind,
    District,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Role,
    User,
    UserRole,
)
from models.base import utcnow
from models.projects import Milestone, Programme, Project, ProjectReport, ProjectStatus

CHUNK = 5_000
DISTRICTS = 24
ORGANIZATIONS = 600
PROGRAMMES = 30
COMMITTEES = 8
MILESTONES_PER_PROJECT = 10
REPORTS_PER_PROJECT = 2
TARGET_MS = 50.0
SEED = 12

S = ProjectStatus
# A live Assembly: most projects finished or running, some in review, a few drafts.
STATUSES = (
    (S.DRAFT, 5),
    (S.SUBMITTED, 4),
    (S.IN_REVIEW, 6),
    (S.RETURNED, 3),
    (S.RECOMMENDED, 8),
    (S.REJECTED, 6),
    (S.IN_PROGRESS, 30),
    (S.COMPLETED, 8),
    (S.REPORTED, 25),
    (S.WITHDRAWN, 5),
)
RUNNING = (S.RECOMMENDED, S.IN_PROGRESS, S.COMPLETED)
TITLES = (
    "Светлый двор",
    "Доступная среда",
    "Зелёный квартал",
    "Спорт во дворе",
    "Память улиц",
    "Чистая река",
    "Соседский центр",
    "Безопасная дорога в школу",
    "Серебряный возраст",
    "Молодёжный совет",
)


@contextlib.asynccontextmanager
async def database(directory: Path, keep: str | None) -> AsyncIterator[str]:
    async with needs_database(directory, keep, "projects") as url:
        yield url


async def fill(engine: Any, projects: int) -> None:
    rng = random.Random(SEED)
    now = utcnow()
    today = now.date()
    async with engine.begin() as conn:
        await insert_chunked(
            conn,
            District.__table__,
            [{"number": n, "name": f"Округ {n}", "created_at": now} for n in range(1, 25)],
        )
        districts = list((await conn.execute(select(District.id))).scalars())
        await insert_chunked(
            conn,
            User.__table__,
            [
                {
                    "telegram_id": 9_000_000 + i,
                    "name": f"Представитель {i:04d}",
                    "district_id": districts[i % DISTRICTS],
                    "created_at": now,
                    "muted_topics": [],
                    "registered_at": now,
                }
                for i in range(ORGANIZATIONS)
            ],
        )
        users = list((await conn.execute(select(User.id).order_by(User.id))).scalars())
        await insert_chunked(
            conn,
            Organization.__table__,
            [
                {
                    "name": f"Организация {i:04d}",
                    "name_key": f"организация {i:04d}",
                    "kind": OrganizationKind.NGO,
                    "district_id": districts[i % DISTRICTS],
                    "description": "—",
                    "contacts": "—",
                    "proposals": "—",
                    "status": OrganizationStatus.APPROVED,
                    "applicant_id": users[i],
                    "agreed_at": now,
                    "created_at": now,
                }
                for i in range(ORGANIZATIONS)
            ],
        )
        organizations = list(
            (await conn.execute(select(Organization.id).order_by(Organization.id))).scalars()
        )
        await insert_chunked(
            conn,
            Programme.__table__,
            [
                {
                    "title": f"Программа {i}",
                    "summary": "",
                    "district_id": districts[i % DISTRICTS] if i < DISTRICTS else None,
                    "minority_allowed": False,
                    "active": True,
                    "created_at": now,
                }
                for i in range(PROGRAMMES)
            ],
        )
        programmes = list((await conn.execute(select(Programme.id))).scalars())
        await insert_chunked(
            conn,
            Body.__table__,
            [
                {"kind": BodyKind.COMMITTEE, "name": f"Комитет {i}", "created_at": now}
                for i in range(COMMITTEES)
            ],
        )
        committees = list(
            (await conn.execute(select(Body.id).where(Body.kind == BodyKind.COMMITTEE))).scalars()
        )
        statuses, weights = zip(*STATUSES, strict=True)
        project_rows, milestone_rows, report_rows = [], [], []
        for i in range(projects):
            status = rng.choices(statuses, weights)[0]
            owner = rng.randrange(ORGANIZATIONS)
            created = now - timedelta(days=rng.uniform(0, 1500))
            starts = (created + timedelta(days=rng.uniform(10, 60))).date()
            ends = starts + timedelta(days=rng.randint(60, 400))
            if status in RUNNING:
                # Running projects started recently, so that part of their plan lies ahead.
                starts = today - timedelta(days=rng.randint(0, 200))
                ends = starts + timedelta(days=rng.randint(100, 400))
            project_rows.append(
                {
                    "id": i + 1,
                    "organization_id": organizations[owner],
                    "proposer_id": users[owner],
                    "programme_id": rng.choice(programmes) if rng.random() < 0.4 else None,
                    "district_id": districts[owner % DISTRICTS] if rng.random() < 0.8 else None,
                    "committee_id": rng.choice(committees) if status != S.DRAFT else None,
                    "status": status,
                    "title": f"{rng.choice(TITLES)} {i}",
                    "summary": "Краткое описание проекта.",
                    "goals": "Цели и ожидаемые результаты.",
                    "budget": rng.randint(10, 5000) * 1000,
                    "budget_sources": "Грант",
                    "wanted": "",
                    "starts_on": starts,
                    "ends_on": ends,
                    "version": 0 if status == S.DRAFT else 1,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            span = max((ends - starts).days, 1)
            open_dates = []
            for m in range(MILESTONES_PER_PROJECT):
                due = starts + timedelta(days=span * (m + 1) // MILESTONES_PER_PROJECT)
                finished = status in (S.REPORTED, S.COMPLETED) or (
                    status in RUNNING and due < today and rng.random() < 0.85
                )
                if not finished:
                    open_dates.append(due)
                milestone_rows.append(
                    {
                        "project_id": i + 1,
                        "title": f"Этап {m + 1}",
                        "due_on": due,
                        "responsible_id": users[owner],
                        "done_at": now if finished else None,
                        "created_at": created,
                    }
                )
            for r in range(REPORTS_PER_PROJECT):
                due = starts + timedelta(days=span * (r + 1) // REPORTS_PER_PROJECT)
                submitted = status == S.REPORTED or (
                    status in RUNNING and due < today and rng.random() < 0.7
                )
                if not submitted:
                    open_dates.append(due)
                report_rows.append(
                    {
                        "project_id": i + 1,
                        "due_on": due,
                        "responsible_id": users[owner],
                        "final": r == REPORTS_PER_PROJECT - 1,
                        "progress": 100 if submitted else None,
                        "submitted_at": now if submitted else None,
                        "created_at": created,
                    }
                )
            # What the plan's service keeps: the earliest open deadline.
            project_rows[-1]["next_due_on"] = min(open_dates, default=None)
        await insert_chunked(conn, Project.__table__, project_rows)
        if engine.dialect.name == "postgresql":
            await conn.execute(
                text("SELECT setval('projects_id_seq', (SELECT max(id) FROM projects))")
            )
        await insert_chunked(conn, Milestone.__table__, milestone_rows)
        await insert_chunked(conn, ProjectReport.__table__, report_rows)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", "--projects", type=int, default=20_000)
    parser.add_argument("-r", "--repeat", type=int, default=21)
    parser.add_argument(
        "--keep", metavar="FILE", help="SQLite: fill this file once, and reuse it on later runs"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with database(Path(tmp), args.keep) as url:
            engine = db.create_engine(url)
            sessionmaker = db.create_sessionmaker(
                engine, audit=AuditKeys(b"bench-audit-key-not-secret")
            )
            started = time.perf_counter()
            async with engine.connect() as conn:
                filled = await conn.scalar(select(func.count()).select_from(Project))
            if not filled:
                await fill(engine, args.projects)
            async with engine.connect() as conn:
                counts = [
                    await conn.scalar(select(func.count()).select_from(model))
                    for model in (Project, Milestone, ProjectReport)
                ]
            print(
                f"{engine.dialect.name}: {counts[0]:,} projects, {counts[1]:,} milestones,"
                f" {counts[2]:,} reports; filled in {time.perf_counter() - started:.1f} s"
            )
            async with sessionmaker() as session:
                results, plans = await measure(session, args.repeat)
            print(f"{'operation':<36} {'median ms':>10} {'p95 ms':>8} {'rows':>8} {'/target':>8}")
            for name, (median_ms, p95, rows) in results.items():
                ratio = median_ms / TARGET_MS
                flag = "" if median_ms < TARGET_MS else "  MISSED"
                print(f"{name:<36} {median_ms:>10.1f} {p95:>8.1f} {rows:>8,} {ratio:>8.2f}{flag}")
            for name, statement in plans.items():
                print(f"plan of {name}:\n" + await plan(engine, statement))
            await engine.dispose()


async def measure(
    session: Any, repeat: int, timezone: str = "Europe/Moscow"
) -> tuple[dict[str, tuple[float, float, int]], dict[str, Select[Any]]]:
    """The operations timed, and the statements whose plans are printed."""
    districts = list(await session.scalars(select(District.id).order_by(District.id)))
    programmes = list(await session.scalars(select(Programme.id).order_by(Programme.id)))
    committees = list(await session.scalars(select(Body.id).where(Body.kind == BodyKind.COMMITTEE)))
    # A member of the executive committee, not stored: the services check only the roles.
    overseer = User(id=0, name="bench", roles=[UserRole(role=Role.EXECUTIVE)])
    rotation = itertools.cycle(range(1000))

    async def listing(filters: browse.Filters, page: int = 0) -> int:
        found = await browse.browse(session, filters, page)
        assert found.items and all(p.status != ProjectStatus.DRAFT for p in found.items)
        return len(found.items)

    async def control_page(page: int) -> int:
        found = await control.overview(session, overseer, page, timezone)
        assert found.page.items and found.late
        return len(found.page.items)

    async def chart() -> int:
        found = await documents.portfolio(session, overseer)
        return sum(sum(counts.values()) for _, counts in found.rows)

    def district() -> int:
        return districts[next(rotation) % len(districts)]

    results = {
        "portfolio: open projects, page 1": await timed(repeat, lambda: listing(browse.Filters())),
        "portfolio: open projects, page 5": await timed(
            repeat, lambda: listing(browse.Filters(), 4)
        ),
        "portfolio: all statuses, page 1": await timed(
            repeat, lambda: listing(browse.Filters(status=browse.ALL))
        ),
        "portfolio: a district's open ones": await timed(
            repeat, lambda: listing(browse.Filters(district_id=district()))
        ),
        "portfolio: in progress, a district": await timed(
            repeat,
            lambda: listing(browse.Filters(status="in_progress", district_id=district())),
        ),
        "portfolio: a programme": await timed(
            repeat,
            lambda: listing(browse.Filters(status=browse.ALL, programme_id=programmes[-1])),
        ),
        "portfolio: a direction (committee)": await timed(
            repeat, lambda: listing(browse.Filters(committee_id=committees[0]))
        ),
        "control: overdue first, page 1": await timed(repeat, lambda: control_page(0)),
        "control: page 20": await timed(repeat, lambda: control_page(19)),
        "council: by district and status": await timed(repeat, chart),
    }
    today = utcnow().date()
    plans = {
        "open projects, page 1": browse.page_query(browse.Filters(), 0, 8),
        "a district's open ones": browse.page_query(browse.Filters(district_id=districts[0]), 0, 8),
        "overdue projects, page 1": control.late_query(today).limit(8),
    }
    return results, plans


if __name__ == "__main__":
    asyncio.run(main())
