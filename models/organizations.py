"""Member organizations: applications, representatives, invitations, questions and answers."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow
from models.districts import District
from models.users import User


class OrganizationKind(enum.StrEnum):
    BASE = "base"  # the district's base public organization (БОО)
    CITYWIDE = "citywide"
    NGO = "ngo"
    TOS = "tos"  # territorial self-government body (ТОС)
    INITIATIVE = "initiative"
    OTHER = "other"


class OrganizationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    LEFT = "left"


# Statuses in which an organization holds its name: a new application with it is a duplicate.
ACTIVE_STATUSES = (
    OrganizationStatus.PENDING,
    OrganizationStatus.APPROVED,
    OrganizationStatus.SUSPENDED,
)


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        # One living organization per name: the database keeps the rule even under a race.
        Index(
            "uq_organizations_active_name",
            "name_key",
            unique=True,
            sqlite_where=text("status IN ('pending', 'approved', 'suspended')"),
            postgresql_where=text("status IN ('pending', 'approved', 'suspended')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name folded for comparison: case and spacing ignored.
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[OrganizationKind] = mapped_column(str_enum(OrganizationKind))
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    contacts: Mapped[str] = mapped_column(Text)
    proposals: Mapped[str] = mapped_column(Text)
    status: Mapped[OrganizationStatus] = mapped_column(
        str_enum(OrganizationStatus), default=OrganizationStatus.PENDING, index=True
    )
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    agreed_at: Mapped[datetime]
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    info_requested_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    district: Mapped[District | None] = relationship(foreign_keys=[district_id], lazy="selectin")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="selectin")
    representatives: Mapped[list[Representative]] = relationship(
        back_populates="organization", lazy="selectin", cascade="all, delete-orphan"
    )


class RepresentativeRole(enum.StrEnum):
    HEAD = "head"
    REPRESENTATIVE = "representative"


class Representative(Base):
    __tablename__ = "representatives"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[RepresentativeRole] = mapped_column(str_enum(RepresentativeRole))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="representatives")
    user: Mapped[User] = relationship(lazy="selectin")


class InviteKind(enum.StrEnum):
    CO_REPRESENTATIVE = "corep"
    TAKEOVER = "takeover"  # a person registered by the Secretariat claims their account


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[InviteKind] = mapped_column(str_enum(InviteKind))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ApplicationMessage(Base):
    """A question from the Secretariat about an application, or the applicant's answer."""

    __tablename__ = "application_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    from_secretariat: Mapped[bool]
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
