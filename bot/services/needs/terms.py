"""Word stems of a need's description and the similar-needs index built from them.

Russian words are reduced to their Snowball stems ("фонари не горят" and "не горит фонарь" share
"фонар" and "гор"), so a new text finds the district's open needs that say the same thing in other
words. The index is the `need_terms` table: a row per stem of an open need, with its district, so
the search is one indexed query on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer
from sqlalchemy import delete, desc, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.needs import OPEN_STATUSES, Need, NeedTerm

# Words that say nothing about what a need is about.
STOP_WORDS = frozenset(
    [
        "а",
        "без",
        "более",
        "бы",
        "был",
        "была",
        "были",
        "было",
        "быть",
        "в",
        "вам",
        "вас",
        "весь",
        "во",
        "вот",
        "все",
        "всего",
        "всех",
        "вы",
        "где",
        "да",
        "даже",
        "для",
        "до",
        "его",
        "ее",
        "её",
        "если",
        "есть",
        "еще",
        "ещё",
        "же",
        "за",
        "здесь",
        "и",
        "из",
        "или",
        "им",
        "их",
        "к",
        "как",
        "ко",
        "когда",
        "кто",
        "ли",
        "либо",
        "мне",
        "может",
        "мы",
        "на",
        "над",
        "надо",
        "наш",
        "не",
        "него",
        "нее",
        "неё",
        "нет",
        "ни",
        "них",
        "но",
        "ну",
        "о",
        "об",
        "однако",
        "он",
        "она",
        "они",
        "оно",
        "от",
        "очень",
        "по",
        "под",
        "после",
        "при",
        "про",
        "с",
        "со",
        "так",
        "также",
        "такой",
        "там",
        "те",
        "тем",
        "то",
        "того",
        "тоже",
        "той",
        "только",
        "том",
        "ты",
        "у",
        "уже",
        "хотя",
        "чего",
        "чей",
        "чем",
        "что",
        "чтобы",
        "чье",
        "чьё",
        "эта",
        "эти",
        "это",
        "я",
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
    ]
)
WORD = re.compile(r"[0-9a-zа-яё]+", re.IGNORECASE)
# Stems kept per need: enough for any real description, bounded for a pasted novel.
MAX_STEMS = 64
STEM_LENGTH = 64


@lru_cache(maxsize=2)
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(language)


def stems_of(text: str) -> list[str]:
    """The distinct stems of a text's meaningful words, in order of first appearance."""
    russian, english = _stemmer("russian"), _stemmer("english")
    seen: dict[str, None] = {}
    for match in WORD.finditer(text.lower().replace("ё", "е")):
        word = match.group(0)
        if word in STOP_WORDS or (len(word) < 3 and not word.isdigit()):
            continue
        stemmer = english if word.isascii() else russian
        seen.setdefault(stemmer.stemWord(word)[:STEM_LENGTH], None)
        if len(seen) >= MAX_STEMS:
            break
    return list(seen)


async def index(session: AsyncSession, need: Need) -> None:
    """Put an open need into the search index (again, if its text or district changed)."""
    await unindex(session, need.id)
    need.stems = " ".join(stems_of(need.description))
    if need.status in OPEN_STATUSES:
        session.add_all(
            NeedTerm(stem=stem, district_id=need.district_id, need_id=need.id)
            for stem in need.stems.split()
        )
    await session.flush()


async def unindex(session: AsyncSession, need_id: int) -> None:
    """Take a need out of the search index (it is no longer open: resolved, rejected, merged)."""
    await session.execute(delete(NeedTerm).where(NeedTerm.need_id == need_id))


def enough(shared: int, asked: int) -> bool:
    """Whether `shared` stems in common with a text of `asked` stems make a need similar: at least
    two (one for a text of one or two words), and at least a third of the text's."""
    return shared >= min(2, asked) and shared * 3 >= asked


async def similar(
    session: AsyncSession, district_id: int, text: str, limit: int = 5
) -> list[tuple[Need, int]]:
    """The district's open needs most like `text`, with the number of stems they share, best
    first (newer first among equals)."""
    stems = stems_of(text)
    if not stems:
        return []
    shared = func.count().label("shared")
    rows = (
        await session.execute(
            select(NeedTerm.need_id, shared)
            .where(NeedTerm.district_id == district_id, NeedTerm.stem.in_(stems))
            .group_by(NeedTerm.need_id)
            .order_by(desc(shared), desc(NeedTerm.need_id))
            .limit(limit)
        )
    ).all()
    found = [(need_id, count) for need_id, count in rows if enough(count, len(stems))]
    if not found:
        return []
    needs = {
        need.id: need
        for need in await session.scalars(select(Need).where(Need.id.in_([n for n, _ in found])))
    }
    return [(needs[need_id], count) for need_id, count in found if need_id in needs]
