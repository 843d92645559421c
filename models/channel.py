"""Posts in the Assembly's public channel (PUBLIC_CHANNEL_ID): one per thing posted, edited when
the thing changes. The delivery worker posts and edits them at Telegram's pace."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow


class ChannelPostStatus(enum.StrEnum):
    PENDING = "pending"  # to post, or to edit to its latest version
    POSTED = "posted"  # the channel shows the latest version
    FAILED = "failed"  # Telegram refused it for good; `error` says why


class ChannelPost(Base):
    __tablename__ = "channel_posts"
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", name="uq_channel_posts_subject"),
        Index("ix_channel_posts_due", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the post is about ("meeting", "recommendation", "announcement", "audit"), so a
    # change of the thing edits its post instead of posting again.
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int]
    # A catalogue key with parameters, rendered in the default language; or a ready text.
    text_key: Mapped[str | None] = mapped_column(String(64))
    text_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str | None] = mapped_column(Text)
    # Each change raises `version`; the worker brings the channel up to it (post, then edits).
    version: Mapped[int] = mapped_column(default=1)
    posted_version: Mapped[int] = mapped_column(default=0)
    message_id: Mapped[int | None]
    # part "channel": the channel the message is in (a message id means nothing in another
    # chat: after PUBLIC_CHANNEL_ID changes, the post is posted anew there, not edited), and a
    # photo or document the post carries (a public announcement's), its text the caption.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    media_kind: Mapped[str | None] = mapped_column(String(16))
    media_file_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[ChannelPostStatus] = mapped_column(
        str_enum(ChannelPostStatus), default=ChannelPostStatus.PENDING
    )
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
