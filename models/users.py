"""People who use the bot and the roles they hold."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow
from models.districts import District


class Role(enum.StrEnum):
    """Roles are data: a person may hold several at once."""

    CITIZEN = "citizen"
    REPRESENTATIVE = "representative"
    COUNCIL = "council"
    PRESIDIUM = "presidium"
    COMMITTEE = "committee"
    EXECUTIVE = "executive"
    SECRETARIAT = "secretariat"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    # An internal key, so that erasing a person (telegram_id = NULL) keeps their authored
    # content pointing at an anonymous row instead of breaking foreign keys.
    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    # The name case-folded, for search: SQLite's lower() knows only ASCII letters.
    name_key: Mapped[str | None] = mapped_column(String(100), index=True)
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), index=True
    )
    phone: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(32))
    # "bot", or "paper" when the Secretariat registered the person from a signed form.
    consent_source: Mapped[str | None] = mapped_column(String(16))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    registered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]
    # Set when Telegram answers 403 (the person blocked the bot); cleared when they write again.
    blocked_at: Mapped[datetime | None]
    # Notification preferences: topics the person muted, and quiet hours in minutes after
    # midnight, Moscow time (None: no quiet hours).
    # The daily digest is opt-in, so it starts muted.
    muted_topics: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["digest"])
    quiet_from: Mapped[int | None] = mapped_column(default=22 * 60)
    quiet_to: Mapped[int | None] = mapped_column(default=8 * 60)

    district: Mapped[District | None] = relationship(lazy="selectin")
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.roles)

    @property
    def is_registered(self) -> bool:
        return self.registered_at is not None and self.deleted_at is None


class UserRole(Base):
    __tablename__ = "user_roles"
    # An audience by role reads the holders of a role from this index (the key is the other way
    # round: a person's roles).
    __table_args__ = (Index("ix_user_roles_role", "role", "user_id"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(str_enum(Role), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")
