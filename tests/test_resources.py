"""Resources offered to meet the needs, end to end through the fake Telegram: the offer dialog,
withdrawing, the offers that match a need, asking an owner, and who may do what."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import select

from bot.services import districts, organizations, resources, users
from bot.services.errors import InvalidInput
from bot.services.organizations import Draft as OrgDraft
from bot.services.resources import Draft
from models import District, OrganizationKind, Outbox, User
from models.needs import (
    ContactRequestStatus,
    Need,
    NeedCategory,
    NeedStatus,
    ResourceContact,
    ResourceKind,
    ResourceOffer,
)
from tests.conftest import ADMIN_ID
from tests.support import as_a_new_update_would, count, make_secretary, register

PROPOSALS = (
    "Предлагаем провести субботник во дворах Заречья, собрать заявки жителей на ремонт освещения "
    "и вместе с управляющей компанией составить план работ на весну."
)
OWNER, BASE, CITIZEN, SECRETARY, OTHER_BASE = 4001, 4002, 4003, 4004, 4005


SEEDED = {"yards": ("Дворы и улицы", "Yards and streets"), "health": ("Здравоохранение", "Health")}


async def category_id(running, code: str) -> int:
    """A category migration 008 seeds (the PostgreSQL runs empty every table between tests, so
    it is put back when missing)."""
    async with running.sessionmaker.begin() as session:
        found = await session.scalar(select(NeedCategory.id).where(NeedCategory.code == code))
        if found is None:
            name_ru, name_en = SEEDED[code]
            category = NeedCategory(code=code, name_ru=name_ru, name_en=name_en, position=2)
            session.add(category)
            await session.flush()
            found = category.id
        return found


async def base_organization(running, head_id: int, district_id: int, name: str) -> int:
    """An approved organization of the district, made its base organization; `head_id` is its
    representative."""
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        head = await session.get(User, head_id)
        organization = await organizations.submit(
            session,
            head,
            OrgDraft(
                name,
                OrganizationKind.BASE,
                district_id,
                "Базовая организация округа, ведёт базу потребностей.",
                "тел. 8 900 000-00-01",
                PROPOSALS,
            ),
        )
        await organizations.decide(session, admin, organization.id, approve=True)
        await districts.set_base_organization(session, admin, district_id, organization.id)
        return organization.id


async def world(running) -> dict[str, int]:
    """Two districts, each with a base organization; an owner of offers (with @username and a
    phone), a plain citizen, a secretary; a need of district 1 about yards."""
    async with running.sessionmaker.begin() as session:
        first = await districts.seed_district(session, 1, "Заречье")
        second = await districts.seed_district(session, 2, "Центр")
        ids = {"d1": first.id, "d2": second.id}
    ids["owner"] = await register(running, OWNER, "Ольга Смирнова", username="olga_s")
    async with running.sessionmaker.begin() as session:
        owner = await session.get(User, ids["owner"])
        owner.phone = "+79001112233"
    ids["base"] = await register(running, BASE, "Борис Базов", username="boris_b")
    ids["citizen"] = await register(running, CITIZEN, "Иван Житель")
    ids["secretary"] = await make_secretary(running, SECRETARY, "Светлана")
    ids["other_base"] = await register(running, OTHER_BASE, "Пётр Центров")
    ids["org1"] = await base_organization(running, ids["base"], ids["d1"], "ТОС «Заречье»")
    ids["org2"] = await base_organization(running, ids["other_base"], ids["d2"], "Совет «Центр»")
    ids["yards"] = await category_id(running, "yards")
    ids["health"] = await category_id(running, "health")
    ids["need"] = await make_need(running, ids["d1"], ids["yards"], ids["citizen"])
    # The heads were told of their council seats (a base organization's): those notices are
    # settled before a test starts talking, so none arrives in the middle of its exchange.
    await running.delivered()
    return ids


async def make_need(running, district_id: int, category: int, author_id: int) -> int:
    async with running.sessionmaker.begin() as session:
        need = Need(
            district_id=district_id,
            category_id=category,
            author_id=author_id,
            description="Во дворе дома 5 нужно убрать мусор после зимы и покрасить скамейки.",
        )
        session.add(need)
        await session.flush()
        return need.id


async def make_offer(
    running,
    owner_id: int,
    district_id: int | None,
    category: int | None,
    description: str,
    kind: ResourceKind = ResourceKind.VOLUNTEERING,
) -> int:
    async with running.sessionmaker.begin() as session:
        owner = await session.get(User, owner_id)
        offer = await resources.create_offer(
            session,
            owner,
            Draft(kind, district_id, category, description, "по выходным"),
        )
        return offer.id


async def offer_row(running, offer_id: int) -> ResourceOffer:
    async with running.sessionmaker() as session:
        offer = await session.get(ResourceOffer, offer_id)
        assert offer is not None
        return offer


async def contacts(running) -> list[ResourceContact]:
    async with running.sessionmaker() as session:
        return list(await session.scalars(select(ResourceContact).order_by(ResourceContact.id)))


async def test_offer_dialog_end_to_end_and_withdraw(fake, running):
    ids = await world(running)
    owner = fake.user(OWNER, "Ольга", username="olga_s")
    replies = await owner.say("/offer")
    assert any("Предложить ресурс" in m.text for m in replies)
    # A person without an organization offers for themselves: the first question is the kind.
    assert "Что вы предлагаете?" in owner.last.text
    await owner.say("транспорт")  # typed where buttons are expected: asked again, with them
    assert "Что вы предлагаете?" in owner.last.text
    await owner.click("транспорт")
    assert "В каком округе?" in owner.last.text
    await owner.click("№1 · Заречье")
    assert "Для каких потребностей" in owner.last.text
    await owner.click("Дворы и улицы")
    assert "Опишите" in owner.last.text
    await owner.say_photo()
    assert "текст" in owner.last.text.lower()
    await owner.say("Газель")
    assert "Слишком коротко" in owner.last.text
    await owner.say("Грузовая «Газель» <b>с водителем</b>: вывезти мусор, привезти краску 🚚")
    assert "Когда это доступно?" in owner.last.text
    await owner.say("x" * 5000)
    assert "Слишком длинно" in owner.last.text
    replies = await owner.say("по субботам с 10 до 16")
    summary = replies[-1]
    assert "Проверьте предложение" in summary.text
    assert "Газель" in summary.text and "&lt;b&gt;" in summary.html
    assert "Заречье" in summary.text and "Дворы и улицы" in summary.text
    # A field edited from the summary comes back to the summary.
    await owner.click("✏️ Изменить округ", message_id=summary.message_id)
    await owner.click("весь город")
    summary = owner.last
    assert "Проверьте предложение" in summary.text and "весь город" in summary.text
    replies = await owner.click("📨 Отправить", message_id=summary.message_id)
    assert any("Предложение №1 сохранено" in m.text for m in replies)
    # A second press of Send, on the summary, saves nothing more.
    await owner.click_data(summary.message_id, "rsf:send:")
    assert await count(running, ResourceOffer) == 1
    saved = await offer_row(running, 1)
    assert saved.owner_id == ids["owner"] and saved.organization_id is None
    assert (saved.kind, saved.district_id, saved.category_id) == (
        ResourceKind.TRANSPORT,
        None,
        ids["yards"],
    )
    assert saved.available == "по субботам с 10 до 16" and saved.active

    listing = (await owner.say("/my_offers"))[0]
    assert "№1" in listing.text and "транспорт" in listing.text and "весь город" in listing.text
    await owner.click("↩️ Отозвать №1", message_id=listing.message_id)
    assert "уже отозвано" not in (owner.callback_answers[-1].text or "")
    withdrawn = await offer_row(running, 1)
    assert not withdrawn.active and withdrawn.withdrawn_at is not None
    assert "нет действующих" in owner.message(listing.message_id).text
    # The stale button, pressed again.
    await owner.click_data(listing.message_id, "rsw:1:0")
    assert "уже отозвано" in owner.callback_answers[-1].text
    # Someone else's offer cannot be withdrawn.
    other = await make_offer(running, ids["citizen"], None, None, "Помогу с уборкой двора")
    await owner.click_data(listing.message_id, f"rsw:{other}:0")
    assert "нет прав" in owner.callback_answers[-1].text
    assert (await offer_row(running, other)).active


async def test_a_representative_offers_on_behalf_of_an_organization(fake, running):
    ids = await world(running)
    base = fake.user(BASE, "Борис", username="boris_b")
    await base.say("/offer")
    assert "От чьего имени" in base.last.text
    question = base.last
    # Another organization's id, forged: refused.
    await base.click_data(question.message_id, f"rso:{ids['org2']}")
    assert base.callback_answers[-1].show_alert
    await base.click("ТОС «Заречье»", message_id=question.message_id)
    await base.click("помещение")
    await base.click("№1 · Заречье")
    await base.click("любые потребности")
    await base.say("Зал на 40 человек для собраний жителей и занятий кружков")
    replies = await base.say("будни после 18:00")
    assert "От кого: ТОС «Заречье»" in replies[-1].text
    await base.click("📨 Отправить")
    saved = await offer_row(running, 1)
    assert saved.organization_id == ids["org1"] and saved.category_id is None


async def test_matching_by_district_and_category(fake, running):
    ids = await world(running)
    d1, d2, yards, health = ids["d1"], ids["d2"], ids["yards"], ids["health"]
    owner = ids["owner"]
    city_any = await make_offer(running, owner, None, None, "Городской волонтёрский отряд")
    d1_yards = await make_offer(running, owner, d1, yards, "Инструменты для уборки двора")
    d2_yards = await make_offer(running, owner, d2, yards, "Краска для скамеек в Центре")
    d1_health = await make_offer(running, owner, d1, health, "Тонометры для пенсионеров")
    d1_any = await make_offer(running, owner, d1, None, "Помещение для встреч в Заречье")
    gone = await make_offer(running, owner, d1, yards, "Грабли, уже розданные")
    async with running.sessionmaker.begin() as session:
        await resources.withdraw(session, await session.get(User, owner), gone)

    base = fake.user(BASE, "Борис", username="boris_b")
    shown = (await base.say(f"/need_offers {ids['need']}"))[0]
    assert "Потребность №1" in shown.text and "скамейки" in shown.text
    assert "Подходящих предложений: 3" in shown.text
    for number in (city_any, d1_yards, d1_any):
        assert f"✉️ Спросить владельца №{number}" in base.button_texts(shown)
    for number in (d2_yards, d1_health, gone):
        assert f"№{number}" not in shown.text
    # The owner is not named.
    assert "Ольга" not in shown.text and "olga_s" not in shown.text

    # A need of district 2: the Secretariat sees the city-wide and district 2's offers.
    need2 = await make_need(running, d2, yards, ids["citizen"])
    secretary = fake.user(SECRETARY, "Светлана")
    shown = (await secretary.say(f"/need_offers {need2}"))[0]
    assert "Подходящих предложений: 2" in shown.text
    labels = secretary.button_texts(shown)
    assert f"✉️ Спросить владельца №{city_any}" in labels
    assert f"✉️ Спросить владельца №{d2_yards}" in labels
    # District 1's base organization may not work district 2's need.
    replies = await base.say(f"/need_offers {need2}")
    assert "нет прав" in replies[0].text
    replies = await base.say("/need_offers")
    assert "номер потребности" in replies[0].text
    replies = await base.say("/need_offers 999")
    assert "Потребности №999 нет" in replies[0].text


async def ask_owner(fake, running, ids, offer_id: int):
    # Both have talked to the bot before, so it can write to them.
    owner = fake.user(OWNER, "Ольга", username="olga_s")
    base = fake.user(BASE, "Борис", username="boris_b")
    shown = (await base.say(f"/need_offers {ids['need']}"))[0]
    await base.click(f"✉️ Спросить владельца №{offer_id}", message_id=shown.message_id)
    assert "Запрос отправлен" in base.callback_answers[-1].text
    await running.delivered()
    request = next(m for m in owner.bot_messages if "может помочь" in m.text)
    return base, owner, request, shown


async def test_ask_then_the_owner_agrees_and_both_get_contacts(fake, running):
    ids = await world(running)
    offer = await make_offer(running, ids["owner"], ids["d1"], ids["yards"], "Инструменты")
    base, owner, request, shown = await ask_owner(fake, running, ids, offer)
    assert "потребности №1" in request.text and "покрасить скамейки" in request.text
    assert owner.button_texts(request) == [
        "✅ Согласен обменяться контактами",
        "✖️ Отказаться",
    ]
    # Nothing of the owner has reached the asker yet.
    assert not any("Ольга" in m.text or "olga_s" in m.text for m in base.bot_messages)
    # Asking again while waiting is refused.
    await base.click(f"✉️ Спросить владельца №{offer}", message_id=shown.message_id)
    assert "уже спросили" in base.callback_answers[-1].text
    # Only the owner answers: a forged press by the citizen changes nothing.
    citizen = fake.user(CITIZEN, "Иван")
    anchor = (await citizen.say("/my_offers"))[0]
    await citizen.click_data(anchor.message_id, "rsx:1:1")
    assert "нет прав" in citizen.callback_answers[-1].text
    assert (await contacts(running))[0].status == ContactRequestStatus.ASKED

    await owner.click("✅ Согласен обменяться контактами", message_id=request.message_id)
    assert "Вы согласились" in owner.last.text
    await running.delivered()
    to_asker = next(m for m in base.bot_messages if "согласился обменяться" in m.text)
    assert "Ольга Смирнова" in to_asker.text and "@olga_s" in to_asker.text
    assert "+79001112233" in to_asker.text
    assert f'href="tg://user?id={OWNER}"' in to_asker.html
    to_owner = next(m for m in owner.bot_messages if "Контакты того, кто работает" in m.text)
    assert "Борис Базов" in to_owner.text and "@boris_b" in to_owner.text
    assert "Телефон: не указан" in to_owner.text
    assert (await contacts(running))[0].status == ContactRequestStatus.ACCEPTED
    # A second press of the stale button.
    await owner.click_data(request.message_id, "rsx:1:1")
    assert "уже ответили" in owner.callback_answers[-1].text
    await base.click(f"✉️ Спросить владельца №{offer}", message_id=shown.message_id)
    assert "уже переданы" in base.callback_answers[-1].text
    assert len(await contacts(running)) == 1


async def test_the_owner_declines_and_the_asker_is_told(fake, running):
    ids = await world(running)
    offer = await make_offer(running, ids["owner"], None, None, "Волонтёры на субботник")
    base, owner, request, _ = await ask_owner(fake, running, ids, offer)
    await owner.click("✖️ Отказаться", message_id=request.message_id)
    assert "Вы отказались" in owner.last.text
    await running.delivered()
    assert any("не смог помочь" in m.text for m in base.bot_messages)
    assert not any("olga_s" in m.text or "+79001112233" in m.text for m in base.bot_messages)
    assert not any("Контакты того" in m.text for m in owner.bot_messages)
    assert (await contacts(running))[0].status == ContactRequestStatus.DECLINED
    await owner.click_data(request.message_id, "rsx:1:1")
    assert "уже ответили" in owner.callback_answers[-1].text
    assert (await contacts(running))[0].status == ContactRequestStatus.DECLINED


async def test_a_citizen_who_is_not_a_handler_can_neither_list_nor_ask(fake, running):
    ids = await world(running)
    offer = await make_offer(running, ids["owner"], None, None, "Волонтёры на субботник")
    owner = fake.user(OWNER, "Ольга", username="olga_s")
    citizen = fake.user(CITIZEN, "Иван")
    replies = await citizen.say(f"/need_offers {ids['need']}")
    assert "нет прав" in replies[0].text
    anchor = (await citizen.say("/my_offers"))[0]
    await citizen.click_data(anchor.message_id, f"rsa:{offer}:{ids['need']}")
    assert "нет прав" in citizen.callback_answers[-1].text
    await citizen.click_data(anchor.message_id, f"rsn:{ids['need']}:0")
    assert "нет прав" in citizen.callback_answers[-1].text
    # The base organization of another district, too.
    other = fake.user(OTHER_BASE, "Пётр")
    anchor = (await other.say("/my_offers"))[0]
    await other.click_data(anchor.message_id, f"rsa:{offer}:{ids['need']}")
    assert "нет прав" in other.callback_answers[-1].text
    assert await contacts(running) == []
    await running.delivered()
    assert not owner.bot_messages


async def test_a_withdrawn_offer_cannot_be_asked_nor_its_request_agreed(fake, running):
    ids = await world(running)
    offer = await make_offer(running, ids["owner"], ids["d1"], None, "Помещение для встреч")
    late = await make_offer(running, ids["owner"], ids["d1"], None, "Ещё одно помещение")
    base = fake.user(BASE, "Борис", username="boris_b")
    shown = (await base.say(f"/need_offers {ids['need']}"))[0]
    async with running.sessionmaker.begin() as session:
        await resources.withdraw(session, await session.get(User, ids["owner"]), offer)
    await base.click(f"✉️ Спросить владельца №{offer}", message_id=shown.message_id)
    assert "отозвано" in base.callback_answers[-1].text
    assert await contacts(running) == []

    # Asked, then withdrawn before the answer: agreeing shares nothing.
    _, owner, request, _ = await ask_owner(fake, running, ids, late)
    async with running.sessionmaker.begin() as session:
        await resources.withdraw(session, await session.get(User, ids["owner"]), late)
    await owner.click("✅ Согласен обменяться контактами", message_id=request.message_id)
    assert "отозвано" in owner.callback_answers[-1].text
    assert (await contacts(running))[0].status == ContactRequestStatus.ASKED


async def test_an_asker_who_lost_the_district_gets_no_contacts(fake, running):
    ids = await world(running)
    offer = await make_offer(running, ids["owner"], ids["d1"], None, "Помещение для встреч")
    base, owner, request, _ = await ask_owner(fake, running, ids, offer)
    async with running.sessionmaker.begin() as session:
        district = await session.get(District, ids["d1"])
        district.base_organization_id = None
    await owner.click("✅ Согласен обменяться контактами", message_id=request.message_id)
    assert "больше не действует" in owner.callback_answers[-1].text
    await running.delivered()
    assert not any("olga_s" in m.text for m in base.bot_messages)
    assert (await contacts(running))[0].status == ContactRequestStatus.ASKED


async def test_an_erased_owners_offers_leave_matching(fake, running):
    ids = await world(running)
    offer = await make_offer(
        running, ids["owner"], ids["d1"], None, "Звоните Ольге Смирновой: +7 900 111-22-33"
    )
    async with running.sessionmaker.begin() as session:
        await users.erase_user(session, await session.get(User, ids["owner"]))
    erased = await offer_row(running, offer)
    assert not erased.active and erased.withdrawn_at is not None
    assert erased.description == "" and erased.available == ""
    base = fake.user(BASE, "Борис", username="boris_b")
    shown = (await base.say(f"/need_offers {ids['need']}"))[0]
    assert "Подходящих предложений пока нет" in shown.text


async def test_a_closed_need_is_not_asked_for(fake, running):
    ids = await world(running)
    offer = await make_offer(running, ids["owner"], ids["d1"], None, "Помещение для встреч")
    base = fake.user(BASE, "Борис", username="boris_b")
    shown = (await base.say(f"/need_offers {ids['need']}"))[0]
    async with running.sessionmaker.begin() as session:
        need = await session.get(Need, ids["need"])
        need.status = NeedStatus.RESOLVED
    await base.click(f"✉️ Спросить владельца №{offer}", message_id=shown.message_id)
    assert "уже закрыта" in base.callback_answers[-1].text
    assert await contacts(running) == []


async def test_exchanged_contacts_leave_no_trace_once_the_owner_is_erased(fake, running):
    ids = await world(running)
    offer = await make_offer(running, ids["owner"], ids["d1"], None, "Помещение для встреч")
    _, owner, request, _ = await ask_owner(fake, running, ids, offer)
    await owner.click("✅ Согласен обменяться контактами", message_id=request.message_id)
    await running.delivered()
    async with running.sessionmaker.begin() as session:
        await users.erase_user(session, await session.get(User, ids["owner"]))
    async with running.sessionmaker() as session:
        stored = [
            json.dumps(o.text_params, ensure_ascii=False)
            for o in await session.scalars(select(Outbox))
        ]
    assert stored
    for text in stored:
        for trace in ("olga_s", "9001112233", str(OWNER), "Ольга Смирнова"):
            assert trace not in text, (trace, text)


async def test_categories_are_named_in_the_persons_language(fake, running):
    ids = await world(running)
    async with running.sessionmaker.begin() as session:
        owner = await session.get(User, ids["owner"])
        owner.language = "en"
    person = fake.user(OWNER, "Olga", username="olga_s")
    await person.say("/offer")
    await person.click("transport")
    await person.click("the whole city")
    assert "Yards and streets" in person.button_texts()
    assert "Дворы и улицы" not in person.button_texts()
    await person.click("Yards and streets")
    await person.say("A van with a driver, to take rubbish away")
    replies = await person.say("Saturdays")
    assert "For needs: Yards and streets" in replies[-1].text


async def test_two_presses_of_ask_at_once_make_one_request(running):
    ids = await world(running)
    offer = await make_offer(running, ids["owner"], ids["d1"], ids["yards"], "Инструменты")

    async def ask() -> str:
        async with running.sessionmaker.begin() as session:
            base = await session.get(User, ids["base"])
            await resources.ask(session, base, offer, ids["need"], lambda _c: [])
            return "asked"

    async def press() -> str:
        try:
            return await as_a_new_update_would(ask)
        except InvalidInput as refused:
            return refused.key

    assert sorted(await asyncio.gather(press(), press())) == ["asked", "resources-already-asked"]
    assert len(await contacts(running)) == 1
    async with running.sessionmaker() as session:
        requests = await session.scalars(select(Outbox).where(Outbox.kind == "resource_request"))
        assert len(requests.all()) == 1
