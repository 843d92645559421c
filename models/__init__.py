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

__all__ = [
    "ApplicationMessage",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Body",
    "BodyKind",
    "CouncilCategory",
    "Delivery",
    "DeliveryStatus",
    "District",
    "FsmRecord",
    "Invite",
    "InviteKind",
    "JobStatus",
    "Lease",
    "MemberRole",
    "Membership",
    "Organization",
    "OrganizationKind",
    "OrganizationStatus",
    "Outbox",
    "OutboxStatus",
    "Representative",
    "RepresentativeRole",
    "Role",
    "ScheduledJob",
    "Topic",
    "User",
    "UserRole",
]
