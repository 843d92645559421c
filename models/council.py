"""The council as the Regulations compose it: the designations its categories rest on.

A base organization's seat follows `District.base_organization_id`; a city-wide structure's seat
follows a designation recorded here (local government designates it "city-wide in the system of
self-organization"); a co-chair holds one of the two offices the Regulations name, recorded here
with the person who holds it. The seat itself is a `Membership` of the council, whose
`organization_id`, `office` and `basis_*` say which rule it was seated under.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow


class DesignationKind(enum.StrEnum):
    CITYWIDE = "citywide"  # an organization designated a city-wide structure
    OFFICE = "office"  # the holder of a co-chair's office


class Office(enum.StrEnum):
    """The two offices whose holders co-chair the council (Regulations, item 5)."""

    COUNCIL_CHAIR = "council_chair"  # the Chair of the City Council of Deputies
    CITY_HEAD = "city_head"  # the Head of the city


class CouncilDesignation(Base):
    __tablename__ = "council_designations"
    __table_args__ = (
        # One living designation per organization, and one holder per office.
        Index(
            "uq_council_designations_organization",
            "organization_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL AND organization_id IS NOT NULL"),
            postgresql_where=text("revoked_at IS NULL AND organization_id IS NOT NULL"),
        ),
        Index(
            "uq_council_designations_office",
            "office",
            unique=True,
            sqlite_where=text("revoked_at IS NULL AND office IS NOT NULL"),
            postgresql_where=text("revoked_at IS NULL AND office IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DesignationKind] = mapped_column(str_enum(DesignationKind))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    office: Mapped[Office | None] = mapped_column(str_enum(Office))
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The act it rests on (a resolution's number and date), as typed by the Secretariat.
    basis: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(String(300))
