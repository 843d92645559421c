"""The chain itself: each entry is signed with HMAC-SHA256 over its content and the previous
entry's signature, with a key kept outside the database (bot/services/audit/keys.py). Checking it
walks every entry in order and compares with the heads witnessed by the admins.

Without the key, a rewritten entry cannot be signed again, so even a consistent rewrite of the
whole table breaks at entry 1. With the key (the operator), history after the last witness can
still be rewritten; witnessed entries cannot, as long as the admins keep their copies.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import keys as audit_keys
from bot.services.audit import witness
from bot.services.audit.keys import AuditKeys
from models import AuditEntry, AuditHead, User
from models.base import utcnow

logger = logging.getLogger("bot.audit")

GENESIS = "0" * 64
BATCH = 1000


def payload(
    key_id: str | None,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    details: dict[str, Any],
) -> bytes:
    """What is signed; the key's fingerprint is part of it, so an entry cannot claim another key."""
    fields: list[Any] = [prev_hash, seq, at.isoformat(), actor_id, action, object_type, object_id]
    fields.append(details)
    if key_id is not None:
        fields.insert(0, key_id)
    text = json.dumps(
        fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    )
    return text.encode("utf-8")


def legacy_hash(data: bytes) -> str:
    """The unkeyed SHA-256 of entries written before the log was keyed."""
    return hashlib.sha256(data).hexdigest()


async def record(
    session: AsyncSession,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int | None,
    **details: Any,
) -> AuditEntry:
    """Append one entry; concurrent appends queue on the head row, so the chain never forks.
    Every `witness_every`-th entry's signature is sent to the admins in the same transaction."""
    keys = audit_keys.of(session)
    head = (
        await session.execute(
            update(AuditHead)
            .where(AuditHead.id == 1)
            .values(seq=AuditHead.seq + 1)
            .returning(AuditHead.seq, AuditHead.last_hash)
        )
    ).one()
    # Round-trip through JSON so the signature covers exactly what the database returns.
    details = json.loads(json.dumps(details, ensure_ascii=False, default=str))
    at = utcnow().replace(microsecond=0)
    actor_id = actor.id if actor else None
    key_id = keys.current_id
    data = payload(
        key_id, head.last_hash, head.seq, at, actor_id, action, object_type, object_id, details
    )
    digest = keys.sign(data)
    assert digest is not None  # the current key is always known
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
        key_id=key_id,
    )
    session.add(entry)
    await session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=digest))
    await session.flush()
    if keys.witness_every and head.seq % keys.witness_every == 0:
        await witness.send(session, head.seq, digest, witness.EVERY)
    return entry


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    # The first sequence number where the chain breaks, and why (a catalogue key).
    broken_at: int | None = None
    reason: str | None = None
    # The witnessed entry the break contradicts, when a witness found it.
    witnessed: int | None = None


_COLUMNS = (
    AuditEntry.seq,
    AuditEntry.prev_hash,
    AuditEntry.at,
    AuditEntry.actor_id,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    AuditEntry.details,
    AuditEntry.hash,
    AuditEntry.key_id,
)


def _check_entry(keys: AuditKeys | None, row: Any) -> str | None:
    """Why a single entry's signature is wrong, or None; without keys, the legacy hash."""
    seq, prev_hash, at, actor_id, action, object_type, object_id, details, digest, key_id = row
    data = payload(key_id, prev_hash, seq, at, actor_id, action, object_type, object_id, details)
    if keys is None:
        return None if key_id is None and legacy_hash(data) == digest else "audit-broken-edited"
    if key_id is None:
        return "audit-broken-unkeyed"
    expected = keys.sign(data, key_id)
    if expected is None:
        return "audit-broken-key"
    return None if expected == digest else "audit-broken-edited"


async def verify(
    session: AsyncSession,
    witnessed: Mapping[int, set[str]] | None = None,
    *,
    batch: int = BATCH,
) -> Verification:
    """Recompute every signature in order and compare with the witnessed heads (by default those
    recorded in the database): an edited, inserted or deleted entry, or a head rolled back below
    a witnessed entry, breaks the chain at the first entry concerned."""
    keys = audit_keys.of(session)
    if witnessed is None:
        witnessed = await witness.heads(session)
    prev, expected_seq, count, last_seq = GENESIS, 1, 0, 0
    while True:
        # Plain rows, in batches: the log can be long and nothing here needs ORM objects.
        query = select(*_COLUMNS).where(AuditEntry.seq > last_seq).order_by(AuditEntry.seq)
        rows = (await session.execute(query.limit(batch))).all()
        if not rows:
            break
        for row in rows:
            seq, prev_hash, digest = row.seq, row.prev_hash, row.hash
            if seq != expected_seq:
                return Verification(False, count, expected_seq, "audit-broken-missing")
            if prev_hash != prev:
                return Verification(False, count, seq, "audit-broken-link")
            problem = _check_entry(keys, row)
            if problem is not None:
                return Verification(False, count, seq, problem)
            if any(mac != digest for mac in witnessed.get(seq, ())):
                return Verification(False, count, seq, "audit-broken-witness", seq)
            prev, expected_seq, count, last_seq = digest, seq + 1, count + 1, seq
    beyond = [seq for seq in witnessed if seq > count]
    if beyond:
        return Verification(False, count, count + 1, "audit-broken-rolled-back", max(beyond))
    head = await session.get(AuditHead, 1)
    if head is None or head.seq != count or head.last_hash != prev:
        return Verification(False, count, count + 1, "audit-broken-tail")
    return Verification(True, count)


async def head_entry(session: AsyncSession) -> tuple[int, str] | None:
    """The newest entry's number and signature, as the table has them."""
    row = (
        await session.execute(
            select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
        )
    ).first()
    return (row.seq, row.hash) if row else None


async def seal_legacy(session: AsyncSession) -> int | None:
    """Sign entries written before the log was keyed, only when their old unkeyed chain is intact;
    returns how many entries were signed, or None when the chain is broken (left as it is, for
    /audit to show).

    The operator runs it once after upgrading (`python -m bot seal-audit`), never the bot by
    itself: whoever can write the table could otherwise rewrite it unkeyed and have the bot sign
    the forgery at its next start. It re-signs the whole chain, since each signature covers the
    previous one."""
    keys = audit_keys.of(session)
    first = await session.scalar(
        select(AuditEntry.seq).where(AuditEntry.key_id.is_(None)).order_by(AuditEntry.seq)
    )
    if first is None:
        return 0
    rows = (await session.execute(select(*_COLUMNS).order_by(AuditEntry.seq))).all()
    prev = GENESIS
    for expected, row in enumerate(rows, start=1):
        legacy = row.key_id is None
        problem = _check_entry(None if legacy else keys, row)
        if row.seq != expected or row.prev_hash != prev or problem is not None:
            logger.error(
                "the unkeyed audit log is broken at entry %s; it is left unsealed", expected
            )
            return None
        prev = row.hash
    prev = GENESIS
    for row in rows:
        data = payload(
            keys.current_id,
            prev,
            row.seq,
            row.at,
            row.actor_id,
            row.action,
            row.object_type,
            row.object_id,
            row.details,
        )
        digest = keys.sign(data)
        assert digest is not None
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == row.seq)
            .values(prev_hash=prev, hash=digest, key_id=keys.current_id)
        )
        prev = digest
    await session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=prev))
    logger.warning("sealed %s audit entries written before the log was keyed", len(rows))
    return len(rows)
