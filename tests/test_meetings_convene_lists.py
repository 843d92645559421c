"""/meetings and /meetings_archive through the real Dispatcher: each person sees the meetings
they may open (conferences for everyone once published, a body's sessions for its members, drafts
for their organizers), the coming ones soonest first and the past ones latest first, a page at a
time, each a button to its card; a minuted meeting's card says its minutes are published."""

from __future__ import annotations

from datetime import timedelta

from bot.services import users
from bot.services.meetings import core
from models.base import utcnow
from models.meetings import Meeting, MeetingStatus
from tests.meetings_support import TZ, conference, council_member, presidium, session_of
from tests.projects_support import committee
from tests.support import register

ORGANIZER, COUNCILLOR, CHAIR, MEMBER, RESIDENT = 7600, 7601, 7602, 7603, 7604


async def shift(running, meeting_id: int, days: int, **values) -> None:
    """Put a meeting `days` from now (in the past when negative), and set other fields."""
    async with running.sessionmaker.begin() as session:
        found = await session.get(Meeting, meeting_id)
        assert found is not None
        found.starts_at = utcnow() + timedelta(days=days)
        found.ends_at = found.starts_at + timedelta(hours=3)
        for name, value in values.items():
            setattr(found, name, value)


def answer(replies, marker: str):
    """The bot's reply among the messages that came meanwhile (notices arrive on their own)."""
    found = [m for m in replies if marker in m.text]
    assert found, [m.text for m in replies]
    return found[-1]


def numbers(text: str, titles: dict[str, int]) -> list[str]:
    """The titles in the order the list shows them."""
    found = [(text.find(f"«{title}»"), title) for title in titles if f"«{title}»" in text]
    return [title for _, title in sorted(found)]


async def test_lists_and_archive_show_what_each_may_see(fake, running):
    await presidium(running, ORGANIZER, "Председатель")
    await council_member(running, COUNCILLOR, "Член Совета")
    chair = await register(running, CHAIR, "Председатель комитета")
    member = await register(running, MEMBER, "Член комитета")
    await register(running, RESIDENT, "Житель")
    body = await committee(running, "Комитет по культуре", "Культура", chair, member)
    ids = {
        "Конференция А": await conference(running, ORGANIZER, title="Конференция А"),
        "Черновик Б": await conference(
            running, ORGANIZER, title="Черновик Б", publish=False, starts_in=timedelta(days=5)
        ),
        "Заседание В": await session_of(
            running, CHAIR, body, title="Заседание В", starts_in=timedelta(days=3)
        ),
        "Черновик Г": await session_of(
            running, CHAIR, body, title="Черновик Г", starts_in=timedelta(days=2), publish=False
        ),
        "Прошедшая Д": await conference(running, ORGANIZER, title="Прошедшая Д"),
        "Отменённое Е": await session_of(
            running, CHAIR, body, title="Отменённое Е", starts_in=timedelta(days=8)
        ),
        "С протоколом Ж": await conference(running, ORGANIZER, title="С протоколом Ж"),
        "Отменённый черновик З": await conference(
            running, ORGANIZER, title="Отменённый черновик З", publish=False
        ),
    }
    await shift(running, ids["Прошедшая Д"], -20)
    await shift(
        running,
        ids["С протоколом Ж"],
        -40,
        status=MeetingStatus.MINUTED,
        minutes_at=utcnow() - timedelta(days=39),
        minutes_text="Протокол",
    )
    async with running.sessionmaker.begin() as session:
        for title, telegram_id in (("Отменённое Е", CHAIR), ("Отменённый черновик З", ORGANIZER)):
            actor = await users.get_user(session, telegram_id)
            await core.cancel(session, actor, ids[title], timezone=TZ)

    async def lists(telegram_id: int) -> tuple[list[str], list[str]]:
        person = fake.user(telegram_id)
        coming = answer(await person.say("/meetings"), "Впереди").text
        past = answer(await person.say("/meetings_archive"), "Архив").text
        return numbers(coming, ids), numbers(past, ids)

    assert await lists(RESIDENT) == (["Конференция А"], ["Прошедшая Д", "С протоколом Ж"])
    assert await lists(MEMBER) == (
        ["Заседание В", "Конференция А"],
        ["Отменённое Е", "Прошедшая Д", "С протоколом Ж"],
    )
    assert await lists(CHAIR) == (
        ["Черновик Г", "Заседание В", "Конференция А"],
        ["Отменённое Е", "Прошедшая Д", "С протоколом Ж"],
    )
    assert await lists(ORGANIZER) == (
        ["Черновик Г", "Заседание В", "Черновик Б", "Конференция А"],
        ["Отменённый черновик З", "Отменённое Е", "Прошедшая Д", "С протоколом Ж"],
    )

    # Each line is a button to the card; a minuted meeting's card says the minutes are out.
    resident = fake.user(RESIDENT)
    shown = answer(await resident.say("/meetings_archive"), "Архив")
    label = f"№{ids['С протоколом Ж']} · С протоколом Ж"
    assert label in resident.button_texts(shown)
    card = answer(await resident.click(label, shown.message_id), "Статус")
    assert "протокол опубликован" in card.text and "«С протоколом Ж»" in card.text
    # A session of a body one is not in stays hidden, also by its number.
    replies = await resident.say(f"/meeting_{ids['Заседание В']}")
    assert answer(replies, "нет прав")


async def test_a_long_list_is_paged(fake, running):
    await presidium(running, ORGANIZER, "Председатель")
    await council_member(running, COUNCILLOR, "Член Совета")
    await register(running, RESIDENT, "Житель")
    for day in range(1, 11):
        await conference(
            running, ORGANIZER, title=f"Конференция {day:02}", starts_in=timedelta(days=day)
        )
    resident = fake.user(RESIDENT)
    first = answer(await resident.say("/meetings"), "Впереди")
    assert "10 мероприятий" in first.text
    assert "«Конференция 01»" in first.text and "«Конференция 09»" not in first.text
    assert "1/2" in resident.button_texts(first)
    second = answer(await resident.click("▶", first.message_id), "Впереди")
    assert second.message_id == first.message_id
    assert "«Конференция 09»" in second.text and "«Конференция 10»" in second.text
    assert "«Конференция 01»" not in second.text
