"""Moderating needs through the real Dispatcher and the fake Telegram: the district's base
organization works its needs (accept, merge, reject, ask, answer, in work, resolve, take up), a
base organization of another district is refused (also with forged buttons), illegal moves are
refused by the service, merging carries supports once (also when two moderators race), the filer
and supporters are told in their language. Escalation and the digest: test_needs_waiting.py."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.services import districts, organizations, users, votes
from bot.services.errors import DomainError, NotAllowed
from bot.services.needs import escalation, moderation, terms
from bot.services.organizations import Draft
from models import (
    AuditEntry,
    BodyKind,
    JobStatus,
    OrganizationKind,
    ScheduledJob,
    VoteKind,
)
from models.base import utcnow
from models.needs import (
    Need,
    NeedCategory,
    NeedEvent,
    NeedEventKind,
    NeedPhoto,
    NeedStatus,
    NeedSupport,
    NeedTerm,
)
from tests.conftest import ADMIN_ID
from tests.support import as_a_new_update_would, make_secretary, register
from tests.test_votes import presidium_member

PROPOSALS = "Конкретные предложения по благоустройству дворов и учёту потребностей жителей. " * 2

# Telegram ids.
BASE1, BASE2, SECRETARY, FILER, FAN_RU, FAN_EN, OTHER = 7101, 7102, 7103, 7110, 7111, 7112, 7113
PRESIDIUM = 7120


async def base_organization(running, head_tg: int, district_id: int, name: str) -> int:
    """An approved organization of the district, made its base organization; its head is its
    representative."""
    async with running.sessionmaker.begin() as session:
        head = await users.get_user(session, head_tg)
        admin = await users.get_user(session, ADMIN_ID)
        organization = await organizations.submit(
            session,
            head,
            Draft(
                name,
                OrganizationKind.TOS,
                district_id,
                "Описание организации." * 2,
                "тел. 1",
                PROPOSALS,
            ),
        )
        await organizations.decide(session, admin, organization.id, approve=True)
        await districts.set_base_organization(session, admin, district_id, organization.id)
        return organization.id


async def world(fake, running) -> dict[str, int]:
    """Two districts with their base organizations, a secretary, a filer and two supporters
    (one reads Russian, one English), each with a chat the bot can write to."""
    for tg in (BASE1, BASE2, SECRETARY, FILER, FAN_RU, FAN_EN, OTHER, PRESIDIUM):
        fake.user(tg)
    async with running.sessionmaker.begin() as session:
        one = await districts.seed_district(session, 1, "Центр")
        two = await districts.seed_district(session, 2, "Заречье")
        ids = {"d1": one.id, "d2": two.id}
    for tg, name in ((BASE1, "Базовая Один"), (BASE2, "Базовая Два"), (FILER, "Автор")):
        await register(running, tg, name)
    ids["fan_ru"] = await register(running, FAN_RU, "Сосед")
    ids["fan_en"] = await register(running, FAN_EN, "Neighbour")
    ids["other"] = await register(running, OTHER, "Другой")
    await make_secretary(running, SECRETARY, "Секретарь")
    async with running.sessionmaker.begin() as session:
        (await users.get_user(session, FAN_EN)).language = "en"
        ids["filer"] = (await users.get_user(session, FILER)).id
    ids["org1"] = await base_organization(running, BASE1, ids["d1"], "ТОС Центр")
    ids["org2"] = await base_organization(running, BASE2, ids["d2"], "ТОС Заречье")
    # The heads are told of their council seats (a base organization's): those notices are out
    # before a test reads the chats.
    await running.delivered()
    return ids


async def a_category(session) -> int:
    """A category (the migration seeds them; PostgreSQL test runs truncate between tests)."""
    category = await session.scalar(select(NeedCategory).order_by(NeedCategory.id).limit(1))
    if category is None:
        category = NeedCategory(code="yards", name_ru="Дворы и улицы", name_en="Yards and streets")
        session.add(category)
        await session.flush()
    return category.id


async def file_need(
    running,
    author_id: int | None,
    district_id: int,
    text: str = "Не горят фонари во дворе дома 5",
    supporters: tuple[int, ...] = (),
    photos: tuple[str, ...] = (),
) -> int:
    """A need as the filing dialog saves it (indexed, escalation scheduled), with supports."""
    async with running.sessionmaker.begin() as session:
        need = Need(
            district_id=district_id,
            category_id=await a_category(session),
            author_id=author_id,
            description=text,
        )
        session.add(need)
        await session.flush()
        await terms.index(session, need)
        for user_id in supporters:
            session.add(NeedSupport(need_id=need.id, user_id=user_id))
        for position, file_id in enumerate(photos):
            session.add(NeedPhoto(need_id=need.id, file_id=file_id, position=position))
        need.support_count = len(supporters)
        settings = running.settings
        await escalation.schedule(
            session, need, settings.need_remind_base_days, settings.need_escalate_days
        )
        return need.id


async def saved(running, need_id: int) -> Need:
    async with running.sessionmaker() as session:
        need = await session.get(Need, need_id)
        assert need is not None
        return need


async def events(running, need_id: int, kind: NeedEventKind | None = None) -> list[NeedEvent]:
    async with running.sessionmaker() as session:
        query = select(NeedEvent).where(NeedEvent.need_id == need_id).order_by(NeedEvent.id)
        if kind is not None:
            query = query.where(NeedEvent.kind == kind)
        return list(await session.scalars(query))


def texts(person) -> str:
    return "\n".join(m.text or "" for m in person.bot_messages)


async def open_card(person, need_id: int):
    replies = await person.say(f"/needs_queue {need_id}")
    assert f"Потребность №{need_id}" in replies[-1].text, replies[-1].text
    return replies[-1]


# --- The right base organization works the need ---------------------------------------------------


async def test_the_base_organization_accepts_puts_in_work_and_resolves(fake, running):
    ids = await world(fake, running)
    photo = fake.store_file(b"\xff\xd8 a dark yard", "photos", None, "image/jpeg").file_id
    need_id = await file_need(
        running, ids["filer"], ids["d1"], supporters=(ids["fan_ru"], ids["fan_en"]), photos=(photo,)
    )
    base = fake.user(BASE1, "Базовая Один")
    queue = (await base.say("/needs_queue"))[-1]
    assert "Новые потребности ваших округов" in queue.text
    card = (
        await base.click(
            f"№{need_id} · Не горят фонари во дворе дома 5", message_id=queue.message_id
        )
    )[-1]
    assert "Статус: новая" in card.text and "поддержали: 2" in card.text
    shown = await base.click("📷 Фото (1)", message_id=card.message_id)
    assert shown and shown[-1].photo

    await base.click("✅ Принять", message_id=card.message_id)
    assert base.callback_answers[-1].text == f"Потребность №{need_id} принята."
    need = await saved(running, need_id)
    assert need.status == NeedStatus.ACCEPTED and need.decided_at is not None

    await base.click("🛠 В работе у…", message_id=card.message_id)
    await base.say("Дорожный отдел управы")
    need = await saved(running, need_id)
    assert need.status == NeedStatus.IN_WORK and need.handler_text == "Дорожный отдел управы"

    card = await open_card(base, need_id)
    await base.click("🏁 Решено", message_id=card.message_id)
    need = await saved(running, need_id)
    assert need.status == NeedStatus.RESOLVED and need.resolved_at is not None

    moves = await events(running, need_id, NeedEventKind.STATUS)
    assert [(e.status_from, e.status_to) for e in moves] == [
        (NeedStatus.NEW, NeedStatus.ACCEPTED),
        (NeedStatus.ACCEPTED, NeedStatus.IN_WORK),
        (NeedStatus.IN_WORK, NeedStatus.RESOLVED),
    ]
    assert {e.organization_id for e in moves} == {ids["org1"]}  # spoke for the base organization
    async with running.sessionmaker() as session:
        assert not await session.scalar(
            select(func.count()).select_from(NeedTerm).where(NeedTerm.need_id == need_id)
        )
        actions = set(
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.object_id == need_id, AuditEntry.object_type == "need"
                )
            )
        )
        assert {"need.accept", "need.in_work", "need.resolve"} <= actions
        # Decided: the reminder and the escalation will not come.
        pending = await session.scalar(
            select(func.count())
            .select_from(ScheduledJob)
            .where(ScheduledJob.object_id == need_id, ScheduledJob.status == JobStatus.PENDING)
        )
        assert pending == 0

    # The filer and both supporters were told of each change, each in their language.
    await running.delivered()
    filer, fan_ru, fan_en = (
        fake.user(FILER, "Автор"),
        fake.user(FAN_RU, "Сосед"),
        fake.user(FAN_EN, "Neighbour"),
    )
    for person in (filer, fan_ru):
        told = texts(person)
        assert (
            f"Потребность №{need_id} «Не горят фонари во дворе дома 5» принята к рассмотрению."
            in told
        )
        assert "Исполнитель: Дорожный отдел управы." in told
        assert "решена" in told
    told = texts(fan_en)
    assert f"Need No. {need_id} “Не горят фонари во дворе дома 5” has been accepted." in told
    assert "Handled by: Дорожный отдел управы." in told and "is resolved" in told


async def test_reject_with_a_reason_and_in_work_by_the_base_organization(fake, running):
    ids = await world(fake, running)
    rejected = await file_need(running, ids["filer"], ids["d1"], "Спам <b>реклама</b>")
    worked = await file_need(running, ids["filer"], ids["d1"], "Яма на дороге у школы")
    base = fake.user(BASE1, "Базовая Один")
    card = await open_card(base, rejected)
    await base.click("✖ Отклонить", message_id=card.message_id)
    replies = await base.say("   ")
    assert "Текст пустой" in replies[-1].text  # required; the dialog waits
    await base.say_photo()
    assert "ответьте текстом" in base.last.text
    await base.say("Не относится к <полномочиям> района")
    need = await saved(running, rejected)
    assert (
        need.status == NeedStatus.REJECTED
        and need.reject_reason == "Не относится к <полномочиям> района"
    )

    card = await open_card(base, worked)
    await base.click("✅ Принять", message_id=card.message_id)
    await base.click("🛠 В работе у нашей организации", message_id=card.message_id)
    need = await saved(running, worked)
    assert need.status == NeedStatus.IN_WORK
    assert need.handler_organization_id == ids["org1"] and need.handler_text == "ТОС Центр"

    await running.delivered()
    told = texts(fake.user(FILER, "Автор"))
    assert "Причина: Не относится к &lt;полномочиям&gt; района" in told or (
        "Причина: Не относится к <полномочиям> района" in told
    )
    assert "Исполнитель: ТОС Центр." in told


async def test_question_reply_and_public_answer(fake, running):
    ids = await world(fake, running)
    need_id = await file_need(running, ids["filer"], ids["d1"], supporters=(ids["fan_en"],))
    base, filer = fake.user(BASE1, "Базовая Один"), fake.user(FILER, "Автор")
    card = await open_card(base, need_id)
    await base.click("❓ Спросить автора", message_id=card.message_id)
    await base.say("Какой номер подъезда?")
    await running.delivered()
    question = next(m for m in filer.bot_messages if "Какой номер подъезда?" in (m.text or ""))
    assert "Вопрос по вашей потребности" in question.text
    assert "Какой номер подъезда?" not in texts(fake.user(FAN_EN, "Neighbour"))  # not public

    # Someone else cannot answer for the filer, even with the button's data.
    other = fake.user(OTHER, "Другой")
    anchor = (await other.say("/help"))[0]
    data = question.reply_markup["inline_keyboard"][0][0]["callback_data"]
    await other.click_data(anchor.message_id, data)
    assert other.callback_answers[-1].show_alert

    await filer.click("💬 Ответить", message_id=question.message_id)
    replies = await filer.say("Второй подъезд")
    assert "Ответ по потребности" in replies[-1].text
    kinds = [(e.kind, e.public) for e in await events(running, need_id)]
    assert (NeedEventKind.QUESTION, False) in kinds and (NeedEventKind.REPLY, False) in kinds
    await running.delivered()
    assert "ответил:\nВторой подъезд" in texts(base)
    card = await open_card(base, need_id)
    assert "Ответ автора: Второй подъезд" in card.text

    await base.click("📢 Ответить публично", message_id=card.message_id)
    await base.say("Заявка передана в управу")
    answer = (await events(running, need_id, NeedEventKind.ANSWER))[0]
    assert answer.public and answer.organization_id == ids["org1"]
    await running.delivered()
    assert "Заявка передана в управу" in texts(filer)
    assert f"An answer on need No. {need_id}" in texts(fake.user(FAN_EN, "Neighbour"))


# --- The wrong people -----------------------------------------------------------------------------


async def test_another_districts_base_organization_is_refused_also_with_forged_buttons(
    fake, running
):
    ids = await world(fake, running)
    need_id = await file_need(running, ids["filer"], ids["d1"])
    other_base = fake.user(BASE2, "Базовая Два")
    queue = (await other_base.say("/needs_queue"))[-1]
    assert "Новых потребностей в ваших округах нет" in queue.text
    replies = await other_base.say(f"/needs_queue {need_id}")
    assert "нет прав" in replies[-1].text
    before = await events(running, need_id)
    for action in (
        "show",
        "accept",
        "work_base",
        "resolve",
        "merge",
        "reject",
        "ask",
        "answer",
        "work_text",
        "take_up",
    ):
        await other_base.click_data(queue.message_id, f"nmod:{action}:{need_id}:0")
        assert other_base.callback_answers[-1].show_alert, action
    # No dialog was opened by the forged presses: a text is not taken as a reason.
    await other_base.say("Отклонить!")
    assert (await saved(running, need_id)).status == NeedStatus.NEW
    assert await events(running, need_id) == before or len(await events(running, need_id)) == len(
        before
    )

    # A citizen is no moderator at all; the Secretariat works every district.
    citizen = fake.user(OTHER, "Другой")
    assert "нет прав" in (await citizen.say("/needs_queue"))[-1].text
    secretary = fake.user(SECRETARY, "Секретарь")
    card = await open_card(secretary, need_id)
    await secretary.click("✅ Принять", message_id=card.message_id)
    need = await saved(running, need_id)
    assert need.status == NeedStatus.ACCEPTED
    accepted = (await events(running, need_id, NeedEventKind.STATUS))[-1]
    assert accepted.organization_id is None  # the Secretariat speaks for itself


async def test_illegal_transitions_are_refused_by_the_service_whatever_buttons_say(fake, running):
    ids = await world(fake, running)
    need_id = await file_need(running, ids["filer"], ids["d1"])
    base = fake.user(BASE1, "Базовая Один")
    card = await open_card(base, need_id)
    assert "🏁 Решено" not in base.button_texts(card)  # a new need is not resolved directly
    await base.click_data(card.message_id, f"nmod:resolve:{need_id}:0")
    assert "В нынешнем статусе" in base.callback_answers[-1].text
    assert (await saved(running, need_id)).status == NeedStatus.NEW

    async with running.sessionmaker.begin() as session:
        actor = await users.get_user(session, BASE1)
        await moderation.reject(session, actor, need_id, "Дубль")
    for action in ("accept", "work_base", "resolve"):
        await base.click_data(card.message_id, f"nmod:{action}:{need_id}:0")
        assert "В нынешнем статусе" in base.callback_answers[-1].text, action
    async with running.sessionmaker() as session:
        actor = await users.get_user(session, BASE1)
        with pytest.raises(moderation.IllegalTransition):
            await moderation.accept(session, actor, need_id)
        stranger = await users.get_user(session, BASE2)
        with pytest.raises(NotAllowed):
            await moderation.accept(session, stranger, need_id)
    assert all(
        moderation.may_move(status, to) == (to in moderation.TRANSITIONS[status])
        for status in NeedStatus
        for to in NeedStatus
    )
    assert not moderation.may_move(NeedStatus.RESOLVED, NeedStatus.NEW)


# --- Merging --------------------------------------------------------------------------------------


async def test_merge_carries_supports_and_followers_without_double_counting(fake, running):
    ids = await world(fake, running)
    async with running.sessionmaker() as session:
        target_filer = (await users.get_user(session, OTHER)).id
    target = await file_need(
        running, target_filer, ids["d1"], "Фонари не горят у дома 5", supporters=(ids["fan_ru"],)
    )
    duplicate = await file_need(
        running,
        ids["filer"],
        ids["d1"],
        supporters=(ids["fan_ru"], ids["fan_en"], target_filer),
    )
    elsewhere = await file_need(running, ids["filer"], ids["d2"], "Фонари в Заречье")
    base = fake.user(BASE1, "Базовая Один")
    card = await open_card(base, duplicate)
    await base.click("🔗 Объединить", message_id=card.message_id)
    merged_self = (await base.say(str(duplicate)))[-1].text
    assert "Потребность нельзя объединить с самой собой" in merged_self
    assert "из другого округа" in (await base.say(str(elsewhere)))[-1].text
    assert "номер цифрами" in (await base.say("пятый"))[-1].text
    await base.say(f"№{target}")

    merged, into = await saved(running, duplicate), await saved(running, target)
    assert merged.status == NeedStatus.MERGED and merged.merged_into_id == target
    async with running.sessionmaker() as session:
        supporters = set(
            await session.scalars(select(NeedSupport.user_id).where(NeedSupport.need_id == target))
        )
    # The duplicate's filer and supporters; the target's own filer is not its supporter.
    assert supporters == {ids["fan_ru"], ids["fan_en"], ids["filer"]}
    assert into.support_count == 3
    assert [e.subject_id for e in await events(running, target, NeedEventKind.MERGED)] == [
        duplicate
    ]
    await running.delivered()
    assert f"объединена с потребностью №{target}" in texts(fake.user(FILER, "Автор"))
    assert f"merged into need No. {target}" in texts(fake.user(FAN_EN, "Neighbour"))


async def test_two_needs_merged_into_each_other_at_once_close_only_one(fake, running):
    ids = await world(fake, running)
    first = await file_need(running, ids["filer"], ids["d1"], supporters=(ids["fan_ru"],))
    second = await file_need(running, ids["other"], ids["d1"], "Фонари не горят у дома 5")

    async def merge(need_id: int, target_id: int, moderator: int) -> str:
        async def once() -> str:
            async with running.sessionmaker.begin() as session:
                actor = await users.get_user(session, moderator)
                await moderation.merge(session, actor, need_id, target_id)
                return "merged"

        try:
            return await as_a_new_update_would(once)
        except DomainError as refused:
            return refused.key

    results = await asyncio.gather(merge(first, second, BASE1), merge(second, first, SECRETARY))
    assert sorted(results) == ["merged", "needs-mod-merge-closed"]
    needs = [await saved(running, first), await saved(running, second)]
    assert sorted(need.status for need in needs) == sorted([NeedStatus.MERGED, NeedStatus.NEW])
    kept = next(need for need in needs if need.status == NeedStatus.NEW)
    assert kept.merged_into_id is None and kept.support_count >= 1


# --- Taking up ------------------------------------------------------------------------------------


async def test_a_need_taken_up_in_a_vote_tells_its_people_and_again_when_resolved(fake, running):
    ids = await world(fake, running)
    need_id = await file_need(running, ids["filer"], ids["d1"], supporters=(ids["fan_ru"],))
    await presidium_member(running, 7120, "Президиум")
    async with running.sessionmaker.begin() as session:
        organizer = await users.get_user(session, 7120)
        from bot.services import bodies

        council = await bodies.single(session, BodyKind.COUNCIL)
        vote = await votes.create_draft(
            session,
            organizer,
            votes.DraftInput(
                body_id=council.id,
                kind=VoteKind.RECOMMENDATION,
                question="Рекомендовать ремонт освещения",
                closes_at=utcnow() + timedelta(days=3),
                addressee="Администрации",
            ),
        )
        vote_id = vote.id
    # The base organization does not organize that vote: refused.
    base = fake.user(BASE1, "Базовая Один")
    card = await open_card(base, need_id)
    await base.click("🗳 Вынести на голосование", message_id=card.message_id)
    assert "нет прав" in (await base.say(str(vote_id)))[-1].text
    await base.say("/cancel")

    presidium = fake.user(7120, "Президиум")
    anchor = (await presidium.say("/help"))[0]
    await presidium.click_data(anchor.message_id, f"nmod:take_up:{need_id}:0")
    replies = await presidium.say(str(vote_id))
    assert "связана с голосованием" in replies[0].text
    taken = await events(running, need_id, NeedEventKind.TAKEN_UP)
    assert [(e.subject_type, e.subject_id) for e in taken] == [("vote", vote_id)]
    # Several at once by command; linking the same need twice is refused and changes nothing.
    second = await file_need(running, ids["filer"], ids["d2"], "Нет освещения в сквере")
    replies = await presidium.say(f"/needs_take_up {vote_id} {second} {need_id}")
    assert "уже связана с голосованием" in replies[-1].text
    assert await events(running, second, NeedEventKind.TAKEN_UP) == []
    replies = await presidium.say(f"/needs_take_up {vote_id} {second}")
    assert f"С голосованием №{vote_id} связаны потребности: №{second}." in replies[-1].text
    assert "нет прав" in (await fake.user(OTHER).say(f"/needs_take_up {vote_id} {second}"))[-1].text
    async with running.sessionmaker.begin() as session:
        actor = await users.get_user(session, BASE1)
        await moderation.accept(session, actor, need_id)
        await moderation.resolve(session, actor, need_id)
    await running.delivered()
    told = texts(fake.user(FAN_RU, "Сосед"))
    assert f"вынесена на голосование №{vote_id}: «Рекомендовать ремонт освещения»" in told
    assert "решена" in told
