"""Erasure (/delete_me) end to end: the person's data is put everywhere the bot copies it, then
erased, and the whole database (and Redis) is searched for it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

from aiogram.fsm.storage.base import StorageKey
from openpyxl import load_workbook
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import db
from bot.keyboards.votes import ballot_rows
from bot.services import bodies, districts, erasure, users, votes
from models import (
    AuditEntry,
    BodyKind,
    CouncilCategory,
    Delivery,
    DeliveryStatus,
    District,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Outbox,
    Representative,
    Role,
    User,
    Vote,
    VoteKind,
    VoterUnit,
)
from models.base import utcnow
from tests.conftest import ADMIN_ID, ENV_REDIS_URL
from tests.support import make_secretary, register

TELEGRAM_ID = 5_551_234_567
NAME = "Иван Петров"
USERNAME = "ivan_petrov_77"
PHONE = "+79123456789"
EMAIL = "ivan.petrov@example.org"
ORG = "Клуб «Родник»"
PROPOSALS = (
    "Предлагаем провести субботник во дворах, собрать заявки жителей на ремонт освещения "
    "и вместе с управляющей компанией составить план работ на весну."
)


def traces_in(value: str) -> list[str]:
    """Which of the person's traces a text holds (the phone also as its bare last ten digits)."""
    folded = value.casefold()
    digits = "".join(ch for ch in value if ch.isdigit())
    found = [
        label
        for label, needle in (
            ("name", NAME.casefold()),
            ("username", USERNAME),
            ("e-mail", EMAIL),
            ("telegram id", str(TELEGRAM_ID)),
        )
        if needle in folded
    ]
    if PHONE[-10:] in digits:
        found.append("phone")
    return found


async def database_traces(engine: AsyncEngine) -> list[str]:
    """Every table and column of the database as it is (reflected, not from the models)."""
    async with engine.connect() as conn:
        meta = MetaData()
        await conn.run_sync(meta.reflect)
        found = []
        for table in meta.tables.values():
            for row in (await conn.execute(select(table))).mappings():
                for column, value in row.items():
                    if value is None or isinstance(value, bytes | bytearray | memoryview):
                        continue
                    if isinstance(value, int) and not isinstance(value, bool):
                        if value == TELEGRAM_ID:
                            found.append(f"{table.name}.{column}: telegram id")
                        continue
                    shown = value if isinstance(value, str) else json.dumps(value, default=str)
                    found += [f"{table.name}.{column}: {t}" for t in traces_in(shown)]
    return found


async def redis_traces(prefix: str | None) -> list[str]:
    if ENV_REDIS_URL is None or prefix is None:
        return []
    from redis.asyncio import Redis

    client = Redis.from_url(ENV_REDIS_URL)
    found = []
    try:
        async for key in client.scan_iter(f"{prefix}:*"):
            name = key.decode()
            found += [f"redis key {name}: {t}" for t in traces_in(name)]
            if await client.type(key) == b"string":
                value = (await client.get(key) or b"").decode("utf-8", "replace")
                found += [f"redis {name}: {t}" for t in traces_in(value)]
    finally:
        await client.aclose()
    return found


async def everything_put_in(fake, running) -> tuple[Any, Any, int]:
    """The person registers, applies for an organization with their contacts, answers the
    Secretariat's question, sits in the council, has notices pending and dialogs half done."""
    async with running.sessionmaker.begin() as session:
        await districts.seed_district(session, 1, "Заречье")
    person_id = await register(running, TELEGRAM_ID, NAME, username=USERNAME)
    async with running.sessionmaker.begin() as session:
        person_row = await session.get(User, person_id)
        person_row.phone = PHONE
    await make_secretary(running, 3100, "Ольга")
    person = fake.user(TELEGRAM_ID, "Иван", username=USERNAME)
    secretary = fake.user(3100, "Ольга")

    await person.say("/join")
    await person.say(ORG)
    await person.click("территориальное общественное самоуправление (ТОС)")
    await person.click("№1 · Заречье")
    await person.say(f"Клуб жителей двора. Руководитель — {NAME}, пишите @{USERNAME}.")
    await person.say(f"{NAME}, +7 (912) 345-67-89, {EMAIL}, @{USERNAME}")
    await person.say(PROPOSALS)
    await person.click("✅ Согласны сотрудничать и получать информацию")
    await person.click("📨 Отправить заявку")

    replies = await secretary.say("/applications")
    queue = next(m for m in replies if f"#1 · {ORG}" in secretary.button_texts(m))
    await secretary.click(f"#1 · {ORG}", message_id=queue.message_id)
    await secretary.click("❓ Запросить сведения")
    await secretary.say(f"{NAME}, подтвердите телефон 89123456789 и почту {EMAIL.upper()}")
    await running.delivered()

    mine = (await person.say("/my_orgs"))[0]
    await person.click("💬 Ответить Секретариату", message_id=mine.message_id)
    await person.say(f"Да: 8 912 345 67 89, {EMAIL}, Telegram @{USERNAME} (id {TELEGRAM_ID})")
    await running.delivered()

    replies = await secretary.say("/applications")
    queue = next(m for m in replies if f"#1 · {ORG}" in secretary.button_texts(m))
    card = (await secretary.click(f"#1 · {ORG}", message_id=queue.message_id))[-1]
    await secretary.click("✅ Принять", message_id=card.message_id)
    await secretary.click_data(card.message_id, "app:1:suspend")
    await secretary.say(f"{NAME} не отвечает по телефону +7 912 345-67-89")
    await running.delivered()

    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        council = await bodies.single(session, BodyKind.COUNCIL)
        # Their club is the district's base organization, and they its representative.
        club = await session.scalar(select(Organization).where(Organization.name == ORG))
        (await session.scalar(select(District))).base_organization_id = club.id
        await bodies.add_member(
            session,
            admin,
            council.id,
            person_id,
            category=CouncilCategory.BASE_ORGANIZATION,
            organization_id=club.id,
        )
        # An announcement they follow (its status message is in their chat) and a notice that
        # waits for the morning.
        session.add(
            Outbox(
                kind="announcement",
                text=f"Собрание ведёт {NAME} (@{USERNAME})",
                author_id=person_id,
                progress_chat_id=TELEGRAM_ID,
                progress_message_id=1,
            )
        )
        later = Outbox(kind="notice", text_key="organizations-approved-notice")
        later.text_params = {"name": f"{NAME}, {EMAIL}"}
        session.add(later)
        await session.flush()
        session.add(
            Delivery(outbox_id=later.id, user_id=person_id, not_before=utcnow() + timedelta(days=1))
        )
    # A dialog the person left in a group chat, and one half done in private.
    group = StorageKey(bot_id=running.app.bot.id, chat_id=-100_777, user_id=TELEGRAM_ID)
    await running.app.dp.storage.set_data(group, {"note": f"{NAME} {PHONE}"})
    await person.say("/join")
    await person.say("Друзья Заречья")
    await person.click("территориальное общественное самоуправление (ТОС)")
    await person.click("№1 · Заречье")
    await person.say(f"Инициативная группа, пишите на {EMAIL} или звоните {PHONE}.")
    return person, secretary, person_id


async def erase_through_the_bot(person) -> None:
    # A notice may arrive during a round trip: the replies are searched, not taken by position.
    replies = await person.say("/delete_me")
    ask = next(m for m in replies if "Удалить ваши персональные данные?" in m.text)
    replies = await person.click("🗑 Да, удалить", message_id=ask.message_id)
    assert any("Ваши данные удалены" in m.text for m in replies)


async def test_no_trace_of_an_erased_person_is_left_anywhere(fake, running, redis_prefix):
    person, _, person_id = await everything_put_in(fake, running)
    engine = db.create_engine(running.settings.database_url)
    try:
        before = await database_traces(engine)
        # The data did get everywhere the test claims, so finding none later means something.
        for place in (
            "users.name",
            "users.username",
            "users.phone",
            "users.telegram_id",
            "organizations.contacts",
            "organizations.description",
            "organizations.decision_reason",
            "application_messages.text",
            "outbox.text_params",
            "outbox.text",
            "outbox.progress_chat_id",
        ):
            assert any(found.startswith(place) for found in before), place
        # Dialogs are kept in Redis when it is configured, else in the database.
        if redis_prefix is None:
            assert any(found.startswith("fsm_states.key") for found in before)
            assert any(found.startswith("fsm_states.data") for found in before)
        else:
            dialogs = await redis_traces(redis_prefix)
            assert any(": telegram id" in found for found in dialogs)
            assert any(found.endswith(": e-mail") for found in dialogs)

        await erase_through_the_bot(person)

        assert await database_traces(engine) == []
    finally:
        await engine.dispose()
    assert await redis_traces(redis_prefix) == []

    async with running.sessionmaker() as session:
        delivery = await session.scalar(select(Delivery).where(Delivery.user_id == person_id))
        assert delivery.status in (DeliveryStatus.SKIPPED, DeliveryStatus.SENT)
        pending = await session.scalar(
            select(Delivery).where(
                Delivery.user_id == person_id, Delivery.status == DeliveryStatus.PENDING
            )
        )
        assert pending is None
        last = await session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
        assert (last.action, last.object_type, last.object_id, last.details) == (
            "user.erase",
            "user",
            person_id,
            {},
        )
        assert (
            await session.scalar(select(Representative).where(Representative.user_id == person_id))
            is None
        )


async def test_audit_entries_keep_ids_only(fake, running):
    await everything_put_in(fake, running)
    async with running.sessionmaker() as session:
        entries = list(await session.scalars(select(AuditEntry)))
    assert entries
    for entry in entries:
        assert traces_in(json.dumps(entry.details, ensure_ascii=False)) == [], entry.action


async def test_registry_card_and_exports_carry_nothing_of_an_erased_person(fake, running):
    person, secretary, _ = await everything_put_in(fake, running)
    await secretary.click_data(secretary.last.message_id, "app:1:restore")
    await secretary.say("Связались")
    await running.delivered()
    await erase_through_the_bot(person)

    visitor = fake.user(3099, "Гость")
    listing = (await visitor.say("/registry"))[0]
    card = (await visitor.click(ORG, message_id=listing.message_id))[-1]
    assert "Родник" in card.text
    assert traces_in(card.text) == []
    assert "удалены по просьбе представителя" in card.text

    replies = await secretary.say("/export")
    documents = [m.document for m in replies if m.document]
    csv_text = fake.file(documents[0]["file_id"]).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text), delimiter=";"))
    assert rows[1][1] == ORG
    assert traces_in(csv_text) == []
    sheet = load_workbook(io.BytesIO(fake.file(documents[1]["file_id"]).content)).active
    cells = " ".join(str(cell) for row in sheet.iter_rows(values_only=True) for cell in row)
    assert ORG in cells and traces_in(cells) == []

    # The Secretariat's card keeps the thread's shape: the question, and where the answer was.
    listing = (await secretary.say("/registry"))[0]
    card = (await secretary.click(ORG, message_id=listing.message_id))[-1]
    shown = (await secretary.click_data(card.message_id, "app:1:open"))[-1].text
    assert "удалено по просьбе автора" in shown and traces_in(shown) == []


async def test_forged_confirmation_erases_nothing(fake, running):
    await register(running, 4001, "Мария Иванова")
    maria = fake.user(4001, "Мария")
    hello = (await maria.say("/me"))[0]

    async def still_there() -> bool:
        async with running.sessionmaker() as session:
            row = await users.get_user(session, 4001)
            return row is not None and row.name == "Мария Иванова"

    # Without /delete_me: the old button format, and one with a made-up code.
    for data in ("delme:1", "delme:1:", "delme:1:deadbeef"):
        await maria.click_data(hello.message_id, data)
        assert maria.callback_answers[-1].show_alert
        assert await still_there()

    ask = (await maria.say("/delete_me"))[-1]
    await maria.click_data(ask.message_id, "delme:1:deadbeef")
    assert "устарела" in maria.callback_answers[-1].text and await still_there()
    # "Keep" uses the code up: the same question's "erase" no longer works.
    await maria.click("Нет, оставить", message_id=ask.message_id)
    assert await still_there()
    code_data = erase_button_data(ask)
    await maria.click_data(ask.message_id, code_data)
    assert "устарела" in maria.callback_answers[-1].text and await still_there()

    ask = (await maria.say("/delete_me"))[-1]
    replies = await maria.click("🗑 Да, удалить", message_id=ask.message_id)
    assert "Ваши данные удалены" in replies[0].text
    assert not await still_there()


def erase_button_data(message) -> str:
    """The callback data of the message's "erase" button, as the client had it."""
    buttons = [b for row in message.reply_markup["inline_keyboard"] for b in row]
    return next(b["callback_data"] for b in buttons if b["callback_data"].startswith("delme:1"))


def test_scrubber_finds_phones_however_written():
    traces = erasure.Traces(name="Анна Ли", phones={"9001234567"}, emails={"a@b.ru"})
    scrub = traces.scrubber(related=False)
    text = "Анна Ли: +7 (900) 123-45-67, 8 900 1234567, A@B.ru; офис 8 800 000-00-00"
    assert scrub(text) == "[…]: […], […], […]; офис 8 800 000-00-00"
    # A one-word name is cut only from texts tied to the person.
    lone = erasure.Traces(name="Анна")
    assert lone.scrubber(related=False)("Анна и Ганна") == "Анна и Ганна"
    assert lone.scrubber(related=True)("Анна и Ганна") == "[…] и Ганна"


async def test_an_open_vote_protocol_names_no_erased_delegate(running):
    """The roll call of an open conference vote shows the organization and a dash, not the
    erased delegate's name (nor a stray "None")."""
    head_id = await register(running, 7901, "Глеб Смирнов")
    await register(running, 7903, "Президиум", Role.PRESIDIUM)
    async with running.sessionmaker.begin() as session:
        organization = Organization(
            name="НКО «Сквер»",
            name_key="нко«сквер»",
            kind=OrganizationKind.NGO,
            description="—",
            contacts="—",
            proposals="—",
            status=OrganizationStatus.APPROVED,
            agreed_at=utcnow(),
        )
        session.add(organization)
        await session.flush()
        session.add(Representative(organization_id=organization.id, user_id=head_id, role="head"))
        organizer = await users.get_user(session, 7903)
        vote = await votes.create_draft(
            session,
            organizer,
            votes.DraftInput(
                body_id=None,
                kind=VoteKind.QUESTION,
                question="Утвердить повестку",
                closes_at=utcnow() + timedelta(days=1),
                options=["Утвердить", "Отклонить"],
                unit=VoterUnit.ORGANIZATION,
            ),
        )
        await votes.open_vote(
            session, organizer, vote.id, timezone="Europe/Moscow", buttons=ballot_rows
        )
        head = await session.get(User, head_id)
        await votes.cast(session, head, vote.id, [0])
        await users.erase_user(session, head)
    async with running.sessionmaker() as session:
        shown = [
            entry.name for entry in await votes.roll_call(session, await session.get(Vote, vote.id))
        ]
    assert shown == ["НКО «Сквер» (—)"]
