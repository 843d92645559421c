"""The Secretariat's application card shows the newest part of a long conversation: the
applicant's latest answer is what the decision rests on."""

from __future__ import annotations

from bot.services import organizations, users
from tests.support import make_secretary, register
from tests.test_organizations import add_district, apply, open_application, organization

SECRETARY = 3100
APPLICANT = 3003


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def talk(running, org_id: int, *pairs: tuple[str, str]) -> None:
    """Questions and answers, in order, as the Secretariat and the applicant wrote them."""
    for question, answer in pairs:
        async with running.sessionmaker.begin() as session:
            secretary = await users.get_user(session, SECRETARY)
            await organizations.request_info(session, secretary, org_id, question)
        async with running.sessionmaker.begin() as session:
            applicant = await users.get_user(session, APPLICANT)
            await organizations.answer_info(session, applicant, org_id, answer)


async def pending_application(fake, running) -> int:
    await add_district(running)
    await register(running, APPLICANT, "Анна")
    await make_secretary(running, SECRETARY, "Ольга")
    applicant = await apply(fake, APPLICANT)
    await applicant.click("📨 Отправить заявку")
    return (await organization(running)).id


async def test_a_long_conversation_keeps_its_newest_messages(fake, running):
    org_id = await pending_application(fake, running)
    filler = " Подробности & <уточнения> «в кавычках»." * 14  # ~600 characters, with markup
    pairs = [(f"Вопрос {i}.{filler}", f"Ответ {i}.{filler}") for i in range(1, 8)]
    pairs[0] = ("ПЕРВЫЙ ВОПРОС." + filler, pairs[0][1])
    pairs[-1] = (pairs[-1][0], "ПОСЛЕДНИЙ ОТВЕТ: около двухсот человек." + filler)
    await talk(running, org_id, *pairs)

    secretary = fake.user(SECRETARY, "Ольга")
    card = secretary.message(await open_application(secretary)).text
    assert "ПОСЛЕДНИЙ ОТВЕТ: около двухсот человек." in card
    assert "ПЕРВЫЙ ВОПРОС" not in card
    assert "не поместились в карточку" in card  # says that earlier messages were cut
    assert "ТОС «Заречье»" in card  # the application itself always stays
    assert utf16(card) <= 4096
    # Whole messages are kept, in order, the newest last.
    assert card.rstrip().endswith("в кавычках».")
    assert card.index("Вопрос 7.") < card.index("ПОСЛЕДНИЙ ОТВЕТ")


async def test_one_huge_newest_answer_shows_its_beginning(fake, running):
    org_id = await pending_application(fake, running)
    await talk(running, org_id, ("Сколько?", "НАЧАЛО " + "😀" * 1990))
    secretary = fake.user(SECRETARY, "Ольга")
    card = secretary.message(await open_application(secretary)).text
    assert "НАЧАЛО 😀😀" in card
    assert "1 более раннее сообщение переписки не поместилось" in card  # the question
    assert utf16(card) <= 4096


async def test_a_short_conversation_is_shown_whole(fake, running):
    org_id = await pending_application(fake, running)
    await talk(running, org_id, ("Сколько жителей?", "Около двухсот"), ("А улиц?", "Три"))
    secretary = fake.user(SECRETARY, "Ольга")
    card = secretary.message(await open_application(secretary)).text
    for text in ("Сколько жителей?", "Около двухсот", "А улиц?", "Три"):
        assert text in card
    assert "не помест" not in card
