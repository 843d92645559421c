"""District management end to end: the list, a card, renaming, describing the borders and
designating the base organization; refusals for everyone but the Secretariat."""

from __future__ import annotations

from sqlalchemy import select

from bot.keyboards.districts import (
    CDDistrictBase,
    CDDistrictCard,
    CDDistrictDescribe,
    CDDistrictOrgs,
    CDDistrictRename,
)
from bot.services import districts
from models import AuditEntry, District, Organization, OrganizationKind, OrganizationStatus
from models.base import utcnow
from tests.support import count, make_secretary, register

NO_RIGHTS = "У вас нет прав на это действие."


async def add_districts(running, total: int) -> list[int]:
    async with running.sessionmaker.begin() as session:
        return [
            (await districts.seed_district(session, number, f"Округ {number}")).id
            for number in range(1, total + 1)
        ]


async def add_organization(running, name: str, district_id: int, status) -> int:
    async with running.sessionmaker.begin() as session:
        organization = Organization(
            name=name,
            name_key=name.casefold(),
            kind=OrganizationKind.NGO,
            district_id=district_id,
            description="Описание.",
            contacts="+7 900 000-00-00",
            proposals="Предложения.",
            status=status,
            agreed_at=utcnow(),
        )
        session.add(organization)
        await session.flush()
        return organization.id


async def district(running, district_id: int) -> District:
    async with running.sessionmaker() as session:
        found = await session.get(District, district_id)
        assert found is not None
        return found


async def test_list_pages_and_card(fake, running):
    await add_districts(running, 10)
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")

    replies = await secretary.say("/districts")
    assert replies[0].text.startswith("10 округов:")
    buttons = secretary.button_texts()
    assert buttons[:2] == ["№1 — Округ 1", "№2 — Округ 2"]
    assert "№9 — Округ 9" not in buttons and "1/2" in buttons
    await secretary.click("▶")
    assert secretary.button_texts()[:2] == ["№9 — Округ 9", "№10 — Округ 10"]

    replies = await secretary.click("№10 — Округ 10")
    card = replies[0].text
    assert "Округ №10 — Округ 10" in card
    assert "Границы: не описаны" in card
    assert "Базовая общественная организация: не назначена" in card
    assert secretary.button_texts() == [
        "✏️ Переименовать",
        "🗺 Описать границы",
        "🏛 Назначить базовую организацию",
        "⬅ Назад",
    ]
    # Back to the page the district was on.
    await secretary.click("⬅ Назад")
    assert "№10 — Округ 10" in secretary.button_texts()


async def test_rename_and_describe_by_dialog(fake, running):
    first, _ = await add_districts(running, 2)
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")
    await secretary.say("/districts")
    await secretary.click("№1 — Округ 1")

    replies = await secretary.click("✏️ Переименовать")
    assert "Новое название округа №1" in replies[-1].text
    replies = await secretary.say_photo()
    assert "ответьте текстом" in replies[0].text
    replies = await secretary.say("Округ 2")
    assert "Уже есть округ №2 — Округ 2" in replies[0].text
    replies = await secretary.say("Я" * 201)
    assert "от 1 до 200 символов" in replies[0].text
    replies = await secretary.say("Заречье & <Нара>")
    assert "Округ №1 теперь называется «Заречье & <Нара>»" in replies[0].text
    assert "Округ №1 — Заречье & <Нара>" in replies[-1].text
    assert (await district(running, first)).name == "Заречье & <Нара>"

    await secretary.click("🗺 Описать границы")
    replies = await secretary.say("г" * 2001)
    assert "от 1 до 2000 символов, а в вашем 2001" in replies[0].text
    long_borders = "от реки <Нара> до вокзала & парка; " * 57  # ~2000 characters, escaped ×2
    replies = await secretary.say(long_borders.strip())
    assert "Границы округа №1 описаны" in replies[0].text
    assert "Границы: от реки <Нара> до вокзала & парка;" in replies[-1].text
    assert len(replies[-1].text) <= 4096
    assert (await district(running, first)).description == long_borders.strip()

    async with running.sessionmaker() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions[-2:] == ["district.rename", "district.describe"]


async def test_designate_the_base_organization(fake, running):
    center, north = await add_districts(running, 2)
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")
    await secretary.say("/districts")
    await secretary.click("№1 — Округ 1")
    card = secretary.last

    await secretary.click("🏛 Назначить базовую организацию")
    assert secretary.callback_answers[-1].show_alert
    assert "нет одобренных организаций" in secretary.callback_answers[-1].text

    approved = await add_organization(running, "Совет Центра", center, OrganizationStatus.APPROVED)
    pending = await add_organization(running, "Новички", center, OrganizationStatus.PENDING)
    await add_organization(running, "Северяне", north, OrganizationStatus.APPROVED)
    replies = await secretary.click("🏛 Назначить базовую организацию")
    assert "Выберите из одобренных организаций округа" in replies[0].text
    assert secretary.button_texts() == ["Совет Центра", "⬅ Назад"]

    replies = await secretary.click("Совет Центра")
    assert secretary.callback_answers[-1].text == "Базовая организация назначена."
    assert "Базовая общественная организация: Совет Центра" in replies[0].text
    assert (await district(running, center)).base_organization_id == approved

    # A forged button with a pending organization is refused and changes nothing.
    await secretary.click_data(card.message_id, CDDistrictBase(id=center, org=pending).pack())
    assert "не одобренный член" in secretary.callback_answers[-1].text
    assert (await district(running, center)).base_organization_id == approved


async def test_outsiders_are_refused(fake, running):
    center, _ = await add_districts(running, 2)
    organization = await add_organization(running, "Совет", center, OrganizationStatus.APPROVED)
    citizen = fake.user(5009, "Вася")
    await register(running, 5009, "Василий")
    entries = await count(running, AuditEntry)

    replies = await citizen.say("/districts")
    assert replies[0].text == NO_RIGHTS
    message_id = citizen.last.message_id
    for data in (
        CDDistrictCard(id=center).pack(),
        CDDistrictRename(id=center).pack(),
        CDDistrictDescribe(id=center).pack(),
        CDDistrictOrgs(id=center).pack(),
        CDDistrictBase(id=center, org=organization).pack(),
    ):
        await citizen.click_data(message_id, data)
        answer = citizen.callback_answers[-1]
        assert answer.show_alert and answer.text == NO_RIGHTS, data
    found = await district(running, center)
    assert found.base_organization_id is None and found.name == "Округ 1"
    assert await count(running, AuditEntry) == entries


async def test_a_missing_district_is_reported(fake, running):
    secretary = fake.user(5001, "Ирина")
    await make_secretary(running, 5001, "Ирина Секретарь")
    replies = await secretary.say("/districts")
    assert "Округов пока нет" in replies[0].text
    await secretary.click_data(replies[0].message_id, CDDistrictCard(id=404).pack())
    assert secretary.callback_answers[-1].text == "Такого округа нет."
