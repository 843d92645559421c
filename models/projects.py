"""Projects and programmes: a member organization's proposal, its review and versions, the work
plan and reports, the consortium with its contributions, followers and files."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, str_enum, utcnow


class ProjectStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    RETURNED = "returned"  # for revision: the proposer edits and resubmits
    RECOMMENDED = "recommended"
    REJECTED = "rejected"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    REPORTED = "reported"
    WITHDRAWN = "withdrawn"


# Projects the public sees (a draft is its organization's business only).
PUBLIC_STATUSES = tuple(s for s in ProjectStatus if s is not ProjectStatus.DRAFT)
# Projects being carried out: their plan and reports are watched.
RUNNING_STATUSES = (ProjectStatus.RECOMMENDED, ProjectStatus.IN_PROGRESS)


class Programme(Base):
    """A group of projects: a district's development programme (district set) or a city-wide
    theme (no district). In a district's programme the district's participants must hold the
    controlling stake of each project, unless the council allowed otherwise (`minority_allowed`:
    then the service only warns)."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="RESTRICT"), index=True
    )
    minority_allowed: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Project(Base):
    """A project; its id is its public number. Fields are empty while it is a draft; the
    service checks they are filled before it is submitted."""

    __tablename__ = "projects"
    __table_args__ = (
        # The portfolio: by status and district, newest first; by programme; a committee's queue.
        Index("ix_projects_status_district", "status", "district_id", "id"),
        Index("ix_projects_programme_status", "programme_id", "status", "id"),
        Index("ix_projects_committee_status", "committee_id", "status", "id"),
        Index("ix_projects_organization_status", "organization_id", "status"),
        # The control list: running projects whose earliest open deadline has passed.
        Index("ix_projects_status_next_due", "status", "next_due_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    proposer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programmes.id", ondelete="SET NULL")
    )
    # None: city-wide.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="RESTRICT"))
    # The committee reviewing it (by direction), assigned by the executive committee.
    committee_id: Mapped[int | None] = mapped_column(ForeignKey("bodies.id", ondelete="SET NULL"))
    status: Mapped[ProjectStatus] = mapped_column(
        str_enum(ProjectStatus), default=ProjectStatus.DRAFT
    )
    title: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    goals: Mapped[str] = mapped_column(Text, default="")  # goals and expected results
    budget: Mapped[int | None] = mapped_column(BigInteger)  # roubles
    budget_sources: Mapped[str] = mapped_column(Text, default="")
    wanted: Mapped[str] = mapped_column(Text, default="")  # participants, resources looked for
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    # The earliest due date among its open milestones and reports not yet submitted, kept by
    # the plan's service: a project is overdue when it is past, read from an index instead of
    # grouping every project's plan.
    next_due_on: Mapped[date | None]
    # Which version the fields are: 1 at the first submission, +1 at each resubmission.
    version: Mapped[int] = mapped_column(default=0)
    # The council vote that recommends it, once put to one.
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("votes.id", ondelete="SET NULL"))
    # The outcome the committee's chair proposes (recommend / return / reject), with reasons.
    proposed_outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class ProjectVersion(Base):
    """The fields of a project as they were submitted, one row per submission."""

    __tablename__ = "project_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int]
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectEventKind(enum.StrEnum):
    STATUS = "status"  # a change of status (from_status → to_status)
    ASSIGNED = "assigned"  # to a committee (subject: the body)
    COMMENT = "comment"  # a committee member's comment on the version in review
    PROPOSAL = "proposal"  # the chair's proposed outcome
    VOTE = "vote"  # put to a council vote (subject: the vote)
    MILESTONE_DONE = "milestone_done"
    REPORT = "report"
    JOINED = "joined"  # a participant joined the consortium
    LEFT = "left"


class ProjectEvent(Base):
    """A project's history: statuses, assignments, comments, decisions."""

    __tablename__ = "project_events"
    __table_args__ = (Index("ix_project_events_project", "project_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    kind: Mapped[ProjectEventKind] = mapped_column(str_enum(ProjectEventKind))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=0)
    from_status: Mapped[ProjectStatus | None] = mapped_column(str_enum(ProjectStatus))
    to_status: Mapped[ProjectStatus | None] = mapped_column(str_enum(ProjectStatus))
    text: Mapped[str | None] = mapped_column(Text)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectNeed(Base):
    """A need the project answers."""

    __tablename__ = "project_needs"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    need_id: Mapped[int] = mapped_column(
        ForeignKey("needs.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ProjectFollower(Base):
    __tablename__ = "project_followers"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParticipantStatus(enum.StrEnum):
    INVITED = "invited"  # an organization invited, not yet answered
    ACTIVE = "active"
    DECLINED = "declined"
    LEFT = "left"


class ProjectParticipant(Base):
    """A member of a project's consortium: an organization (ТОС included) or a citizen. The
    district it counts for is recorded when it joins, so the district-majority rule does not
    change under a project when someone moves."""

    __tablename__ = "project_participants"
    __table_args__ = (
        # Named: the naming convention takes only the first column, the same for both.
        UniqueConstraint(
            "project_id", "organization_id", name="uq_project_participants_project_organization"
        ),
        UniqueConstraint("project_id", "user_id", name="uq_project_participants_project_user"),
        Index("ix_project_participants_user", "user_id"),
        Index("ix_project_participants_organization", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[ParticipantStatus] = mapped_column(
        str_enum(ParticipantStatus), default=ParticipantStatus.INVITED
    )
    # The initiating organization is a participant too (it cannot leave its own project).
    lead: Mapped[bool] = mapped_column(default=False)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class ContributionKind(enum.StrEnum):
    MONEY = "money"
    WORK = "work"
    PREMISES = "premises"
    EQUIPMENT = "equipment"
    OTHER = "other"


class ProjectContribution(Base):
    """A participant's share: what it brings and its value in roubles (the stakes of the
    district-majority rule are these values). A resource offered in the resources database
    can be pledged (`resource_id`)."""

    __tablename__ = "project_contributions"
    __table_args__ = (Index("ix_project_contributions_project", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("project_participants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ContributionKind] = mapped_column(str_enum(ContributionKind))
    value: Mapped[int] = mapped_column(BigInteger, default=0)  # roubles
    description: Mapped[str] = mapped_column(Text, default="")
    resource_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_offers.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Milestone(Base):
    """A step of the work plan, due on a date, with a responsible person."""

    __tablename__ = "milestones"
    __table_args__ = (
        Index("ix_milestones_project_due", "project_id", "due_on"),
        # The overdue list: open milestones by due date.
        Index("ix_milestones_open_due", "done_at", "due_on", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date]
    responsible_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    done_at: Mapped[datetime | None]
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectReport(Base):
    """A report: planned with its due date (then it is missing until submitted), filled with
    the period, progress, text and money spent."""

    __tablename__ = "project_reports"
    __table_args__ = (
        Index("ix_project_reports_project_due", "project_id", "due_on"),
        Index("ix_project_reports_missing", "submitted_at", "due_on", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    due_on: Mapped[date | None]
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    final: Mapped[bool] = mapped_column(default=False)
    period_start: Mapped[date | None]
    period_end: Mapped[date | None]
    progress: Mapped[int | None]  # percent
    text: Mapped[str | None] = mapped_column(Text)
    spent: Mapped[int | None] = mapped_column(BigInteger)  # roubles
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectFile(Base):
    """A document or photo attached to a project, a milestone or a report (Telegram keeps the
    bytes; the bot keeps the file id)."""

    __tablename__ = "project_files"
    __table_args__ = (Index("ix_project_files_owner", "project_id", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    owner_type: Mapped[str] = mapped_column(String(16), default="project")
    owner_id: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(16))  # document | photo
    file_id: Mapped[str] = mapped_column(String(200))
    file_unique_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
