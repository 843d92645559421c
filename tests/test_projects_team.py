"""A project's card, browsing and following, through the real Dispatcher and the fake Telegram:
who sees a draft, the filters and pages of /projects, a follower hearing of a status change,
/followed_projects, and the list staying fast on 20,000 projects."""

from __future__ import annotations

from sqlalchemy import insert, select, text

from bot.services.projects import access, browse, lifecycle
from bot.services.projects.browse import Filters
from models.needs import Need, NeedCategory
from models.projects import Project, ProjectFollower, ProjectNeed, ProjectStatus
from tests import projects_support as ps
from tests.conftest import USE_POSTGRES
from tests.support import register

S = ProjectStatus


async def card_of(person, number: int):
    """The project's card, found among the replies (a notice may arrive meanwhile)."""
    replies = await person.say(f"/project_{number}")
    return next(m for m in replies if f"Проект №{number}" in m.text)


async def a_need(running, district_id: int, author_id: int) -> int:
    async with running.sessionmaker.begin() as session:
        category = await session.scalar(select(NeedCategory).limit(1))
        if category is None:
            category = NeedCategory(code="yards", name_ru="Дворы", name_en="Yards")
            session.add(category)
            await session.flush()
        need = Need(
            district_id=district_id,
            category_id=category.id,
            author_id=author_id,
            description="Темно во дворе",
        )
        session.add(need)
        await session.flush()
        return need.id


async def test_a_draft_is_its_owners_and_the_card_shows_the_project(fake, running):
    a = await ps.district(running, 1, "Заречье")
    org, head = await ps.member_organization(running, 8201, "Анна", "ТОС Заречье", a)
    draft = await ps.project(running, org, head, title="Черновик двора", district_id=a)
    public = await ps.project(running, org, head, district_id=a, status=S.IN_PROGRESS)
    need = await a_need(running, a, head)
    async with running.sessionmaker.begin() as session:
        session.add(ProjectNeed(project_id=public, need_id=need))
    await register(running, 8204, "Гоша")
    stranger = fake.user(8204, "Гоша")
    owner = fake.user(8201, "Анна")

    refused = await card_of(stranger, draft)
    assert f"Проект №{draft} не найден" in refused.text
    await stranger.click_data(refused.message_id, f"pj:{draft}")
    assert stranger.callback_answers[-1].show_alert
    assert "не найден" in stranger.callback_answers[-1].text
    # Nor its consortium panel, whatever the button says.
    await stranger.click_data(refused.message_id, f"pjp:{draft}:team")
    assert "не найден" in stranger.callback_answers[-1].text
    assert not any("Черновик" in m.text for m in stranger.bot_messages)

    card = await card_of(owner, draft)
    assert "Черновик двора" in card.text and "Статус: черновик" in card.text
    assert owner.button_texts(card) == ["🔔 Следить", "✏️ Правка", "🤝 Консорциум"]

    card = await card_of(stranger, public)
    for part in (
        f"Проект №{public}",
        "«Светлый двор»",
        "Статус: реализуется",
        "Организация: ТОС Заречье",
        "Округ: Заречье",
        "Освещение и скамейки",
        "Цели и результаты",
        "Бюджет: 150\u00a0000\u00a0₽",
        "Грант города",
        "Ищем: Волонтёры",
        "Сроки:",
        f"/need_{need}",
        "Консорциум: 1 участник",
        "Следят 0 человек",
    ):
        assert part in card.text, part
    assert "Доля участников округа" not in card.text  # in no programme: no rule
    assert stranger.button_texts(card) == [
        "🔔 Следить",
        "🙋 Стать волонтёром",
        "🗓 План и отчёты",
        "🤝 Консорциум",
        "📄 Документы",
    ]
    # From a list's button, the same card.
    again = (await stranger.click_data(card.message_id, f"pj:{public}"))[-1]
    assert again.text == card.text
    # Typed nonsense and numbers beyond the database.
    assert "не найден" in (await stranger.say("/project_9999999999"))[0].text


async def test_review_panel_is_offered_to_the_committee_and_overseers(fake, running):
    a = await ps.district(running, 1, "Заречье")
    org, head = await ps.member_organization(running, 8201, "Анна", "ТОС Заречье", a)
    member = await register(running, 8205, "Дина")
    chair = await register(running, 8206, "Ефим")
    committee = await ps.committee(running, "Комитет по благоустройству", "дворы", chair, member)
    project = await ps.project(
        running, org, head, status=S.IN_REVIEW, committee_id=committee, district_id=a
    )
    await register(running, 8204, "Гоша")
    card = await card_of(fake.user(8205, "Дина"), project)
    assert "🔎 Рассмотрение" in fake.user(8205, "Дина").button_texts(card)
    assert "Направление (комитет): Комитет по благоустройству" in card.text
    stranger = fake.user(8204, "Гоша")
    card = await card_of(stranger, project)
    assert "🔎 Рассмотрение" not in stranger.button_texts(card)


async def seed_list(running) -> dict[str, int]:
    a = await ps.district(running, 1, "Заречье")
    b = await ps.district(running, 2, "Центр")
    org, head = await ps.member_organization(running, 8201, "Анна", "ТОС Заречье", a)
    for number in range(12):
        await ps.project(
            running, org, head, title=f"Двор {number}", district_id=a, status=S.IN_PROGRESS
        )
    for number in range(2):
        await ps.project(
            running, org, head, title=f"Центр {number}", district_id=b, status=S.SUBMITTED
        )
    await ps.project(running, org, head, title="Отклонённый", district_id=a, status=S.REJECTED)
    await ps.project(running, org, head, title="Черновик", district_id=a)
    await ps.project(running, org, head, title="Общегородской", status=S.RECOMMENDED)
    await register(running, 8204, "Гоша")
    return {"a": a, "b": b}


def numbered(person, message) -> list[str]:
    return [label for label in person.button_texts(message) if label.startswith("№")]


async def test_browse_filters_and_pages(fake, running):
    await seed_list(running)
    visitor = fake.user(8204, "Гоша")
    shown = (await visitor.say("/projects"))[0]
    assert "Найдено 15 проектов" in shown.text
    assert "Фильтры: действующие · весь город" in shown.text
    first = numbered(visitor, shown)
    assert len(first) == 8 and first[0] == "№17 · Общегородской"
    assert not any("Черновик" in label or "Отклонённый" in label for label in first)
    shown = (await visitor.click("▶", shown.message_id))[0]
    second = numbered(visitor, shown)
    assert len(second) == 7 and not set(first) & set(second)

    shown = (await visitor.click("🏘 Округ", shown.message_id))[0]
    shown = (await visitor.click("№2 · Центр", shown.message_id))[0]
    assert "Найдено 2 проекта" in shown.text and "поданные" not in shown.text
    assert numbered(visitor, shown) == ["№14 · Центр 1", "№13 · Центр 0"]

    shown = (await visitor.click("🏘 Округ", shown.message_id))[0]
    shown = (await visitor.click("общегородские", shown.message_id))[0]
    assert numbered(visitor, shown) == ["№17 · Общегородской"]

    shown = (await visitor.click("🏘 Округ", shown.message_id))[0]
    shown = (await visitor.click("№1 · Заречье", shown.message_id))[0]
    shown = (await visitor.click("📊 Статус", shown.message_id))[0]
    shown = (await visitor.click("все", shown.message_id))[0]
    assert "Найдено 13 проектов" in shown.text  # the rejected one too, never the draft
    shown = (await visitor.click("📊 Статус", shown.message_id))[0]
    shown = (await visitor.click("отклонённые", shown.message_id))[0]
    assert numbered(visitor, shown) == ["№15 · Отклонённый"]

    # Forged filters fall back to no filter.
    shown = (await visitor.click_data(shown.message_id, "pbl:9:bogus:99999:99999:99999:"))[0]
    assert "Найдено 15 проектов" in shown.text


async def test_browse_by_programme_and_direction(fake, running):
    a = await ps.district(running, 1, "Заречье")
    org, head = await ps.member_organization(running, 8201, "Анна", "ТОС Заречье", a)
    chair = await register(running, 8206, "Ефим")
    committee = await ps.committee(running, "Комитет наследия", "наследие", chair)
    async with running.sessionmaker.begin() as session:
        from models.projects import Programme

        programme = Programme(title="Заречье-2030", district_id=a)
        session.add(programme)
        await session.flush()
        programme_id = programme.id
    await ps.project(
        running, org, head, title="В программе", status=S.SUBMITTED, programme_id=programme_id
    )
    await ps.project(
        running, org, head, title="У комитета", status=S.IN_REVIEW, committee_id=committee
    )
    await ps.project(running, org, head, title="Просто", status=S.SUBMITTED)
    await register(running, 8204, "Гоша")
    visitor = fake.user(8204, "Гоша")
    shown = (await visitor.say("/projects"))[0]
    shown = (await visitor.click("🗂 Программа", shown.message_id))[0]
    shown = (await visitor.click(f"№{programme_id} · Заречье-2030", shown.message_id))[0]
    assert [label.split(" · ")[1] for label in numbered(visitor, shown)] == ["В программе"]
    shown = (await visitor.click("🗂 Программа", shown.message_id))[0]
    shown = (await visitor.click("любая программа", shown.message_id))[0]
    shown = (await visitor.click("🧭 Направление", shown.message_id))[0]
    shown = (await visitor.click("Комитет наследия", shown.message_id))[0]
    assert [label.split(" · ")[1] for label in numbered(visitor, shown)] == ["У комитета"]


async def test_an_unregistered_visitor_is_asked_to_register(fake, running):
    replies = await fake.user(8299, "Гость").say("/projects")
    assert replies and "Найдено" not in replies[0].text


async def test_follow_then_hear_of_the_status_and_unfollow(fake, running):
    a = await ps.district(running, 1, "Заречье")
    org, head = await ps.member_organization(running, 8201, "Анна", "ТОС Заречье", a)
    project = await ps.project(running, org, head, district_id=a, status=S.IN_REVIEW)
    citizen_id = await register(running, 8203, "Вера")
    citizen = fake.user(8203, "Вера")
    card = await card_of(citizen, project)
    shown = (await citizen.click("🔔 Следить", card.message_id))[0]
    assert "Вы следите за проектом" in citizen.callback_answers[-1].text
    assert "🔕 Не следить" in citizen.button_texts(shown)
    assert "Следит 1 человек" in shown.text
    # Twice: nothing more.
    await citizen.click_data(card.message_id, f"pbf:{project}:1")
    assert "уже следите" in citizen.callback_answers[-1].text

    async with running.sessionmaker.begin() as session:
        item = await access.get(session, project)
        await lifecycle.move(session, None, item, S.RECOMMENDED, text="7")
    await running.delivered()
    assert "Совет рекомендовал проект" in citizen.bot_messages[-1].text

    listed = (await citizen.say("/followed_projects"))[0]
    assert f"№{project}" in listed.text and "Ваш 1 проект" in listed.text

    shown = (await citizen.click("🔕 Не следить", card.message_id))[0]
    assert "🔔 Следить" in citizen.button_texts(shown)
    seen = len(citizen.bot_messages)
    async with running.sessionmaker.begin() as session:
        item = await access.get(session, project)
        await lifecycle.move(session, None, item, S.IN_PROGRESS)
    await running.delivered()
    assert len(citizen.bot_messages) == seen
    assert "не следите" in (await citizen.say("/followed_projects"))[0].text
    async with running.sessionmaker() as session:
        rows = await session.scalars(
            select(ProjectFollower).where(ProjectFollower.user_id == citizen_id)
        )
        assert list(rows) == []


async def test_a_stranger_cannot_follow_a_draft(fake, running):
    a = await ps.district(running, 1, "Заречье")
    org, head = await ps.member_organization(running, 8201, "Анна", "ТОС Заречье", a)
    draft = await ps.project(running, org, head, district_id=a)
    await register(running, 8204, "Гоша")
    stranger = fake.user(8204, "Гоша")
    anchor = (await stranger.say("/projects"))[0]
    await stranger.click_data(anchor.message_id, f"pbf:{draft}:1")
    assert stranger.callback_answers[-1].show_alert
    async with running.sessionmaker() as session:
        assert await session.scalar(select(ProjectFollower)) is None


async def test_the_list_reads_a_page_of_many_projects_on_the_indexes(running):
    a = await ps.district(running, 1, "Заречье")
    b = await ps.district(running, 2, "Центр")
    org, head = await ps.member_organization(running, 8201, "Анна", "ТОС Заречье", a)
    statuses = [S.IN_PROGRESS, S.SUBMITTED, S.REPORTED, S.DRAFT, S.RECOMMENDED]
    rows = [
        {
            "organization_id": org,
            "proposer_id": head,
            "district_id": (a, b, None)[n % 3],
            "status": statuses[n % len(statuses)],
            "title": f"Проект {n}",
        }
        for n in range(3_000)
    ]
    async with running.sessionmaker.begin() as session:
        await session.execute(insert(Project), rows)
    async with running.sessionmaker() as session:
        page = await browse.browse(session, Filters(), 0, 8)
        assert page.total == browse.COUNT_CAP + 1
        newest = list(
            await session.scalars(
                select(Project.id)
                .where(Project.status.in_(browse.OPEN_PUBLIC))
                .order_by(Project.id.desc())
                .limit(8)
            )
        )
        assert [p.id for p in page.items] == newest
        page = await browse.browse(session, Filters(status="all", district_id=b), 3, 8)
        assert all(p.district_id == b and p.status != S.DRAFT for p in page.items)
        if not USE_POSTGRES:
            # Filtered, every branch is a search of its index already in order; only the
            # branches' short lists (at most a page each) are sorted to merge them. (Unfiltered,
            # the primary key is read backwards: bench/bench_projects.py times both at 20,000.)
            for filters in (Filters(district_id=a), Filters(programme_id=1)):
                query = browse.page_query(filters, 0, 8)
                compiled = query.compile(
                    dialect=session.bind.dialect, compile_kwargs={"literal_binds": True}
                )
                plan = [
                    str(row[-1])
                    for row in await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
                ]
                reads = [line for line in plan if "projects" in line]
                assert reads and all("USING COVERING INDEX ix_projects_" in r for r in reads)
                for index, line in enumerate(plan):
                    if "TEMP B-TREE" in line:
                        assert plan[index - 1].startswith("SCAN anon"), plan
