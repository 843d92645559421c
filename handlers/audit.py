"""/audit for admins: is the signed chain of the audit log intact and consistent with its
witnesses (or with a witness code pasted after the command), and what happened last; the daily
witness job."""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.capabilities import Capability, CommandSpec, HomeGroup, JobContext
from bot.config import Settings
from bot.services import audit
from bot.services.audit import witness
from bot.services.audit.report import run_daily, startup
from bot.services.permissions import ADMINS
from bot.texts import SafeHTML, clip, t, tn
from models import ScheduledJob, User
from scheduler.kinds import JobSpec, changes_state

PASTED_KEYS = {
    "matches": "audit-pasted-matches",
    "differs": "audit-pasted-differs",
    "missing": "audit-pasted-missing",
}


def report_text(report: audit.Report, timezone: str) -> SafeHTML:
    verification = report.verification
    lines: list[str] = []
    if report.pasted is not None:
        pasted = report.pasted
        lines += [t(PASTED_KEYS[pasted.outcome], seq=pasted.seq, count=verification.entries), ""]
    if verification.ok:
        lines.append(tn("audit-intact", verification.entries))
    else:
        reason = t(
            verification.reason or "audit-broken-edited",
            witnessed=verification.witnessed or 0,
            count=verification.entries,
        )
        lines.append(t("audit-broken", seq=verification.broken_at or 0, reason=reason))
    if report.witness is None:
        lines.append(t("audit-witness-none"))
    else:
        at = dates.shown_datetime(report.witness.sent_at, timezone)
        lines.append(t("audit-witness-last", seq=report.witness.seq, at=at))
    lines.append("")
    if not report.latest:
        lines.append(t("audit-empty"))
    else:
        lines.append(t("audit-latest"))
    for line in report.latest:
        lines.append(
            t(
                "audit-line",
                seq=line.seq,
                at=dates.shown_datetime(line.at, timezone),
                actor=clip(line.actor or "—", 120),
                action=_words(audit.ACTION_KEYS, line.action),
                object=_target(line),
            )
        )
    return SafeHTML("\n".join(lines))


def _words(keys: dict[str, str], code: str) -> SafeHTML:
    """A code in the reader's words; an unknown one as it is in the database, escaped and cut
    (it may have been edited)."""
    key = keys.get(code)
    return t(key) if key else clip(code, 80)


def _target(line: audit.Line) -> SafeHTML:
    kind = _words(audit.OBJECT_KEYS, line.object_type)
    return kind if line.object_id is None else t("audit-object-id", object=kind, id=line.object_id)


async def cmd_audit(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    pasted = command.args
    report = await audit.report(session, user, pasted=pasted)
    if pasted and report.pasted is None:
        await message.answer(t("audit-pasted-unreadable"))
        return
    await message.answer(report_text(report, settings.timezone))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="audit")
    router.message.register(cmd_audit, Command("audit"))
    return router


def _jobs(context: JobContext) -> dict[str, JobSpec]:
    timezone = context.settings.timezone

    async def daily_witness(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await run_daily(session, job, timezone)

    # A late witness still records the head it finds, so it runs however late.
    return {witness.KIND: changes_state(daily_witness)}


async def _startup(session: AsyncSession, settings: Settings) -> None:
    await startup(session, settings.timezone)


capability = Capability(
    name="audit",
    setup=setup,
    commands=(CommandSpec("audit", ADMINS, HomeGroup.ADMIN),),
    jobs=_jobs,
    startup=_startup,
)
