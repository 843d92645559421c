"""What the scheduler does for meetings: the reminders before a published meeting (7 days, 3
days to those who have not answered, 1 day, 2 hours to those coming)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiogram import Router
from sqlalchemy.ext.asyncio import AsyncSession

from bot.capabilities import Capability, JobContext
from bot.keyboards.meetings import ANSWERS, PANELS, notice_buttons
from bot.services.meetings import reminders
from models import ScheduledJob
from models.meetings import MeetingKind, MeetingStatus
from scheduler.kinds import JobSpec, reminder

# A reminder days ahead still helps hours late; the 2-hour one only within the hour, and each
# checks when it runs that the meeting is still on at the time it was set for.
LATE: dict[str, timedelta] = {
    "meeting.remind_7d": timedelta(hours=12),
    "meeting.nudge_3d": timedelta(hours=12),
    "meeting.remind_1d": timedelta(hours=6),
    "meeting.remind_2h": timedelta(hours=1),
}


def _jobs(context: JobContext) -> dict[str, JobSpec]:
    async def run(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await reminders.run(
            session, job, timezone=context.settings.timezone, buttons=notice_buttons
        )

    return {kind: reminder(run, skip_after=LATE[kind]) for kind in reminders.REMINDERS}


def _keys() -> set[str]:
    return {
        *(f"meetings-kind-{kind.value}" for kind in MeetingKind),
        *(f"meetings-status-{status.value}" for status in MeetingStatus),
        *(
            f"meetings-cannot-{status.value}"
            for status in MeetingStatus
            if status != MeetingStatus.DRAFT
        ),
        *(f"meetings-btn-{answer.value}" for answer in ANSWERS),
        *(f"meetings-panel-{panel}" for panel in PANELS),
        *(f"meetings-{kind.split('.', 1)[1].replace('_', '-')}" for kind in reminders.REMINDERS),
    }


capability = Capability(
    name="meetings_schedule",
    setup=Router,
    jobs=_jobs,
    keys=_keys,
)
