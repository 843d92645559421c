"""What a need's people are told: its filer and its supporters hear of every change of status and
every public answer (topic "needs", so /settings can switch it off); the filer gets a moderator's
question with a reply button; moderators hear of replies and of needs waiting too long.

Texts are stored as catalogue keys and written in each recipient's language when sent.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.services import roles
from models import Outbox, Representative, Role, Topic, User
from models.needs import Need, NeedSupport

# A need's description in a notice: enough to recognise it.
EXCERPT = 80


def excerpt(need: Need) -> str:
    text = " ".join(need.description.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "…"


async def followers(session: AsyncSession, need: Need) -> list[int]:
    """The need's filer and its supporters (ids, once each)."""
    ids = set(
        await session.scalars(select(NeedSupport.user_id).where(NeedSupport.need_id == need.id))
    )
    if need.author_id is not None:
        ids.add(need.author_id)
    return sorted(ids)


async def to_followers(
    session: AsyncSession,
    need: Need,
    key: str,
    *,
    exclude: Iterable[int] = (),
    **params: str | int,
) -> Outbox | None:
    """Queue `key` for the need's filer and supporters (not `exclude`: the one who acted)."""
    skip = set(exclude)
    ids = [user_id for user_id in await followers(session, need) if user_id not in skip]
    if not ids:
        return None
    outbox = Outbox(
        kind="notice",
        topic=Topic.NEEDS,
        text_key=key,
        text_params={"number": need.id, "summary": excerpt(need), **params},
    )
    await delivery.enqueue(session, outbox, {"users": ids})
    return outbox


async def to_filer(
    session: AsyncSession,
    need: Need,
    key: str,
    *,
    buttons: list[list[dict[str, str]]] | None = None,
    **params: str | int,
) -> Outbox | None:
    """Queue `key` for the filer alone (a question, a rejection's reason): duty, not mutable,
    since it asks or tells them something about their own need."""
    if need.author_id is None:
        return None
    outbox = Outbox(
        kind="notice",
        topic=Topic.DUTY,
        text_key=key,
        text_params={"number": need.id, "summary": excerpt(need), **params},
        buttons=buttons,
    )
    await delivery.enqueue(session, outbox, {"users": [need.author_id]})
    return outbox


async def base_representatives(session: AsyncSession, organization_id: int) -> list[User]:
    rows = await session.scalars(
        select(User)
        .join(Representative, Representative.user_id == User.id)
        .where(Representative.organization_id == organization_id, User.deleted_at.is_(None))
        .order_by(User.id)
    )
    return list(rows)


async def to_people(
    session: AsyncSession, people: Iterable[User], need: Need, key: str, **params: str | int
) -> Outbox | None:
    """A duty notice about a need to named people (moderators)."""
    ids = sorted({person.id for person in people})
    if not ids:
        return None
    outbox = Outbox(
        kind="notice",
        topic=Topic.DUTY,
        text_key=key,
        text_params={"number": need.id, "summary": excerpt(need), **params},
    )
    await delivery.enqueue(session, outbox, {"users": ids})
    return outbox


async def secretariat(session: AsyncSession) -> list[User]:
    return await roles.holders(session, Role.SECRETARIAT)
