"""All models, imported here so that `Base.metadata` knows every table (Alembic needs it)."""

from models.audit import AuditEntry, AuditHead
from models.base import Base
from models.bodies import Body, BodyKind, CouncilCategory, MemberRole, Membership
from models.delivery import Delivery, DeliveryStatus, Outbox, OutboxStatus, Topic
from models.districts import District
from models.fsm import FsmRecord
from models.organizations import (
    ApplicationMessage,
    Invite,
    InviteKind,
    Organization,
    OrganizationKind,
    OrganizationStatus,
    Representative,
    RepresentativeRole,
)
from models.scheduler import JobStatus, Lease, ScheduledJob
from models.users import Role, User, UserRole
from models.votes import (
    Ballot,
    BallotChoice,
    FollowUp,
    Majority,
    OptionKind,
    Outcome,
    Quorum,
    Recommendation,
    Vote,
    VoteKind,
    VoteOption,
    VoterUnit,
    VoteStatus,
    VoteVoter,
)

__all__ = [
    "ApplicationMessage",
    "AuditEntry",
    "AuditHead",
    "Ballot",
    "BallotChoice",
    "Base",
    "Body",
    "BodyKind",
    "CouncilCategory",
    "Delivery",
    "DeliveryStatus",
    "District",
    "FollowUp",
    "FsmRecord",
    "Invite",
    "InviteKind",
    "JobStatus",
    "Lease",
    "Majority",
    "MemberRole",
    "Membership",
    "OptionKind",
    "Organization",
    "OrganizationKind",
    "OrganizationStatus",
    "Outbox",
    "OutboxStatus",
    "Outcome",
    "Quorum",
    "Recommendation",
    "Representative",
    "RepresentativeRole",
    "Role",
    "ScheduledJob",
    "Topic",
    "User",
    "UserRole",
    "Vote",
    "VoteKind",
    "VoteOption",
    "VoteStatus",
    "VoteVoter",
    "VoterUnit",
]
