"""The tally of a vote with many ballots, its turnout and the list of those who have not voted,
timed through the real service code, with the query plans the database chose.

A naive count — every choice loaded into Python and counted there — runs in the same process on
the same data, and the ratio is printed beside it. A second, smaller vote shares the tables, so
the plans must pick one vote's rows out by index.

    python bench/bench_votes.py                       # 100,000 ballots on SQLite (temp file)
    python bench/bench_votes.py -n 20000 -m 5000 -r 3
    DATABASE_URL=postgresql://postgres@127.0.0.1/test python bench/bench_votes.py

On PostgreSQL the run gets a throwaway database next to the one named in DATABASE_URL.
Plans are EXPLAIN QUERY PLAN on SQLite and EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench_delivery import database as throwaway_database
from sqlalchemy import delete, insert, select, text

from bot import db, delivery
from bot.services import announcements, votes
from bot.services.audit import AuditKeys
from models import (
    Ballot,
    BallotChoice,
    Body,
    BodyKind,
    District,
    OptionKind,
    Outbox,
    Role,
    User,
    UserRole,
    Vote,
    VoteKind,
    VoteOption,
    VoteStatus,
    VoteVoter,
)
from models.base import utcnow
from models.delivery import Topic

CHUNK = 5_000
SMALL_VOTE_BALLOTS = 10_000
DISTRICTS = 20
# Announcement audiences counted, as the audience picker counts them before each send.
AUDIENCES: dict[str, dict[str, object]] = {
    "audience: the council": {"roles": ["council"]},
    "audience: representatives": {"roles": ["representative"]},
    "audience: one district": {"districts": [3]},
    "audience: all citizens": {"roles": ["citizen"]},
    "audience: everyone": {"everyone": True},
}


def database(directory: Path) -> contextlib.AbstractAsyncContextManager[str]:
    return throwaway_database(directory, "votes")


async def insert_chunked(conn, table, rows) -> None:
    for start in range(0, len(rows), CHUNK):
        await conn.execute(insert(table), rows[start : start + CHUNK])


async def fill(engine, ballots: int, waiting: int) -> tuple[int, Counter]:
    """Two votes: the big one (ballots + waiting voters) and a small one; returns the big one's
    id and its expected tally by option position."""
    now = utcnow()
    people = ballots + waiting
    expected: Counter = Counter()
    async with engine.begin() as conn:
        district_ids = [
            (
                await conn.execute(
                    insert(District).values(number=n, name=f"Округ {n}", created_at=now)
                )
            ).inserted_primary_key[0]
            for n in range(1, DISTRICTS + 1)
        ]
        await insert_chunked(
            conn,
            User.__table__,
            [
                {
                    "telegram_id": 7_000_000 + i,
                    "name": f"Член {i:06d}",
                    "created_at": now,
                    # One in ten has muted announcements; the digest is off by default.
                    "muted_topics": ["digest", "announcements"] if i % 10 == 0 else ["digest"],
                    "registered_at": now,
                    "district_id": district_ids[i % DISTRICTS],
                }
                for i in range(people)
            ],
        )
        body_id = (
            await conn.execute(insert(Body).values(kind=BodyKind.COUNCIL, created_at=now))
        ).inserted_primary_key[0]
        user_ids = list((await conn.execute(select(User.id).order_by(User.id))).scalars())
        # Everyone is a citizen; one in a hundred is also a representative, one in a thousand on
        # the council: the role audiences of announcements, small and large.
        role_rows = [{"user_id": user_id, "role": Role.CITIZEN} for user_id in user_ids]
        role_rows += [{"user_id": u, "role": Role.REPRESENTATIVE} for u in user_ids[7::100]]
        role_rows += [{"user_id": u, "role": Role.COUNCIL} for u in user_ids[3::1000]]
        role_rows.append({"user_id": user_ids[1], "role": Role.SECRETARIAT})  # the author
        for row in role_rows:
            row["granted_at"] = now
        await insert_chunked(conn, UserRole.__table__, role_rows)
        vote_ids = []
        # The small vote is drawn from the same people, so it cannot be larger than them.
        for label, size in (("big", people), ("small", min(SMALL_VOTE_BALLOTS, people))):
            vote_id = (
                await conn.execute(
                    insert(Vote).values(
                        kind=VoteKind.RECOMMENDATION,
                        body_id=body_id,
                        unit="person",
                        question=f"bench {label}",
                        text="",
                        secret=False,
                        changeable=False,
                        max_choices=1,
                        quorum="half",
                        majority="cast",
                        status=VoteStatus.OPEN,
                        closes_at=now + timedelta(days=1),
                        created_at=now,
                        eligible_count=size,
                    )
                )
            ).inserted_primary_key[0]
            vote_ids.append(vote_id)
            option_ids = []
            for position, kind in enumerate(
                (OptionKind.FOR, OptionKind.AGAINST, OptionKind.ABSTAIN)
            ):
                option_ids.append(
                    (
                        await conn.execute(
                            insert(VoteOption).values(vote_id=vote_id, position=position, kind=kind)
                        )
                    ).inserted_primary_key[0]
                )
            voted = ballots if label == "big" else size
            await insert_chunked(
                conn,
                VoteVoter.__table__,
                [
                    {"vote_id": vote_id, "user_id": user_ids[i], "voted": i < voted}
                    for i in range(size)
                ],
            )
            ballot_rows, choice_rows = [], []
            for i in range(voted):
                ballot_id = secrets.token_hex(16)
                # Secret-vote ballots: no voter, no time.
                ballot_rows.append({"id": ballot_id, "vote_id": vote_id, "voter_id": None})
                position = 0 if i % 5 < 3 else (1 if i % 5 == 3 else 2)
                choice_rows.append(
                    {"ballot_id": ballot_id, "option_id": option_ids[position], "vote_id": vote_id}
                )
                if label == "big":
                    expected[position] += 1
            await insert_chunked(conn, Ballot.__table__, ballot_rows)
            await insert_chunked(conn, BallotChoice.__table__, choice_rows)
    # What autovacuum does in production soon after a bulk load: statistics, and on PostgreSQL
    # the visibility map that lets the tally read the index alone.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )
    return vote_ids[0], expected


async def announce(sessionmaker, repeat: int) -> dict[str, tuple[float, float, int]]:
    """An announcement to everyone, from the author's confirmation to the commit that lets the
    bot answer them: as it is published now (queued in the background), and with every
    recipient queued in that transaction, as it was. Each run's message is deleted after."""

    async def publish(background: bool) -> int:
        async with sessionmaker() as session:
            author = await session.scalar(select(User).where(User.telegram_id == 7_000_001))
            if background:
                outbox = await announcements.publish(
                    session, author, html="Всем", audience={"everyone": True}
                )
            else:
                outbox = Outbox(kind="announcement", topic=Topic.ANNOUNCEMENTS, text="Всем")
                await delivery.enqueue(session, outbox, {"everyone": True})
            await session.commit()
            total = outbox.total
        async with sessionmaker.begin() as session:
            await session.execute(delete(Outbox).where(Outbox.id == outbox.id))
        return total

    async def now() -> int:
        return await publish(True)

    async def at_once() -> int:
        return await publish(False)

    return {
        "announce to everyone (answered)": await timed(repeat, now),
        "announce, all queued at once": await timed(repeat, at_once),
    }


async def timed(repeat: int, work) -> tuple[float, float, int]:
    samples, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = await work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), min(samples), rows


async def plan(engine, statement) -> str:
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    # On PostgreSQL the statement runs, so the plan shows real rows, times and buffers.
    prefix = (
        "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(text(prefix + sql))).all()
    lines = [str(row[-1]) for row in rows]
    return "\n".join(f"    {line}" for line in lines)


def verdict(plan_text: str, indexes: tuple[str, ...], table: str) -> str:
    """A full scan is SQLite's bare "SCAN table" (not "SCAN table USING … INDEX") or
    PostgreSQL's "Seq Scan on table"."""
    lines = [line.strip() for line in plan_text.splitlines()]
    full_scan = f"SCAN {table}" in lines or any(f"Seq Scan on {table}" in line for line in lines)
    used = [index for index in indexes if index in plan_text]
    if used and not full_scan:
        return f"OK: uses {', '.join(used)}, no full scan of {table}"
    problems = [] if used else [f"none of {', '.join(indexes)} in the plan"]
    if full_scan:
        problems.append(f"full scan of {table}")
    return "FAIL: " + "; ".join(problems)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--ballots", type=int, default=100_000)
    parser.add_argument("-m", "--non-voters", type=int, default=100_000)
    parser.add_argument("-r", "--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with database(Path(tmp)) as url:
            engine = db.create_engine(url)
            sessionmaker = db.create_sessionmaker(
                engine, audit=AuditKeys(b"bench-audit-key-not-secret")
            )
            started = time.perf_counter()
            vote_id, expected = await fill(engine, args.ballots, args.non_voters)
            small = min(SMALL_VOTE_BALLOTS, args.ballots + args.non_voters)
            print(
                f"{engine.dialect.name}: {args.ballots:,} ballots, {args.non_voters:,} non-voters,"
                f" plus a vote of {small:,}; filled in"
                f" {time.perf_counter() - started:.1f} s"
            )
            async with sessionmaker() as session:
                vote = await session.get(Vote, vote_id)

                async def tally() -> int:
                    counts = await votes.tally(session, vote)
                    assert sum(counts.values()) == args.ballots, counts
                    assert counts == dict(expected), counts
                    return len(counts)

                async def turnout() -> int:
                    found = await votes.turnout(session, vote_id)
                    assert found.voted == args.ballots, found
                    return 1

                async def waiting() -> int:
                    # What the organizer's button shows: the count, and the first hundred.
                    total = await session.scalar(votes.waiting_count_query(vote_id))
                    assert total == args.non_voters, total
                    rows = (await session.execute(votes.non_voters_query(vote_id))).all()
                    assert len(rows) == min(args.non_voters, votes.WAITING_SHOWN)
                    return len(rows)

                def audience(parts: dict[str, object]):
                    async def count() -> int:
                        return await delivery.count_audience(session, parts, Topic.ANNOUNCEMENTS)

                    return count

                async def naive() -> int:
                    rows = await session.scalars(
                        select(BallotChoice.option_id).where(BallotChoice.vote_id == vote_id)
                    )
                    counts = Counter(rows)
                    assert sum(counts.values()) == args.ballots
                    return counts.total()

                results = {
                    "tally (GROUP BY in the database)": await timed(args.repeat, tally),
                    "turnout": await timed(args.repeat, turnout),
                    "non-voters page (count, first 100)": await timed(args.repeat, waiting),
                    "naive tally (rows into Python)": await timed(args.repeat, naive),
                }
                for name, parts in AUDIENCES.items():
                    results[name] = await timed(args.repeat, audience(parts))
            results.update(await announce(sessionmaker, args.repeat))
            print(f"{'operation':<34} {'median ms':>10} {'min ms':>10} {'rows':>8}")
            for name, (median, fastest, rows) in results.items():
                print(f"{name:<34} {median:>10.1f} {fastest:>10.1f} {rows:>8,}")
            tally_ms = results["tally (GROUP BY in the database)"][0]
            naive_ms = results["naive tally (rows into Python)"][0]
            print(f"naive / tally: {naive_ms / tally_ms:.1f}x")
            tally_plan = await plan(engine, votes.tally_query(vote_id))
            waiting_plan = await plan(engine, votes.non_voters_query(vote_id))
            print("plan of the tally:\n" + tally_plan)
            print("  -> " + verdict(tally_plan, ("ix_ballot_choices_tally",), "ballot_choices"))
            print("plan of the non-voters:\n" + waiting_plan)
            print("  -> " + verdict(waiting_plan, ("ix_vote_voters_waiting",), "vote_voters"))
            await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
