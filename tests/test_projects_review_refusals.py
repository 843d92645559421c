"""Review and decision, the wrong people and the wrong moments: another committee's members, a
member who is not the chair, someone outside the executive committee assigning, assigning a
draft or a project twice, a stranger at the card's review panel — each refused on the server,
with forged buttons too, and nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.keyboards.projects import CDProjectPanel
from bot.keyboards.projects_review import CDRev, CDRevAssign
from bot.services import bodies, users
from bot.services.errors import NotAllowed
from bot.services.projects import review
from bot.services.projects.rules import IllegalTransition
from models import AuditEntry, BodyKind
from models.projects import ProjectEvent, ProjectStatus
from tests import projects_support as ps
from tests.test_projects_review import (
    CHAIR,
    EXEC,
    GREEN,
    MEMBER,
    OTHER_CHAIR,
    OTHER_MEMBER,
    OUTSIDER,
    PRESIDIUM,
    SCREEN,
    find,
    joined,
    open_screen,
    propose,
    saved,
    world,
)


async def history(running) -> tuple[list[tuple], list[str]]:
    """Every project event and audit action: what a refused press must leave as it was."""
    async with running.sessionmaker() as session:
        found = await session.execute(
            select(ProjectEvent.project_id, ProjectEvent.kind, ProjectEvent.text).order_by(
                ProjectEvent.id
            )
        )
        actions = await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
        return [tuple(row) for row in found], list(actions)


async def refused(person, data: str) -> None:
    anchor = (await person.say("/cancel"))[0]
    await person.click_data(anchor.message_id, data)
    answer = person.callback_answers[-1]
    assert answer.show_alert, (data, answer.text)


async def test_other_committees_and_other_members_are_refused(fake, running):
    ids = await world(fake, running)
    pid = await ps.project(
        running,
        ids["org"],
        ids["owner"],
        district_id=ids["d1"],
        status=ProjectStatus.IN_REVIEW,
        committee_id=ids["green"],
    )
    other, other_chair = fake.user(OTHER_MEMBER), fake.user(OTHER_CHAIR)
    member, chair, outsider = fake.user(MEMBER), fake.user(CHAIR), fake.user(OUTSIDER)
    before = await history(running)

    # Another committee: not in its queue, the screen refused, forged buttons refused.
    lists = await other.say("/projects_review")
    assert "В очереди вашего комитета проектов нет" in joined(lists)
    replies = await other.say(f"/projects_review {pid}")
    assert "нет прав" in joined(replies)
    for action in ("show", "comment", "recommend", "return", "reject", "vote", "assign"):
        await refused(other, CDRev(action=action, id=pid).pack())
        await refused(other_chair, CDRev(action=action, id=pid).pack())
    await refused(other, CDProjectPanel(id=pid, panel="review").pack())

    # A member who is not the chair proposes nothing; nor does the chair assign.
    for action in ("recommend", "return", "reject", "assign", "vote"):
        await refused(member, CDRev(action=action, id=pid).pack())
    await refused(chair, CDRevAssign(id=pid, body=ids["green"]).pack())
    await refused(chair, CDRev(action="addressee", id=pid, page=2).pack())

    # Someone with no part: no lists, no panel.
    replies = await outsider.say("/projects_review")
    assert "нет прав" in joined(replies)
    await refused(outsider, CDProjectPanel(id=pid, panel="review").pack())
    await refused(outsider, CDRevAssign(id=pid, body=ids["green"]).pack())
    assert await history(running) == before

    # The same refusals from the service itself, whatever the handler.
    async with running.sessionmaker() as session:
        member_user = await users.get_user(session, MEMBER)
        other_user = await users.get_user(session, OTHER_MEMBER)
        with pytest.raises(NotAllowed):
            await review.propose(session, member_user, pid, review.Outcome.REJECT, "Нет")
        with pytest.raises(NotAllowed):
            await review.comment(session, other_user, pid, "Чужое замечание")
        with pytest.raises(NotAllowed):
            await review.assign(session, member_user, pid, ids["green"])
    assert await history(running) == before

    # The card's review panel opens the screen for a member of the committee.
    anchor = (await member.say("/cancel"))[0]
    replies = await member.click_data(
        anchor.message_id, CDProjectPanel(id=pid, panel="review").pack()
    )
    assert "💬 Замечание" in member.button_texts(find(replies, SCREEN))


async def test_illegal_assignments_are_refused(fake, running):
    ids = await world(fake, running)
    executive = fake.user(EXEC)
    draft = ids["project"]  # a draft: its organization's business only
    before = await history(running)
    await refused(executive, CDRevAssign(id=draft, body=ids["green"]).pack())
    await refused(executive, CDRev(action="assign", id=draft).pack())
    await refused(executive, CDRev(action="show", id=draft).pack())
    assert (await saved(running, draft)).status == ProjectStatus.DRAFT
    assert await history(running) == before

    submitted = await ps.project(
        running, ids["org"], ids["owner"], title="Второй", status=ProjectStatus.SUBMITTED
    )
    # Not a committee: the council, the presidium.
    async with running.sessionmaker() as session:
        council = await bodies.single(session, BodyKind.COUNCIL)
    await refused(executive, CDRevAssign(id=submitted, body=council.id).pack())
    assert "Такого комитета нет" in executive.callback_answers[-1].text
    await refused(executive, CDRevAssign(id=submitted, body=99999).pack())
    assert (await saved(running, submitted)).committee_id is None

    # Assigned once; the same press again changes nothing.
    lists = await executive.say("/projects_review")
    listed = find(lists, "Поданные проекты")
    screen = find(
        await executive.click(f"№{submitted} · Второй", message_id=listed.message_id), SCREEN
    )
    picker = find(
        await executive.click("📌 Назначить комитет", message_id=screen.message_id),
        "Направления комитетов",
    )
    await executive.click(GREEN, message_id=picker.message_id)
    after_one = await history(running)
    # (the picker became the screen; a client that kept the old button presses it again)
    await refused(executive, CDRevAssign(id=submitted, body=ids["green"]).pack())
    assert "нынешнем статусе" in executive.callback_answers[-1].text
    await refused(executive, CDRevAssign(id=submitted, body=ids["culture"]).pack())
    project = await saved(running, submitted)
    assert project.status == ProjectStatus.IN_REVIEW and project.committee_id == ids["green"]
    assert await history(running) == after_one

    # The service refuses a recommended project's return and a second assignment.
    recommended = await ps.project(
        running,
        ids["org"],
        ids["owner"],
        title="Третий",
        status=ProjectStatus.RECOMMENDED,
        committee_id=ids["green"],
    )
    async with running.sessionmaker() as session:
        chair = await users.get_user(session, CHAIR)
        overseer = await users.get_user(session, EXEC)
        with pytest.raises(IllegalTransition):
            await review.propose(session, chair, recommended, review.Outcome.RETURN, "Ещё")
        with pytest.raises(IllegalTransition):
            await review.assign(session, overseer, submitted, ids["green"])


async def test_put_to_vote_only_by_the_presidium_and_only_once_proposed(fake, running):
    ids = await world(fake, running)
    pid = await ps.project(
        running,
        ids["org"],
        ids["owner"],
        status=ProjectStatus.IN_REVIEW,
        committee_id=ids["green"],
    )
    presidium, chair = fake.user(PRESIDIUM), fake.user(CHAIR)
    before = await history(running)
    # Nothing proposed yet: no button, and a forged one is refused.
    screen = await open_screen(presidium, pid)
    assert "🗳 На голосование Совета" not in presidium.button_texts(screen)
    assert "💬 Замечание" not in presidium.button_texts(screen)
    await refused(presidium, CDRev(action="vote", id=pid).pack())
    await refused(presidium, CDRev(action="addressee", id=pid, page=2).pack())
    # The chair may not put it to the council themselves.
    await refused(chair, CDRev(action="addressee", id=pid, page=2).pack())
    assert await history(running) == before
    assert (await saved(running, pid)).vote_id is None

    # Proposed, put to the vote, the draft deleted: back in the presidium's list, and only one
    # vote at a time.
    replies = await propose(chair, pid, "✅ Предложить рекомендовать", "Нужен городу")
    assert "передано Президиуму" in joined(replies)
    screen = await open_screen(presidium, pid)
    await presidium.click("🗳 На голосование Совета", message_id=screen.message_id)
    replies = await presidium.click("Главе городского округа Серпухов")
    card = next(m for m in replies if "🗑 Удалить черновик" in presidium.button_texts(m))
    await refused(presidium, CDRev(action="addressee", id=pid, page=2).pack())
    assert "уже вынесен на голосование" in presidium.callback_answers[-1].text
    await refused(chair, CDRev(action="return", id=pid).pack())  # the council is deciding
    await presidium.click("🗑 Удалить черновик", message_id=card.message_id)
    await presidium.click("Да, удалить черновик")
    assert (await saved(running, pid)).vote_id is None
    lists = await presidium.say("/projects_review")
    assert f"№{pid} · Светлый двор" in presidium.button_texts(find(lists, "К голосованию Совета"))
