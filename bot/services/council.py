"""The council (ГОС) as the Regulations compose it (item 4): each category of seat is a rule,
checked whenever someone is seated (`check_seat`, called by `bodies.seat` for the Secretariat and
for the bot alike), and the records the rules rest on, kept by the Secretariat.

- a base organization's seat: a representative of the organization designated as some district's
  base organization (`District.base_organization_id`); designating another moves the seat;
- a city-wide structure's seat: a representative of an organization with a living city-wide
  designation (local government's act, typed as its basis); revoking it ends the seat;
- a co-chair: the recorded holder of one of the two offices; a new holder moves the seat;
- a personally elected member: a winner of a closed conference election, for a term;
- an honorary citizen: by status, with an optional basis;
- the presidium: appointed by the council, so a seat there needs the council's adopted vote.

One seat per organization and per office: seating another representative hands the seat over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, bodies, notices
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
    Outcome,
    Representative,
    RepresentativeRole,
    Topic,
    User,
    Vote,
    VoteKind,
    VoteStatus,
)
from models.base import utcnow
from models.council import CouncilDesignation, DesignationKind, Office
from models.meetings import Meeting, MeetingKind

BASIS_MAX = 500
PER_PAGE = 10
# A conference election is a vote about the conference (the meeting) it is held at.
ELECTION_SUBJECT = "meeting"
# The order of the Regulations' list.
CATEGORY_ORDER = (
    CouncilCategory.CO_CHAIR,
    CouncilCategory.BASE_ORGANIZATION,
    CouncilCategory.CITYWIDE,
    CouncilCategory.HONORARY,
    CouncilCategory.ELECTED,
)
ORGANIZATION_SEATS = (CouncilCategory.BASE_ORGANIZATION, CouncilCategory.CITYWIDE)
_NUMBER = re.compile(r"^\s*(?:№|#|N|No\.?)?\s*(\d{1,9})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SeatRule:
    """What a seat rests on, as checked: only the fields its category uses are kept."""

    organization_id: int | None = None
    office: str | None = None
    basis_vote_id: int | None = None
    basis_text: str | None = None
    # Seats the new one takes over (the organization's or the office's previous holder).
    replaces: tuple[Membership, ...] = ()


def clean_basis(raw: str | None, *, required: bool) -> str | None:
    """An act or a note as typed: spaces tidied, at most BASIS_MAX characters."""
    text = " ".join((raw or "").split())
    if not text:
        if required:
            raise InvalidInput("council-bad-basis", max=BASIS_MAX)
        return None
    if len(text) > BASIS_MAX:
        raise InvalidInput("council-bad-basis", max=BASIS_MAX)
    return text


def parse_vote_number(text: str) -> int:
    """A vote's number as typed: "12", "№12", "#12"."""
    match = _NUMBER.match(text)
    if match is None:
        raise InvalidInput("council-bad-vote-number")
    return int(match.group(1))


# --- The rules ---------------------------------------------------------------------------------


async def check_seat(
    session: AsyncSession,
    body: Body,
    user: User,
    category: CouncilCategory | None,
    *,
    organization_id: int | None = None,
    office: str | None = None,
    basis_vote_id: int | None = None,
    basis_text: str | None = None,
) -> SeatRule:
    """The rule this seat must meet, checked; InvalidInput says which rule it fails and why."""
    basis = clean_basis(basis_text, required=False)
    if body.kind == BodyKind.PRESIDIUM:
        vote = await council_decision(session, basis_vote_id)
        return SeatRule(basis_vote_id=vote.id, basis_text=basis)
    if body.kind != BodyKind.COUNCIL or category is None:
        return SeatRule(basis_text=basis)
    if category in ORGANIZATION_SEATS:
        organization = await seat_organization(session, category, organization_id, user)
        held = await seats(session, category, organization_id=organization.id)
        return SeatRule(organization_id=organization.id, basis_text=basis, replaces=tuple(held))
    if category == CouncilCategory.CO_CHAIR:
        chosen = await held_office(session, office, user)
        held = await seats(session, category, office=chosen)
        return SeatRule(office=chosen.value, basis_text=basis, replaces=tuple(held))
    if category == CouncilCategory.ELECTED:
        vote = await election(session, basis_vote_id, user)
        return SeatRule(basis_vote_id=vote.id, basis_text=basis)
    return SeatRule(basis_text=basis)  # an honorary citizen: by status


async def seat_organization(
    session: AsyncSession,
    category: CouncilCategory,
    organization_id: int | None,
    user: User,
) -> Organization:
    """The base organization or city-wide structure a seat represents, and `user` among its
    representatives."""
    if organization_id is None:
        raise InvalidInput("council-organization-required")
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("council-organization-not-found")
    if category == CouncilCategory.BASE_ORGANIZATION:
        if await base_district(session, organization.id) is None:
            raise InvalidInput("council-not-base", name=organization.name)
    elif await citywide_designation(session, organization.id) is None:
        raise InvalidInput("council-not-citywide", name=organization.name)
    represents = await session.scalar(
        select(Representative.user_id).where(
            Representative.organization_id == organization.id, Representative.user_id == user.id
        )
    )
    if represents is None:
        raise InvalidInput(
            "council-not-representative", person=user.name or "—", name=organization.name
        )
    return organization


async def held_office(session: AsyncSession, office: str | None, user: User) -> Office:
    """The co-chair's office `user` is recorded as holding."""
    try:
        chosen = Office(office or "")
    except ValueError:
        raise InvalidInput("council-office-required") from None
    designation = await office_designation(session, chosen)
    if designation is None or designation.holder_id != user.id:
        raise InvalidInput(f"council-not-holder-{chosen.value}", person=user.name or "—")
    return chosen


async def election(session: AsyncSession, vote_id: int | None, user: User) -> Vote:
    """The closed conference election `user` won."""
    if vote_id is None:
        raise InvalidInput("council-election-required")
    vote = await session.get(Vote, vote_id)
    if vote is None:
        raise InvalidInput("council-vote-not-found", number=vote_id)
    meeting = None
    if vote.kind == VoteKind.ELECTION and vote.subject_type == ELECTION_SUBJECT:
        meeting = await session.get(Meeting, vote.subject_id) if vote.subject_id else None
    if meeting is None or meeting.kind != MeetingKind.CONFERENCE:
        raise InvalidInput("council-not-conference-election", number=vote.id)
    if vote.status != VoteStatus.CLOSED:
        raise InvalidInput("council-election-not-closed", number=vote.id)
    winners = set((vote.result or {}).get("winners", []))
    elected = {option.candidate_id for option in vote.options if option.position in winners}
    if user.id not in elected:
        raise InvalidInput("council-not-elected", number=vote.id, person=user.name or "—")
    return vote


async def council_decision(session: AsyncSession, vote_id: int | None) -> Vote:
    """The council's closed, adopted vote a presidium seat is appointed by."""
    if vote_id is None:
        raise InvalidInput("council-decision-required")
    vote = await session.get(Vote, vote_id)
    if vote is None:
        raise InvalidInput("council-vote-not-found", number=vote_id)
    council = await bodies.single(session, BodyKind.COUNCIL)
    if vote.body_id != council.id:
        raise InvalidInput("council-not-council-vote", number=vote.id)
    if vote.status != VoteStatus.CLOSED or vote.outcome != Outcome.ADOPTED:
        raise InvalidInput("council-vote-not-adopted", number=vote.id)
    return vote


# --- What the rules read -----------------------------------------------------------------------


async def base_district(session: AsyncSession, organization_id: int) -> District | None:
    """The district whose base organization this is, if any."""
    return await session.scalar(
        select(District)
        .where(District.base_organization_id == organization_id)
        .order_by(District.number)
        .limit(1)
    )


async def citywide_designation(
    session: AsyncSession, organization_id: int
) -> CouncilDesignation | None:
    return await session.scalar(
        select(CouncilDesignation).where(
            CouncilDesignation.kind == DesignationKind.CITYWIDE,
            CouncilDesignation.organization_id == organization_id,
            CouncilDesignation.revoked_at.is_(None),
        )
    )


async def office_designation(session: AsyncSession, office: Office) -> CouncilDesignation | None:
    return await session.scalar(
        select(CouncilDesignation).where(
            CouncilDesignation.kind == DesignationKind.OFFICE,
            CouncilDesignation.office == office,
            CouncilDesignation.revoked_at.is_(None),
        )
    )


async def seats(
    session: AsyncSession,
    category: CouncilCategory,
    *,
    organization_id: int | None = None,
    office: Office | None = None,
) -> list[Membership]:
    """The council's seats of a category (for one organization or office, when named)."""
    council = await bodies.single(session, BodyKind.COUNCIL)
    query = select(Membership).where(
        Membership.body_id == council.id, Membership.council_category == category
    )
    if organization_id is not None:
        query = query.where(Membership.organization_id == organization_id)
    if office is not None:
        query = query.where(Membership.office == office.value)
    return list(await session.scalars(query.order_by(Membership.id)))


async def eligible_organizations(
    session: AsyncSession, actor: User | None, category: CouncilCategory, user_id: int
) -> list[Organization]:
    """The organizations whose seat of this category the person may take: those they represent
    that are designated as required. InvalidInput when there are none, saying why."""
    bodies.require_manager(actor)
    person = await bodies.person(session, actor, user_id, "seat")
    represented = select(Representative.organization_id).where(Representative.user_id == person.id)
    query = select(Organization).where(Organization.id.in_(represented))
    if category == CouncilCategory.BASE_ORGANIZATION:
        query = query.where(
            Organization.id.in_(
                select(District.base_organization_id).where(
                    District.base_organization_id.is_not(None)
                )
            )
        )
        refusal = "council-no-base-organization"
    else:
        query = query.where(Organization.id.in_(_living_citywide_ids()))
        refusal = "council-no-citywide"
    found = list(await session.scalars(query.order_by(Organization.name_key, Organization.id)))
    if not found:
        raise InvalidInput(refusal, person=person.name or "—")
    return found


async def eligible_offices(session: AsyncSession, actor: User | None, user_id: int) -> list[Office]:
    """The co-chair offices the person is recorded as holding; InvalidInput when none."""
    bodies.require_manager(actor)
    person = await bodies.person(session, actor, user_id, "seat")
    held = [
        office
        for office in Office
        if (found := await office_designation(session, office)) is not None
        and found.holder_id == person.id
    ]
    if not held:
        raise InvalidInput("council-holds-no-office", person=person.name or "—")
    return held


def _living_citywide_ids() -> Select[int | None]:
    return select(CouncilDesignation.organization_id).where(
        CouncilDesignation.kind == DesignationKind.CITYWIDE,
        CouncilDesignation.revoked_at.is_(None),
    )


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
        Organization.id.not_in(_living_citywide_ids()),
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


async def citywide_to_revoke(
    session: AsyncSession, actor: User | None, designation_id: int
) -> CitywideLine:
    """A living city-wide designation the Secretariat is about to revoke."""
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
    line = await citywide_to_revoke(session, actor, designation_id)
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


# --- The composition, for the Secretariat's screen ---------------------------------------------


@dataclass(frozen=True)
class Composition:
    counts: dict[CouncilCategory, int]
    offices: list[OfficeLine]
    base_designated: int  # districts with a base organization
    citywide_designated: int


@dataclass(frozen=True)
class SeatLine:
    membership: Membership
    organization: Organization | None
    district: District | None


async def composition(session: AsyncSession, actor: User | None) -> Composition:
    """How many sit in each category, the offices, and how many seats the designations call for."""
    bodies.require_manager(actor)
    council = await bodies.single(session, BodyKind.COUNCIL)
    rows = await session.execute(
        select(Membership.council_category, func.count())
        .where(Membership.body_id == council.id)
        .group_by(Membership.council_category)
    )
    counts = {category: 0 for category in CATEGORY_ORDER}
    for category, number in rows.all():
        if category is not None:
            counts[category] = number
    base = await session.scalar(
        select(func.count(func.distinct(District.base_organization_id))).where(
            District.base_organization_id.is_not(None)
        )
    )
    citywide = await session.scalar(
        select(func.count()).select_from(_living_citywide_ids().subquery())
    )
    return Composition(counts, await offices(session, actor), base or 0, citywide or 0)


async def members(
    session: AsyncSession,
    actor: User | None,
    category: CouncilCategory,
    page: int = 0,
    per_page: int = PER_PAGE,
) -> Page[SeatLine]:
    """One page of the council's members of a category, with what each seat rests on."""
    bodies.require_manager(actor)
    council = await bodies.single(session, BodyKind.COUNCIL)
    where = (Membership.body_id == council.id, Membership.council_category == category)
    total = await session.scalar(select(func.count()).select_from(Membership).where(*where))
    page, pages = page_bounds(page, total or 0, per_page)
    rows = await session.scalars(
        select(Membership)
        .where(*where)
        .order_by(Membership.id)
        .offset(page * per_page)
        .limit(per_page)
    )
    lines = []
    for seat in rows:
        organization = district = None
        if seat.organization_id is not None:
            organization = await session.get(Organization, seat.organization_id)
            district = await base_district(session, seat.organization_id)
        lines.append(SeatLine(seat, organization, district))
    return Page(lines, page, pages, total or 0)
