"""The citizens' needs of their districts: categories, needs with photos and places, supports,
the history of each need (statuses, questions, public answers), and the resources offered to
meet them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from models.base import Base, str_enum, utcnow
from models.districts import District


class NeedStatus(enum.StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    IN_WORK = "in_work"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    MERGED = "merged"


# Needs still waiting for something to be done: they are suggested as similar, and supported.
OPEN_STATUSES = (NeedStatus.NEW, NeedStatus.ACCEPTED, NeedStatus.IN_WORK)


class NeedCategory(Base):
    """A category of needs; the list is data the Secretariat changes (names in both languages)."""

    __tablename__ = "need_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ru: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Need(Base):
    """A need filed by a citizen (or for one, by the Secretariat); its id is its public number."""

    __tablename__ = "needs"
    __table_args__ = (
        # A district's page: open needs by supports or by date.
        Index("ix_needs_district_status_supports", "district_id", "status", "support_count"),
        Index("ix_needs_district_status_created", "district_id", "status", "created_at"),
        # The monitoring report: covering indexes for the counts by category and status, and
        # for the times to a decision and to resolution (bench/bench_needs.py).
        Index("ix_needs_category_status", "category_id", "status"),
        # The city's most supported open needs, read from the top down.
        Index("ix_needs_supports", "support_count", "id"),
        # A district's report read from one index: counts, months and times.
        Index(
            "ix_needs_district_report",
            "district_id",
            "category_id",
            "status",
            "created_at",
            "decided_at",
            "resolved_at",
            "decision_seconds",
            "resolution_seconds",
        ),
        Index("ix_needs_decided_created", "decided_at", "created_at"),
        Index("ix_needs_resolved_created", "resolved_at", "created_at"),
        # The medians of the report: the year's decisions (resolutions) by range, their stored
        # durations sorted as plain integers, nothing read from the table.
        Index("ix_needs_decision_time", "decided_at", "decision_seconds", "district_id"),
        Index("ix_needs_resolution_time", "resolved_at", "resolution_seconds", "district_id"),
        # The city's medians read the middle of these in order, skipping older moments, instead
        # of sorting the year's durations (bench/bench_needs.py, SQLite: 21.6 ms -> 6.2 ms).
        Index("ix_needs_decision_order", "decision_seconds", "decided_at"),
        Index("ix_needs_resolution_order", "resolution_seconds", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"))
    category_id: Mapped[int] = mapped_column(
        ForeignKey("need_categories.id", ondelete="RESTRICT"), index=True
    )
    # The citizen whose need it is; None once they erased themselves.
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # A secretary who filed it for a citizen who phoned or wrote on paper.
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text)
    # The description's word stems, for the similar-needs search (filled by the service).
    stems: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Whether the author's name may be shown with the need.
    show_name: Mapped[bool] = mapped_column(default=False)
    status: Mapped[NeedStatus] = mapped_column(str_enum(NeedStatus), default=NeedStatus.NEW)
    # Who works on it (status in_work): an organization, or a free text ("the city's roads dept").
    handler_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    handler_text: Mapped[str | None] = mapped_column(String(300))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("needs.id", ondelete="SET NULL"))
    reject_reason: Mapped[str | None] = mapped_column(Text)
    # Kept by the service with every support and take-back, so a page sorts on an index.
    support_count: Mapped[int] = mapped_column(default=0)
    # The outcome of a priorities poll this need was put to (its place, 1 = first), if any.
    priority_rank: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The first decision on it (accepted, rejected or merged), and its resolution.
    decided_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # Seconds from filing to the decision and to the resolution, kept with the moments above
    # (see _durations), so the report's medians read an index in order.
    decision_seconds: Mapped[int | None]
    resolution_seconds: Mapped[int | None]

    district: Mapped[District] = relationship(lazy="selectin")
    category: Mapped[NeedCategory] = relationship(lazy="selectin")
    photos: Mapped[list[NeedPhoto]] = relationship(
        back_populates="need",
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="NeedPhoto.position",
    )

    @validates("created_at", "decided_at", "resolved_at")
    def _durations(self, key: str, value: datetime | None) -> datetime | None:
        moments = {
            "created_at": self.created_at,
            "decided_at": self.decided_at,
            "resolved_at": self.resolved_at,
            key: value,
        }
        created = moments["created_at"]

        def since_filed(moment: datetime | None) -> int | None:
            if created is None or moment is None:
                return None
            return int((moment - created).total_seconds())

        self.decision_seconds = since_filed(moments["decided_at"])
        self.resolution_seconds = since_filed(moments["resolved_at"])
        return value


class NeedPhoto(Base):
    __tablename__ = "need_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    # Telegram's file_id: the photo stays in Telegram, the bot sends it again by this id.
    file_id: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)

    need: Mapped[Need] = relationship(back_populates="photos")


class NeedSupport(Base):
    """A "me too": one per person and need. Supporters also follow the need."""

    __tablename__ = "need_supports"

    need_id: Mapped[int] = mapped_column(
        ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NeedEventKind(enum.StrEnum):
    FILED = "filed"
    STATUS = "status"  # a change of status (status_from -> status_to)
    ANSWER = "answer"  # a public answer by its handlers
    QUESTION = "question"  # a question to the filer (not public)
    REPLY = "reply"  # the filer's reply to a question (not public)
    MERGED = "merged"  # another need was merged into this one
    TAKEN_UP = "taken_up"  # put to a vote, or linked to a project
    ESCALATED = "escalated"  # waiting too long: reminded the base organization / Secretariat
    # The outcome of a priorities poll (subject: the poll); the place is the poll's, see
    # bot/services/priorities.py `event_place`.
    PRIORITY = "priority"


class NeedEvent(Base):
    """A need's history: every change of status, every answer, question and reply."""

    __tablename__ = "need_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[NeedEventKind] = mapped_column(str_enum(NeedEventKind))
    status_from: Mapped[NeedStatus | None] = mapped_column(str_enum(NeedStatus))
    status_to: Mapped[NeedStatus | None] = mapped_column(str_enum(NeedStatus))
    text: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(default=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The organization on whose behalf the actor spoke (the district's base organization).
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    # What the event points to: the need merged in, the vote or project it was taken up by.
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResourceKind(enum.StrEnum):
    VOLUNTEERING = "volunteering"  # time and skills
    PREMISES = "premises"
    EQUIPMENT = "equipment"
    TRANSPORT = "transport"
    MONEY = "money"
    OTHER = "other"


class ResourceOffer(Base):
    """A resource offered by a person (or on behalf of their organization) to meet needs."""

    __tablename__ = "resource_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    kind: Mapped[ResourceKind] = mapped_column(str_enum(ResourceKind))
    # None: anywhere in the city.
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), index=True
    )
    # None: for any category of needs.
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("need_categories.id", ondelete="SET NULL")
    )
    description: Mapped[str] = mapped_column(Text)
    available: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


class ContactRequestStatus(enum.StrEnum):
    ASKED = "asked"
    ACCEPTED = "accepted"  # both agreed: contacts were exchanged
    DECLINED = "declined"


class ResourceContact(Base):
    """A need's handler asks an offer's owner through the bot; contacts are exchanged only when
    the owner agrees."""

    __tablename__ = "resource_contacts"
    __table_args__ = (
        # One open question per offer and need: two presses of "Ask the owner" at the same
        # instant make one request (the service answers the second "already asked").
        Index(
            "uq_resource_contacts_open",
            "offer_id",
            "need_id",
            unique=True,
            sqlite_where=text("status != 'declined'"),
            postgresql_where=text("status != 'declined'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(
        ForeignKey("resource_offers.id", ondelete="CASCADE"), index=True
    )
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"))
    asker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[ContactRequestStatus] = mapped_column(
        str_enum(ContactRequestStatus), default=ContactRequestStatus.ASKED
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class NeedTerm(Base):
    """The similar-needs search index: one row per word stem of an open need's description, with
    its district, so a new text finds the district's open needs sharing its stems on an index
    (the same on SQLite and PostgreSQL). A need leaves the index when it is no longer open."""

    __tablename__ = "need_terms"

    stem: Mapped[str] = mapped_column(String(64), primary_key=True)
    district_id: Mapped[int] = mapped_column(
        ForeignKey("districts.id", ondelete="CASCADE"), primary_key=True
    )
    need_id: Mapped[int] = mapped_column(
        ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PriorityPoll(Base):
    """The council (or a committee) asks the citizens of a district, or of the city, to choose
    among the top needs: a vote of the vote engine whose roll is those citizens."""

    __tablename__ = "priority_polls"

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"), unique=True)
    # None: the whole city.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Filled when the vote closes: the outcome is recorded beside the needs (Need.priority_rank).
    recorded_at: Mapped[datetime | None]


class PriorityPollNeed(Base):
    """A need on a poll's ballot, at the position of its option in the vote."""

    __tablename__ = "priority_poll_needs"

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("priority_polls.id", ondelete="CASCADE"), primary_key=True
    )
    need_id: Mapped[int] = mapped_column(
        ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int]
