"""Browsing needs, a need's card, support and take-back, /my_needs and the Secretariat's
categories, through the real Dispatcher and the fake Telegram. Needs are made directly through
the ORM (the filing dialog is tested on its own)."""

from __future__ import annotations

import asyncio
import importlib.util
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.services import districts, users
from bot.services.needs import browse, categories, support, terms
from bot.services.needs.browse import ALL, OPEN, SORT_DATE, SORT_SUPPORTS, Filters
from models.base import utcnow
from models.needs import (
    OPEN_STATUSES,
    Need,
    NeedCategory,
    NeedEvent,
    NeedEventKind,
    NeedPhoto,
    NeedStatus,
    NeedSupport,
)
from tests.conftest import USE_POSTGRES
from tests.support import make_secretary, register

CODES = ["housing", "yards", "roads", "health", "education"]
MIGRATION = Path(__file__).resolve().parent.parent / "migrations" / "versions" / "008_needs.py"


def seeded_categories() -> list[tuple[str, str, str]]:
    """The categories migration 008 seeds (code, Russian, English)."""
    spec = importlib.util.spec_from_file_location("migration_008_needs", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.CATEGORIES)


@pytest.fixture(autouse=True)
async def categories_seeded(running) -> None:
    """On PostgreSQL each test starts from truncated tables, the migration's seed included:
    put the categories back as the migration left them (SQLite copies the migrated file)."""
    async with running.sessionmaker.begin() as session:
        if await session.scalar(select(func.count()).select_from(NeedCategory)):
            return
        for position, (code, ru, en) in enumerate(seeded_categories(), start=1):
            session.add(NeedCategory(code=code, name_ru=ru, name_en=en, position=position))


async def add_district(running, number: int, name: str) -> int:
    async with running.sessionmaker.begin() as session:
        return (await districts.seed_district(session, number, name)).id


async def category_id(running, code: str) -> int:
    async with running.sessionmaker() as session:
        found = await session.scalar(select(NeedCategory.id).where(NeedCategory.code == code))
        assert found is not None
        return found


async def make_need(
    running,
    *,
    district_id: int,
    author_id: int | None,
    code: str = "housing",
    description: str = "Не горят фонари во дворе",
    status: NeedStatus = NeedStatus.NEW,
    supports: int = 0,
    age_hours: int = 0,
    show_name: bool = False,
    **extra: object,
) -> int:
    """A need as the filing dialog would leave it (support_count set directly for seeding)."""
    async with running.sessionmaker.begin() as session:
        category = await session.scalar(select(NeedCategory).where(NeedCategory.code == code))
        assert category is not None
        need = Need(
            district_id=district_id,
            category_id=category.id,
            author_id=author_id,
            description=description,
            status=status,
            support_count=supports,
            show_name=show_name,
            created_at=utcnow() - timedelta(hours=age_hours),
            **extra,
        )
        session.add(need)
        await session.flush()
        session.add(NeedEvent(need_id=need.id, kind=NeedEventKind.FILED, actor_id=author_id))
        await terms.index(session, need)
        return need.id


async def need_row(running, need_id: int) -> Need:
    async with running.sessionmaker() as session:
        need = await session.get(Need, need_id)
        assert need is not None
        return need


async def seed_thirty(running) -> tuple[int, int, dict[int, Need]]:
    """30 needs in district A (various categories, statuses, supports, ages) and 3 in B."""
    a = await add_district(running, 1, "Заречье")
    b = await add_district(running, 2, "Центр")
    author = await register(running, 7001, "Автор")
    statuses = [
        NeedStatus.NEW,
        NeedStatus.ACCEPTED,
        NeedStatus.IN_WORK,
        NeedStatus.NEW,
        NeedStatus.RESOLVED,
        NeedStatus.REJECTED,
    ]
    for n in range(30):
        await make_need(
            running,
            district_id=a,
            author_id=author,
            code=CODES[n % len(CODES)],
            description=f"Потребность номер {n} про двор и фонари",
            status=statuses[n % len(statuses)],
            supports=(n * 7) % 11,
            age_hours=n,
        )
    for n in range(3):
        await make_need(running, district_id=b, author_id=author, supports=50 + n)
    async with running.sessionmaker() as session:
        needs = {need.id: need for need in await session.scalars(select(Need))}
    return a, b, needs


def expected(needs: dict[int, Need], filters: Filters) -> list[int]:
    chosen = [
        need
        for need in needs.values()
        if (filters.district_id is None or need.district_id == filters.district_id)
        and (filters.category_id is None or need.category_id == filters.category_id)
        and need.status in filters.statuses()
    ]
    if filters.sort == SORT_SUPPORTS:
        chosen.sort(key=lambda need: (need.support_count, need.id), reverse=True)
    else:
        chosen.sort(key=lambda need: (need.created_at, need.id), reverse=True)
    return [need.id for need in chosen]


async def test_the_service_pages_every_filter_in_the_right_order(running):
    a, b, needs = await seed_thirty(running)
    housing = await category_id(running, "housing")
    async with running.sessionmaker() as session:
        for district in (None, a, b):
            for category in (None, housing):
                for status in (OPEN, ALL, "resolved", "new", "forged"):
                    for sort in (SORT_SUPPORTS, SORT_DATE):
                        filters = Filters(district, category, status, sort)
                        want = expected(needs, filters)
                        got: list[int] = []
                        page = await browse.browse(session, filters, 0, 4)
                        assert page.total == len(want)
                        for number in range(page.pages):
                            page = await browse.browse(session, filters, number, 4)
                            got += [need.id for need in page.items]
                        assert got == want, filters
        # A page past the end is the last one, not an error.
        last = await browse.browse(session, Filters(a), 99, 4)
        assert last.page == last.pages - 1 and last.items


async def test_anyone_browses_by_district_category_status_and_sort(fake, running):
    a, _b, needs = await seed_thirty(running)
    visitor = fake.user(7100, "Гость")
    shown = (await visitor.say("/needs"))[0]
    # An unregistered visitor starts with the whole city's open needs, most supported first.
    open_city = expected(needs, Filters())
    assert f"Найдено {len(open_city)} потребност" in shown.text
    assert shown.text.index(f"№{open_city[0]} ") < shown.text.index(f"№{open_city[1]} ")
    assert "весь город" in shown.text

    shown = (await visitor.click("🏘 Округ", shown.message_id))[0]
    shown = (await visitor.click("№1 · Заречье", shown.message_id))[0]
    open_a = expected(needs, Filters(a))
    assert f"Найдено {len(open_a)} потребност" in shown.text and "Заречье" in shown.text
    buttons = [label for label in visitor.button_texts(shown) if label.startswith("№")]
    assert [int(label[1:].split(" ")[0]) for label in buttons] == open_a[:8]
    shown = (await visitor.click("▶", shown.message_id))[0]
    buttons = [label for label in visitor.button_texts(shown) if label.startswith("№")]
    assert [int(label[1:].split(" ")[0]) for label in buttons] == open_a[8:16]

    shown = (await visitor.click("↕️ По дате", shown.message_id))[0]
    assert "сначала новые" in shown.text
    by_date = expected(needs, Filters(a, sort=SORT_DATE))
    buttons = [label for label in visitor.button_texts(shown) if label.startswith("№")]
    assert [int(label[1:].split(" ")[0]) for label in buttons] == by_date[:8]

    shown = (await visitor.click("🗂 Категория", shown.message_id))[0]
    shown = (await visitor.click("Дороги и транспорт", shown.message_id))[0]
    roads = expected(needs, Filters(a, await category_id(running, "roads"), sort=SORT_DATE))
    assert f" {len(roads)} потребност" in shown.text

    shown = (await visitor.click("🚦 Статус", shown.message_id))[0]
    shown = (await visitor.click("решённые", shown.message_id))[0]
    resolved = expected(
        needs, Filters(a, await category_id(running, "roads"), "resolved", SORT_DATE)
    )
    assert resolved and all(needs[n].status == NeedStatus.RESOLVED for n in resolved)
    assert "решена" in shown.text
    for number in resolved:
        assert f"№{number} " in shown.text

    # A forged page with a district and category that do not exist: the whole city, no error.
    replies = await visitor.click_data(shown.message_id, "nbl:5:99999:99999:bogus:x:")
    assert "весь город" in replies[0].text and "все категории" in replies[0].text


async def test_card_shows_what_the_author_allowed(fake, running):
    a = await add_district(running, 1, "Заречье")
    anna = await register(running, 7201, "Анна Петрова")
    boris = await register(running, 7202, "Борис")
    named = await make_need(
        running,
        district_id=a,
        author_id=anna,
        description="Яма <b>глубокая</b> & опасная " + "очень " * 1000,
        show_name=True,
        status=NeedStatus.IN_WORK,
        handler_text="Дорожная служба <города>",
        address="ул. Ленина, 5",
        latitude=55.75123,
        longitude=37.61789,
    )
    hidden = await make_need(
        running, district_id=a, author_id=boris, show_name=False, address="ул. Мира, 1"
    )
    async with running.sessionmaker.begin() as session:
        session.add(NeedEvent(need_id=named, kind=NeedEventKind.ANSWER, text="Ремонт в мае"))
        session.add(
            NeedEvent(
                need_id=named, kind=NeedEventKind.QUESTION, text="Тайный вопрос", public=False
            )
        )
        session.add(
            NeedEvent(
                need_id=named,
                kind=NeedEventKind.STATUS,
                status_from=NeedStatus.ACCEPTED,
                status_to=NeedStatus.IN_WORK,
            )
        )
        for position in range(3):
            file_id = fake.photo_sizes(None)[-1]["file_id"]
            session.add(NeedPhoto(need_id=named, file_id=file_id, position=position))

    visitor = fake.user(7100, "Гость")
    card = (await visitor.say(f"/needcard {named}"))[0]
    text = card.text
    assert f"Потребность №{named}" in text and "Заречье" in text and "ЖКХ" in text
    assert "Статус: в работе" in text and "Занимается: Дорожная служба <города>" in text
    assert "Автор: Анна Петрова" in text
    assert "Яма <b>глубокая</b> & опасная" in text and "…" in text  # escaped, clipped
    assert len(text) < 4096
    assert "ул. Ленина, 5" in text and "3 фотографии" in text
    assert "ответ: Ремонт в мае" in text and "статус: в работе" in text and "подана" in text
    assert "Тайный вопрос" not in text and "вопрос автору" not in text
    assert visitor.button_texts(card) == [
        "👍 Меня тоже касается",
        "📷 Фото (3)",
        "📍 Место на карте",
    ]
    photos = await visitor.click("📷 Фото (3)", card.message_id)
    assert len(photos) == 3 and all(m.photo for m in photos)
    assert photos[0].caption == f"Фотографии к потребности №{named}"
    place = await visitor.click("📍 Место на карте", card.message_id)
    assert place[0].location == {"latitude": 55.75123, "longitude": 37.61789}

    text = (await visitor.say(f"/need_{hidden}"))[0].text
    assert "Борис" not in text and "Автор" not in text
    assert "Не горят фонари во дворе" in text

    # An erased author's name is never shown, even when they had allowed it.
    async with running.sessionmaker.begin() as session:
        person = await users.get_user(session, 7201)
        assert person is not None
        await users.erase_user(session, person)
    card = (await visitor.say(f"/needcard {named}"))[0]
    assert "Анна" not in card.text and "Автор" not in card.text
    # The need stays the district's record, without what may show where its author lives:
    # the photos and the address go, the point is rounded to about 100 m.
    assert "Яма" in card.text and "Ленина" not in card.text and "фотограф" not in card.text
    assert visitor.button_texts(card) == ["👍 Меня тоже касается", "📍 Место на карте"]
    place = await visitor.click("📍 Место на карте", card.message_id)
    assert place[0].location == {"latitude": 55.751, "longitude": 37.618}
    # Somebody else's need keeps everything.
    assert (await need_row(running, hidden)).address == "ул. Мира, 1"

    assert "нет" in (await visitor.say("/needcard 99999"))[0].text
    assert "/needcard 12" in (await visitor.say("/needcard двенадцать"))[0].text
    assert "нет" in (await visitor.say("/needcard 99999999999999"))[0].text
    # A forged photo or place button of a need without them.
    await visitor.click_data(card.message_id, f"nbc:{hidden}:photos")
    assert visitor.callback_answers[-1].show_alert
    await visitor.click_data(card.message_id, f"nbc:{hidden}:place")
    assert visitor.callback_answers[-1].show_alert


async def test_support_once_take_back_and_refusals(fake, running):
    a = await add_district(running, 1, "Заречье")
    author_id = await register(running, 7301, "Автор")
    await register(running, 7302, "Сосед")
    need_id = await make_need(running, district_id=a, author_id=author_id)
    closed = await make_need(
        running, district_id=a, author_id=author_id, status=NeedStatus.RESOLVED
    )
    neighbour = fake.user(7302, "Сосед")
    card = (await neighbour.say(f"/needcard {need_id}"))[0]
    assert "Поддержали 0 человек" in card.text

    shown = (await neighbour.click("👍 Меня тоже касается", card.message_id))[0]
    assert "Поддержал 1 человек" in shown.text
    assert neighbour.button_texts(shown) == ["↩️ Отозвать мою поддержку"]
    assert "поддержали" in neighbour.callback_answers[-1].text
    # The old "me too" pressed again (a double press): counted once.
    await neighbour.click_data(card.message_id, f"nbs:{need_id}:1")
    assert "уже поддерживаете" in neighbour.callback_answers[-1].text
    assert (await need_row(running, need_id)).support_count == 1

    shown = (await neighbour.click("↩️ Отозвать мою поддержку", card.message_id))[0]
    assert "Поддержали 0 человек" in shown.text
    await neighbour.click_data(card.message_id, f"nbs:{need_id}:0")
    assert "не поддерживали" in neighbour.callback_answers[-1].text
    assert (await need_row(running, need_id)).support_count == 0

    # Forged: a need that does not exist, a closed need, one's own need, an unregistered person.
    await neighbour.click_data(card.message_id, "nbs:424242:1")
    assert neighbour.callback_answers[-1].show_alert
    await neighbour.click_data(card.message_id, f"nbs:{closed}:1")
    assert "закрыта" in neighbour.callback_answers[-1].text
    author = fake.user(7301, "Автор")
    anchor = (await author.say(f"/needcard {need_id}"))[0]
    assert "Меня тоже" not in " ".join(author.button_texts(anchor))
    await author.click_data(anchor.message_id, f"nbs:{need_id}:1")
    assert "ваша потребность" in author.callback_answers[-1].text
    visitor = fake.user(7100, "Гость")
    anchor = (await visitor.say(f"/needcard {need_id}"))[0]
    await visitor.click("👍 Меня тоже касается", anchor.message_id)
    assert "зарегистрируйтесь" in visitor.callback_answers[-1].text
    async with running.sessionmaker() as session:
        rows = (await session.scalars(select(NeedSupport))).all()
    assert rows == []
    assert (await need_row(running, closed)).support_count == 0


async def test_racing_supports_count_once(running):
    a = await add_district(running, 1, "Заречье")
    author_id = await register(running, 7401, "Автор")
    people = [await register(running, 7410 + n, f"Житель {n}") for n in range(3)]
    need_id = await make_need(running, district_id=a, author_id=author_id)

    async def press(user_id: int) -> bool:
        for _attempt in range(20):
            try:
                async with running.sessionmaker.begin() as session:
                    user = await session.get(users.User, user_id)
                    return (await support.support(session, user, need_id))[1]
            except Exception:  # SQLite: a writer that lost the race retries, as a new update would
                if USE_POSTGRES:
                    raise
                await asyncio.sleep(0)
        raise AssertionError("never got through")

    # Each person presses twice at once; the three people race each other too.
    results = await asyncio.gather(*(press(p) for p in people for _ in range(2)))
    assert sorted(results) == [False, False, False, True, True, True]
    assert (await need_row(running, need_id)).support_count == 3


async def test_my_needs_lists_filed_and_supported(fake, running):
    a = await add_district(running, 1, "Заречье")
    me = await register(running, 7501, "Я")
    other = await register(running, 7502, "Другой")
    mine = await make_need(running, district_id=a, author_id=me, description="Моя лавочка")
    theirs = [
        await make_need(running, district_id=a, author_id=other, description=f"Чужая {n}")
        for n in range(10)
    ]
    async with running.sessionmaker.begin() as session:
        person = await session.get(users.User, me)
        for need_id in theirs[:9]:
            await support.support(session, person, need_id)
    person = fake.user(7501, "Я")
    shown = (await person.say("/my_needs"))[0]
    assert "Мои потребности</b>: 10" in shown.html or "Мои потребности: 10" in shown.text
    assert "я поддерживаю" in shown.text
    shown = (await person.click("▶", shown.message_id))[0]
    assert f"№{mine} " in shown.text and "подана мной" in shown.text
    card = (await person.click(f"№{mine} · 👍 0 · Моя лавочка", shown.message_id))[0]
    assert f"Потребность №{mine}" in card.text

    visitor = fake.user(7100, "Гость")
    assert "зарегистрируйтесь" in (await visitor.say("/my_needs"))[0].text
    stranger = fake.user(7502, "Другой")
    assert "Чужая" in (await stranger.say("/my_needs"))[0].text


async def test_categories_belong_to_the_secretariat(fake, running):
    a = await add_district(running, 1, "Заречье")
    citizen_id = await register(running, 7601, "Житель")
    await make_secretary(running, 7602, "Секретарь")
    await make_need(running, district_id=a, author_id=citizen_id, code="housing")
    citizen = fake.user(7601, "Житель")
    assert "нет прав" in (await citizen.say("/need_categories"))[0].text
    anchor = (await citizen.say("/needs"))[0]
    housing = await category_id(running, "housing")
    async with running.sessionmaker() as session:
        before = [
            (c.id, c.name_ru, c.active, c.position)
            for c in await categories.all_categories(session)
        ]
    for data in (
        "nbk:add:0",
        f"nbk:off:{housing}",
        f"nbk:rename:{housing}",
        f"nbk:up:{housing}",
        "nbk:list:0",
    ):
        await citizen.click_data(anchor.message_id, data)
        assert citizen.callback_answers[-1].show_alert, data
    # A forged button puts nobody into the naming step: a text after it changes nothing.
    await citizen.say("Взлом\nHack")
    async with running.sessionmaker() as session:
        after = [
            (c.id, c.name_ru, c.active, c.position)
            for c in await categories.all_categories(session)
        ]
    assert after == before

    secretary = fake.user(7602, "Секретарь")
    shown = (await secretary.say("/need_categories"))[0]
    assert "✅ ЖКХ" in secretary.button_texts(shown)
    await secretary.click("➕ Добавить категорию", shown.message_id)
    assert "две строки" in (await secretary.say("Парки"))[0].text
    assert "текст" in (await secretary.say_photo())[0].text
    replies = await secretary.say("Парки и скверы\nParks and squares")
    assert any("Категория сохранена" in m.text for m in replies)

    shown = (await secretary.say("/need_categories"))[0]
    opened = (await secretary.click("✅ ЖКХ", shown.message_id))[0]
    opened = (await secretary.click("🚫 Отключить", opened.message_id))[0]
    assert "отключена" in opened.text
    opened = (await secretary.click("✏️ Переименовать", opened.message_id))[0]
    replies = await secretary.say("Дороги и транспорт\nRoads")
    assert "уже есть" in replies[0].text
    replies = await secretary.say("Коммунальное хозяйство\nUtilities")
    assert any("Коммунальное хозяйство" in m.text for m in replies)

    shown = (await secretary.say("/need_categories"))[0]
    opened = (await secretary.click("✅ Парки и скверы", shown.message_id))[0]
    await secretary.click("⬆️ Выше", opened.message_id)
    async with running.sessionmaker() as session:
        active = [c.name_ru for c in await categories.active_categories(session)]
        everything = [c.name_ru for c in await categories.all_categories(session)]
    assert "Коммунальное хозяйство" not in active and "ЖКХ" not in everything
    assert active[-2:] == ["Парки и скверы", "Другое"]

    # Browsing shows the new name on the existing need, and offers the categories to filter by.
    shown = (await citizen.say("/needs"))[0]
    assert "Коммунальное хозяйство" in shown.text
    choice = (await citizen.click("🗂 Категория", shown.message_id))[0]
    assert "Парки и скверы" in citizen.button_texts(choice)
    english = categories.category_name(NeedCategory(name_ru="Парки", name_en="Parks"), "en")
    assert english == "Parks"


async def test_open_statuses_are_the_default(running):
    a = await add_district(running, 1, "Заречье")
    for status in NeedStatus:
        await make_need(running, district_id=a, author_id=None, status=status)
    async with running.sessionmaker() as session:
        page = await browse.browse(session, Filters(a))
    assert {need.status for need in page.items} == set(OPEN_STATUSES)


async def test_a_long_list_is_counted_up_to_the_cap(fake, running, monkeypatch):
    a = await add_district(running, 1, "Заречье")
    for n in range(7):
        await make_need(running, district_id=a, author_id=None, supports=n)
    monkeypatch.setattr(browse, "COUNT_CAP", 5)
    async with running.sessionmaker() as session:
        first = await browse.browse(session, Filters(a), 0, 4)
        last = await browse.browse(session, Filters(a), 9, 4)
    assert first.total == 6 and first.pages == 2
    assert [need.support_count for need in first.items] == [6, 5, 4, 3]
    assert last.page == 1 and [need.support_count for need in last.items] == [2, 1, 0]
    shown = (await fake.user(7100, "Гость").say("/needs"))[0]
    assert "Найдено больше 5 потребностей" in shown.text


async def test_many_districts_are_chosen_page_by_page(fake, running):
    for number in range(1, 24):
        await add_district(running, number, f"Округ {number}")
    async with running.sessionmaker() as session:
        last = (await districts.list_districts(session, 1, 20)).items[-1]
    await make_need(running, district_id=last.id, author_id=None, description="Скамейка у пруда")
    visitor = fake.user(7100, "Гость")
    shown = (await visitor.say("/needs"))[0]
    shown = (await visitor.click("🏘 Округ", shown.message_id))[0]
    assert len([b for b in visitor.button_texts(shown) if b.startswith("№")]) == 20
    shown = (await visitor.click("▶", shown.message_id))[0]
    shown = (await visitor.click(f"№{last.number} · {last.name}", shown.message_id))[0]
    assert last.name in shown.text and "Скамейка у пруда" in shown.text
