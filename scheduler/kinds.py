"""What a kind of scheduled job is, as its capability declares it: what it does, and whether it
changes the state of things or only reminds people.

The difference decides what happens when the bot was down at the job's time. A job that changes
state (closing a vote, marking a reply deadline overdue, ending a term) always runs, however late,
and says so: skipping it would leave the thing in a state nobody chose (a vote open forever). A
reminder may be skipped when it is too late to help, and its handler checks at run time that its
purpose still holds (the vote it reminds of is still open and not yet past its time).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import ScheduledJob

# A job handler does the job's work in the given transaction and returns what it did.
JobHandler = Callable[[AsyncSession, ScheduledJob], Awaitable[dict[str, Any]]]

# How late a reminder may still go out, unless its kind says otherwise.
REMINDER_SKIP_AFTER = timedelta(hours=1)
# A job that runs later than this after its time is reported as late (a tick is a few seconds,
# a lease changes hands in half a minute).
LATE_AFTER = timedelta(minutes=1)


class JobEffect(enum.StrEnum):
    CHANGES_STATE = "changes_state"
    REMINDS = "reminds"


@dataclass(frozen=True)
class JobSpec:
    handler: JobHandler
    effect: JobEffect
    # A reminder later than this is recorded as missed instead of run; None: the handler decides.
    skip_after: timedelta | None = None

    def __post_init__(self) -> None:
        if self.effect == JobEffect.CHANGES_STATE and self.skip_after is not None:
            raise ValueError("a job that changes state runs however late: it has no skip_after")


def changes_state(handler: JobHandler) -> JobSpec:
    """A job that changes the state of things: it runs however late, and says it ran late."""
    return JobSpec(handler, JobEffect.CHANGES_STATE)


def reminder(handler: JobHandler, *, skip_after: timedelta | None = REMINDER_SKIP_AFTER) -> JobSpec:
    """A reminder: skipped when later than `skip_after`; the handler checks that its purpose
    still holds when it runs."""
    return JobSpec(handler, JobEffect.REMINDS, skip_after)
