"""Shared by the tests of proposing a project: a district, a member organization with its head,
open needs to link, and the steps of the dialog played through the fake Telegram."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from bot.services.needs import categories, filing
from bot.services.needs.filing import NeedDraft
from models import User
from models.needs import NeedCategory
from models.projects import Project
from tests import projects_support as ps

LAMPS = "Во дворе дома 5 по улице Ленина не горят фонари уже месяц, вечером темно"
BENCHES = "Нет скамеек у подъезда, пожилым жителям негде присесть"


@dataclass
class World:
    district: int
    other_district: int
    organization: int
    head: int
    partner: int
    partner_head: int
    lamps: int
    benches: int


async def seed_categories(running) -> None:
    async with running.sessionmaker.begin() as session:
        if not await session.scalar(select(func.count()).select_from(NeedCategory)):
            session.add(NeedCategory(code="yards", name_ru="Дворы", name_en="Yards", position=1))


async def open_need(running, author_id: int, district_id: int, text: str) -> int:
    async with running.sessionmaker.begin() as session:
        author = await session.get(User, author_id)
        category = (await categories.active_categories(session))[0]
        need = await filing.file_need(session, author, NeedDraft(category.id, district_id, text))
        return need.id


async def world(running) -> World:
    district = await ps.district(running, 1, "Заречье")
    other = await ps.district(running, 2, "Центр")
    organization, head = await ps.member_organization(
        running, 7101, "Ольга", "ТОС «Заречье»", district
    )
    partner, partner_head = await ps.member_organization(
        running, 7102, "Пётр", "Клуб «Светлячок»", other
    )
    await seed_categories(running)
    lamps = await open_need(running, head, district, LAMPS)
    benches = await open_need(running, head, district, BENCHES)
    return World(district, other, organization, head, partner, partner_head, lamps, benches)


async def projects(running) -> list[Project]:
    async with running.sessionmaker() as session:
        return list(await session.scalars(select(Project).order_by(Project.id)))


async def the_project(running, project_id: int) -> Project:
    async with running.sessionmaker() as session:
        found = await session.get(Project, project_id)
        assert found is not None
        return found


def later(days: int) -> str:
    return ps.a_date(days).strftime("%d.%m.%Y")


async def fill_all(person, w: World) -> None:
    """From the title question to the summary with every field answered simply."""
    await person.say("Светлый двор")
    await person.say("Освещение и скамейки во дворе")
    await person.click("✅ №1 · Заречье")
    await person.say(str(w.lamps))
    await person.click(f"➕ №{w.lamps} · {LAMPS[:40]}")
    await person.click("✅ Готово")
    await person.say("Двор освещён вечером")
    await person.say("150 000")
    await person.say("Грант города")
    await person.say("Электрик")
    await person.click("⏭ Без партнёров")
    await person.say(later(10))
    await person.say(later(100))
    replies = await person.click("⏭ Без вложений")
    assert "Проверьте и подайте проект" in replies[-1].text
