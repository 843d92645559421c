"""Working a district's needs: the statuses and the only ways between them, the moderators'
queue, merging duplicates, questions to the filer, public answers, taking a need up in a vote.

    new → accepted → in work (by an organization or a named "who") → resolved
    new | accepted → rejected (with a reason) | merged (into another open need)

Every action is checked here, on the server, whatever buttons a message carried: the actor must
moderate the need's district (`access.require_moderator`), and the move must be in `TRANSITIONS`.
Every change writes a NeedEvent and an audit entry and tells the filer and the supporters.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import affected
from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.needs import access, escalation, terms
from bot.services.needs import notices as need_notices
from bot.services.paging import Page, page_bounds
from bot.services.permissions import PRESIDIUM, has_any_role
from bot.services.votes import access as vote_access
from models import Organization, Representative, User
from models.base import utcnow
from models.needs import (
    OPEN_STATUSES,
    Need,
    NeedEvent,
    NeedEventKind,
    NeedStatus,
    NeedSupport,
)

S = NeedStatus
TRANSITIONS: dict[NeedStatus, frozenset[NeedStatus]] = {
    S.NEW: frozenset({S.ACCEPTED, S.REJECTED, S.MERGED}),
    S.ACCEPTED: frozenset({S.IN_WORK, S.RESOLVED, S.REJECTED, S.MERGED}),
    S.IN_WORK: frozenset({S.RESOLVED}),
    S.RESOLVED: frozenset(),
    S.REJECTED: frozenset(),
    S.MERGED: frozenset(),
}
# A first decision on a new need.
DECISIONS = frozenset({S.ACCEPTED, S.REJECTED, S.MERGED})
TEXT_MAX = 2000
HANDLER_MAX = 300
PER_PAGE = 8


# The statuses a need can be moved to (each tells its followers).
NOTIFIED = frozenset(to for targets in TRANSITIONS.values() for to in targets)


def slug(status: NeedStatus) -> str:
    """The status as it is spelled in catalogue keys (in_work -> in-work)."""
    return status.value.replace("_", "-")


class IllegalTransition(InvalidInput):
    key = "needs-mod-illegal"


def may_move(status: NeedStatus, to: NeedStatus) -> bool:
    return to in TRANSITIONS[status]


def clean_text(text: str | None, *, limit: int = TEXT_MAX) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("needs-mod-text-empty")
    if len(text) > limit:
        raise InvalidInput("needs-mod-text-too-long", max=limit, length=len(text))
    return text


async def get(session: AsyncSession, need_id: int) -> Need:
    need = await session.get(Need, need_id) if 0 < need_id < 2**31 else None
    if need is None:
        raise NotFound("needs-mod-not-found", number=need_id)
    return need


async def for_moderator(session: AsyncSession, actor: User | None, need_id: int) -> Need:
    """The need, if `actor` may work it (its district's base organization, the Secretariat)."""
    need = await get(session, need_id)
    await access.require_moderator(session, actor, need)
    return need


async def speaks_for(session: AsyncSession, actor: User, need: Need) -> Organization | None:
    """The district's base organization, when the actor represents it."""
    base = await access.base_organization(session, need.district_id)
    if base is None:
        return None
    represents = await session.scalar(
        select(Representative.user_id).where(
            Representative.organization_id == base.id, Representative.user_id == actor.id
        )
    )
    return base if represents is not None else None


async def _event(
    session: AsyncSession,
    actor: User | None,
    need: Need,
    kind: NeedEventKind,
    *,
    public: bool = True,
    text: str | None = None,
    status_from: NeedStatus | None = None,
    status_to: NeedStatus | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
) -> NeedEvent:
    organization = await speaks_for(session, actor, need) if actor is not None else None
    event = NeedEvent(
        need_id=need.id,
        kind=kind,
        public=public,
        text=text,
        status_from=status_from,
        status_to=status_to,
        actor_id=actor.id if actor else None,
        organization_id=organization.id if organization else None,
        subject_type=subject_type,
        subject_id=subject_id,
    )
    session.add(event)
    await session.flush()
    return event


async def _move(
    session: AsyncSession,
    actor: User,
    need: Need,
    to: NeedStatus,
    *,
    text: str | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
) -> NeedEvent:
    """The one place a need's status changes: checked, dated, recorded, unindexed."""
    before = need.status
    if not may_move(before, to):
        raise IllegalTransition()
    now = utcnow()
    # Conditional on the status we read: of two presses at the same moment, one moves it.
    moved = await session.execute(
        update(Need)
        .where(Need.id == need.id, Need.status == before)
        .values(status=to, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if affected(moved) != 1:
        raise IllegalTransition()
    need.status = to
    need.updated_at = now
    if to in DECISIONS and need.decided_at is None:
        need.decided_at = now
    if to == S.RESOLVED:
        need.resolved_at = now
    if before == S.NEW:
        await escalation.cancel(session, need.id)
    if to not in OPEN_STATUSES:
        await terms.unindex(session, need.id)
    event = await _event(
        session,
        actor,
        need,
        NeedEventKind.STATUS,
        text=text,
        status_from=before,
        status_to=to,
        subject_type=subject_type,
        subject_id=subject_id,
    )
    return event


async def _tell_status(session: AsyncSession, need: Need, actor: User) -> None:
    await need_notices.to_followers(
        session,
        need,
        f"needs-notice-status-{slug(need.status)}",
        exclude=[actor.id],
        handler=need.handler_text or "",
        reason=need.reject_reason or "",
        target=need.merged_into_id or 0,
    )


# --- Decisions ---------------------------------------------------------------------------------


async def accept(session: AsyncSession, actor: User | None, need_id: int) -> Need:
    need = await for_moderator(session, actor, need_id)
    assert actor is not None
    await _move(session, actor, need, S.ACCEPTED)
    await audit.record(session, actor, "need.accept", "need", need.id)
    await _tell_status(session, need, actor)
    return need


async def reject(session: AsyncSession, actor: User | None, need_id: int, reason: str) -> Need:
    need = await for_moderator(session, actor, need_id)
    assert actor is not None
    reason = clean_text(reason)
    if not may_move(need.status, S.REJECTED):
        raise IllegalTransition()
    need.reject_reason = reason
    await _move(session, actor, need, S.REJECTED, text=reason)
    await audit.record(session, actor, "need.reject", "need", need.id)
    await _tell_status(session, need, actor)
    return need


async def mark_in_work(
    session: AsyncSession,
    actor: User | None,
    need_id: int,
    *,
    by_base: bool = False,
    who: str | None = None,
) -> Need:
    """In work by the district's base organization (`by_base`) or by a named "who"."""
    need = await for_moderator(session, actor, need_id)
    assert actor is not None
    if by_base:
        base = await access.base_organization(session, need.district_id)
        if base is None:
            raise InvalidInput("needs-mod-no-base")
        organization_id, handler = base.id, base.name
    else:
        organization_id, handler = None, clean_text(who, limit=HANDLER_MAX)
    if not may_move(need.status, S.IN_WORK):
        raise IllegalTransition()
    need.handler_organization_id = organization_id
    need.handler_text = handler
    await _move(session, actor, need, S.IN_WORK, text=handler)
    await audit.record(session, actor, "need.in_work", "need", need.id, handler=handler)
    await _tell_status(session, need, actor)
    return need


async def resolve(
    session: AsyncSession, actor: User | None, need_id: int, text: str | None = None
) -> Need:
    need = await for_moderator(session, actor, need_id)
    assert actor is not None
    await _move(session, actor, need, S.RESOLVED, text=text)
    await audit.record(session, actor, "need.resolve", "need", need.id)
    await _tell_status(session, need, actor)
    return need


async def merge(session: AsyncSession, actor: User | None, need_id: int, target_id: int) -> Need:
    """Merge a duplicate into another open need of the same district: its supporters and its
    filer become the target's supporters (each person once, the target's filer not at all)."""
    need = await for_moderator(session, actor, need_id)
    assert actor is not None
    if target_id == need.id:
        raise InvalidInput("needs-mod-merge-self")
    target = await get(session, target_id)
    # Both rows locked in one order (PostgreSQL; SQLite has one writer), so that two moderators
    # merging A into B and B into A at the same instant wait for each other, not deadlock.
    await session.execute(
        select(Need.id).where(Need.id.in_((need.id, target.id))).order_by(Need.id).with_for_update()
    )
    if target.district_id != need.district_id:
        raise InvalidInput("needs-mod-merge-other-district", target=target.id)
    if target.status not in OPEN_STATUSES:
        raise InvalidInput("needs-mod-merge-closed", target=target.id)
    if not may_move(need.status, S.MERGED):
        raise IllegalTransition()
    # Conditional on the target being open still: of A into B and B into A at once, the second
    # finds its target merged (the need's own move is conditional in _move).
    still_open = await session.execute(
        update(Need)
        .where(Need.id == target.id, Need.status.in_(OPEN_STATUSES))
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if affected(still_open) != 1:
        raise InvalidInput("needs-mod-merge-closed", target=target.id)
    already = set(
        await session.scalars(select(NeedSupport.user_id).where(NeedSupport.need_id == target.id))
    )
    if target.author_id is not None:
        already.add(target.author_id)
    carried = set(
        await session.scalars(select(NeedSupport.user_id).where(NeedSupport.need_id == need.id))
    )
    if need.author_id is not None:
        carried.add(need.author_id)
    for user_id in sorted(carried - already):
        session.add(NeedSupport(need_id=target.id, user_id=user_id))
    await session.flush()
    target.support_count = (
        await session.scalar(
            select(func.count()).select_from(NeedSupport).where(NeedSupport.need_id == target.id)
        )
        or 0
    )
    target.updated_at = utcnow()
    need.merged_into_id = target.id
    await _move(session, actor, need, S.MERGED, subject_type="need", subject_id=target.id)
    await _event(
        session, actor, target, NeedEventKind.MERGED, subject_type="need", subject_id=need.id
    )
    await audit.record(session, actor, "need.merge", "need", need.id, into=target.id)
    await _tell_status(session, need, actor)
    return need


# --- Conversation and answers ------------------------------------------------------------------


async def answer(session: AsyncSession, actor: User | None, need_id: int, text: str) -> NeedEvent:
    """A public answer on the need's card; its followers are told."""
    need = await for_moderator(session, actor, need_id)
    assert actor is not None
    text = clean_text(text)
    event = await _event(session, actor, need, NeedEventKind.ANSWER, text=text)
    need.updated_at = utcnow()
    await audit.record(session, actor, "need.answer", "need", need.id)
    await need_notices.to_followers(
        session, need, "needs-notice-answer", exclude=[actor.id], text=text
    )
    return event


async def ask(
    session: AsyncSession,
    actor: User | None,
    need_id: int,
    text: str,
    buttons: list[list[dict[str, str]]] | None = None,
) -> NeedEvent:
    """A question to the filer (not public); they reply with the button (`buttons`, built by
    the handlers) under it."""
    need = await for_moderator(session, actor, need_id)
    assert actor is not None
    if need.author_id is None:
        raise InvalidInput("needs-mod-no-filer")
    text = clean_text(text)
    event = await _event(session, actor, need, NeedEventKind.QUESTION, public=False, text=text)
    await audit.record(session, actor, "need.ask", "need", need.id)
    await need_notices.to_filer(session, need, "needs-notice-question", buttons=buttons, text=text)
    return event


async def reply(session: AsyncSession, user: User | None, need_id: int, text: str) -> NeedEvent:
    """The filer's reply to a moderator's question; whoever asked last is told."""
    need = await get(session, need_id)
    if user is None or need.author_id != user.id:
        raise NotAllowed()
    asked = await session.scalar(
        select(NeedEvent)
        .where(NeedEvent.need_id == need.id, NeedEvent.kind == NeedEventKind.QUESTION)
        .order_by(NeedEvent.id.desc())
        .limit(1)
    )
    if asked is None:
        raise InvalidInput("needs-mod-no-question")
    text = clean_text(text)
    event = await _event(session, user, need, NeedEventKind.REPLY, public=False, text=text)
    await audit.record(session, user, "need.reply", "need", need.id)
    if asked.actor_id is not None:
        asker = await session.get(User, asked.actor_id)
        if asker is not None:
            await need_notices.to_people(session, [asker], need, "needs-notice-reply", text=text)
    return event


async def conversation(session: AsyncSession, need_id: int) -> list[NeedEvent]:
    """Questions, replies and answers, oldest first (for the moderation card)."""
    rows = await session.scalars(
        select(NeedEvent)
        .where(
            NeedEvent.need_id == need_id,
            NeedEvent.kind.in_([NeedEventKind.QUESTION, NeedEventKind.REPLY, NeedEventKind.ANSWER]),
        )
        .order_by(NeedEvent.id)
    )
    return list(rows)


# --- Taking up ---------------------------------------------------------------------------------


async def take_up(
    session: AsyncSession, actor: User | None, need_id: int, vote_id: int
) -> NeedEvent:
    """Link a need to a council or committee vote the actor organizes (a recommendation put to
    the vote on it). Moderators of the need and the presidium may; the vote must be theirs."""
    need = await get(session, need_id)
    if actor is None:
        raise NotAllowed()
    if not has_any_role(actor, *PRESIDIUM):
        await access.require_moderator(session, actor, need)
    if need.status not in OPEN_STATUSES:
        raise IllegalTransition()
    vote = await vote_access.get_for_organizer(session, actor, vote_id)
    linked = await session.scalar(
        select(NeedEvent.id).where(
            NeedEvent.need_id == need.id,
            NeedEvent.kind == NeedEventKind.TAKEN_UP,
            NeedEvent.subject_type == "vote",
            NeedEvent.subject_id == vote.id,
        )
    )
    if linked is not None:
        raise InvalidInput("needs-mod-already-taken", vote=vote.id)
    event = await _event(
        session, actor, need, NeedEventKind.TAKEN_UP, subject_type="vote", subject_id=vote.id
    )
    need.updated_at = utcnow()
    await audit.record(session, actor, "need.take_up", "need", need.id, vote=vote.id)
    await need_notices.to_followers(
        session,
        need,
        "needs-notice-taken-up",
        exclude=[actor.id],
        vote=vote.id,
        question=vote.question,
    )
    return event


# --- The queue ---------------------------------------------------------------------------------


async def queue(
    session: AsyncSession, actor: User | None, page: int, per_page: int = PER_PAGE
) -> Page[Need]:
    """New needs of the actor's districts, oldest first."""
    districts = await access.moderated_districts(session, actor)
    if districts is not None and not districts:
        raise NotAllowed("needs-mod-not-moderator")
    condition = Need.status == S.NEW
    if districts is not None:
        condition = condition & Need.district_id.in_(sorted(districts))
    total = await session.scalar(select(func.count()).select_from(Need).where(condition)) or 0
    page, pages = page_bounds(page, total, per_page)
    rows = await session.scalars(
        select(Need)
        .where(condition)
        .order_by(Need.created_at, Need.id)
        .offset(page * per_page)
        .limit(per_page)
    )
    return Page(list(rows), page, pages, total)


async def require_may_take_up(session: AsyncSession, actor: User | None) -> None:
    """The presidium, or a moderator of some district."""
    if not has_any_role(actor, *PRESIDIUM):
        await require_any_district(session, actor)


async def require_any_district(session: AsyncSession, actor: User | None) -> None:
    districts = await access.moderated_districts(session, actor)
    if districts is not None and not districts:
        raise NotAllowed("needs-mod-not-moderator")


def waiting_since(need: Need, now: datetime | None = None) -> int:
    """Whole days the need has waited."""
    return max(0, ((now or utcnow()) - need.created_at).days)
