"""The records the Secretariat keeps (city-wide structures, the co-chairs' offices) and the
moves of seats when a designation changes: the seat follows the rule."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, bodies, notices
from bot.services.council.rules import (
    PER_PAGE,
    SeatRule,
    base_district,
    citywide_designation,
    clean_basis,
    living_citywide_ids,
    office_designation,
    seats,
)
from bot.services.errors import InvalidInput, NotFound
from bot.services.paging import Page, page_bounds
from models import (
    Body,
    BodyKind,
    CouncilCategory,
    District,
    MemberRole,
    Membership,
    Organization,
    OrganizationStatus,
    RepresentativeRole,
    Topic,
    User,
)
from models.base import utcnow
from models.council import CouncilDesignation, DesignationKind, Office

# --- Moves: when a designation changes, the seat follows -------------------------------------


async def _end(
    session: AsyncSession, actor: User | None, seat: Membership, key: str, **params: str | int
) -> None:
    user = await bodies.unseat(session, actor, seat, key)
    await notices.notify(session, [user], key, topic=Topic.DUTY, urgent=False, **params)


async def hand_over(session: AsyncSession, actor: User | None, rule: SeatRule, user: User) -> None:
    """The previous holders of an organization's or an office's seat give it up to `user`."""
    for previous in rule.replaces:
        if previous.user_id == user.id:
            continue
        if rule.organization_id is not None:
            organization = await session.get(Organization, rule.organization_id)
            name = organization.name if organization else "—"
            await _end(session, actor, previous, "council-seat-replaced", name=name)
        else:
            key = f"council-office-{rule.office}"
            await _end(session, actor, previous, "council-seat-replaced-office", office_key=key)


def _head(organization: Organization) -> User | None:
    for rep in organization.representatives:
        if rep.role == RepresentativeRole.HEAD and rep.user.is_registered:
            return rep.user
    return None


async def base_moved(
    session: AsyncSession, actor: User | None, district: District, previous_id: int | None
) -> None:
    """After the Secretariat designates a district's base organization: the previous one's seat
    ends (unless it is still some district's base) and the new one's registered head takes it
    (unless its seat is taken, or the head already sits in the council on another ground)."""
    new = await session.get(Organization, district.base_organization_id or 0)
    if new is None:
        return
    where: dict[str, str | int] = {
        "number": district.number,
        "district": district.name,
        "name": new.name,
    }
    if previous_id is not None and previous_id != new.id:
        previous = await session.get(Organization, previous_id)
        if previous is not None and await base_district(session, previous_id) is None:
            for seat in await seats(
                session, CouncilCategory.BASE_ORGANIZATION, organization_id=previous_id
            ):
                await _end(
                    session, actor, seat, "council-seat-ended-base", old=previous.name, **where
                )
    if await seats(session, CouncilCategory.BASE_ORGANIZATION, organization_id=new.id):
        return
    head = _head(new)
    council = await bodies.single(session, BodyKind.COUNCIL)
    if head is None or await _sits(session, council, head):
        return
    await bodies.seat(
        session,
        actor,
        council.id,
        head.id,
        MemberRole.MEMBER,
        CouncilCategory.BASE_ORGANIZATION,
        organization_id=new.id,
    )
    await notices.notify(
        session, [head], "council-seated-base", topic=Topic.DUTY, urgent=False, **where
    )


async def _sits(session: AsyncSession, council: Body, user: User) -> bool:
    found = await session.scalar(
        select(Membership.id).where(Membership.body_id == council.id, Membership.user_id == user.id)
    )
    return found is not None


# --- City-wide structures ----------------------------------------------------------------------


@dataclass(frozen=True)
class CitywideLine:
    designation: CouncilDesignation
    organization: Organization
    holders: list[User]  # who holds its council seat (none: the seat is vacant)


async def citywide_page(
    session: AsyncSession, actor: User | None, page: int = 0, per_page: int = PER_PAGE
) -> Page[CitywideLine]:
    """The living city-wide designations with who holds each seat; for the Secretariat."""
    bodies.require_manager(actor)
    where = (
        CouncilDesignation.kind == DesignationKind.CITYWIDE,
        CouncilDesignation.revoked_at.is_(None),
    )
    total = await session.scalar(select(func.count()).select_from(CouncilDesignation).where(*where))
    page, pages = page_bounds(page, total or 0, per_page)
    rows = await session.execute(
        select(CouncilDesignation, Organization)
        .join(Organization, Organization.id == CouncilDesignation.organization_id)
        .where(*where)
        .order_by(Organization.name_key, CouncilDesignation.id)
        .offset(page * per_page)
        .limit(per_page)
    )
    lines = []
    for designation, organization in rows.all():
        held = await seats(session, CouncilCategory.CITYWIDE, organization_id=organization.id)
        lines.append(CitywideLine(designation, organization, [seat.user for seat in held]))
    return Page(lines, page, pages, total or 0)


async def citywide_candidates(
    session: AsyncSession, actor: User | None, page: int = 0, per_page: int = PER_PAGE
) -> Page[Organization]:
    """Approved member organizations not yet designated city-wide."""
    bodies.require_manager(actor)
    where = (
        Organization.status == OrganizationStatus.APPROVED,
        Organization.id.not_in(living_citywide_ids()),
    )
    total = await session.scalar(select(func.count()).select_from(Organization).where(*where))
    page, pages = page_bounds(page, total or 0, per_page)
    rows = await session.scalars(
        select(Organization)
        .where(*where)
        .order_by(Organization.name_key, Organization.id)
        .offset(page * per_page)
        .limit(per_page)
    )
    return Page(list(rows), page, pages, total or 0)


async def citywide_candidate(
    session: AsyncSession, actor: User | None, organization_id: int
) -> Organization:
    """An organization the Secretariat is about to designate city-wide, checked as it will be."""
    bodies.require_manager(actor)
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("council-organization-not-found")
    if organization.status != OrganizationStatus.APPROVED:
        raise InvalidInput("council-citywide-not-approved", name=organization.name)
    if await citywide_designation(session, organization.id) is not None:
        raise InvalidInput("council-already-citywide", name=organization.name)
    return organization


async def designate_citywide(
    session: AsyncSession, actor: User | None, organization_id: int, basis: str
) -> CouncilDesignation:
    """The Secretariat records that local government designated an approved organization a
    city-wide structure of the self-organization system, with the act (`basis`)."""
    actor = bodies.require_manager(actor)
    organization = await citywide_candidate(session, actor, organization_id)
    text = clean_basis(basis, required=True) or ""
    designation = CouncilDesignation(
        kind=DesignationKind.CITYWIDE,
        organization_id=organization.id,
        basis=text,
        decided_by_id=actor.id,
    )
    session.add(designation)
    await session.flush()
    await audit.record(
        session, actor, "council.designate_citywide", "organization", organization.id, basis=text
    )
    return designation


async def citywide_record(
    session: AsyncSession, actor: User | None, designation_id: int
) -> CitywideLine:
    """A living city-wide designation with its organization and who holds its seat (the
    Secretariat has just recorded it, or is about to revoke it)."""
    bodies.require_manager(actor)
    designation = await session.get(CouncilDesignation, designation_id)
    if (
        designation is None
        or designation.kind != DesignationKind.CITYWIDE
        or designation.revoked_at is not None
        or designation.organization_id is None
    ):
        raise NotFound("council-designation-not-found")
    organization = await session.get(Organization, designation.organization_id)
    if organization is None:
        raise NotFound("council-designation-not-found")
    held = await seats(session, CouncilCategory.CITYWIDE, organization_id=organization.id)
    return CitywideLine(designation, organization, [seat.user for seat in held])


async def revoke_citywide(
    session: AsyncSession, actor: User | None, designation_id: int
) -> Organization:
    """The Secretariat revokes a city-wide designation; the structure's council seat ends."""
    actor = bodies.require_manager(actor)
    line = await citywide_record(session, actor, designation_id)
    line.designation.revoked_at = utcnow()
    line.designation.revoked_by_id = actor.id
    await session.flush()
    organization = line.organization
    await audit.record(session, actor, "council.revoke_citywide", "organization", organization.id)
    for seat in await seats(session, CouncilCategory.CITYWIDE, organization_id=organization.id):
        await _end(session, actor, seat, "council-seat-ended-citywide", name=organization.name)
    return organization


# --- The co-chairs' offices --------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeLine:
    office: Office
    designation: CouncilDesignation | None
    holder: User | None
    seated: bool  # the holder sits in the council as this office's co-chair


async def offices(session: AsyncSession, actor: User | None) -> list[OfficeLine]:
    """Both co-chair offices with their recorded holders; for the Secretariat."""
    bodies.require_manager(actor)
    lines = []
    for office in Office:
        designation = await office_designation(session, office)
        holder = None
        if designation is not None and designation.holder_id is not None:
            holder = await session.get(User, designation.holder_id)
        held = {
            seat.user_id for seat in await seats(session, CouncilCategory.CO_CHAIR, office=office)
        }
        lines.append(
            OfficeLine(office, designation, holder, holder is not None and holder.id in held)
        )
    return lines


async def set_office_holder(
    session: AsyncSession, actor: User | None, office: Office, holder_id: int, basis: str
) -> Membership:
    """The Secretariat records who holds a co-chair's office (with the act); the holder is
    seated as its co-chair and a previous holder's seat ends."""
    actor = bodies.require_manager(actor)
    holder = await bodies.person(session, actor, holder_id, "seat")
    text = clean_basis(basis, required=True) or ""
    current = await office_designation(session, office)
    if current is not None:
        current.revoked_at = utcnow()
        current.revoked_by_id = actor.id
        await session.flush()  # one living holder per office: the old record ends first
    session.add(
        CouncilDesignation(
            kind=DesignationKind.OFFICE,
            office=office,
            holder_id=holder.id,
            basis=text,
            decided_by_id=actor.id,
        )
    )
    await session.flush()
    council = await bodies.single(session, BodyKind.COUNCIL)
    await audit.record(
        session,
        actor,
        "council.set_office",
        "body",
        council.id,
        office=office.value,
        holder_id=holder.id,
        basis=text,
    )
    already = [
        seat
        for seat in await seats(session, CouncilCategory.CO_CHAIR, office=office)
        if seat.user_id == holder.id
    ]
    if already:
        return already[0]
    # The previous holder's seat moves to the new one (`bodies.seat` hands it over).
    seat = await bodies.seat(
        session,
        actor,
        council.id,
        holder.id,
        MemberRole.CHAIR,
        CouncilCategory.CO_CHAIR,
        office=office.value,
    )
    await notices.notify(
        session, [holder], "council-seated-office", office_key=f"council-office-{office.value}"
    )
    return seat


async def office_to_clear(session: AsyncSession, actor: User | None, office: Office) -> OfficeLine:
    """An office whose record the Secretariat is about to clear (refused when there is none)."""
    line = next(line for line in await offices(session, actor) if line.office == office)
    if line.designation is None:
        raise InvalidInput("council-office-vacant")
    return line


async def clear_office(session: AsyncSession, actor: User | None, office: Office) -> None:
    """The Secretariat clears an office's record; its co-chair's seat ends."""
    actor = bodies.require_manager(actor)
    current = await office_designation(session, office)
    if current is None:
        raise InvalidInput("council-office-vacant")
    current.revoked_at = utcnow()
    current.revoked_by_id = actor.id
    await session.flush()
    council = await bodies.single(session, BodyKind.COUNCIL)
    await audit.record(
        session, actor, "council.clear_office", "body", council.id, office=office.value
    )
    for seat in await seats(session, CouncilCategory.CO_CHAIR, office=office):
        await _end(
            session,
            actor,
            seat,
            "council-seat-ended-office",
            office_key=f"council-office-{office.value}",
        )
