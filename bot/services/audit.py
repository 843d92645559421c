"""The audit log: append entries to a hash chain, verify that nobody edited or removed one, and
the report admins read (whether the chain is intact, the latest entries with who made them)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.permissions import ADMINS, require_role
from models import AuditEntry, AuditHead, User
from models.base import utcnow

GENESIS = "0" * 64
LATEST = 10


def entry_hash(
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    details: dict[str, Any],
) -> str:
    payload = json.dumps(
        [prev_hash, seq, at.isoformat(), actor_id, action, object_type, object_id, details],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


async def record(
    session: AsyncSession,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int | None,
    **details: Any,
) -> AuditEntry:
    """Append one entry; concurrent appends queue on the head row, so the chain never forks."""
    head = (
        await session.execute(
            update(AuditHead)
            .where(AuditHead.id == 1)
            .values(seq=AuditHead.seq + 1)
            .returning(AuditHead.seq, AuditHead.last_hash)
        )
    ).one()
    # Round-trip through JSON so the hash is computed over exactly what the database returns.
    details = json.loads(json.dumps(details, ensure_ascii=False, default=str))
    at = utcnow().replace(microsecond=0)
    actor_id = actor.id if actor else None
    digest = entry_hash(
        head.last_hash, head.seq, at, actor_id, action, object_type, object_id, details
    )
    entry = AuditEntry(
        seq=head.seq,
        at=at,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
        prev_hash=head.last_hash,
        hash=digest,
    )
    session.add(entry)
    await session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=digest))
    await session.flush()
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    # The first sequence number where the chain breaks, and why (a catalogue key).
    broken_at: int | None = None
    reason: str | None = None


async def verify(session: AsyncSession, batch: int = 1000) -> Verification:
    """Recompute every hash in order; an edited, inserted or deleted entry breaks the chain."""
    head = await session.get(AuditHead, 1)
    prev, expected_seq, count = GENESIS, 1, 0
    last_seq = 0
    columns = (
        AuditEntry.seq,
        AuditEntry.prev_hash,
        AuditEntry.at,
        AuditEntry.actor_id,
        AuditEntry.action,
        AuditEntry.object_type,
        AuditEntry.object_id,
        AuditEntry.details,
        AuditEntry.hash,
    )
    while True:
        # Plain rows, in batches: the log can be long and nothing here needs ORM objects.
        query = select(*columns).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq)
        rows = (await session.execute(query.limit(batch))).all()
        if not rows:
            break
        for seq, prev_hash, at, actor_id, action, object_type, object_id, details, digest in rows:
            if seq != expected_seq:
                return Verification(False, count, expected_seq, "audit-broken-missing")
            if prev_hash != prev:
                return Verification(False, count, seq, "audit-broken-link")
            recomputed = entry_hash(
                prev_hash, seq, at, actor_id, action, object_type, object_id, details
            )
            if recomputed != digest:
                return Verification(False, count, seq, "audit-broken-edited")
            prev, expected_seq, count, last_seq = digest, seq + 1, count + 1, seq
    if head is None or head.seq != count or head.last_hash != prev:
        return Verification(False, count, count + 1, "audit-broken-tail")
    return Verification(True, count)


async def latest(session: AsyncSession, limit: int = LATEST) -> list[AuditEntry]:
    rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit))
    return list(rows)


# Each action code the services write, and the text that says it in the reader's language
# (tests/test_audit_words.py checks that every code written has one); an unknown code, say from
# an older version, is shown as it is.
ACTION_KEYS: dict[str, str] = {
    "announcement.publish": "audit-action-announcement-publish",
    "announcement.stop": "audit-action-announcement-stop",
    "body.create": "audit-action-body-create",
    "body.add_member": "audit-action-body-add-member",
    "body.remove_member": "audit-action-body-remove-member",
    "district.rename": "audit-action-district-rename",
    "district.describe": "audit-action-district-describe",
    "district.set_base": "audit-action-district-set-base",
    "organization.apply": "audit-action-organization-apply",
    "organization.approve": "audit-action-organization-approve",
    "organization.reject": "audit-action-organization-reject",
    "organization.ask": "audit-action-organization-ask",
    "organization.answer": "audit-action-organization-answer",
    "organization.suspend": "audit-action-organization-suspend",
    "organization.restore": "audit-action-organization-restore",
    "organization.leave": "audit-action-organization-leave",
    "organization.invite": "audit-action-organization-invite",
    "organization.join_representative": "audit-action-organization-join-representative",
    "organization.remove_representative": "audit-action-organization-remove-representative",
    "recommendation.register": "audit-action-recommendation-register",
    "recommendation.answered": "audit-action-recommendation-answered",
    "recommendation.implemented": "audit-action-recommendation-implemented",
    "recommendation.overdue": "audit-action-recommendation-overdue",
    "role.grant_secretariat": "audit-action-role-grant-secretariat",
    "role.revoke_secretariat": "audit-action-role-revoke-secretariat",
    "user.register_on_behalf": "audit-action-user-register-on-behalf",
    "user.take_over": "audit-action-user-take-over",
    "user.erase": "audit-action-user-erase",
    "vote.draft": "audit-action-vote-draft",
    "vote.delete_draft": "audit-action-vote-delete-draft",
    "vote.open": "audit-action-vote-open",
    "vote.extend": "audit-action-vote-extend",
    "vote.proxy": "audit-action-vote-proxy",
    "vote.cast": "audit-action-vote-cast",
    "vote.change": "audit-action-vote-change",
    "vote.close": "audit-action-vote-close",
    "vote.close_early": "audit-action-vote-close-early",
    "vote.cancel": "audit-action-vote-cancel",
    "vote.announce": "audit-action-vote-announce",
}
# What an entry is about, by its object type.
OBJECT_KEYS: dict[str, str] = {
    "body": "audit-object-body",
    "district": "audit-object-district",
    "organization": "audit-object-organization",
    "outbox": "audit-object-outbox",
    "recommendation": "audit-object-recommendation",
    "user": "audit-object-user",
    "vote": "audit-object-vote",
}


@dataclass(frozen=True)
class Line:
    seq: int
    at: datetime
    actor: str | None  # the actor's name; None for the system or an erased or nameless person
    action: str
    object_type: str
    object_id: int | None


@dataclass(frozen=True)
class Report:
    verification: Verification
    latest: list[Line]


async def report(session: AsyncSession, actor: User | None, limit: int = LATEST) -> Report:
    """Verify the whole chain and list the latest entries; for admins only."""
    require_role(actor, *ADMINS)
    verification = await verify(session)
    entries = await latest(session, limit)
    ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    names: dict[int, str | None] = {}
    if ids:
        rows = await session.execute(select(User.id, User.name).where(User.id.in_(ids)))
        names = {user_id: name for user_id, name in rows.all()}
    lines = [
        Line(
            seq=entry.seq,
            at=entry.at,
            actor=names.get(entry.actor_id) if entry.actor_id is not None else None,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
        )
        for entry in entries
    ]
    return Report(verification, lines)
