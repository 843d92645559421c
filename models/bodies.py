"""The Assembly's bodies (council, presidium, committees, …) and who sits in them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow
from models.users import User


class BodyKind(enum.StrEnum):
    COUNCIL = "council"
    PRESIDIUM = "presidium"
    COMMITTEE = "committee"
    WORKING_GROUP = "working_group"
    COMMISSION = "commission"
    EXECUTIVE = "executive"
    SECRETARIAT = "secretariat"


# There is one of each of these; committees, working groups and commissions are many.
SINGLE_BODIES = (
    BodyKind.COUNCIL,
    BodyKind.PRESIDIUM,
    BodyKind.EXECUTIVE,
    BodyKind.SECRETARIAT,
)


class MemberRole(enum.StrEnum):
    CHAIR = "chair"
    SECRETARY = "secretary"
    MEMBER = "member"


class CouncilCategory(enum.StrEnum):
    CO_CHAIR = "co_chair"  # by office: Chair of the City Council, Head of the city
    BASE_ORGANIZATION = "base_org"
    CITYWIDE = "citywide"
    HONORARY = "honorary"
    ELECTED = "elected"  # personally elected, for a term


class Body(Base):
    __tablename__ = "bodies"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[BodyKind] = mapped_column(str_enum(BodyKind), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    direction: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="body", cascade="all, delete-orphan"
    )


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("body_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("bodies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole), default=MemberRole.MEMBER)
    council_category: Mapped[CouncilCategory | None] = mapped_column(str_enum(CouncilCategory))
    since: Mapped[datetime] = mapped_column(default=utcnow)
    until: Mapped[datetime | None]
    # Which rule a council seat was given under (models/council.py): the base organization or
    # city-wide structure it represents, the co-chair's office, and the decision on record (the
    # conference election that elected the member, the council's vote appointing the presidium).
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    office: Mapped[str | None] = mapped_column(String(32))
    basis_vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id", ondelete="SET NULL"))
    basis_text: Mapped[str | None] = mapped_column(Text)

    body: Mapped[Body] = relationship(back_populates="memberships", lazy="selectin")
    user: Mapped[User] = relationship(lazy="selectin")
