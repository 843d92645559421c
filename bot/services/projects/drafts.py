"""Proposing a project: a representative of a member organization makes a draft and fills it
field by field, each answer saved at once (a draft survives a restart and is continued from
/my_projects); the same fields are edited when a project is returned for revision. Every change
is checked on the server: the person must represent the project's organization, and the
project must still be editable (a draft, or returned for revision)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, desc, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.needs.terms import stems_of
from bot.services.organizations import name_key
from bot.services.projects import access, lifecycle, notices
from bot.services.projects.rules import (
    EDITABLE,
    SHORT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    IllegalTransition,
    clean,
)
from models import District, Organization, OrganizationStatus, Representative, User
from models.base import utcnow
from models.needs import OPEN_STATUSES, Need, NeedTerm
from models.projects import (
    ParticipantStatus,
    Project,
    ProjectEventKind,
    ProjectFile,
    ProjectNeed,
    ProjectParticipant,
    ProjectStatus,
    ProjectVersion,
)

# The text fields of a project and the longest answer each takes.
TEXT_FIELDS = {
    "title": TITLE_MAX,
    "summary": TEXT_MAX,
    "goals": TEXT_MAX,
    "budget_sources": SHORT_MAX,
    "wanted": SHORT_MAX,
}
# A budget a district project may plausibly have; more is a typing slip.
BUDGET_MAX = 10_000_000_000
# Found needs or organizations shown at once (a button each).
FOUND_MAX = 8
FILES_MAX = 20
# The lead's role in its own consortium, as the registry and the passport show it.
LEAD_ROLE = "инициатор"
_DATE = re.compile(r"^\s*(\d{1,2})[./](\d{1,2})[./](\d{4})\s*$")
_MONEY_WORDS = re.compile(r"(руб(лей|ля|ль)?|р|rub|roubles?|rubles?|₽)\.?$", re.IGNORECASE)


class DraftError(InvalidInput):
    """An answer the draft cannot take; the key says why and what to type."""


async def editable(session: AsyncSession, actor: User | None, project_id: int) -> Project:
    """The project, if the actor owns it and it may still be edited (a draft or returned)."""
    project = await access.get(session, project_id, lock=True)
    await access.require_owner(session, actor, project)
    if project.status not in EDITABLE:
        raise IllegalTransition(number=project.id)
    return project


async def create(session: AsyncSession, actor: User | None, organization_id: int) -> Project:
    """A new draft of an approved member organization the actor represents, with the
    organization as its lead participant (initiator, counted for the organization's district)."""
    organization = await session.get(Organization, organization_id)
    if (
        actor is None
        or organization is None
        or organization.status != OrganizationStatus.APPROVED
        or not await access.represents(session, actor, organization_id)
    ):
        raise NotAllowed()
    project = Project(
        organization_id=organization.id,
        proposer_id=actor.id,
        district_id=organization.district_id,
        status=ProjectStatus.DRAFT,
    )
    session.add(project)
    await session.flush()
    session.add(
        ProjectParticipant(
            project_id=project.id,
            organization_id=organization.id,
            district_id=organization.district_id,
            role=LEAD_ROLE,
            status=ParticipantStatus.ACTIVE,
            lead=True,
            invited_by_id=actor.id,
        )
    )
    await session.flush()
    await audit.record(
        session, actor, "project.create", "project", project.id, organization=organization.id
    )
    return project


async def _edited(session: AsyncSession, actor: User | None, project: Project, name: str) -> None:
    project.updated_at = utcnow()
    await audit.record(session, actor, "project.edit", "project", project.id, field=name)


async def set_text(
    session: AsyncSession, actor: User | None, project_id: int, name: str, text: str | None
) -> Project:
    """One text field, trimmed; empty or over its limit is refused."""
    if name not in TEXT_FIELDS:
        raise NotAllowed()
    project = await editable(session, actor, project_id)
    setattr(project, name, clean(text, limit=TEXT_FIELDS[name]))
    await _edited(session, actor, project, name)
    return project


async def clear(session: AsyncSession, actor: User | None, project_id: int, name: str) -> Project:
    """An optional field emptied (the budget, its sources, what is wanted)."""
    project = await editable(session, actor, project_id)
    if name == "budget":
        project.budget = None
    elif name in ("budget_sources", "wanted"):
        setattr(project, name, "")
    else:
        raise NotAllowed()
    await _edited(session, actor, project, name)
    return project


async def set_district(
    session: AsyncSession, actor: User | None, project_id: int, district_id: int | None
) -> Project:
    """The district the project is for; None: city-wide."""
    project = await editable(session, actor, project_id)
    if district_id is not None and await session.get(District, district_id) is None:
        raise InvalidInput("districts-not-found")
    project.district_id = district_id
    await _edited(session, actor, project, "district_id")
    return project


def parse_budget(text: str) -> int:
    """Roubles typed as a person types them: «150 000», «150000 руб», «1 500 000 ₽»."""
    cleaned = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    cleaned = _MONEY_WORDS.sub("", cleaned).strip()
    digits = cleaned.replace(" ", "").replace("_", "")
    if not digits.isdigit() or len(digits) > 12:
        raise DraftError("projects-propose-budget-bad")
    value = int(digits)
    if value <= 0 or value > BUDGET_MAX:
        raise DraftError("projects-propose-budget-bad")
    return value


async def set_budget(
    session: AsyncSession, actor: User | None, project_id: int, text: str
) -> Project:
    """The budget as typed (see `parse_budget`); nonsense is refused with a hint."""
    value = parse_budget(text)
    project = await editable(session, actor, project_id)
    project.budget = value
    await _edited(session, actor, project, "budget")
    return project


def parse_date(text: str) -> date:
    """A day typed as DD.MM.YYYY."""
    match = _DATE.match(text)
    if match is None:
        raise DraftError("projects-propose-date-bad")
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise DraftError("projects-propose-date-bad") from None


async def set_start(
    session: AsyncSession, actor: User | None, project_id: int, text: str, today: date
) -> Project:
    """The start day; not in the past (a project is proposed for the future)."""
    day = parse_date(text)
    if day < today:
        raise DraftError("projects-propose-date-past")
    project = await editable(session, actor, project_id)
    project.starts_on = day
    if project.ends_on is not None and project.ends_on < day:
        # The old end no longer fits: asked again next.
        project.ends_on = None
    await _edited(session, actor, project, "starts_on")
    return project


async def set_end(session: AsyncSession, actor: User | None, project_id: int, text: str) -> Project:
    """The end day: not before the start."""
    day = parse_date(text)
    project = await editable(session, actor, project_id)
    if project.starts_on is not None and day < project.starts_on:
        raise DraftError("projects-propose-date-before-start")
    project.ends_on = day
    await _edited(session, actor, project, "ends_on")
    return project


async def home_district(session: AsyncSession, project: Project) -> District | None:
    """The district of the project's organization (the default answer)."""
    organization = await session.get(Organization, project.organization_id)
    if organization is None or organization.district_id is None:
        return None
    return await session.get(District, organization.district_id)


# --- needs ------------------------------------------------------------------------------------


async def search_needs(session: AsyncSession, text: str) -> list[Need]:
    """Open needs by number («12», «№12») or by the words of their text, best match first."""
    typed = text.strip().lstrip("№#").strip()
    if typed.isdigit() and len(typed) < 10:
        need = await session.get(Need, int(typed))
        return [need] if need is not None and need.status in OPEN_STATUSES else []
    stems = stems_of(text)
    if not stems:
        return []
    shared = func.count().label("shared")
    rows = (
        await session.execute(
            select(NeedTerm.need_id, shared)
            .where(NeedTerm.stem.in_(stems))
            .group_by(NeedTerm.need_id)
            .order_by(desc(shared), desc(NeedTerm.need_id))
            .limit(FOUND_MAX)
        )
    ).all()
    return await needs_by_ids(session, [need_id for need_id, _ in rows])


async def needs_by_ids(session: AsyncSession, ids: list[int]) -> list[Need]:
    """The needs still open among these, in the given order (a search's results again)."""
    if not ids:
        return []
    found = {n.id: n for n in await session.scalars(select(Need).where(Need.id.in_(ids)))}
    return [found[i] for i in ids if i in found and found[i].status in OPEN_STATUSES]


async def linked_needs(session: AsyncSession, project_id: int) -> list[Need]:
    """The needs the project answers, by number."""
    rows = await session.scalars(
        select(Need)
        .join(ProjectNeed, ProjectNeed.need_id == Need.id)
        .where(ProjectNeed.project_id == project_id)
        .order_by(Need.id)
    )
    return list(rows)


async def toggle_need(
    session: AsyncSession, actor: User | None, project_id: int, need_id: int
) -> bool:
    """Link an open need to the project, or unlink it; returns whether it is linked now."""
    project = await editable(session, actor, project_id)
    link = await session.get(ProjectNeed, (project.id, need_id))
    if link is not None:
        await session.delete(link)
        linked = False
    else:
        need = await session.get(Need, need_id)
        if need is None or need.status not in OPEN_STATUSES:
            raise InvalidInput("projects-propose-need-closed", number=need_id)
        session.add(ProjectNeed(project_id=project.id, need_id=need_id))
        linked = True
    await session.flush()
    await audit.record(
        session, actor, "project.link_need", "project", project.id, need=need_id, linked=linked
    )
    return linked


# --- partners ---------------------------------------------------------------------------------


async def search_organizations(
    session: AsyncSession, text: str, exclude: int | None = None
) -> list[Organization]:
    """Approved member organizations whose name contains the words typed."""
    key = name_key(text)
    if not key:
        return []
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    statement = (
        select(Organization)
        .where(
            Organization.status == OrganizationStatus.APPROVED,
            Organization.name_key.like(f"%{escaped}%", escape="\\"),
        )
        .order_by(Organization.name)
        .limit(FOUND_MAX)
    )
    if exclude is not None:
        statement = statement.where(Organization.id != exclude)
    return list(await session.scalars(statement))


async def organizations_by_ids(session: AsyncSession, ids: list[int]) -> list[Organization]:
    """These organizations, in the given order (a search's results again)."""
    if not ids:
        return []
    found = {
        o.id: o for o in await session.scalars(select(Organization).where(Organization.id.in_(ids)))
    }
    return [found[i] for i in ids if i in found]


async def partners(session: AsyncSession, project_id: int) -> list[tuple[Organization, str]]:
    """The organizations named as partners (not the lead), with their participant status."""
    rows = await session.execute(
        select(Organization, ProjectParticipant.status)
        .join(ProjectParticipant, ProjectParticipant.organization_id == Organization.id)
        .where(ProjectParticipant.project_id == project_id, ProjectParticipant.lead.is_(False))
        .order_by(Organization.name)
    )
    return [(organization, status.value) for organization, status in rows.all()]


async def toggle_partner(
    session: AsyncSession, actor: User | None, project_id: int, organization_id: int
) -> bool:
    """Name an approved organization as a partner (invited), or take back an invitation not
    yet answered; returns whether it is named now."""
    project = await editable(session, actor, project_id)
    participant = await session.scalar(
        select(ProjectParticipant).where(
            ProjectParticipant.project_id == project.id,
            ProjectParticipant.organization_id == organization_id,
        )
    )
    if participant is not None:
        if participant.lead or participant.status != ParticipantStatus.INVITED:
            raise InvalidInput("projects-propose-partner-answered")
        await session.delete(participant)
        named = False
    else:
        organization = await session.get(Organization, organization_id)
        if organization is None or organization.status != OrganizationStatus.APPROVED:
            raise InvalidInput("projects-propose-partner-gone")
        session.add(
            ProjectParticipant(
                project_id=project.id,
                organization_id=organization.id,
                district_id=organization.district_id,
                status=ParticipantStatus.INVITED,
                invited_by_id=actor.id if actor else None,
            )
        )
        named = True
    await session.flush()
    await audit.record(
        session,
        actor,
        "project.invite",
        "project",
        project.id,
        organization=organization_id,
        invited=named,
    )
    return named


# --- files ------------------------------------------------------------------------------------


async def add_file(
    session: AsyncSession,
    actor: User | None,
    project_id: int,
    kind: str,
    file_id: str,
    file_unique_id: str,
    name: str | None = None,
) -> int | None:
    """Attach a document or a photo; returns how many the project has now, or None when it
    has FILES_MAX already (the file is not kept)."""
    project = await editable(session, actor, project_id)
    count = await files_count(session, project.id)
    if count >= FILES_MAX:
        return None
    session.add(
        ProjectFile(
            project_id=project.id,
            owner_type="project",
            kind=kind,
            file_id=file_id[:200],
            file_unique_id=file_unique_id[:100],
            name=name[:200] if name else None,
            uploaded_by_id=actor.id if actor else None,
        )
    )
    await session.flush()
    await _edited(session, actor, project, "files")
    return count + 1


async def clear_files(session: AsyncSession, actor: User | None, project_id: int) -> None:
    """Every attachment of the project itself taken off (not those of reports or milestones)."""
    project = await editable(session, actor, project_id)
    await session.execute(
        delete(ProjectFile).where(
            ProjectFile.project_id == project.id, ProjectFile.owner_type == "project"
        )
    )
    await _edited(session, actor, project, "files")


async def files_count(session: AsyncSession, project_id: int) -> int:
    """How many documents and photos are attached to the project itself."""
    return (
        await session.scalar(
            select(func.count())
            .select_from(ProjectFile)
            .where(ProjectFile.project_id == project_id, ProjectFile.owner_type == "project")
        )
        or 0
    )


# --- the summary, submitting, withdrawing -----------------------------------------------------


@dataclass
class Summary:
    """What the owner checks before submitting."""

    project: Project
    organization: Organization
    district: District | None
    needs: list[Need] = field(default_factory=list)
    partners: list[tuple[Organization, str]] = field(default_factory=list)
    files: int = 0
    # Why it was returned for revision, and the committee's comments on that version.
    returned: str | None = None
    comments: list[str] = field(default_factory=list)


async def summary(session: AsyncSession, actor: User | None, project_id: int) -> Summary:
    """The draft (or the returned project) as its owner sees it; others are refused."""
    project = await access.get(session, project_id)
    await access.require_owner(session, actor, project)
    if project.status not in EDITABLE:
        raise IllegalTransition(number=project.id)
    organization = await session.get(Organization, project.organization_id)
    assert organization is not None
    district = await session.get(District, project.district_id) if project.district_id else None
    result = Summary(
        project,
        organization,
        district,
        await linked_needs(session, project.id),
        await partners(session, project.id),
        await files_count(session, project.id),
    )
    if project.status == ProjectStatus.RETURNED:
        result.returned, result.comments = await return_reason(session, project)
    return result


async def return_reason(session: AsyncSession, project: Project) -> tuple[str, list[str]]:
    """The text of the last return for revision and the comments left on that version."""
    events = await lifecycle.history(session, project.id)
    reason = ""
    for event in events:
        if event.kind == ProjectEventKind.STATUS and event.to_status == ProjectStatus.RETURNED:
            reason = event.text or ""
    comments = [
        event.text
        for event in events
        if event.kind == ProjectEventKind.COMMENT
        and event.version == project.version
        and event.text
    ]
    return reason, comments[-3:]


def missing(project: Project) -> list[str]:
    """The fields still to fill before submitting (the lifecycle's names)."""
    return lifecycle.missing_fields(project)


async def submit(session: AsyncSession, actor: User | None, project_id: int) -> Project:
    """Submit through the lifecycle (which checks, versions and notifies). The partner
    organizations still invited are told they were named: all of them at the first submission,
    at a resubmission those named since the previous version."""
    project = await lifecycle.submit(session, actor, project_id)
    named_since = None
    if project.version > 1:
        named_since = await session.scalar(
            select(ProjectVersion.created_at).where(
                ProjectVersion.project_id == project.id,
                ProjectVersion.version == project.version - 1,
            )
        )
    invited = (
        select(Representative.user_id)
        .join(
            ProjectParticipant,
            ProjectParticipant.organization_id == Representative.organization_id,
        )
        .where(
            ProjectParticipant.project_id == project.id,
            ProjectParticipant.lead.is_(False),
            ProjectParticipant.status == ParticipantStatus.INVITED,
        )
    )
    if named_since is not None:
        invited = invited.where(ProjectParticipant.created_at > named_since)
    skip = {actor.id} if actor else set()
    await notices.queue(
        session,
        project,
        "projects-propose-notice-partner",
        [uid for uid in await session.scalars(invited) if uid not in skip],
        {},
    )
    return project


async def withdraw(session: AsyncSession, actor: User | None, project_id: int) -> Project:
    """Its owner withdraws it through the lifecycle (which refuses what cannot be withdrawn)."""
    return await lifecycle.withdraw(session, actor, project_id)


# --- /my_projects -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mine:
    projects: list[Project]
    page: int
    pages: int


async def mine(
    session: AsyncSession, actor: User | None, page: int = 0, per_page: int = 10
) -> Mine:
    """The projects of the organizations the actor represents: drafts and returned ones first
    (they wait for the person), then the others, newest first."""
    organizations = await access.represented(session, actor)
    if not organizations:
        return Mine([], 0, 1)
    ids = [o.id for o in organizations]
    waiting = Project.status.in_(tuple(EDITABLE))
    condition = Project.organization_id.in_(ids)
    total = await session.scalar(select(func.count()).select_from(Project).where(condition)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 0), pages - 1)
    rows = await session.scalars(
        select(Project)
        .where(condition)
        .order_by(desc(waiting), desc(Project.id))
        .offset(page * per_page)
        .limit(per_page)
    )
    return Mine(list(rows), page, pages)
