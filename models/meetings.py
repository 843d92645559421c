"""Meetings: conferences, council sessions and the meetings of committees; their agenda, who is
invited and what they answered, who came, the minutes and the decisions taken there.

A conference is convened by a decision on record (a council vote whose subject is the meeting, or
the presidium's recorded decision). Publishing fixes who is invited (`meeting_invitees`); a
member organization names its delegates (`meeting_delegates`), who are invited too.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow
from models.votes import Quorum


class MeetingKind(enum.StrEnum):
    CONFERENCE = "conference"  # the supreme body: member organizations' delegates and the council
    SESSION = "session"  # a sitting of one body: the council, the presidium, a committee


class MeetingStatus(enum.StrEnum):
    DRAFT = "draft"  # only its organizers see it
    PUBLISHED = "published"  # notices went out; answers, reminders, the meeting itself
    MINUTED = "minuted"  # held, and its minutes are published: in the archive
    CANCELLED = "cancelled"


class DecisionSource(enum.StrEnum):
    """How a conference was convened: the council's vote, or the presidium's recorded decision."""

    VOTE = "vote"
    PRESIDIUM = "presidium"


class Meeting(Base):
    __tablename__ = "meetings"
    __table_args__ = (
        # Reminders, the yearly rule and "what is on now" read meetings by status and time.
        Index("ix_meetings_status_starts", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MeetingKind] = mapped_column(str_enum(MeetingKind))
    # The body that sits (a session); None for a conference.
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(300), default="")
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[MeetingStatus] = mapped_column(
        str_enum(MeetingStatus), default=MeetingStatus.DRAFT
    )
    # Until when invited members may propose agenda items; None: proposals are closed.
    agenda_deadline: Mapped[datetime | None]
    # Whether votes are planned: then the organizer sees a quorum forecast from the answers.
    votes_planned: Mapped[bool] = mapped_column(default=False)
    quorum: Mapped[Quorum] = mapped_column(str_enum(Quorum), default=Quorum.MORE_THAN_HALF)
    # The decision that convenes a conference (a session needs none).
    decision_source: Mapped[DecisionSource | None] = mapped_column(str_enum(DecisionSource))
    decision_vote_id: Mapped[int | None] = mapped_column(
        ForeignKey("votes.id", ondelete="SET NULL")
    )
    decision_text: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Grows with every change people were told of: a calendar replaces the older event by it.
    sequence: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The minutes: a text, a document (Telegram file id), or both.
    minutes_text: Mapped[str | None] = mapped_column(Text)
    minutes_file_id: Mapped[str | None] = mapped_column(String(256))
    minutes_file_name: Mapped[str | None] = mapped_column(String(200))
    minutes_at: Mapped[datetime | None]
    minutes_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    agenda: Mapped[list[AgendaItem]] = relationship(
        back_populates="meeting",
        lazy="selectin",
        order_by="AgendaItem.position",
        cascade="all, delete-orphan",
    )


class AgendaStatus(enum.StrEnum):
    ACCEPTED = "accepted"  # on the agenda
    PROPOSED = "proposed"  # proposed by an invited member, waiting for the organizer
    DECLINED = "declined"


class AgendaItem(Base):
    __tablename__ = "meeting_agenda_items"
    __table_args__ = (Index("ix_meeting_agenda_items_meeting", "meeting_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(300))
    # The speaker: a registered person, or a name typed by the organizer (a guest).
    speaker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    speaker_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[AgendaStatus] = mapped_column(
        str_enum(AgendaStatus), default=AgendaStatus.ACCEPTED
    )
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)

    meeting: Mapped[Meeting] = relationship(back_populates="agenda")


class MeetingFile(Base):
    """A document of an agenda item (sent by its Telegram file id)."""

    __tablename__ = "meeting_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    agenda_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting_agenda_items.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))  # "document" | "photo"
    file_id: Mapped[str] = mapped_column(String(256))
    name: Mapped[str | None] = mapped_column(String(200))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class InviteReason(enum.StrEnum):
    MEMBER = "member"  # a member of the body that sits, or of the council at a conference
    DELEGATE = "delegate"  # a member organization's delegate at a conference
    GUEST = "guest"  # invited by name


class Answer(enum.StrEnum):
    NONE = "none"
    YES = "yes"
    NO = "no"
    MAYBE = "maybe"


class Presence(enum.StrEnum):
    """How a person's attendance was registered."""

    SELF = "self"  # tapped "I'm here" during the meeting
    SECRETARY = "secretary"  # the secretary marked them present


class MeetingInvitee(Base):
    """One invited person: why, what they answered, and whether they came."""

    __tablename__ = "meeting_invitees"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id", name="uq_meeting_invitees_person"),
        Index("ix_meeting_invitees_answer", "meeting_id", "answer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reason: Mapped[InviteReason] = mapped_column(str_enum(InviteReason))
    # At a conference: the member organization whose delegate (or representative) this is.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL")
    )
    answer: Mapped[Answer] = mapped_column(str_enum(Answer), default=Answer.NONE)
    answered_at: Mapped[datetime | None]
    present: Mapped[bool] = mapped_column(default=False)
    present_source: Mapped[Presence | None] = mapped_column(str_enum(Presence))
    present_at: Mapped[datetime | None]
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeetingDelegate(Base):
    """A person a member organization sends to a conference (one of its representatives)."""

    __tablename__ = "meeting_delegates"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id", name="uq_meeting_delegates_person"),
        Index("ix_meeting_delegates_organization", "meeting_id", "organization_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    named_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    named_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeetingDecision(Base):
    """A decision taken at a meeting, as its minutes record it; one may become a recommendation
    in the registry (`recommendations.decision_id`)."""

    __tablename__ = "meeting_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(Text)
    # The vote at the meeting that took it, when it was voted in the bot.
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id", ondelete="SET NULL"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
