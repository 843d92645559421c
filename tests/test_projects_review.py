"""Review and decision through the real Dispatcher and the fake Telegram: the executive committee
assigns a submitted project to a committee, its members comment, the chair returns it, the
proposer resubmits, the same committee reviews it again, the chair proposes to recommend it, the
presidium puts it to the council, the council votes and the project is recommended with an entry
in the registry."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.keyboards.projects_review import CDRev
from bot.services import users
from bot.services.projects import lifecycle
from models import AuditEntry, Recommendation, Vote, VoteKind
from models.projects import Project, ProjectEvent, ProjectEventKind, ProjectNeed, ProjectStatus
from tests import projects_support as ps
from tests.support import register
from tests.test_needs_moderation import file_need
from tests.test_votes import ballot_of, council_member, presidium_member

# Telegram ids.
OWNER, EXEC, CHAIR, MEMBER, MEMBER2 = 8001, 8002, 8010, 8011, 8012
OTHER_CHAIR, OTHER_MEMBER, PRESIDIUM, OUTSIDER = 8020, 8021, 8030, 8099
COUNCIL = (8040, 8041, 8042)
NAMES = {
    OWNER: "Автор Проекта",
    EXEC: "Исполком Иванов",
    CHAIR: "Председатель Петров",
    MEMBER: "Член Сидорова",
    MEMBER2: "Член Кузнецов",
    OTHER_CHAIR: "Культура Председатель",
    OTHER_MEMBER: "Культура Член",
    PRESIDIUM: "Президиум Орлов",
    OUTSIDER: "Посторонний",
    **{tg: f"Советник {i}" for i, tg in enumerate(COUNCIL)},
}
GREEN = "Комитет по благоустройству"
CULTURE = "Комитет по культуре"


async def world(fake, running) -> dict[str, int]:
    """A member organization with a draft project, the executive committee, two committees,
    the presidium and a council of three, each with a chat the bot can write to."""
    for tg, name in NAMES.items():
        fake.user(tg, name)
    ids: dict[str, int] = {}
    ids["d1"] = await ps.district(running, 1, "Центр")
    ids["org"], ids["owner"] = await ps.member_organization(
        running, OWNER, NAMES[OWNER], "ТОС Светлый", ids["d1"]
    )
    ids["exec"] = await ps.executive(running, EXEC, NAMES[EXEC])
    for key, tg in (
        ("chair", CHAIR),
        ("member", MEMBER),
        ("member2", MEMBER2),
        ("other_chair", OTHER_CHAIR),
        ("other_member", OTHER_MEMBER),
        ("outsider", OUTSIDER),
    ):
        ids[key] = await register(running, tg, NAMES[tg])
    ids["green"] = await ps.committee(
        running, GREEN, "Дворы, улицы, освещение", ids["chair"], ids["member"], ids["member2"]
    )
    ids["culture"] = await ps.committee(
        running, CULTURE, "Наследие и праздники", ids["other_chair"], ids["other_member"]
    )
    ids["presidium"] = await presidium_member(running, PRESIDIUM, NAMES[PRESIDIUM])
    for tg in COUNCIL:
        await council_member(running, tg, NAMES[tg])
    ids["project"] = await ps.project(running, ids["org"], ids["owner"], district_id=ids["d1"])
    need = await file_need(running, None, ids["d1"], "Тёмный двор на Советской, нет скамеек")
    async with running.sessionmaker.begin() as session:
        session.add(ProjectNeed(project_id=ids["project"], need_id=need))
    return ids


async def submit(running, project_id: int) -> None:
    """The owner submits (the proposing capability's button does the same)."""
    async with running.sessionmaker.begin() as session:
        owner = await users.get_user(session, OWNER)
        await lifecycle.submit(session, owner, project_id)


async def saved(running, project_id: int) -> Project:
    async with running.sessionmaker() as session:
        project = await session.get(Project, project_id)
        assert project is not None
        return project


async def events(running, project_id: int, kind: ProjectEventKind) -> list[ProjectEvent]:
    async with running.sessionmaker() as session:
        rows = await session.scalars(
            select(ProjectEvent)
            .where(ProjectEvent.project_id == project_id, ProjectEvent.kind == kind)
            .order_by(ProjectEvent.id)
        )
        return list(rows)


async def audited(running, project_id: int) -> list[str]:
    async with running.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.object_type == "project", AuditEntry.object_id == project_id)
            .order_by(AuditEntry.id)
        )
        return list(rows)


def texts(person) -> str:
    return "\n".join(m.text or "" for m in person.bot_messages)


def joined(replies) -> str:
    """What the bot said in answer (notices delivered meanwhile may be among the messages)."""
    return "\n".join(m.text or "" for m in replies)


def find(replies, text: str):
    """The bot's message that says `text` (a notice may arrive in between)."""
    found = [m for m in replies if text in (m.text or "")]
    assert found, (text, [m.text for m in replies])
    return found[-1]


SCREEN = "Статус: "


def item(project_id: int, title: str = "Светлый двор") -> str:
    return f"№{project_id} · {title}"


async def open_screen(person, project_id: int):
    replies = await person.say(f"/projects_review {project_id}")
    return find(replies, f"Проект №{project_id} ")


async def assign(fake, project_id: int, button: str) -> None:
    executive = fake.user(EXEC, NAMES[EXEC])
    lists = await executive.say("/projects_review")
    listed = find(lists, "Поданные проекты")
    screen = find(await executive.click(item(project_id), message_id=listed.message_id), SCREEN)
    assert "Статус: подан" in screen.text
    picker = find(
        await executive.click("📌 Назначить комитет", message_id=screen.message_id),
        "Направления комитетов",
    )
    assert "Направления комитетов" in picker.text and "Наследие и праздники" in picker.text
    await executive.click(button, message_id=picker.message_id)
    assert executive.callback_answers[-1].text == f"Проект №{project_id} передан комитету."


async def propose(person, project_id: int, button: str, reasons: str):
    screen = await open_screen(person, project_id)
    await person.click(button, message_id=screen.message_id)
    return await person.say(reasons)


# --- The whole path ------------------------------------------------------------------------------


async def test_from_submission_to_the_councils_recommendation(fake, running):
    ids = await world(fake, running)
    pid = ids["project"]
    owner, executive = fake.user(OWNER), fake.user(EXEC)
    chair, member, member2 = fake.user(CHAIR), fake.user(MEMBER), fake.user(MEMBER2)
    presidium = fake.user(PRESIDIUM)
    await submit(running, pid)

    # The executive committee assigns it; the committee hears of its queue, the owner of review.
    await assign(fake, pid, GREEN)
    project = await saved(running, pid)
    assert project.status == ProjectStatus.IN_REVIEW and project.committee_id == ids["green"]
    [assigned] = await events(running, pid, ProjectEventKind.ASSIGNED)
    assert (assigned.subject_type, assigned.subject_id) == ("body", ids["green"])
    await running.delivered()
    for person in (chair, member, member2):
        assert f"В очереди комитета «{GREEN}» новый проект №{pid}" in texts(person)
    assert f"Проект №{pid} «Светлый двор» передан на рассмотрение комитета" in texts(owner)
    assert "ждущих комитета, нет" in joined(await executive.say("/projects_review"))

    # A member finds it in the committee's queue and comments; a photo is not a comment.
    lists = await member.say("/projects_review")
    listed = find(lists, "Очередь вашего комитета")
    screen = find(await member.click(item(pid), message_id=listed.message_id), SCREEN)
    assert "Тёмный двор на Советской" in screen.text  # the need it answers
    assert "Замечаний пока нет" in screen.text
    assert "⛔ Отклонить" not in member.button_texts(screen)  # the chair's, not a member's
    await member.click("💬 Замечание", message_id=screen.message_id)
    await member.say_photo()
    assert "ответьте текстом" in member.last.text
    replies = await member.say("Нет сметы на <b>освещение</b>")
    assert f"Замечание к проекту №{pid} записано" in joined(replies)
    assert "&lt;b&gt;освещение" in find(replies, SCREEN).html  # the screen shows it, escaped
    await running.delivered()
    assert "Член Сидорова оставил(а) замечание" in texts(chair)
    assert "Член Сидорова оставил(а) замечание" in texts(member2)
    assert "Нет сметы" not in texts(owner)  # not told of each comment

    # The chair returns it: at once, with the reasons and the comments of this version.
    screen = await open_screen(chair, pid)
    assert "Член Сидорова (версия 1): Нет сметы" in screen.text
    assert {"✅ Предложить рекомендовать", "↩️ Вернуть на доработку", "⛔ Отклонить"} <= set(
        chair.button_texts(screen)
    )
    await chair.click("↩️ Вернуть на доработку", message_id=screen.message_id)
    replies = await chair.say("Добавьте смету и сроки")
    assert f"Проект №{pid} возвращён на доработку" in joined(replies)
    project = await saved(running, pid)
    assert project.status == ProjectStatus.RETURNED and project.proposed_outcome == "return"
    await running.delivered()
    told = texts(owner)
    assert "возвращён на доработку" in told and "Добавьте смету и сроки" in told
    assert "💬 Член Сидорова: Нет сметы на" in told

    # Revised and resubmitted: version 2, assigned again — the same committee is offered first.
    async with running.sessionmaker.begin() as session:
        (await session.get(Project, pid)).budget = 200_000
    await submit(running, pid)
    await running.delivered()
    assert f"Проект №{pid} «Светлый двор» подан снова после доработки (версия 2)" in texts(
        executive
    )
    lists = await executive.say("/projects_review")
    listed = find(lists, "Поданные проекты")
    screen = find(await executive.click(item(pid), message_id=listed.message_id), SCREEN)
    picker = find(
        await executive.click("📌 Назначить комитет", message_id=screen.message_id),
        "Направления комитетов",
    )
    assert executive.button_texts(picker)[0] == f"↩️ Тот же: {GREEN}"
    await executive.click(f"↩️ Тот же: {GREEN}", message_id=picker.message_id)
    project = await saved(running, pid)
    assert project.status == ProjectStatus.IN_REVIEW and project.version == 2
    assert project.proposed_outcome is None

    # The chair proposes to recommend; the presidium is told. A second proposal is refused.
    replies = await propose(chair, pid, "✅ Предложить рекомендовать", "Смета есть, проект нужен")
    assert "передано Президиуму" in joined(replies)
    replies = await propose(chair, pid, "✅ Предложить рекомендовать", "Ещё раз")
    assert "уже предложено" in joined(replies)
    replies = await chair.say("Третий раз")  # the dialog ended with the refusal
    assert "уже предложено" not in joined(replies)
    assert len(await events(running, pid, ProjectEventKind.PROPOSAL)) == 2  # return + recommend
    await running.delivered()
    assert f"Комитет предлагает рекомендовать проект №{pid}" in texts(presidium)
    assert "Смета есть, проект нужен" in texts(presidium)

    # The presidium puts it to the council's vote: a draft about the project.
    lists = await presidium.say("/projects_review")
    listed = find(lists, "К голосованию Совета")
    screen = find(await presidium.click(item(pid), message_id=listed.message_id), SCREEN)
    assert "Председатель комитета предлагает:</b> рекомендовать" in screen.html
    await presidium.click("🗳 На голосование Совета", message_id=screen.message_id)
    replies = await presidium.click("Администрации городского округа Серпухов")
    assert "Черновик голосования Совета №" in joined(replies)
    card = next(m for m in replies if "▶️ Открыть голосование" in presidium.button_texts(m))
    assert "черновик" in card.text
    project = await saved(running, pid)
    async with running.sessionmaker() as session:
        vote = await session.get(Vote, project.vote_id)
        assert vote is not None
        assert (vote.subject_type, vote.subject_id, vote.kind) == (
            "project",
            pid,
            VoteKind.RECOMMENDATION,
        )
        assert vote.addressee == "Администрации городского округа Серпухов"
        assert vote.question == f"Рекомендовать проект №{pid} «Светлый двор»"
        for part in (
            "Освещение и скамейки",
            "200\u00a0000\u00a0₽",
            GREEN,
            "Смета есть, проект нужен",
        ):
            assert part in vote.text
    [put] = await events(running, pid, ProjectEventKind.VOTE)
    assert (put.subject_type, put.subject_id) == ("vote", vote.id)
    # Pressed again (the old screen's button): refused, no second vote.
    await presidium.click("🗳 На голосование Совета", message_id=screen.message_id)
    assert presidium.callback_answers[-1].show_alert
    async with running.sessionmaker() as session:
        proposals = select(func.count()).select_from(Vote).where(Vote.subject_type == "project")
        assert await session.scalar(proposals) == 1

    # The vote runs on the existing engine: opened, cast by the council, closed.
    await presidium.click("▶️ Открыть голосование", message_id=card.message_id)
    await presidium.click("Да, открыть и разослать бюллетени")
    await running.delivered()
    for tg in COUNCIL:
        person = fake.user(tg)
        await person.click("За", message_id=ballot_of(person, vote.id).message_id)
    await presidium.click("⏹ Закрыть досрочно")
    replies = await presidium.click("Да, закрыть и подвести итоги")
    assert "Итог: принято" in joined(replies)

    project = await saved(running, pid)
    assert project.status == ProjectStatus.RECOMMENDED
    async with running.sessionmaker() as session:
        entry = await session.scalar(
            select(Recommendation).where(Recommendation.vote_id == vote.id)
        )
        assert entry is not None
    await running.delivered()
    assert f"Совет рекомендовал проект №{pid} «Светлый двор» (рекомендация №{entry.number}" in (
        texts(owner)
    )
    actions = await audited(running, pid)
    for code in ("project.assign", "project.comment", "project.propose", "project.to_vote"):
        assert code in actions
    assert actions.count("project.assign") == 2

    # Returning a recommended project is refused, also with a button's data.
    await chair.click_data(chair.last.message_id, CDRev(action="return", id=pid).pack())
    assert chair.callback_answers[-1].show_alert
    assert (await saved(running, pid)).status == ProjectStatus.RECOMMENDED
