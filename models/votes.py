"""Votes of the council, committees and conferences; ballots; the recommendations registry.

Secrecy is a property of the tables, not of the code that reads them: for a secret vote the roll
(`vote_voters`) says only *that* someone voted, and a ballot (`ballots`, `ballot_choices`) says
only *what* was chosen. No column links the two — a ballot's key is random and carries no time.
Neither do the rows' places: every secret cast and the close rewrite the vote's whole ballot box
with fresh keys in key order (bot/services/votes/box.py), so on PostgreSQL every ballot shares
the `xmin` and the `ctid` order of the latest rewrite, and on SQLite (WITHOUT ROWID) the order is
that of the random keys. A receipt (`vote_receipts`) points to the vote, never to a ballot.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, str_enum, utcnow

if TYPE_CHECKING:
    from models.meetings import MeetingDecision


class VoteKind(enum.StrEnum):
    RECOMMENDATION = "recommendation"  # for / against / abstain; adopted ones enter the registry
    QUESTION = "question"  # custom options
    ELECTION = "election"  # candidates, up to N choices


class VoteStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class VoterUnit(enum.StrEnum):
    PERSON = "person"  # one member, one vote
    ORGANIZATION = "organization"  # one member organization, one vote, cast by its delegate
    # A priorities poll: the registered citizens of a district (or of the city), one vote each;
    # the vote's PriorityPoll row names the district. The body is the one that organizes it.
    CITIZEN = "citizen"


class Quorum(enum.StrEnum):
    """Share of the eligible who must vote for the result to count."""

    MORE_THAN_HALF = "half"
    TWO_THIRDS = "two_thirds"
    ONE_THIRD = "one_third"
    NONE = "none"


class Majority(enum.StrEnum):
    """What an option needs to win."""

    OF_CAST = "cast"  # more than half of the ballots cast (abstentions are cast)
    OF_ELIGIBLE = "eligible"  # more than half of all eligible voters
    TWO_THIRDS = "two_thirds"  # at least two thirds of the ballots cast


class Outcome(enum.StrEnum):
    ADOPTED = "adopted"
    REJECTED = "rejected"
    NO_QUORUM = "no_quorum"


class OptionKind(enum.StrEnum):
    FOR = "for"
    AGAINST = "against"
    ABSTAIN = "abstain"
    CHOICE = "choice"  # a custom option or a candidate


class Vote(Base):
    __tablename__ = "votes"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[VoteKind] = mapped_column(str_enum(VoteKind), default=VoteKind.RECOMMENDATION)
    # The body whose members vote (council, a committee); None for a conference vote.
    body_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id", ondelete="SET NULL"))
    unit: Mapped[VoterUnit] = mapped_column(str_enum(VoterUnit), default=VoterUnit.PERSON)
    # What the vote is about, when it is about something the bot knows (a project, a meeting).
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    question: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text, default="")
    addressee: Mapped[str | None] = mapped_column(String(200))
    secret: Mapped[bool] = mapped_column(default=False)
    changeable: Mapped[bool] = mapped_column(default=True)
    max_choices: Mapped[int] = mapped_column(default=1)
    quorum: Mapped[Quorum] = mapped_column(str_enum(Quorum), default=Quorum.MORE_THAN_HALF)
    majority: Mapped[Majority] = mapped_column(str_enum(Majority), default=Majority.OF_CAST)
    status: Mapped[VoteStatus] = mapped_column(
        str_enum(VoteStatus), default=VoteStatus.DRAFT, index=True
    )
    closes_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    eligible_count: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome))
    # The count as it was at the close: turnout, per-option totals, the winners.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # confvotes: a conference election's term for the elected (their council seats end then).
    term_until: Mapped[datetime | None]

    options: Mapped[list[VoteOption]] = relationship(
        back_populates="vote",
        lazy="selectin",
        order_by="VoteOption.position",
        cascade="all, delete-orphan",
    )


class VoteOption(Base):
    __tablename__ = "vote_options"
    __table_args__ = (UniqueConstraint("vote_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[OptionKind] = mapped_column(str_enum(OptionKind), default=OptionKind.CHOICE)
    label: Mapped[str | None] = mapped_column(String(100))  # custom options; None: by kind
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    vote: Mapped[Vote] = relationship(back_populates="options")


class VoteVoter(Base):
    """The roll: who may vote, fixed when the vote opens, and whether they have voted."""

    __tablename__ = "vote_voters"
    __table_args__ = (
        # One seat per person; in a conference vote also one per organization (a person holds
        # at most one organization's vote, so a button press always names one seat).
        UniqueConstraint("vote_id", "user_id", name="uq_vote_voters_person"),
        UniqueConstraint("vote_id", "organization_id", name="uq_vote_voters_organization"),
        # Turnout is counted from this index alone, and a page of those who have not voted is
        # read from it in roll order, without sorting the rest of them.
        Index("ix_vote_voters_waiting", "vote_id", "voted", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"))
    # Who casts the vote: the member, or the organization's delegate (or their proxy).
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    voted: Mapped[bool] = mapped_column(default=False)
    # Only for open votes: a time next to a secret ballot would let one match the two.
    voted_at: Mapped[datetime | None]
    # A final ballot's confirmation screen: SHA-256 of its one-time code with the choice it
    # shows; the cast must bring both back. Cleared by the cast.
    confirm_hash: Mapped[str | None] = mapped_column(String(64))


class Ballot(Base):
    """One cast ballot. Its key is random (a secret vote's keys are new at every rewrite of the
    box); `voter_id` is set only when the vote is open."""

    __tablename__ = "ballots"
    __table_args__ = (
        # One ballot per voter of an open vote, enforced by the database.
        UniqueConstraint("voter_id"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"), index=True)
    voter_id: Mapped[int | None] = mapped_column(ForeignKey("vote_voters.id", ondelete="CASCADE"))


class BallotChoice(Base):
    __tablename__ = "ballot_choices"
    __table_args__ = (
        # The tally is a grouped count over this index, inside the database.
        Index("ix_ballot_choices_tally", "vote_id", "option_id"),
        {"sqlite_with_rowid": False},
    )

    ballot_id: Mapped[str] = mapped_column(
        ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    option_id: Mapped[int] = mapped_column(
        ForeignKey("vote_options.id", ondelete="CASCADE"), primary_key=True
    )
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"))


class VoteReceipt(Base):
    """A receipt: SHA-256 of the code together with its owner's id, so only the owner can check
    it. It names the vote, not the ballot: it proves the ballot is counted, never the choice."""

    __tablename__ = "vote_receipts"
    __table_args__ = ({"sqlite_with_rowid": False},)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id", ondelete="CASCADE"), index=True)


class FollowUp(enum.StrEnum):
    SENT = "sent"
    ANSWERED = "answered"
    IMPLEMENTED = "implemented"


class Recommendation(Base):
    """An adopted recommendation to local government and what became of it."""

    __tablename__ = "recommendations"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    # The vote that adopted it; or, for a decision a meeting's minutes record, that decision.
    vote_id: Mapped[int | None] = mapped_column(
        ForeignKey("votes.id", ondelete="RESTRICT"), unique=True
    )
    decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting_decisions.id", ondelete="RESTRICT"), unique=True
    )
    adopted_at: Mapped[datetime]
    addressee: Mapped[str] = mapped_column(String(200))
    status: Mapped[FollowUp] = mapped_column(str_enum(FollowUp), default=FollowUp.SENT, index=True)
    reply_due: Mapped[datetime]
    # Set by the scheduler when the reply deadline passed without an answer.
    overdue: Mapped[bool] = mapped_column(default=False)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    implemented_at: Mapped[datetime | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    vote: Mapped[Vote | None] = relationship(lazy="selectin")
    decision: Mapped[MeetingDecision | None] = relationship(lazy="selectin")

    @property
    def title(self) -> str:
        """What was recommended: the vote's question, or the first line of a meeting's decision."""
        if self.vote is not None:
            return self.vote.question
        if self.decision is not None:
            return self.decision.text.strip().split("\n", 1)[0][:300]
        return ""

    @property
    def full_text(self) -> str:
        if self.vote is not None:
            return self.vote.text
        return self.decision.text if self.decision is not None else ""
