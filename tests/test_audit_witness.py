"""The audit log against someone who can write the database: a rewrite without the key, a chain
cut short and rolled back, a rotated key, and the witnesses the admins receive."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select, text, update

from bot.services import bodies
from models import AuditEntry, AuditHead, BodyKind, JobStatus, ScheduledJob, User
from tests.conftest import ADMIN_ID, AUDIT_KEY, RunningBot, make_settings
from tests.support import make_secretary, register

WITNESS = re.compile(r"Код: (\d+):([0-9a-f]{64})")


async def history(running, entries: int = 3) -> None:
    """`entries` entries (at least 2): the admin seats a secretary, who creates a committee and
    seats members."""
    secretary_id = await make_secretary(running, 5001, "Ирина")
    members = [await register(running, 5100 + n, f"Член {n}") for n in range(entries - 2)]
    async with running.sessionmaker.begin() as session:
        secretary = await session.get(User, secretary_id)
        committee = await bodies.create(session, secretary, BodyKind.COMMITTEE, "Стратегия", "")
        for member_id in members:
            await bodies.add_member(session, secretary, committee.id, member_id)


async def entries(running) -> list[AuditEntry]:
    async with running.sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def witnesses(person) -> list[tuple[int, str]]:
    """The witness codes in a person's chat, oldest first."""
    found = [WITNESS.search(m.text or "") for m in person.bot_messages]
    return [(int(m.group(1)), m.group(2)) for m in found if m]


@pytest.fixture
async def admin_bot(database_url, redis_prefix, fake) -> AsyncIterator[RunningBot]:
    """The bot with a registered admin (so witnesses reach a chat) and a witness every 3
    entries."""
    settings = make_settings(database_url, redis_prefix, fake, audit_witness_every=3)
    fake.user(ADMIN_ID, "Админ")  # the admin's chat exists before anything is sent to it
    bot = await RunningBot.start(settings)
    await register(bot, ADMIN_ID, "Админ")
    yield bot
    await bot.stop()


async def test_a_consistent_rewrite_without_the_key_breaks_at_entry_1(fake, running):
    await history(running)
    # The attacker rewrites entry 2 and recomputes every hash after it, as the unkeyed chain
    # was computed, keeping everything else (including any key fingerprint) as it was.
    async with running.sessionmaker.begin() as session:
        prev = "0" * 64
        for entry in await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
            action = "body.remove_member" if entry.seq == 2 else entry.action
            fields = [
                prev,
                entry.seq,
                entry.at.isoformat(),
                entry.actor_id,
                action,
                entry.object_type,
                entry.object_id,
                entry.details,
            ]
            payload = json.dumps(
                fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
            )
            digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
            await session.execute(
                update(AuditEntry)
                .where(AuditEntry.seq == entry.seq)
                .values(action=action, prev_hash=prev, hash=digest)
            )
            prev = digest
        await session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=prev))

    replies = await fake.user(ADMIN_ID, "Админ").say("/audit")
    assert replies[0].text.startswith(
        "❌ Цепочка журнала нарушена на записи №1: подпись записи не сходится: "
        "запись изменена или переписана без ключа."
    )


async def test_cutting_the_newest_entries_is_shorter_than_the_witness(fake, admin_bot):
    await history(admin_bot, 4)
    # The start witness records the head the admins were told about.
    await admin_bot.restart()
    await admin_bot.delivered()
    admin = fake.user(ADMIN_ID, "Админ")
    assert witnesses(admin)[-1][0] == 4
    code = "{}:{}".format(*witnesses(admin)[-1])

    first = (await entries(admin_bot))[0]
    async with admin_bot.sessionmaker.begin() as session:
        await session.execute(delete(AuditEntry).where(AuditEntry.seq > 1))
        await session.execute(
            update(AuditHead).where(AuditHead.id == 1).values(seq=1, last_hash=first.hash)
        )
    replies = await admin.say("/audit")
    assert replies[0].text.startswith(
        "❌ Цепочка журнала нарушена на записи №2: цепочка короче засвидетельствованной "
        "записи №4: в журнале 1, записи после неё удалены."
    )

    # The database's own record of the witnesses goes too; the admin's copy still tells.
    async with admin_bot.sessionmaker.begin() as session:
        await session.execute(text("DELETE FROM audit_witnesses"))
    replies = await admin.say("/audit")
    assert replies[0].text.startswith("✅ Цепочка журнала цела: 1 запись.")
    replies = await admin.say(f"/audit {code}")
    lines = replies[0].text.splitlines()
    assert lines[0] == (
        "❌ Записи №4 в журнале нет: цепочка короче засвидетельствованной (записей: 1)."
    )
    assert lines[2].startswith("❌ Цепочка журнала нарушена на записи №2: цепочка короче")


async def test_a_pasted_witness_finds_a_rewrite_with_the_witness_rows_gone(fake, admin_bot):
    await history(admin_bot, 3)
    await admin_bot.delivered()
    admin = fake.user(ADMIN_ID, "Админ")
    seq, mac = witnesses(admin)[-1]
    assert seq == 3
    replies = await admin.say(f"/audit {seq}:{mac[:20]}")
    assert replies[0].text.splitlines()[0] == "✅ Свидетель записи №3 совпадает с журналом."

    async with admin_bot.sessionmaker.begin() as session:
        await session.execute(text("DELETE FROM audit_witnesses"))
        await session.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(hash="f" * 64))
    replies = await admin.say(f"/audit 3:{mac}")
    lines = replies[0].text.splitlines()
    assert lines[0] == "❌ Запись №3 не совпадает со свидетелем: история переписана."
    assert lines[2].startswith("❌ Цепочка журнала нарушена на записи №3")

    replies = await admin.say("/audit пожалуйста")
    assert replies[0].text.startswith("Не нашёл код свидетеля.")


async def test_an_untouched_chain_verifies_after_key_rotation(fake, running):
    await history(running)
    old_key = AUDIT_KEY
    running.settings = running.settings.model_copy(
        update={
            "audit_key": SecretStr("the-new-audit-key-of-2027"),
            "audit_old_keys": [SecretStr(old_key)],
        }
    )
    await running.restart()
    await make_secretary(running, 5002, "Пётр")
    signed = await entries(running)
    assert len(signed) == 4
    assert signed[0].key_id == signed[2].key_id != signed[3].key_id

    admin = fake.user(ADMIN_ID, "Админ")
    replies = await admin.say("/audit")
    assert replies[0].text.startswith("✅ Цепочка журнала цела: 4 записи.")

    # Forgetting the old key is not a silent pass: the entries it signed cannot be checked.
    running.settings = running.settings.model_copy(update={"audit_old_keys": []})
    await running.restart()
    replies = await admin.say("/audit")
    assert replies[0].text.startswith(
        "❌ Цепочка журнала нарушена на записи №1: запись подписана неизвестным ключом"
    )


async def test_the_witness_notice_reaches_the_admins(fake, admin_bot):
    admin = fake.user(ADMIN_ID, "Админ")
    await history(admin_bot, 3)
    await admin_bot.delivered()
    signed = await entries(admin_bot)
    # Every 3 entries: the third entry's number and signature, urgent, in the admin's language.
    notice = next(m for m in admin.bot_messages if "Свидетель журнала" in (m.text or ""))
    assert notice.text.startswith("🔏 Свидетель журнала действий: запись №3.")
    assert witnesses(admin) == [(3, signed[2].hash)]

    # The daily witness at 09:00 Moscow time is in the schedule and sends the new head.
    await make_secretary(admin_bot, 5009, "Ольга")
    async with admin_bot.sessionmaker() as session:
        job = await session.scalar(
            select(ScheduledJob).where(
                ScheduledJob.kind == "audit.witness", ScheduledJob.status == JobStatus.PENDING
            )
        )
    assert job is not None
    assert job.due_at.astimezone(ZoneInfo("Europe/Moscow")).hour == 9
    handler = admin_bot.app.scheduler.specs["audit.witness"].handler
    async with admin_bot.sessionmaker.begin() as session:
        job = await session.get(ScheduledJob, job.id)
        assert job is not None
        assert await handler(session, job) == {"sent": True}
        # Nothing new since: the next day's run sends nothing.
        assert await handler(session, job) == {"sent": False}
    await admin_bot.delivered()
    signed = await entries(admin_bot)
    assert witnesses(admin)[-1] == (4, signed[3].hash)
