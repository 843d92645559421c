"""The rule each kind of seat must meet (`check_seat`), and what the rules read."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import bodies
from bot.services.errors import InvalidInput, NotFound
from models import (
    Body,
    BodyKind,
    CouncilCategory,
    District,
    Membership,
    Organization,
    Outcome,
    Representative,
    User,
    Vote,
    VoteKind,
    VoteStatus,
)
from models.council import CouncilDesignation, DesignationKind, Office
from models.meetings import Meeting, MeetingKind

BASIS_MAX = 500
PER_PAGE = 6
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
        query = query.where(Organization.id.in_(living_citywide_ids()))
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


def living_citywide_ids() -> Select[int | None]:
    return select(CouncilDesignation.organization_id).where(
        CouncilDesignation.kind == DesignationKind.CITYWIDE,
        CouncilDesignation.revoked_at.is_(None),
    )
