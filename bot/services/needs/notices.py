"""What a need's people are told: its filer and its supporters hear of every change of status and
every public answer (topic "needs", so /settings can switch it off); the filer gets a moderator's
question with a reply button; moderators hear of replies and of needs waiting too long.

Texts are stored as catalogue keys and written in each recipient's language when sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.i18n import PoI18n
from bot.languages import language_of
from bot.services import roles
from bot.texts import plain
from models import Outbox, Representative, Role, Topic, User
from models.needs import Need, NeedEvent, NeedEventKind, NeedSupport

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
    return await _queue(session, need, key, Topic.NEEDS, ids, params)


async def _queue(
    session: AsyncSession,
    need: Need,
    key: str,
    topic: Topic,
    ids: list[int],
    params: dict[str, str | int],
    buttons: list[list[dict[str, str]]] | None = None,
) -> Outbox | None:
    """A notice about the need (its number and the beginning of its text) to these people."""
    if not ids:
        return None
    outbox = Outbox(
        kind="notice",
        topic=topic,
        text_key=key,
        text_params={"number": need.id, "summary": excerpt(need), **params},
        buttons=buttons,
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
    return await _queue(session, need, key, Topic.DUTY, [need.author_id], params, buttons)


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
    return await _queue(session, need, key, Topic.DUTY, ids, params)


async def secretariat(session: AsyncSession) -> list[User]:
    return await roles.holders(session, Role.SECRETARIAT)


# --- The daily digest ----------------------------------------------------------------------------

# The news of a need a digest tells: its public history.
DIGEST_KINDS = (NeedEventKind.STATUS, NeedEventKind.ANSWER, NeedEventKind.TAKEN_UP)


def _news(event: NeedEvent) -> tuple[str, dict[str, object]]:
    """What a digest line says about an event: a catalogue key and its parameters."""
    if event.kind == NeedEventKind.STATUS and event.status_to is not None:
        return f"needs-mod-status-{event.status_to.value.replace('_', '-')}", {}
    if event.kind == NeedEventKind.TAKEN_UP:
        return "needs-notice-digest-taken-up", {"vote": event.subject_id or 0}
    return "needs-notice-digest-answer", {}


async def digest_lines(
    session: AsyncSession,
    since: datetime,
    until: datetime,
    i18n: PoI18n,
    default_language: str,
) -> dict[int, list[str]]:
    """For each digest reader, a line per need they filed or support that has public news
    between `since` and `until` ("• №12 «…»: accepted; public answer"), in their language."""
    happened = (
        await session.scalars(
            select(NeedEvent)
            .where(
                NeedEvent.public.is_(True),
                NeedEvent.kind.in_(DIGEST_KINDS),
                NeedEvent.created_at > since,
                NeedEvent.created_at <= until,
            )
            .order_by(NeedEvent.need_id, NeedEvent.id)
        )
    ).all()
    by_need: dict[int, list[NeedEvent]] = defaultdict(list)
    for event in happened:
        by_need[event.need_id].append(event)
    lines: dict[int, list[str]] = defaultdict(list)
    for need_id, news in by_need.items():
        need = await session.get(Need, need_id)
        if need is None:
            continue
        ids = await followers(session, need)
        readers = await session.execute(
            delivery.audience_query({"users": ids}, Topic.DIGEST).add_columns(User.language)
        )
        for user_id, language in readers.all():
            with i18n.context(), i18n.use_locale(language_of(language, default_language)):
                said = "; ".join(plain(key, **params) for key, params in map(_news, news))
                lines[user_id].append(
                    plain("needs-notice-digest-line", number=need.id, summary=excerpt(need))
                    + " "
                    + said
                )
    return lines
