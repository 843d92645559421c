"""What a project's start and completion mean for the needs it answers: their filers and
supporters are told, and when it completes the people who handle those needs (the districts'
base organizations, the Secretariat) may mark them resolved in one step."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import NotAllowed
from bot.services.needs import access as need_access
from bot.services.needs import moderation
from bot.services.needs import notices as need_notices
from bot.services.projects import access, notices
from bot.services.projects.rules import IllegalTransition
from models import User
from models.needs import Need, NeedStatus
from models.projects import Project, ProjectNeed, ProjectStatus

Buttons = list[list[dict[str, str]]]
# The needs of a finished project may be resolved from then on.
RESOLVABLE_PROJECTS = frozenset({ProjectStatus.COMPLETED, ProjectStatus.REPORTED})


async def needs_of(session: AsyncSession, project_id: int) -> list[Need]:
    rows = await session.scalars(
        select(Need)
        .join(ProjectNeed, ProjectNeed.need_id == Need.id)
        .where(ProjectNeed.project_id == project_id)
        .order_by(Need.id)
    )
    return list(rows)


async def tell_needs(session: AsyncSession, project: Project, *, started: bool) -> int:
    """The filers and supporters of each need the project answers hear that it started (or
    completed); returns how many needs were told."""
    key = "projects-work-need-started" if started else "projects-work-need-completed"
    told = 0
    for need in await needs_of(session, project.id):
        sent = await need_notices.to_followers(
            session, need, key, project=project.id, title=project.title
        )
        told += sent is not None
    return told


async def handlers(session: AsyncSession, needs: list[Need]) -> list[User]:
    """Who may resolve at least one of these needs: the Secretariat, and the representatives
    of the base organization of each need's district."""
    people = {person.id: person for person in await need_notices.secretariat(session)}
    for district_id in sorted({need.district_id for need in needs}):
        base = await need_access.base_organization(session, district_id)
        if base is not None:
            for person in await need_notices.base_representatives(session, base.id):
                people[person.id] = person
    return [people[uid] for uid in sorted(people)]


async def offer_resolution(
    session: AsyncSession, project: Project, buttons: Buttons | None = None
) -> int:
    """The needs' handlers are offered to mark the open needs resolved; returns how many
    people were asked."""
    needs = [
        need
        for need in await needs_of(session, project.id)
        if moderation.may_move(need.status, NeedStatus.RESOLVED)
    ]
    if not needs:
        return 0
    people = await handlers(session, needs)
    numbers = ", ".join(str(need.id) for need in needs)
    await notices.to_people(
        session,
        project,
        people,
        "projects-work-need-resolve-ask",
        buttons=buttons,
        needs=numbers,
    )
    return len(people)


@dataclass(frozen=True)
class Resolved:
    resolved: list[int]
    skipped: int


async def resolve_needs(session: AsyncSession, actor: User | None, project_id: int) -> Resolved:
    """Mark the needs of a completed project resolved, each through the needs' own service
    (checked and told there); the needs the actor does not handle or that cannot be resolved
    in their status are skipped and counted."""
    project = await access.get(session, project_id, lock=True)
    if actor is None or actor.deleted_at is not None:
        raise NotAllowed()
    needs = await needs_of(session, project.id)
    mine = [need for need in needs if await need_access.may_moderate(session, actor, need)]
    if not mine:
        raise NotAllowed()
    if project.status not in RESOLVABLE_PROJECTS:
        raise IllegalTransition(number=project.id)
    resolved: list[int] = []
    for need in mine:
        if moderation.may_move(need.status, NeedStatus.RESOLVED):
            await moderation.resolve(session, actor, need.id)
            resolved.append(need.id)
    skipped = len(needs) - len(resolved)
    await audit.record(
        session,
        actor,
        "project.resolve_needs",
        "project",
        project.id,
        resolved=len(resolved),
        skipped=skipped,
    )
    return Resolved(resolved, skipped)
