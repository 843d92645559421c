"""Several replicas of the bot behind a load balancer, under load, and with one killed.

The fake Telegram (in this process) posts updates to 1, 2 and 3 replicas in turn, as a load
balancer would; each replica is `python -m bot run` in a process of its own, on one PostgreSQL
database and one Redis. Simulated people, many at once, each do what people do most: newcomers
go through registration (/start, the consent, their name, their district), registered people ask
for /help and /me, open /settings and switch a topic, and browse /needs. Meanwhile an
announcement goes to a few hundred of them through the delivery engine.

Printed per number of replicas: updates handled per second, the p50 and p99 latency of an update
(from Telegram's side: posted until answered), the ratio to one replica, and the most
announcement messages sent within any one second (never above BROADCAST_RATE, whatever the
number of replicas: they share the quota).

With --kill, one replica is killed with SIGKILL in the middle of the load: no update may be lost
(the fake sends an unanswered update again to the next replica), the announcement must still
reach everyone, and the scheduler's lease must move to a survivor if the killed one held it.

    DATABASE_URL=postgresql://postgres@127.0.0.1/test REDIS_URL=redis://127.0.0.1:6379/0 \\
        python bench/bench_replicas.py
    ... python bench/bench_replicas.py --replicas 1 3 --people 600 --at-once 60 --kill

Needs PostgreSQL and Redis (several processes cannot share SQLite or a process's memory).
Each run gets a throwaway database next to the one named in DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from bench_delivery import database
from sqlalchemy import func, insert, select

from bot import db, delivery
from bot.fake_telegram import FakeTelegram
from bot.fake_telegram.user import FakeUser
from bot.services import districts
from bot.services.audit import AuditKeys
from models import Delivery, DeliveryStatus, Lease, Outbox, Role, User, UserRole
from models.base import utcnow

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "4242:BENCH-replicas"
ADMIN = 4_000_000
FIRST = 6_000_000
NEWCOMERS = 7_000_000
ANNOUNCEMENT = "Объявление нагрузочного теста: субботник в субботу."
RATE = 25.0  # BROADCAST_RATE: the replicas together
READY_WITHIN = 90.0


@dataclass
class Figures:
    replicas: int
    updates: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    busiest_second: int = 0
    announced: int = 0
    audience: int = 0
    leader_before: str | None = None
    leader_after: str | None = None
    handover: float | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_replica(
    url: str, fake: FakeTelegram, prefix: str, port: int, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "DATABASE_URL": url,
        "REDIS_PREFIX": prefix,
        "BOT_API_URL": fake.url,
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "ADMIN_IDS": str(ADMIN),
        "AUDIT_KEY": "bench-replicas-audit-key",
        "BROADCAST_RATE": str(RATE),
        # Simulated people press faster than people do: the flood limit is not what is measured.
        "THROTTLE_RATE": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


async def wait_ready(ports: list[int]) -> None:
    deadline = time.monotonic() + READY_WITHIN
    async with aiohttp.ClientSession() as http:
        for port in ports:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        if response.status == 200:
                            break
                if time.monotonic() > deadline:
                    raise SystemExit(f"replica on port {port} never became ready (see its log)")
                await asyncio.sleep(0.2)


async def seed(url: str, people: int) -> None:
    engine = db.create_engine(url)
    sessionmaker = db.create_sessionmaker(engine, audit=AuditKeys(b"bench-audit-key-not-secret"))
    now = utcnow()
    async with sessionmaker.begin() as session:
        for number, name in ((1, "Центральный"), (2, "Заречье"), (3, "Северный")):
            await districts.seed_district(session, number, name)
        rows = [
            {
                "telegram_id": FIRST + n,
                "name": f"Житель {n}",
                "muted_topics": [],
                "quiet_from": None,
                "quiet_to": None,
                "consent_at": now,
                "consent_version": "bench",
                "registered_at": now,
                "language": "ru",
            }
            for n in range(people)
        ]
        for start in range(0, people, 1000):
            await session.execute(insert(User.__table__), rows[start : start + 1000])
        ids = (await session.scalars(select(User.id).where(User.telegram_id >= FIRST))).all()
        await session.execute(
            insert(UserRole.__table__), [{"user_id": uid, "role": Role.CITIZEN} for uid in ids]
        )
    await engine.dispose()


async def announce(url: str, audience: int) -> int:
    engine = db.create_engine(url)
    sessionmaker = db.create_sessionmaker(engine, audit=AuditKeys(b"bench-audit-key-not-secret"))
    async with sessionmaker.begin() as session:
        ids = (
            await session.scalars(
                select(User.id).where(User.telegram_id >= FIRST).order_by(User.id).limit(audience)
            )
        ).all()
        outbox = Outbox(text=ANNOUNCEMENT)
        await delivery.enqueue(session, outbox, {"users": list(ids)})
        outbox_id = outbox.id
    await engine.dispose()
    return outbox_id


async def scheduler_leader(ports: list[int]) -> int:
    """The index of the replica that runs the scheduler (0 when none says so)."""
    async with aiohttp.ClientSession() as http:
        for index, port in enumerate(ports):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                    if "assembly_scheduler_leader 1.0" in await response.text():
                        return index
    return 0


async def statuses(url: str, outbox_id: int) -> dict[str, int]:
    """The announcement's deliveries by status."""
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Delivery.status, func.count())
                .where(Delivery.outbox_id == outbox_id)
                .group_by(Delivery.status)
            )
            return {str(status): int(n) for status, n in rows.all()}
    finally:
        await engine.dispose()


async def leader(url: str) -> str | None:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    select(Lease.holder, Lease.expires_at).where(Lease.name == "scheduler")
                )
            ).first()
            return row[0] if row is not None and row[1] > utcnow() else None
    finally:
        await engine.dispose()


# An update not handled within this long counts as lost. It is longer than a person's lock in
# Redis (60 s): an update whose person's lock a killed replica held waits for it to expire.
PATIENCE = 120.0


async def person_script(person: FakeUser, newcomer: bool, latencies: list[float]) -> int:
    """What one person does; returns how many updates they sent."""

    async def timed(step: object) -> None:
        started = time.perf_counter()
        await step  # type: ignore[misc]
        latencies.append(time.perf_counter() - started)

    sent = 0
    if newcomer:
        # /start, the consent, the name, the district: the registration dialog, button by button.
        await timed(person.say("/start", timeout=PATIENCE))
        for _ in range(2):
            if person.button_texts():
                await timed(person.click(person.button_texts()[0], timeout=PATIENCE))
                sent += 1
        await timed(person.say(f"Новичок {person.id}", timeout=PATIENCE))
        if person.button_texts():
            await timed(person.click(person.button_texts()[0], timeout=PATIENCE))
            sent += 1
        return sent + 2
    for text in ("/help", "/me", "/settings"):
        await timed(person.say(text, timeout=PATIENCE))
        sent += 1
    if person.button_texts():
        await timed(person.click(person.button_texts()[0], timeout=PATIENCE))  # a topic
        sent += 1
    await timed(person.say("/needs", timeout=PATIENCE))
    return sent + 1


async def one_run(args: argparse.Namespace, replicas: int, directory: Path) -> Figures:
    figures = Figures(replicas)
    prefix = f"bench-replicas-{uuid.uuid4().hex[:8]}"
    async with FakeTelegram() as fake, database(directory, f"replicas{replicas}") as url:
        await seed(url, max(args.people, args.audience))
        fake.user(ADMIN, "Admin")
        ports = [free_port() for _ in range(replicas)]
        logs = [args.logs / f"replica-{replicas}-{n}.log" for n in range(replicas)]
        processes = [
            start_replica(url, fake, prefix, port, log)
            for port, log in zip(ports, logs, strict=True)
        ]
        try:
            await wait_ready(ports)
            fake.balance_across([f"http://127.0.0.1:{port}/telegram/webhook" for port in ports])
            registered = [fake.user(FIRST + n, f"Житель {n}") for n in range(args.people)]
            for n in range(args.people, args.audience):  # the rest of the audience: chats only
                fake.user(FIRST + n, f"Житель {n}")
            newcomers = [fake.user(NEWCOMERS + n, f"Новичок {n}") for n in range(args.people // 5)]
            crowd = [(p, False) for p in registered] + [(p, True) for p in newcomers]
            crowd.sort(key=lambda pair: pair[0].id % 7)  # newcomers among the others
            figures.audience = args.audience
            outbox_id = await announce(url, figures.audience)
            figures.leader_before = await leader(url)
            queue: asyncio.Queue[tuple[FakeUser, bool]] = asyncio.Queue()
            for pair in crowd:
                queue.put_nowait(pair)
            killed = asyncio.Event()

            async def walker() -> None:
                while not queue.empty():
                    person, newcomer = queue.get_nowait()
                    try:
                        # Awaited first: `figures.updates += await …` would read the count
                        # before the wait and lose the other walkers' additions.
                        sent = await person_script(person, newcomer, figures.latencies)
                    except TimeoutError:
                        figures.lost += 1
                    else:
                        figures.updates += sent

            async def killer() -> None:
                if not args.kill or replicas < 2:
                    return
                while queue.qsize() > len(crowd) // 2:  # noqa: ASYNC110 (a plain count)
                    await asyncio.sleep(0.05)
                # The scheduler's leader, to see its lease move (its /metrics says which).
                victim = await scheduler_leader(ports)
                processes[victim].send_signal(signal.SIGKILL)
                killed.set()
                killed_at = time.monotonic()
                # How long until a survivor holds the scheduler's lease.
                while time.monotonic() - killed_at < 120:
                    now_leader = await leader(url)
                    if now_leader is not None and now_leader != figures.leader_before:
                        figures.leader_after = now_leader
                        figures.handover = time.monotonic() - killed_at
                        return
                    await asyncio.sleep(0.25)

            began = time.perf_counter()
            await asyncio.gather(killer(), *(walker() for _ in range(args.at_once)))
            figures.seconds = time.perf_counter() - began
            # The announcement reaches everyone, even with a replica gone.
            deadline = time.monotonic() + figures.audience / RATE + 120
            # The database is polled: another process's progress has no event to wait on.
            while time.monotonic() < deadline:
                figures.statuses = await statuses(url, outbox_id)
                if not figures.statuses.get(DeliveryStatus.PENDING.value):
                    break
                await asyncio.sleep(0.5)
            # Everyone in the audience was sent to or skipped (a person who switched the topic
            # off in /settings during the load is skipped); none is left pending.
            figures.announced = sum(
                n for status, n in figures.statuses.items() if status != DeliveryStatus.PENDING
            )
            announced = [
                r
                for r in fake.requests
                if r.method == "sendMessage" and r.ok and r.params.get("text") == ANNOUNCEMENT
            ]
            # A kill between a send and its record sends that message again after the restart.
            figures.duplicates = len(announced) - len({str(r.params["chat_id"]) for r in announced})
            sends = sorted(r.time for r in announced)
            start = 0
            for end, moment in enumerate(sends):
                while moment - sends[start] >= 1.0:
                    start += 1
                figures.busiest_second = max(figures.busiest_second, end - start + 1)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=20)
                if process.poll() is None:
                    process.kill()
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "-p", "--people", type=int, default=1000, help="registered people acting (1000)"
    )
    parser.add_argument("--at-once", type=int, default=80, help="people acting at once (80)")
    parser.add_argument(
        "--audience", type=int, default=300, help="the announcement's audience, registered (300)"
    )
    parser.add_argument("--kill", action="store_true", help="SIGKILL one replica mid-load")
    parser.add_argument(
        "--logs",
        type=Path,
        default=Path(tempfile.gettempdir()) / "bench-replicas",
        help="where the replicas' output goes",
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "REDIS_URL"
    ):
        raise SystemExit("set DATABASE_URL (PostgreSQL) and REDIS_URL: replicas share both")
    args.logs.mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for replicas in args.replicas:
            figures = await one_run(args, replicas, Path(tmp))
            results.append(figures)
            print(
                f"{replicas} replica(s): {figures.updates} updates, {figures.lost} people's"
                f" scripts timed out; the announcement's deliveries: {figures.statuses}"
                f" (logs in {args.logs})",
                flush=True,
            )
    base = results[0].updates / results[0].seconds if results[0].seconds else 0.0
    print(
        f"{'replicas':>8}{'updates':>9}{'upd/s':>8}{'× first':>9}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'max s':>7}{'dup':>5}"
        f"{'lost':>6}{'sent/aud':>14}{'max/s':>7}{'leader moved':>14}"
    )
    for f in results:
        rate = f.updates / f.seconds if f.seconds else 0.0
        lat = sorted(f.latencies)
        p50 = statistics.median(lat) * 1000 if lat else 0.0
        p99 = lat[max(0, int(len(lat) * 0.99) - 1)] * 1000 if lat else 0.0
        moved = "—" if f.handover is None else f"{f.handover:.1f} s"
        print(
            f"{f.replicas:>8}{f.updates:>9}{rate:>8.0f}{rate / base if base else 0:>9.2f}"
            f"{p50:>8.0f}{p99:>8.0f}{(lat[-1] if lat else 0.0):>7.1f}{f.duplicates:>5}{f.lost:>6}"
            f"{f.announced:>7}/{f.audience:<6}"
            f"{f.busiest_second:>7}{moved:>14}"
        )
    print(f"BROADCAST_RATE {RATE:g}/s for the replicas together; max/s: the most announcement")
    print("messages sent within any one second.")


if __name__ == "__main__":
    asyncio.run(main())
