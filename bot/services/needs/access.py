"""Who may work a district's needs: the representatives of the district's base public
organization (БОО), the Secretariat and the admins. Checked on the server for every action."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import NotAllowed
from bot.services.permissions import has_any_role
from models import District, Organization, OrganizationStatus, Representative, Role, User
from models.needs import Need


async def base_organization(session: AsyncSession, district_id: int) -> Organization | None:
    """The district's base organization, if it has one and it is an approved member."""
    organization = await session.scalar(
        select(Organization)
        .join(District, District.base_organization_id == Organization.id)
        .where(District.id == district_id, Organization.status == OrganizationStatus.APPROVED)
    )
    return organization


async def moderated_districts(session: AsyncSession, user: User | None) -> set[int] | None:
    """The districts whose needs `user` works: None for all (the Secretariat, admins), else the
    districts whose base organization they represent (possibly none)."""
    if user is None or user.deleted_at is not None:
        return set()
    if has_any_role(user, Role.SECRETARIAT):
        return None
    rows = await session.scalars(
        select(District.id)
        .join(Organization, District.base_organization_id == Organization.id)
        .join(Representative, Representative.organization_id == Organization.id)
        .where(
            Representative.user_id == user.id,
            Organization.status == OrganizationStatus.APPROVED,
        )
    )
    return set(rows)


async def may_moderate(session: AsyncSession, user: User | None, need: Need) -> bool:
    districts = await moderated_districts(session, user)
    return districts is None or need.district_id in districts


async def require_moderator(session: AsyncSession, user: User | None, need: Need) -> User:
    """The user, if they may work this need; otherwise NotAllowed."""
    if user is None or not await may_moderate(session, user, need):
        raise NotAllowed()
    return user
