"""A consortium participant's contributions: what it brings (money, work, premises,
equipment, other), valued in roubles, with a description, possibly pledging an offer from the
resources database. Only the participant keeps them (its representatives, or the citizen), and
every change of value is judged by the district-majority rule (`stakes`) under a lock on the
project."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.projects import access, stakes
from bot.services.projects.consortium import get_participant, require_open, speaks_for
from bot.services.projects.rules import clean
from models import User
from models.needs import ResourceOffer
from models.projects import (
    ContributionKind,
    ParticipantStatus,
    Project,
    ProjectContribution,
    ProjectParticipant,
)

P = ParticipantStatus
DESCRIPTION_MAX = 500
VALUE_MAX = 10**12  # a trillion roubles: beyond any project, within BIGINT
_DIGITS = re.compile(r"[\s\u00a0\u202f.,'_]|руб\.?|₽|rub\.?", re.IGNORECASE)


def parse_value(text: str) -> int:
    """A value in roubles as people type it: "150 000", "150000 руб.", "0"."""
    raw = _DIGITS.sub("", (text or "").strip())
    if not raw.isdigit():
        raise InvalidInput("projects-team-value-invalid")
    value = int(raw)
    if value > VALUE_MAX:
        raise InvalidInput("projects-team-value-invalid")
    return value


async def contributor(
    session: AsyncSession, actor: User | None, participant_id: int
) -> tuple[User, Project, ProjectParticipant]:
    """The participant's own person (its representative, or the citizen), while it is active or
    invited and the project still changes; refused otherwise."""
    participant = await get_participant(session, participant_id)
    project = await access.get(session, participant.project_id, lock=True)
    if actor is None or not await speaks_for(session, actor, participant):
        raise NotAllowed()
    if participant.status not in (P.ACTIVE, P.INVITED):
        raise NotAllowed()
    require_open(project)
    return actor, project, participant


async def pledgeable(
    session: AsyncSession, user: User, participant: ProjectParticipant
) -> list[ResourceOffer]:
    """Active resource offers this participant may pledge: the citizen's own, or the
    organization's."""
    condition = (
        ResourceOffer.organization_id == participant.organization_id
        if participant.organization_id is not None
        else (ResourceOffer.owner_id == user.id) & ResourceOffer.organization_id.is_(None)
    )
    rows = await session.scalars(
        select(ResourceOffer)
        .where(condition, ResourceOffer.active.is_(True))
        .order_by(ResourceOffer.id.desc())
        .limit(10)
    )
    return list(rows)


async def _judge_value(
    session: AsyncSession, project: Project, participant: ProjectParticipant, delta: int
) -> bool:
    if participant.status != P.ACTIVE or delta == 0:
        return False
    before = await stakes.compute(session, project)
    current = before.values.get(participant.id, 0)
    return stakes.judge(before, before.with_value(participant.id, current + delta))


def _require_valid(value: int) -> None:
    if not 0 <= value <= VALUE_MAX:
        raise InvalidInput("projects-team-value-invalid")


async def _record(
    session: AsyncSession, person: User, project: Project, contribution: ProjectContribution
) -> None:
    await audit.record(
        session,
        person,
        "project.contribute",
        "project",
        project.id,
        contribution=contribution.id,
        value=contribution.value,
    )


async def add_contribution(
    session: AsyncSession,
    actor: User | None,
    participant_id: int,
    kind: ContributionKind,
    value: int,
    description: str,
    resource_id: int | None = None,
) -> tuple[ProjectContribution, bool]:
    """A participant adds what it brings; returns it and the warning flag."""
    person, project, participant = await contributor(session, actor, participant_id)
    _require_valid(value)
    text = clean(description, limit=DESCRIPTION_MAX)
    if resource_id is not None:
        offers = {o.id for o in await pledgeable(session, person, participant)}
        if resource_id not in offers:
            raise NotFound("projects-team-resource-not-found")
    warning = await _judge_value(session, project, participant, value)
    contribution = ProjectContribution(
        project_id=project.id,
        participant_id=participant.id,
        kind=ContributionKind(kind),
        value=value,
        description=text,
        resource_id=resource_id,
    )
    session.add(contribution)
    await session.flush()
    await _record(session, person, project, contribution)
    return contribution, warning


async def check_value(
    session: AsyncSession, actor: User | None, participant_id: int, value: int
) -> bool:
    """Whether a new contribution of this value may be added (MinorityRefused if not); True
    when only the council's allowance lets it through."""
    _, project, participant = await contributor(session, actor, participant_id)
    _require_valid(value)
    return await _judge_value(session, project, participant, value)


async def get_contribution(session: AsyncSession, contribution_id: int) -> ProjectContribution:
    """A contribution by id, or "not found"."""
    contribution = await session.get(ProjectContribution, contribution_id)
    if contribution is None:
        raise NotFound("projects-team-contribution-not-found")
    return contribution


async def edit_contribution(
    session: AsyncSession,
    actor: User | None,
    contribution_id: int,
    *,
    value: int | None = None,
    description: str | None = None,
) -> tuple[ProjectContribution, bool]:
    """Its participant changes a contribution's value or description."""
    contribution = await get_contribution(session, contribution_id)
    person, project, participant = await contributor(session, actor, contribution.participant_id)
    warning = False
    if value is not None:
        _require_valid(value)
        warning = await _judge_value(session, project, participant, value - contribution.value)
        contribution.value = value
    if description is not None:
        contribution.description = clean(description, limit=DESCRIPTION_MAX)
    await session.flush()
    await _record(session, person, project, contribution)
    return contribution, warning


async def delete_contribution(
    session: AsyncSession, actor: User | None, contribution_id: int
) -> tuple[ProjectParticipant, bool]:
    """Its participant takes a contribution back."""
    contribution = await get_contribution(session, contribution_id)
    person, project, participant = await contributor(session, actor, contribution.participant_id)
    warning = await _judge_value(session, project, participant, -contribution.value)
    await session.delete(contribution)
    await session.flush()
    await audit.record(
        session,
        person,
        "project.contribute",
        "project",
        project.id,
        contribution=contribution_id,
        removed=True,
    )
    return participant, warning
