"""Messages the bot sends on its own initiative, and their delivery to each recipient."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow


class Topic(enum.StrEnum):
    """What a message is about; people choose which topics reach them (duty cannot be muted)."""

    ANNOUNCEMENTS = "announcements"
    PROJECTS = "projects"
    NEEDS = "needs"
    DIGEST = "digest"
    CONFERENCES = "conferences"
    DUTY = "duty"  # a council vote, a report due: tied to the person's duty, never muted


class OutboxStatus(enum.StrEnum):
    DRAFT = "draft"
    # Its recipients are being added by the delivery workers, a chunk at a time; the first
    # chunks already go out.
    QUEUING = "queuing"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Outbox(Base):
    """One message to many people: an announcement, a notice, a reminder."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default="announcement")
    topic: Mapped[Topic] = mapped_column(str_enum(Topic), default=Topic.ANNOUNCEMENTS)
    # Urgent messages ignore quiet hours; duty messages ignore mutes too.
    urgent: Mapped[bool] = mapped_column(default=False)
    # Exactly what recipients see (HTML, user text already escaped), or a catalogue key with
    # parameters rendered in each recipient's language.
    text: Mapped[str | None] = mapped_column(Text)
    text_key: Mapped[str | None] = mapped_column(String(64))
    text_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    media_kind: Mapped[str | None] = mapped_column(String(16))  # "photo" | "document"
    media_file_id: Mapped[str | None] = mapped_column(String(256))
    # A file the bot made itself (a chart, a protocol): uploaded once, then resent by file id.
    media_data: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    media_name: Mapped[str | None] = mapped_column(String(100))
    # Inline buttons under the (last part of the) message: rows of {"text" | "text_key", "data"}.
    buttons: Mapped[list[list[dict[str, str]]] | None] = mapped_column(JSON)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus), default=OutboxStatus.DRAFT, index=True
    )
    send_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    total: Mapped[int] = mapped_column(default=0)
    # While QUEUING: the highest user id whose delivery is queued (recipients go in id order).
    queued_up_to: Mapped[int | None]
    # The author's status message, edited in place while the message goes out.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"  # muted the topic, or the message was cancelled


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        # Nothing twice: one delivery per message and recipient, enforced by the database.
        UniqueConstraint("outbox_id", "user_id"),
        Index("ix_deliveries_due", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    # Held back until then (quiet hours, or a retry after a network failure).
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    # A worker's lease on the row, so two processes never send the same delivery.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    # Since when every attempt failed on the network or at Telegram's side (a day of that, and
    # the delivery fails for good); None once it went out or before its first failure.
    failing_since: Mapped[datetime | None]
    # How many parts of a split message went out: a retry sends only the rest.
    parts_sent: Mapped[int] = mapped_column(default=0, server_default="0")
    telegram_message_id: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SendQuota(Base):
    """The token bucket the replicas of the bot share on PostgreSQL when there is no Redis: one
    row, updated by bot.delivery.quota with every message sent, on the database's clock."""

    __tablename__ = "send_quota"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    stamp: Mapped[datetime]
    # A 429 seen by any replica: nobody sends before this.
    paused_until: Mapped[datetime]
