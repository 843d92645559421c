"""All models, imported here so that `Base.metadata` knows every table (Alembic needs it)."""

from models.audit import AuditEntry, AuditHead
from models.base import Base
from models.bodies import Body, BodyKind, CouncilCategory, MemberRole, Membership
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
from models.users import Role, User, UserRole

__all__ = [
    "ApplicationMessage",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Body",
    "BodyKind",
    "CouncilCategory",
    "District",
    "FsmRecord",
    "Invite",
    "InviteKind",
    "MemberRole",
    "Membership",
    "Organization",
    "OrganizationKind",
    "OrganizationStatus",
    "Representative",
    "RepresentativeRole",
    "Role",
    "User",
    "UserRole",
]
