"""A project's statuses and the moves between them; the service refuses every other move,
whatever a button says."""

from __future__ import annotations

from bot.services.errors import InvalidInput
from models.projects import ProjectStatus

S = ProjectStatus

TRANSITIONS: dict[ProjectStatus, frozenset[ProjectStatus]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.IN_REVIEW, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset({S.RECOMMENDED, S.RETURNED, S.REJECTED, S.WITHDRAWN}),
    S.RETURNED: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.RECOMMENDED: frozenset({S.IN_PROGRESS, S.WITHDRAWN}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.WITHDRAWN}),
    S.COMPLETED: frozenset({S.REPORTED}),
    S.REPORTED: frozenset(),
    S.REJECTED: frozenset(),
    S.WITHDRAWN: frozenset(),
}
# The proposer edits the fields only in these.
EDITABLE = frozenset({S.DRAFT, S.RETURNED})
# Still alive: not finished, not refused.
OPEN = frozenset(
    {S.DRAFT, S.SUBMITTED, S.IN_REVIEW, S.RETURNED, S.RECOMMENDED, S.IN_PROGRESS, S.COMPLETED}
)

TITLE_MAX = 200
TEXT_MAX = 3000
SHORT_MAX = 1000
COMMENT_MAX = 2000


class IllegalTransition(InvalidInput):
    key = "projects-illegal"


def may_move(status: ProjectStatus, to: ProjectStatus) -> bool:
    return to in TRANSITIONS[status]


def slug(status: ProjectStatus) -> str:
    """The status as spelled in catalogue keys (in_review -> in-review)."""
    return status.value.replace("_", "-")


def clean(text: str | None, *, limit: int = TEXT_MAX, key: str = "projects-text-empty") -> str:
    """Text a person typed, trimmed; empty or too long is refused with a clear answer."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(key)
    if len(text) > limit:
        raise InvalidInput("projects-text-too-long", limit=limit, length=len(text))
    return text
