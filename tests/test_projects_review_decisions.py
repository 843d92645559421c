"""Review and decision, the other ways it ends: the council does not adopt (the project stays in
review and the committee decides again), the chair rejects at once, and the lists page."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from bot.services import users
from bot.services.projects import review
from bot.texts import utf16_len
from models import Recommendation, Vote, VoteStatus
from models.base import utcnow
from models.projects import Project, ProjectEvent, ProjectEventKind, ProjectStatus
from tests import projects_support as ps
from tests.test_projects_review import (
    CHAIR,
    COUNCIL,
    EXEC,
    MEMBER,
    OWNER,
    PRESIDIUM,
    events,
    find,
    item,
    joined,
    open_screen,
    propose,
    saved,
    texts,
    world,
)
from tests.test_votes import ballot_of, run_jobs_now


async def in_review(running, ids: dict[str, int], title: str = "Светлый двор") -> int:
    return await ps.project(
        running,
        ids["org"],
        ids["owner"],
        title=title,
        district_id=ids["d1"],
        status=ProjectStatus.IN_REVIEW,
        committee_id=ids["green"],
    )


async def test_the_council_not_adopting_leaves_it_in_review(fake, running):
    ids = await world(fake, running)
    pid = await in_review(running, ids, "Сквер у школы")
    chair, member, presidium, owner = (fake.user(tg) for tg in (CHAIR, MEMBER, PRESIDIUM, OWNER))
    replies = await propose(chair, pid, "✅ Предложить рекомендовать", "Полезный проект")
    assert "передано Президиуму" in joined(replies)

    # The presidium types its own addressee; the scheduler closes the vote.
    screen = await open_screen(presidium, pid)
    await presidium.click("🗳 На голосование Совета", message_id=screen.message_id)
    await presidium.say_photo()
    assert "ответьте текстом" in presidium.last.text
    replies = await presidium.say("Главе городского округа <лично>")
    card = next(m for m in replies if "▶️ Открыть голосование" in presidium.button_texts(m))
    vote_id = (await saved(running, pid)).vote_id
    assert vote_id is not None
    await presidium.click("▶️ Открыть голосование", message_id=card.message_id)
    await presidium.click("Да, открыть и разослать бюллетени")
    await running.delivered()
    for tg, choice in zip(COUNCIL, ("Против", "Против", "За"), strict=True):
        person = fake.user(tg)
        await person.click(choice, message_id=ballot_of(person, vote_id).message_id)
    async with running.sessionmaker.begin() as session:
        await session.execute(
            update(Vote).where(Vote.id == vote_id).values(closes_at=utcnow() - timedelta(seconds=1))
        )
    await run_jobs_now(running, vote_id, "vote.close")

    async with running.sessionmaker() as session:
        vote = await session.get(Vote, vote_id)
        assert vote.status == VoteStatus.CLOSED
        assert vote.addressee == "Главе городского округа <лично>"
        assert await session.scalar(select(func.count()).select_from(Recommendation)) == 0
    project = await saved(running, pid)
    assert project.status == ProjectStatus.IN_REVIEW
    votes_seen = await events(running, pid, ProjectEventKind.VOTE)
    assert [e.subject_id for e in votes_seen] == [vote_id, vote_id] and votes_seen[-1].text
    await running.delivered()
    notice = f"Совет не принял рекомендацию по проекту №{pid} «Сквер у школы»"
    for person in (owner, chair, member):
        assert notice in texts(person)

    # Not in the presidium's list any more: the committee decides again.
    lists = await presidium.say("/projects_review")
    assert "ждущих голосования Совета, нет" in joined(lists)
    replies = await propose(chair, pid, "✅ Предложить рекомендовать", "Доработали, просим снова")
    assert "передано Президиуму" in joined(replies)
    lists = await presidium.say("/projects_review")
    listed = find(lists, "К голосованию Совета")
    assert item(pid, "Сквер у школы") in presidium.button_texts(listed)


async def test_the_chair_rejects_at_once_and_bad_reasons_are_explained(fake, running):
    ids = await world(fake, running)
    pid = await in_review(running, ids)
    chair, owner = fake.user(CHAIR), fake.user(OWNER)
    screen = await open_screen(chair, pid)
    async with running.sessionmaker.begin() as session:
        await review.comment(session, await users.get_user(session, MEMBER), pid, "Не наш профиль")
    refreshed = find(await chair.click("🔄 Обновить", message_id=screen.message_id), "Статус: ")
    assert refreshed.message_id == screen.message_id  # in place
    assert "1 замечание комитета" in refreshed.text and "Не наш профиль" in refreshed.text
    await chair.click("⛔ Отклонить", message_id=screen.message_id)
    assert "Почему проект" in chair.last.text
    replies = await chair.say("   ")
    assert "Нужен текст" in joined(replies)
    replies = await chair.say("я" * 5000)
    assert "Слишком длинно: 5000 символов, можно до 2000" in joined(replies)
    assert (await saved(running, pid)).status == ProjectStatus.IN_REVIEW
    replies = await chair.say("Не в полномочиях <Ассамблеи> 🙂")
    assert f"Проект №{pid} отклонён" in joined(replies)
    project = await saved(running, pid)
    assert project.status == ProjectStatus.REJECTED and project.proposed_outcome == "reject"
    [status] = await events(running, pid, ProjectEventKind.STATUS)
    assert (status.from_status, status.to_status) == (
        ProjectStatus.IN_REVIEW,
        ProjectStatus.REJECTED,
    )
    await running.delivered()
    assert "Не в полномочиях &lt;Ассамблеи&gt; 🙂" in "\n".join(
        m.html or "" for m in owner.bot_messages
    )
    # Pressed again: the project moved on, nothing changes.
    await chair.click("⛔ Отклонить", message_id=screen.message_id)
    assert chair.callback_answers[-1].show_alert
    assert "нынешнем статусе" in chair.callback_answers[-1].text
    assert len(await events(running, pid, ProjectEventKind.PROPOSAL)) == 1


async def test_the_lists_page(fake, running):
    ids = await world(fake, running)
    numbers = [
        await ps.project(
            running,
            ids["org"],
            ids["owner"],
            title=f"Проект {n}",
            status=ProjectStatus.SUBMITTED,
        )
        for n in range(8)
    ]
    executive = fake.user(EXEC)
    lists = await executive.say("/projects_review")
    listed = find(lists, "ждущие комитета: 8 проектов")
    shown = executive.button_texts(listed)
    assert shown[:6] == [item(n, f"Проект {i}") for i, n in enumerate(numbers[:6])]
    assert "1/2" in shown and "▶" in shown
    page = find(await executive.click("▶", message_id=listed.message_id), "ждущие комитета")
    assert executive.button_texts(page)[:2] == [
        item(numbers[6], "Проект 6"),
        item(numbers[7], "Проект 7"),
    ]
    # A page number past the end shows the last page.
    await executive.click_data(page.message_id, "prq:assign:99")
    assert not executive.callback_answers[-1].show_alert
    shown = executive.button_texts(executive.message(page.message_id))
    assert item(numbers[7], "Проект 7") in shown
    # An unknown list is a stale button.
    await executive.click_data(page.message_id, "prq:nothing:0")
    assert executive.callback_answers[-1].show_alert


async def test_long_fields_and_many_comments_fit_one_message(fake, running):
    ids = await world(fake, running)
    pid = await in_review(running, ids, "Т" * 200)
    async with running.sessionmaker.begin() as session:
        project = await session.get(Project, pid)
        project.summary = project.goals = "<b>" + "ж" * 2990
        project.budget_sources = "💰" * 1000
        for index in range(12):
            session.add(
                ProjectEvent(
                    project_id=pid,
                    kind=ProjectEventKind.COMMENT,
                    actor_id=ids["member"],
                    version=1,
                    text=f"{index} " + "😀" * 1999,
                )
            )
    member = fake.user(MEMBER)
    screen = await open_screen(member, pid)
    assert "12 замечаний комитета" in screen.text and "&lt;b&gt;" in screen.html
    # The chair's return carries the comments, cut to fit the notice.
    replies = await propose(fake.user(CHAIR), pid, "↩️ Вернуть на доработку", "Сократите")
    assert "возвращён на доработку" in joined(replies)
    await running.delivered()
    returned = find(fake.user(OWNER).bot_messages, "Сократите")
    assert "💬 Член Сидорова: 0 " in returned.text
    assert utf16_len(returned.text) <= 4096 and len(returned.text) > 1000


async def test_notices_come_in_each_members_language(fake, running):
    ids = await world(fake, running)
    async with running.sessionmaker.begin() as session:
        (await users.get_user(session, MEMBER)).language = "en"
    pid = await ps.project(
        running, ids["org"], ids["owner"], title="Светлый <двор>", status=ProjectStatus.SUBMITTED
    )
    async with running.sessionmaker.begin() as session:
        await review.assign(session, await users.get_user(session, EXEC), pid, ids["green"])
    await running.delivered()
    told = texts(fake.user(MEMBER))
    assert f"A new project in the queue of “Комитет по благоустройству”: No. {pid}" in told
    assert "Светлый <двор>" in told  # escaped in HTML, shown as typed
    assert f"новый проект №{pid}" in texts(fake.user(CHAIR))
