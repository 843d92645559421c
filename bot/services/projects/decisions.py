"""The council's decision on a project: a council vote whose subject is the project. When it
closes adopted, the recommendation is in the registry (the vote engine puts it there) and the
project becomes recommended; otherwise it stays in review and its committee decides again."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import bodies
from bot.services.projects import access, lifecycle, notices
from models import Outcome, Recommendation, Vote
from models.projects import Project, ProjectEventKind, ProjectStatus

SUBJECT = "project"


async def _record_vote(session: AsyncSession, project: Project, vote: Vote) -> None:
    """The vote's outcome in the project's history, whether or not it decided anything."""
    await lifecycle.record(
        session,
        None,
        project,
        ProjectEventKind.VOTE,
        text=(vote.outcome or Outcome.REJECTED).value,
        subject_type="vote",
        subject_id=vote.id,
    )


async def on_vote_closed(
    session: AsyncSession, vote: Vote, recommendation: Recommendation | None
) -> None:
    """Called by the vote engine when a vote whose subject is a project closes."""
    if vote.subject_type != SUBJECT or vote.subject_id is None:
        return
    project = await access.get(session, vote.subject_id, lock=True)
    if project.vote_id != vote.id or project.status != ProjectStatus.IN_REVIEW:
        # Withdrawn meanwhile, or put to another vote since: this one decides nothing.
        await _record_vote(session, project, vote)
        return
    if vote.outcome == Outcome.ADOPTED and recommendation is not None:
        await lifecycle.move(
            session,
            None,
            project,
            ProjectStatus.RECOMMENDED,
            text=str(recommendation.number),
        )
        return
    await _record_vote(session, project, vote)
    people = []
    if project.committee_id is not None:
        # Read with a query: the body's `memberships` would load lazily, which async cannot.
        people = [
            m.user
            for m in await bodies.members(session, project.committee_id)
            if m.user.deleted_at is None
        ]
    await notices.to_owners(session, project, "projects-notice-not-adopted", vote=vote.id)
    await notices.to_people(session, project, people, "projects-notice-not-adopted", vote=vote.id)
