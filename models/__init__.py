"""All models, imported here so that `Base.metadata` knows every table (Alembic needs it).

The names below are the ones the code imports from `models`; besides them, every module of the
package is imported, so a new capability's models need no line here.
"""

import importlib
import pkgutil

from models.audit import AuditEntry, AuditHead, AuditWitness
from models.base import Base
from models.bodies import Body, BodyKind, CouncilCategory, MemberRole, Membership
from models.delivery import Delivery, DeliveryStatus, Outbox, OutboxStatus, SendQuota, Topic
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
    VoteReceipt,
    VoterUnit,
    VoteStatus,
    VoteVoter,
)

__all__ = [
    "ApplicationMessage",
    "AuditEntry",
    "AuditHead",
    "AuditWitness",
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
    "SendQuota",
    "Topic",
    "User",
    "UserRole",
    "Vote",
    "VoteKind",
    "VoteOption",
    "VoteReceipt",
    "VoteStatus",
    "VoteVoter",
    "VoterUnit",
]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
