"""/audit end to end: an intact chain, a chain broken by a direct edit of the table, refusals."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from bot.services import bodies
from models import AuditEntry, BodyKind, User
from tests.conftest import ADMIN_ID
from tests.support import make_secretary, register


async def history(running) -> list[AuditEntry]:
    """Three entries: the admin seats a secretary, who creates a committee and seats a member."""
    secretary_id = await make_secretary(running, 5001, "Ирина <Секретарь>")
    member_id = await register(running, 5002, "Пётр Иванов")
    async with running.sessionmaker.begin() as session:
        secretary = await session.get(User, secretary_id)
        committee = await bodies.create(session, secretary, BodyKind.COMMITTEE, "Стратегия", "")
        await bodies.add_member(session, secretary, committee.id, member_id)
    async with running.sessionmaker() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


async def test_intact_then_broken_by_a_direct_edit(fake, running):
    entries = await history(running)
    admin = fake.user(ADMIN_ID, "Админ")

    replies = await admin.say("/audit")
    report = replies[0].text
    assert report.startswith("✅ Цепочка журнала цела: 3 записи.")
    lines = report.splitlines()
    start = lines.index("Последние записи (время московское):")
    latest = lines[start + 1 :]
    moscow = ZoneInfo("Europe/Moscow")
    at = entries[2].at.astimezone(moscow).strftime("%d.%m.%Y %H:%M")
    assert latest[0] == f"#3 · {at} · Ирина <Секретарь> · включение в состав органа · орган #2"
    assert latest[1].endswith("· Ирина <Секретарь> · создание органа · орган #2")
    # The admin from settings has no name.
    assert latest[2].endswith(f"· — · назначение в Секретариат · человек #{entries[0].object_id}")

    async with running.sessionmaker.begin() as session:
        await session.execute(
            text("UPDATE audit_log SET action = '<b>body.delete</b>' WHERE seq = 2")
        )
    replies = await admin.say("/audit")
    report = replies[0].text
    assert report.startswith(
        "❌ Цепочка журнала нарушена на записи №2: подпись записи не сходится: запись изменена"
    )
    # Whatever the table holds is shown as text, never as markup; an unknown code as it is.
    assert "· <b>body.delete</b> · орган #2" in report
    assert "&lt;b&gt;body.delete&lt;/b&gt;" in replies[0].html


async def test_a_deleted_entry_is_found(fake, running):
    await history(running)
    admin = fake.user(ADMIN_ID, "Админ")
    async with running.sessionmaker.begin() as session:
        await session.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    replies = await admin.say("/audit")
    assert replies[0].text.startswith(
        "❌ Цепочка журнала нарушена на записи №2: запись отсутствует (удалена)."
    )


async def test_empty_log_and_english(fake, running):
    admin = fake.user(ADMIN_ID, "Admin", language_code="en")
    replies = await admin.say("/audit")
    assert replies[0].text.splitlines()[0] == "✅ The log chain is intact: 0 entries."
    assert "The log is empty so far." in replies[0].text


async def test_only_admins_may_audit(fake, running):
    await make_secretary(running, 5001, "Ирина")
    for user_id in (5001, 5009):
        replies = await fake.user(user_id, "Кто-то").say("/audit")
        assert replies[0].text == "У вас нет прав на это действие."
