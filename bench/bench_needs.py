"""The needs at city scale: a district's page of open needs sorted by supports, the similar-needs
search for a new text and the city report's queries, timed through the real service code, with
the query plans the database chose.

The data: 200,000 people, 100,000 needs over 24 districts and the 11 seeded categories, filed
over two years (realistic Russian texts made from a word list, indexed for the similar-needs
search like the service does), and 500,000 supports skewed towards a few popular needs.

    python bench/bench_needs.py                         # SQLite (temp file)
    python bench/bench_needs.py -p 20000 -n 10000 -s 50000 -r 5
    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/bench_needs.py

On PostgreSQL the run gets a throwaway database next to the one named in DATABASE_URL.
Plans are EXPLAIN QUERY PLAN on SQLite and EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL. The
target is a median under 50 ms for each.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench_delivery import database as throwaway_database
from bench_delivery import migrate
from sqlalchemy import Select, event, func, insert, select, text

from bot import db
from bot.services import monitoring
from bot.services.audit import AuditKeys
from bot.services.needs import browse, terms
from models import District, User
from models.base import utcnow
from models.needs import Need, NeedCategory, NeedStatus, NeedSupport, NeedTerm

CHUNK = 5_000
DISTRICTS = 24
TARGET_MS = 50.0
SEED = 11

# The words of the texts: what is wrong, with what, where, and since when.
PROBLEMS = (
    "не горит",
    "сломан",
    "разбит",
    "протекает",
    "нет",
    "не работает",
    "завален мусором",
    "затоплен",
    "опасен для детей",
    "требует ремонта",
    "давно не убирали",
    "разрушается",
)
THINGS = (
    "фонарь",
    "лифт",
    "подъезд",
    "тротуар",
    "пешеходный переход",
    "детская площадка",
    "крыша",
    "светофор",
    "остановка автобуса",
    "мусорный контейнер",
    "водосток",
    "пандус",
    "скамейка",
    "забор школы",
    "спортивная площадка",
    "подвал",
    "парковка",
    "газон",
    "поликлиника",
    "освещение",
    "горячая вода",
    "отопление",
    "дорога",
    "ливнёвка",
    "бордюр",
    "клумба",
    "мост",
    "ограждение",
)
PLACES = (
    "во дворе дома",
    "у школы",
    "возле детского сада",
    "на улице Лесной",
    "на улице Мира",
    "у магазина",
    "на остановке",
    "за гаражами",
    "в парке",
    "у поликлиники",
    "на набережной",
    "в микрорайоне Заречье",
    "на проспекте Победы",
    "у станции",
)
TAILS = (
    "уже третий месяц",
    "с прошлой зимы",
    "жители жалуются",
    "пенсионерам трудно пройти",
    "дети играют рядом",
    "обращались в управляющую компанию",
    "ответа нет",
    "просим помочь",
    "вечером очень темно",
    "после дождя не пройти",
    "машины ездят быстро",
    "нужен срочный ремонт",
)
# Open statuses most, as in a live city; weights per status.
STATUSES = (
    (NeedStatus.NEW, 25),
    (NeedStatus.ACCEPTED, 20),
    (NeedStatus.IN_WORK, 15),
    (NeedStatus.RESOLVED, 25),
    (NeedStatus.REJECTED, 10),
    (NeedStatus.MERGED, 5),
)


def description(rng: random.Random) -> str:
    parts = [rng.choice(THINGS), rng.choice(PROBLEMS), rng.choice(PLACES)]
    parts += rng.sample(TAILS, rng.randint(0, 2))
    return (", ".join(parts) + ".").capitalize()


@contextlib.asynccontextmanager
async def database(directory: Path, keep: str | None, label: str = "needs") -> AsyncIterator[str]:
    """A migrated database for the run: the kept SQLite file, else a fresh one of its own (a
    throwaway database on PostgreSQL), as the delivery benchmark makes it."""
    if keep and not os.environ.get("DATABASE_URL"):
        url = f"sqlite+aiosqlite:///{keep}"
        await migrate(url)
        yield url
        return
    async with throwaway_database(directory, label) as url:
        yield url


async def insert_chunked(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await conn.execute(insert(table), rows[start : start + CHUNK])


async def fill(engine: Any, people: int, needs: int, supports: int) -> list[int]:
    """Returns the districts' ids."""
    rng = random.Random(SEED)
    now = utcnow()
    # The stems of the vocabulary, once: a text's stems are then its words' stems in order,
    # exactly what terms.stems_of gives (tested below on a sample).
    vocabulary = {
        word
        for phrase in PROBLEMS + THINGS + PLACES + TAILS
        for word in phrase.lower().replace("ё", "е").split()
    }
    stem_of = {word: (terms.stems_of(word) or [None])[0] for word in vocabulary}
    async with engine.begin() as conn:
        await insert_chunked(
            conn,
            District.__table__,
            [
                {"number": n, "name": f"Округ {n}", "created_at": now}
                for n in range(1, DISTRICTS + 1)
            ],
        )
        district_ids = list(
            (await conn.execute(select(District.id).order_by(District.id))).scalars()
        )
        category_ids = list((await conn.execute(select(NeedCategory.id))).scalars())
        await insert_chunked(
            conn,
            User.__table__,
            [
                {
                    "telegram_id": 8_000_000 + i,
                    "name": f"Житель {i:06d}",
                    "district_id": district_ids[i % DISTRICTS],
                    "created_at": now,
                    "muted_topics": [],
                    "registered_at": now,
                }
                for i in range(people)
            ],
        )
        user_ids = list((await conn.execute(select(User.id).order_by(User.id))).scalars())
        # Supports: a few needs gather many (a long tail, as on any petition site).
        weights = list(itertools.accumulate(1.0 / (rank + 10) for rank in range(needs)))
        order = list(range(needs))
        rng.shuffle(order)
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < supports:
            picked = rng.choices(order, cum_weights=weights, k=supports - len(pairs))
            pairs.update((need, rng.randrange(people)) for need in picked)
        counts = [0] * needs
        for need, _ in pairs:
            counts[need] += 1
        statuses, status_weights = zip(*STATUSES, strict=True)
        need_rows, term_rows, sample = [], [], []
        for i in range(needs):
            status = rng.choices(statuses, status_weights)[0]
            created = now - timedelta(days=rng.uniform(0, 730))
            decided = (
                None if status == NeedStatus.NEW else created + timedelta(days=rng.uniform(0, 14))
            )
            resolved = (
                created + timedelta(days=rng.uniform(1, 120))
                if status == NeedStatus.RESOLVED
                else None
            )
            body = description(rng)
            words = body.lower().replace("ё", "е").replace(",", " ").replace(".", " ").split()
            stems = list(dict.fromkeys(s for w in words if (s := stem_of.get(w))))
            if i < 50:
                sample.append((body, stems))
            place = rng.random() < 0.6
            need_rows.append(
                {
                    "id": i + 1,
                    "district_id": district_ids[i % DISTRICTS],
                    "category_id": rng.choice(category_ids),
                    "author_id": user_ids[rng.randrange(people)],
                    "entered_by_id": None,
                    "description": body,
                    "stems": " ".join(stems),
                    "address": None,
                    "latitude": 55.7 + rng.random() * 0.2 if place else None,
                    "longitude": 37.5 + rng.random() * 0.3 if place else None,
                    "show_name": False,
                    "status": status,
                    "support_count": counts[i],
                    "created_at": created,
                    "updated_at": decided or created,
                    "decided_at": decided,
                    "resolved_at": resolved,
                    "decision_seconds": int((decided - created).total_seconds())
                    if decided
                    else None,
                    "resolution_seconds": int((resolved - created).total_seconds())
                    if resolved
                    else None,
                }
            )
            if status in (NeedStatus.NEW, NeedStatus.ACCEPTED, NeedStatus.IN_WORK):
                term_rows += [
                    {"stem": s, "district_id": district_ids[i % DISTRICTS], "need_id": i + 1}
                    for s in stems
                ]
        for body, stems in sample:
            assert terms.stems_of(body) == stems, (body, stems, terms.stems_of(body))
        await insert_chunked(conn, Need.__table__, need_rows)
        if engine.dialect.name == "postgresql":
            await conn.execute(text("SELECT setval('needs_id_seq', (SELECT max(id) FROM needs))"))
        await insert_chunked(conn, NeedTerm.__table__, term_rows)
        await insert_chunked(
            conn,
            NeedSupport.__table__,
            [
                {"need_id": need + 1, "user_id": user_ids[person], "created_at": now}
                for need, person in pairs
            ],
        )
    # What autovacuum does in production soon after a bulk load.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )
    return district_ids


async def timed(repeat: int, work: Callable[[], Awaitable[int]]) -> tuple[float, float, int]:
    samples, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = await work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, rows


async def plan(engine: Any, statement: Select[Any]) -> str:
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    # On PostgreSQL the statement runs, so the plan shows real rows, times and buffers.
    prefix = (
        "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(text(prefix + sql))).all()
    return "\n".join(f"    {row[-1]}" for row in rows)


def similar_query(district_id: int, stems: list[str]) -> Select[Any]:
    """The statement terms.similar runs (for its plan)."""
    from sqlalchemy import desc, func

    shared = func.count().label("shared")
    return (
        select(NeedTerm.need_id, shared)
        .where(NeedTerm.district_id == district_id, NeedTerm.stem.in_(stems))
        .group_by(NeedTerm.need_id)
        .order_by(desc(shared), desc(NeedTerm.need_id))
        .limit(5)
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-p", "--people", type=int, default=200_000)
    parser.add_argument("-n", "--needs", type=int, default=100_000)
    parser.add_argument("-s", "--supports", type=int, default=500_000)
    parser.add_argument("-r", "--repeat", type=int, default=21)
    parser.add_argument("--timezone", default="Europe/Moscow")
    parser.add_argument(
        "--cache-mb",
        type=int,
        default=0,
        help="SQLite: a page cache of this size per connection (default: SQLite's 2 MB)",
    )
    parser.add_argument(
        "--keep", metavar="FILE", help="SQLite: fill this file once, and reuse it on later runs"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with database(Path(tmp), args.keep) as url:
            engine = db.create_engine(url)
            if args.cache_mb and engine.dialect.name == "sqlite":
                cache = f"PRAGMA cache_size=-{args.cache_mb * 1024}"

                def _cache(dbapi_connection: Any, _record: Any) -> None:
                    cursor = dbapi_connection.cursor()
                    cursor.execute(cache)
                    cursor.close()

                event.listen(engine.sync_engine, "connect", _cache)
            sessionmaker = db.create_sessionmaker(
                engine, audit=AuditKeys(b"bench-audit-key-not-secret")
            )
            started = time.perf_counter()
            async with engine.connect() as conn:
                filled = await conn.scalar(select(func.count()).select_from(Need))
            if filled:
                args.needs = filled
                async with engine.connect() as conn:
                    district_ids = list((await conn.execute(select(District.id))).scalars())
            else:
                district_ids = await fill(engine, args.people, args.needs, args.supports)
            print(
                f"{engine.dialect.name}: {args.people:,} people, {args.needs:,} needs,"
                f" {args.supports:,} supports over {DISTRICTS} districts; filled in"
                f" {time.perf_counter() - started:.1f} s"
            )
            now = utcnow()
            since = monitoring.month_starts(now, args.timezone)[0]
            bounds = monitoring.month_starts(now, args.timezone)
            new_text = "Во дворе дома на улице Лесной не горят фонари, вечером темно"
            rotation = itertools.cycle(district_ids)
            async with sessionmaker() as session:

                async def page() -> int:
                    # What /needs does for a district: the count for the pager, the page's ids
                    # on the index, the needs themselves.
                    filters = browse.Filters(district_id=next(rotation))
                    found = (await browse.browse(session, filters)).items
                    assert len(found) == 8
                    assert found == sorted(found, key=lambda n: (-n.support_count, -n.id))
                    return len(found)

                async def similar() -> int:
                    return len(await terms.similar(session, next(rotation), new_text, 5))

                async def counts() -> int:
                    return len((await session.execute(monitoring.counts_query(None))).all())

                async def top() -> int:
                    return len(list(await session.scalars(monitoring.top_query(None))))

                async def trend(column: Any) -> int:
                    statement = monitoring.trend_query(None, bounds, column)
                    return len((await session.execute(statement)).one())

                async def median(end: Any) -> int:
                    value = await monitoring.median_seconds(session, None, end, since)
                    assert value is not None
                    return 1

                async def whole() -> int:
                    report = await monitoring.figures(session, None, args.timezone)
                    assert report.total == args.needs
                    return report.total

                async def district_report() -> int:
                    report = await monitoring.figures(session, next(rotation), args.timezone)
                    return report.total

                results = {
                    "district page by supports": await timed(args.repeat, page),
                    "similar needs for a new text": await timed(args.repeat, similar),
                    "city: by category and status": await timed(args.repeat, counts),
                    "city: top 10 supported open": await timed(args.repeat, top),
                    "city: filed by month": await timed(
                        args.repeat, lambda: trend(Need.created_at)
                    ),
                    "city: resolved by month": await timed(
                        args.repeat, lambda: trend(Need.resolved_at)
                    ),
                    "city: median to decision": await timed(
                        args.repeat, lambda: median(Need.decided_at)
                    ),
                    "city: median to resolution": await timed(
                        args.repeat, lambda: median(Need.resolved_at)
                    ),
                    "city report, all queries": await timed(args.repeat, whole),
                    "district report, all queries": await timed(args.repeat, district_report),
                }
            print(f"{'operation':<32} {'median ms':>10} {'p95 ms':>8} {'rows':>8} {'/target':>8}")
            for name, (median_ms, p95, rows) in results.items():
                ratio = median_ms / TARGET_MS
                flag = "" if median_ms < TARGET_MS else "  MISSED"
                print(f"{name:<32} {median_ms:>10.1f} {p95:>8.1f} {rows:>8,} {ratio:>8.2f}{flag}")
            count_decided, middle_decided = monitoring.median_queries(None, Need.decided_at, since)
            plans = {
                "district page": browse.page_query(
                    browse.Filters(district_id=district_ids[0]), 0, 8
                ),
                "similar needs": similar_query(district_ids[0], terms.stems_of(new_text)),
                "by category and status": monitoring.counts_query(None),
                "top 10": monitoring.top_query(None),
                "filed by month": monitoring.trend_query(None, bounds, Need.created_at),
                "resolved by month": monitoring.trend_query(None, bounds, Need.resolved_at),
                "median to decision (count)": count_decided,
                "median to decision (middle)": middle_decided(args.needs // 3),
                "district: filed by month": monitoring.trend_query(
                    district_ids[0], bounds, Need.created_at
                ),
                "district: median to resolution (count)": monitoring.median_queries(
                    district_ids[0], Need.resolved_at, since
                )[0],
            }
            for name, statement in plans.items():
                print(f"plan of {name}:\n" + await plan(engine, statement))
            await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
