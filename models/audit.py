"""The audit log: who did what to which object, chained by keyed hashes (HMAC) so that edits
show, and the witnessed heads of that chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Gapless position in the chain; a deleted entry leaves a hole that verification finds.
    seq: Mapped[int] = mapped_column(unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    # HMAC-SHA256 of the entry and prev_hash, with the key whose fingerprint is key_id.
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None: an entry from before the log was keyed (sealed with the key at the next start).
    key_id: Mapped[str | None] = mapped_column(String(16))


class AuditHead(Base):
    """A single row: the chain's length and last hash. Appending locks it, which serializes
    appends on PostgreSQL (row lock) and SQLite (write lock) alike."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditWitness(Base):
    """A head of the chain that was sent to the admins. The copy that counts lives in their
    Telegram chats; this row lets /audit compare without asking them."""

    __tablename__ = "audit_witnesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(index=True)
    mac: Mapped[str] = mapped_column(String(64))
    # Why it was sent: start, daily, every (N entries).
    reason: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
