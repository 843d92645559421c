"""The similar-needs search: Russian word stems, not exact words; the same district's open needs
only; a need that is no longer open leaves the index."""

from __future__ import annotations

from sqlalchemy import select

from bot.services.needs import terms
from models import District, User
from models.needs import Need, NeedCategory, NeedStatus


def test_stems_match_other_forms_of_the_same_words():
    filed = set(terms.stems_of("Не горит фонарь у подъезда, во дворе темно"))
    typed = set(terms.stems_of("Фонари во дворе не горят"))
    assert {"фонар", "двор", "гор"} <= filed & typed
    assert "не" not in filed and "во" not in filed  # words that say nothing are left out
    assert terms.stems_of("!!! 🙂 <b>") == []


async def _need(session, district: District, text: str, author: User) -> Need:
    category = await session.scalar(select(NeedCategory).where(NeedCategory.code == "yards"))
    need = Need(
        district_id=district.id, category_id=category.id, author_id=author.id, description=text
    )
    session.add(need)
    await session.flush()
    await terms.index(session, need)
    return need


async def test_similar_open_needs_of_the_same_district(session):
    north, south = District(number=1, name="Северный"), District(number=2, name="Южный")
    author = User(telegram_id=5001, name="Анна")
    session.add_all([north, south, author])
    await session.flush()
    lamp = await _need(session, north, "Не горит фонарь у подъезда, во дворе темно", author)
    await _need(session, north, "Яма на дороге у школы, машины бьют колёса", author)
    elsewhere = await _need(session, south, "Фонари во дворе не горят уже месяц", author)

    found = await terms.similar(session, north.id, "Фонари во дворе не горят")
    assert [need.id for need, _ in found] == [lamp.id]
    assert found[0][1] >= 3
    assert elsewhere.id not in {need.id for need, _ in found}
    assert await terms.similar(session, north.id, "Нужна секция шахмат для пенсионеров") == []

    lamp.status = NeedStatus.RESOLVED
    await terms.unindex(session, lamp.id)
    assert await terms.similar(session, north.id, "Фонари во дворе не горят") == []
