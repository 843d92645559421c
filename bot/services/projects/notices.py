"""Who hears of a project: its owners (the proposer and the representatives of its
organization) by duty; its partners (the consortium's organizations' representatives and its
citizens) and its followers on the "projects" topic, which /settings can switch off.

Texts are stored as catalogue keys with parameters, written in each recipient's language when
sent (the delivery engine does it)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from models import Outbox, Representative, Topic, User
from models.projects import ParticipantStatus, Project, ProjectFollower, ProjectParticipant

Buttons = list[list[dict[str, str]]]


async def owners(session: AsyncSession, project: Project) -> list[int]:
    ids = set(
        await session.scalars(
            select(Representative.user_id).where(
                Representative.organization_id == project.organization_id
            )
        )
    )
    if project.proposer_id is not None:
        ids.add(project.proposer_id)
    return sorted(ids)


async def partners(session: AsyncSession, project: Project) -> list[int]:
    """Active participants other than the lead: citizens, and the representatives of
    organizations."""
    active = (ProjectParticipant.project_id == project.id) & (
        ProjectParticipant.status == ParticipantStatus.ACTIVE
    )
    citizens = set(
        await session.scalars(
            select(ProjectParticipant.user_id).where(
                active, ProjectParticipant.user_id.is_not(None)
            )
        )
    )
    represented = set(
        await session.scalars(
            select(Representative.user_id)
            .join(
                ProjectParticipant,
                ProjectParticipant.organization_id == Representative.organization_id,
            )
            .where(active, ProjectParticipant.lead.is_(False))
        )
    )
    return sorted(uid for uid in citizens | represented if uid is not None)


async def followers(session: AsyncSession, project: Project) -> list[int]:
    rows = await session.scalars(
        select(ProjectFollower.user_id).where(ProjectFollower.project_id == project.id)
    )
    return sorted(rows)


async def queue(
    session: AsyncSession,
    project: Project,
    key: str,
    ids: Iterable[int],
    params: dict[str, str | int],
    *,
    topic: Topic = Topic.DUTY,
    buttons: Buttons | None = None,
) -> Outbox | None:
    """A notice about the project (its number and title) to these people."""
    recipients = sorted(set(ids))
    if not recipients:
        return None
    outbox = Outbox(
        kind="notice",
        topic=topic,
        text_key=key,
        text_params={"number": project.id, "title": project.title, **params},
        buttons=buttons,
    )
    await delivery.enqueue(session, outbox, {"users": recipients})
    return outbox


async def to_everyone(
    session: AsyncSession,
    project: Project,
    key: str,
    *,
    exclude: Iterable[int] = (),
    **params: str | int,
) -> None:
    """Owners by duty; partners and followers who are not owners on the projects topic; never
    the person who acted (`exclude`)."""
    skip = set(exclude)
    owner_ids = [uid for uid in await owners(session, project) if uid not in skip]
    await queue(session, project, key, owner_ids, params)
    others = set(await partners(session, project)) | set(await followers(session, project))
    others -= set(owner_ids) | skip
    await queue(session, project, key, others, params, topic=Topic.PROJECTS)


async def to_owners(
    session: AsyncSession,
    project: Project,
    key: str,
    *,
    exclude: Iterable[int] = (),
    buttons: Buttons | None = None,
    **params: str | int,
) -> Outbox | None:
    skip = set(exclude)
    ids = [uid for uid in await owners(session, project) if uid not in skip]
    return await queue(session, project, key, ids, params, buttons=buttons)


async def to_people(
    session: AsyncSession,
    project: Project,
    people: Iterable[User],
    key: str,
    *,
    buttons: Buttons | None = None,
    **params: str | int,
) -> Outbox | None:
    """A duty notice to named people (a committee, the executive committee, a responsible)."""
    return await queue(session, project, key, [p.id for p in people], params, buttons=buttons)
