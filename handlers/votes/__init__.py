"""Votes: the draft dialog (/new_vote), the organizer's card, /votes and /receipt, the ballot;
and the capability's declaration.

Each module registers its handlers on the router it is given, so `setup()` builds a fresh router
for every dispatcher. The parts go in this order because the order is the order in which the
handlers are asked: the dialog's steps come before the card's and the ballot's buttons.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from sqlalchemy.ext.asyncio import AsyncSession

from bot.capabilities import Capability, CommandSpec, HomeGroup, JobContext
from bot.keyboards.votes import ballot_rows
from bot.services import votes
from bot.services.permissions import ORGANIZERS
from bot.texts import plain
from handlers.votes import ballot, card, dialog, listing
from models import Majority, OptionKind, Outcome, Quorum, ScheduledJob, Vote, VoteKind, VoteStatus
from scheduler.kinds import JobSpec, changes_state, reminder

PARTS = (dialog, card, listing, ballot)


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="votes")
    for part in PARTS:
        part.register(router)
    return router


def _keys() -> set[str]:
    keys = {f"votes-option-{kind.value}" for kind in OptionKind}
    keys |= {f"votes-status-{status.value}" for status in VoteStatus}
    keys |= {f"votes-quorum-{quorum.value}" for quorum in Quorum}
    keys |= {f"votes-majority-{majority.value}" for majority in Majority}
    keys |= {f"votes-outcome-{outcome.value}" for outcome in Outcome}
    keys |= {f"votes-kind-{kind.value}" for kind in VoteKind}
    keys |= {f"votes-sure-{action}" for action in ("open", "close", "cancel", "delete", "announce")}
    return keys


def _jobs(context: JobContext) -> dict[str, JobSpec]:
    settings, i18n = context.settings, context.i18n
    timezone = settings.timezone

    def chart(vote: Vote) -> bytes:
        # One image for every recipient: drawn in the Assembly's own language.
        with i18n.context(), i18n.use_locale(settings.default_language):
            return votes.chart(vote, plain)

    async def close_vote(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        # What the close writes down (a meeting's decision) is in the Assembly's own language.
        with i18n.context(), i18n.use_locale(settings.default_language):
            return await votes.run_close(
                session,
                job,
                timezone=timezone,
                reply_days=settings.recommendation_reply_days,
                chart=chart,
            )

    async def remind_voters(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await votes.run_reminder(session, job, timezone=timezone, buttons=ballot_rows)

    specs: dict[str, JobSpec] = {votes.CLOSE_KIND: changes_state(close_vote)}
    for kind in votes.REMINDERS:
        specs[kind] = reminder(remind_voters)
    return specs


capability = Capability(
    name="votes",
    setup=setup,
    commands=(
        CommandSpec("votes", group=HomeGroup.COUNCIL),
        CommandSpec("receipt", group=HomeGroup.COUNCIL),
        CommandSpec("new_vote", ORGANIZERS, HomeGroup.COUNCIL),
    ),
    jobs=_jobs,
    keys=_keys,
)
