"""Roles follow from memberships in bodies and from representing an approved organization."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import users
from models import (
    Body,
    BodyKind,
    Membership,
    Organization,
    OrganizationStatus,
    Representative,
    Role,
    User,
    UserRole,
)
from models.base import utcnow

BODY_ROLES: dict[BodyKind, Role] = {
    BodyKind.COUNCIL: Role.COUNCIL,
    BodyKind.PRESIDIUM: Role.PRESIDIUM,
    BodyKind.COMMITTEE: Role.COMMITTEE,
    BodyKind.WORKING_GROUP: Role.COMMITTEE,
    BodyKind.COMMISSION: Role.COMMITTEE,
    BodyKind.EXECUTIVE: Role.EXECUTIVE,
    BodyKind.SECRETARIAT: Role.SECRETARIAT,
}
# Roles held by themselves rather than derived: citizen (onboarding) and admin (settings).
DERIVED_ROLES = frozenset(BODY_ROLES.values()) | {Role.REPRESENTATIVE}


async def derived_roles(session: AsyncSession, user: User) -> set[Role]:
    if user.deleted_at is not None:
        # An erased person holds nothing, whatever rows still name their id.
        return set()
    now = utcnow()
    kinds = await session.scalars(
        select(Body.kind)
        .join(Membership, Membership.body_id == Body.id)
        .where(
            Membership.user_id == user.id,
            or_(Membership.until.is_(None), Membership.until > now),
        )
    )
    roles = {BODY_ROLES[kind] for kind in kinds}
    represents = await session.scalar(
        select(Representative.user_id)
        .join(Organization, Organization.id == Representative.organization_id)
        .where(
            Representative.user_id == user.id,
            Organization.status == OrganizationStatus.APPROVED,
        )
        .limit(1)
    )
    if represents is not None:
        roles.add(Role.REPRESENTATIVE)
    return roles


async def sync_roles(session: AsyncSession, user: User) -> tuple[set[Role], set[Role]]:
    """Bring the user's stored roles in line with their memberships; returns (gained, lost)."""
    should = await derived_roles(session, user)
    held = set(user.role_set) & DERIVED_ROLES
    for role in should - held:
        await users.grant_role(session, user, role)
    for role in held - should:
        await users.revoke_role(session, user, role)
    return should - held, held - should


async def holders(session: AsyncSession, role: Role) -> list[User]:
    """Living people who hold a role (for notifying, e.g., the Secretariat of a new application)."""
    rows = await session.scalars(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == role, User.deleted_at.is_(None))
        .order_by(User.id)
    )
    return list(rows)
