"""Review and decision: the executive committee assigns a submitted project to a committee; the
committee's members comment on the version in review; its chair returns it for revision or
rejects it at once, or proposes to recommend it; the presidium puts a proposed recommendation to
the council's vote (the vote engine opens and closes it; `decisions.on_vote_closed` does the rest).

    submitted --assign--> in review --chair--> returned | rejected
                                    --chair proposes "recommend"--> the presidium's queue
                                    --presidium--> a council vote (draft) --adopted--> recommended

Every action checks here, on the server, who acts and in which status, whatever a button said.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, bodies, roles
from bot.services import votes as vote_engine
from bot.services.errors import DomainError, InvalidInput, NotAllowed, NotFound
from bot.services.paging import Page, page_bounds
from bot.services.permissions import PRESIDIUM, has_any_role
from bot.services.projects import access, lifecycle, notices
from bot.services.projects.decisions import SUBJECT
from bot.services.projects.rules import COMMENT_MAX, IllegalTransition, clean
from bot.texts import plain, roubles, utf16_len
from models import (
    Body,
    BodyKind,
    MemberRole,
    Membership,
    Organization,
    Role,
    User,
    Vote,
    VoteKind,
    VoteStatus,
)
from models.base import utcnow
from models.needs import Need
from models.projects import Project, ProjectEvent, ProjectEventKind, ProjectNeed, ProjectStatus

S = ProjectStatus
PER_PAGE = 6
COMMITTEES_PER_PAGE = 8
# How much of the committee's comments goes with a project returned for revision (the notice
# must stay within one Telegram message with its own words around it).
RETURN_TEXT_MAX = 3000
COMMENT_IN_RETURN_MAX = 600
# A vote left in draft or open is the council still deciding: nothing else is decided meanwhile.
PENDING_VOTE = (VoteStatus.DRAFT, VoteStatus.OPEN)
VOTE_DAYS = 3
# The council's recommendations on projects usually go to the city's administration; the same
# words as the vote dialog's choice, so the registry spells the addressee one way.
DEFAULT_ADDRESSEE = "votes-addressee-admin"


class Shelf(enum.StrEnum):
    """The lists /projects_review shows, one per duty."""

    ASSIGN = "assign"  # the executive committee: submitted projects to assign
    COMMITTEE = "committee"  # a committee's members: its projects in review
    COUNCIL = "council"  # the presidium: proposed recommendations to put to the council


class Outcome(enum.StrEnum):
    """What the chair of the committee proposes."""

    RECOMMEND = "recommend"
    RETURN = "return"
    REJECT = "reject"


# The status each outcome leads to (a return or a rejection at once; a recommendation after
# the council's vote).
TARGET = {
    Outcome.RECOMMEND: S.RECOMMENDED,
    Outcome.RETURN: S.RETURNED,
    Outcome.REJECT: S.REJECTED,
}


@dataclass(frozen=True)
class Comment:
    author: str
    version: int
    text: str
    created_at: datetime


@dataclass(frozen=True)
class Screen:
    """A project's review screen: what the person sees and which buttons they get."""

    project: Project
    organization: str
    committee: Body | None
    needs: list[Need]
    comments: list[Comment]
    proposal: ProjectEvent | None
    vote: Vote | None
    may_assign: bool
    may_comment: bool
    may_propose: bool
    may_put_to_vote: bool


# --- Who sees what ---------------------------------------------------------------------------


async def _committee_ids(session: AsyncSession, user: User | None) -> list[int]:
    """The committees in which the person has a current seat."""
    if user is None or user.deleted_at is not None:
        return []
    now = utcnow()
    rows = await session.scalars(
        select(Membership.body_id)
        .join(Body, Body.id == Membership.body_id)
        .where(
            Membership.user_id == user.id,
            Body.kind.in_([BodyKind.COMMITTEE, BodyKind.WORKING_GROUP, BodyKind.COMMISSION]),
            (Membership.until.is_(None)) | (Membership.until > now),
        )
    )
    return sorted(set(rows))


def _is_presidium(user: User | None) -> bool:
    return user is not None and user.deleted_at is None and has_any_role(user, *PRESIDIUM)


async def shelves(session: AsyncSession, user: User | None) -> list[Shelf]:
    """The lists this person has a duty to look at; none is a refusal."""
    found = []
    if access.is_overseer(user):
        found.append(Shelf.ASSIGN)
    if await _committee_ids(session, user) or (user is not None and Role.ADMIN in user.role_set):
        found.append(Shelf.COMMITTEE)
    if _is_presidium(user):
        found.append(Shelf.COUNCIL)
    if not found:
        raise NotAllowed()
    return found


def _before_council() -> ColumnElement[bool]:
    """Projects whose chair proposed to recommend them and that wait for a council vote (none
    yet, or the last one was called off)."""
    cancelled = select(Vote.id).where(Vote.status == VoteStatus.CANCELLED)
    return (
        (Project.status == S.IN_REVIEW)
        & (Project.proposed_outcome == Outcome.RECOMMEND.value)
        & (Project.vote_id.is_(None) | Project.vote_id.in_(cancelled))
    )


async def shelf(
    session: AsyncSession, user: User | None, which: Shelf, page: int, per_page: int = PER_PAGE
) -> Page[Project]:
    """One page of one of the person's lists (refused if it is not theirs)."""
    if which not in await shelves(session, user):
        raise NotAllowed()
    assert user is not None
    order: tuple[Any, ...]
    if which == Shelf.ASSIGN:
        condition = Project.status == S.SUBMITTED
        order = (Project.submitted_at, Project.id)
    elif which == Shelf.COMMITTEE:
        condition = Project.status == S.IN_REVIEW
        if Role.ADMIN not in user.role_set:
            condition = condition & Project.committee_id.in_(await _committee_ids(session, user))
        order = (Project.submitted_at.desc(), Project.id.desc())
    else:
        condition = _before_council()
        order = (Project.updated_at, Project.id)
    total = await session.scalar(select(func.count()).select_from(Project).where(condition)) or 0
    page, pages = page_bounds(page, total, per_page)
    rows = await session.scalars(
        select(Project).where(condition).order_by(*order).offset(page * per_page).limit(per_page)
    )
    return Page(list(rows), page, pages, total)


async def _pending_vote(session: AsyncSession, project: Project) -> Vote | None:
    if project.vote_id is None:
        return None
    vote = await session.get(Vote, project.vote_id)
    return vote if vote is not None and vote.status in PENDING_VOTE else None


async def _may_see(session: AsyncSession, user: User | None, project: Project) -> bool:
    if user is None or user.deleted_at is not None:
        return False
    if access.is_overseer(user) or _is_presidium(user):
        return True
    return await access.committee_role(session, user, project.committee_id) is not None


def refusal(project: Project) -> DomainError:
    """Why a button of the screen is not there for this person now: the project moved on, or
    the part is not theirs."""
    if project.status != S.IN_REVIEW:
        return IllegalTransition(number=project.id)
    return NotAllowed()


async def for_reviewer(session: AsyncSession, user: User | None, project_id: int) -> Project:
    """The project, if this person takes part in reviewing it (the executive committee, the
    presidium, the members of the committee it is assigned to)."""
    project = await access.get(session, project_id)
    if not await _may_see(session, user, project) or project.status == S.DRAFT:
        raise NotAllowed()
    return project


async def comments(session: AsyncSession, project_id: int) -> list[Comment]:
    rows = await session.execute(
        select(ProjectEvent, User.name)
        .outerjoin(User, User.id == ProjectEvent.actor_id)
        .where(
            ProjectEvent.project_id == project_id,
            ProjectEvent.kind == ProjectEventKind.COMMENT,
        )
        .order_by(ProjectEvent.id)
    )
    return [
        Comment(name or "—", event.version, event.text or "", event.created_at)
        for event, name in rows
    ]


async def _last_proposal(session: AsyncSession, project: Project) -> ProjectEvent | None:
    return await session.scalar(
        select(ProjectEvent)
        .where(
            ProjectEvent.project_id == project.id,
            ProjectEvent.kind == ProjectEventKind.PROPOSAL,
            ProjectEvent.version == project.version,
        )
        .order_by(ProjectEvent.id.desc())
        .limit(1)
    )


async def screen(session: AsyncSession, user: User | None, project_id: int) -> Screen:
    """Everything the review screen shows this person, and the buttons their part gives them."""
    project = await for_reviewer(session, user, project_id)
    assert user is not None
    organization = await session.get(Organization, project.organization_id)
    committee = (
        await session.get(Body, project.committee_id) if project.committee_id is not None else None
    )
    needs = list(
        await session.scalars(
            select(Need)
            .join(ProjectNeed, ProjectNeed.need_id == Need.id)
            .where(ProjectNeed.project_id == project.id)
            .order_by(Need.id)
        )
    )
    vote = await session.get(Vote, project.vote_id) if project.vote_id is not None else None
    pending = vote is not None and vote.status in PENDING_VOTE
    in_review = project.status == S.IN_REVIEW
    seat = await access.committee_role(session, user, project.committee_id)
    is_admin = Role.ADMIN in user.role_set
    return Screen(
        project=project,
        organization=organization.name if organization is not None else "—",
        committee=committee,
        needs=needs,
        comments=await comments(session, project.id),
        proposal=await _last_proposal(session, project) if in_review else None,
        vote=vote,
        may_assign=project.status == S.SUBMITTED and access.is_overseer(user),
        may_comment=in_review and (seat is not None or is_admin),
        may_propose=in_review and not pending and (seat == MemberRole.CHAIR or is_admin),
        may_put_to_vote=(
            in_review
            and _is_presidium(user)
            and project.proposed_outcome == Outcome.RECOMMEND.value
            and (vote is None or vote.status == VoteStatus.CANCELLED)
        ),
    )


# --- Assigning -------------------------------------------------------------------------------


async def committees(
    session: AsyncSession, user: User | None, project_id: int, page: int
) -> tuple[Project, Page[Body]]:
    """The committees a submitted project may go to, the one that reviewed it before first."""
    access.require_overseer(user)
    project = await access.get(session, project_id)
    if project.status != S.SUBMITTED:
        raise IllegalTransition(number=project.id)
    condition = Body.kind == BodyKind.COMMITTEE
    total = await session.scalar(select(func.count()).select_from(Body).where(condition)) or 0
    if total == 0:
        raise InvalidInput("projects-review-no-committees")
    page, pages = page_bounds(page, total, COMMITTEES_PER_PAGE)
    previous = project.committee_id or 0
    rows = await session.scalars(
        select(Body)
        .where(condition)
        .order_by(Body.id != previous, Body.name, Body.id)
        .offset(page * COMMITTEES_PER_PAGE)
        .limit(COMMITTEES_PER_PAGE)
    )
    return project, Page(list(rows), page, pages, total)


async def assign(
    session: AsyncSession, actor: User | None, project_id: int, committee_id: int
) -> Project:
    """The executive committee sends a submitted project to a committee's queue."""
    actor = access.require_overseer(actor)
    project = await access.get(session, project_id, lock=True)
    if project.status != S.SUBMITTED:
        raise IllegalTransition(number=project.id)
    committee = await session.get(Body, committee_id)
    if committee is None or committee.kind != BodyKind.COMMITTEE:
        raise NotFound("projects-review-committee-not-found")
    project.committee_id = committee.id
    # A new version is reviewed afresh: the last one's proposal does not carry over.
    project.proposed_outcome = None
    await lifecycle.record(
        session,
        actor,
        project,
        ProjectEventKind.ASSIGNED,
        subject_type="body",
        subject_id=committee.id,
    )
    await lifecycle.move(session, actor, project, S.IN_REVIEW)
    await audit.record(
        session,
        actor,
        "project.assign",
        "project",
        project.id,
        committee=committee.id,
        version=project.version,
    )
    members = [m.user for m in await bodies.members(session, committee.id)]
    await notices.to_people(
        session,
        project,
        [m for m in members if m.deleted_at is None],
        "projects-review-notice-queue",
        committee=committee.name or "",
        version=project.version,
    )
    return project


# --- The committee ---------------------------------------------------------------------------


async def _committee_people(session: AsyncSession, project: Project) -> list[User]:
    if project.committee_id is None:
        return []
    return [
        m.user
        for m in await bodies.members(session, project.committee_id)
        if m.user.deleted_at is None and (m.until is None or m.until > utcnow())
    ]


async def comment(session: AsyncSession, actor: User | None, project_id: int, text: str) -> None:
    """A member of the assigned committee comments on the version in review; the committee's
    other members hear of it, the proposer does not (they get the comments with the decision)."""
    project = await access.get(session, project_id, lock=True)
    actor = await _require_member(session, actor, project)
    if project.status != S.IN_REVIEW:
        raise IllegalTransition(number=project.id)
    text = clean(text, limit=COMMENT_MAX)
    await lifecycle.record(session, actor, project, ProjectEventKind.COMMENT, text=text)
    await audit.record(
        session, actor, "project.comment", "project", project.id, version=project.version
    )
    others = [p for p in await _committee_people(session, project) if p.id != actor.id]
    await notices.to_people(
        session,
        project,
        others,
        "projects-review-notice-comment",
        author=actor.name or "—",
        text=cut(text, COMMENT_IN_RETURN_MAX),
    )


async def _require_member(session: AsyncSession, actor: User | None, project: Project) -> User:
    if actor is None or actor.deleted_at is not None:
        raise NotAllowed()
    if Role.ADMIN in actor.role_set:
        return actor
    if await access.committee_role(session, actor, project.committee_id) is None:
        raise NotAllowed()
    return actor


def _with_comments(reasons: str, found: list[Comment], version: int) -> str:
    """The chair's reasons followed by the committee's comments on this version, cut so that
    the notice fits one message."""
    parts = [reasons]
    for item in found:
        if item.version != version:
            continue
        parts.append(f"💬 {item.author}: {cut(item.text, COMMENT_IN_RETURN_MAX)}")
    return cut("\n\n".join(parts), RETURN_TEXT_MAX)


def cut(text: str, limit: int) -> str:
    """At most `limit` UTF-16 units (as Telegram counts), "…" marking a cut."""
    if utf16_len(text) <= limit:
        return text
    kept, size = [], 0
    for char in text:
        size += 2 if ord(char) > 0xFFFF else 1
        if size > limit - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


async def propose(
    session: AsyncSession, actor: User | None, project_id: int, outcome: Outcome, reasons: str
) -> Project:
    """The chair of the assigned committee decides: a return for revision or a rejection takes
    effect at once; a recommendation goes to the presidium to be put to the council's vote."""
    project = await access.get(session, project_id, lock=True)
    actor = await access.require_chair(session, actor, project)
    if project.status != S.IN_REVIEW:
        raise IllegalTransition(number=project.id)
    pending = await _pending_vote(session, project)
    if pending is not None:
        raise InvalidInput("projects-review-before-council", number=project.id, vote=pending.id)
    if outcome == Outcome.RECOMMEND and project.proposed_outcome == Outcome.RECOMMEND.value:
        # Pressed twice, or a vote on this proposal has ended: a new one waits for the
        # committee to decide again with a new proposal (another version, or after comments).
        if project.vote_id is None:
            raise InvalidInput("projects-review-already-proposed", number=project.id)
    reasons = clean(reasons, limit=COMMENT_MAX)
    await lifecycle.record(
        session,
        actor,
        project,
        ProjectEventKind.PROPOSAL,
        text=reasons,
        to_status=TARGET[outcome],
    )
    await audit.record(
        session,
        actor,
        "project.propose",
        "project",
        project.id,
        outcome=outcome.value,
        version=project.version,
    )
    project.proposed_outcome = outcome.value
    if outcome == Outcome.RETURN:
        text = _with_comments(reasons, await comments(session, project.id), project.version)
        await lifecycle.move(session, actor, project, S.RETURNED, text=text)
    elif outcome == Outcome.REJECT:
        await lifecycle.move(session, actor, project, S.REJECTED, text=reasons)
    else:
        # A vote that ended without adopting it no longer stands for this proposal.
        project.vote_id = None
        presidium = await roles.holders(session, Role.PRESIDIUM)
        await notices.to_people(
            session, project, presidium, "projects-review-notice-proposed", text=reasons
        )
    return project


# --- The council -----------------------------------------------------------------------------


def default_close(now: datetime | None = None) -> datetime:
    """The council votes for three days, closing on the hour."""
    moment = (now or utcnow()) + timedelta(days=VOTE_DAYS)
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


async def put_to_vote(
    session: AsyncSession,
    actor: User | None,
    project_id: int,
    addressee: str | None = None,
    closes_at: datetime | None = None,
) -> Vote:
    """A presidium member drafts the council's vote on a proposed recommendation; the vote's
    own screens open it, and its close decides the project (`decisions.on_vote_closed`). The
    question and text are written in the presidium member's language, as if they typed them."""
    if not _is_presidium(actor):
        raise NotAllowed()
    assert actor is not None
    project = await access.get(session, project_id, lock=True)
    if project.status != S.IN_REVIEW or project.proposed_outcome != Outcome.RECOMMEND.value:
        raise IllegalTransition(number=project.id)
    if project.vote_id is not None:
        vote = await session.get(Vote, project.vote_id)
        if vote is not None and vote.status != VoteStatus.CANCELLED:
            raise InvalidInput("projects-review-already-voted", number=project.id, vote=vote.id)
    proposal = await _last_proposal(session, project)
    committee = (
        await session.get(Body, project.committee_id) if project.committee_id is not None else None
    )
    question = plain("projects-review-vote-question", number=project.id, title=project.title)
    text = plain(
        "projects-review-vote-text",
        number=project.id,
        title=project.title,
        summary=project.summary,
        goals=project.goals,
        budget=roubles(project.budget),
        sources=project.budget_sources or "—",
        committee=(committee.name if committee is not None else None) or "—",
        proposal=proposal.text if proposal is not None and proposal.text else "—",
    )
    council = await bodies.single(session, BodyKind.COUNCIL)
    vote = await vote_engine.create_draft(
        session,
        actor,
        vote_engine.DraftInput(
            body_id=council.id,
            kind=VoteKind.RECOMMENDATION,
            question=question[: vote_engine.QUESTION_MAX],
            text=text[: vote_engine.TEXT_MAX],
            addressee=addressee or plain(DEFAULT_ADDRESSEE),
            closes_at=closes_at or default_close(),
            subject_type=SUBJECT,
            subject_id=project.id,
        ),
    )
    project.vote_id = vote.id
    await lifecycle.record(
        session, actor, project, ProjectEventKind.VOTE, subject_type="vote", subject_id=vote.id
    )
    await audit.record(session, actor, "project.to_vote", "project", project.id, vote=vote.id)
    return vote
