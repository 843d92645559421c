"""/audit for admins: is the hash chain of the audit log intact, and what happened last."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.services import audit
from bot.services.permissions import ADMINS
from bot.texts import SafeHTML, clip, t, tn
from models import User


def report_text(report: audit.Report, timezone: str) -> SafeHTML:
    verification = report.verification
    lines: list[str]
    if verification.ok:
        lines = [tn("audit-intact", verification.entries)]
    else:
        reason = t(verification.reason or "audit-broken-edited")
        lines = [t("audit-broken", seq=verification.broken_at or 0, reason=reason)]
    lines.append("")
    if not report.latest:
        lines.append(t("audit-empty"))
    else:
        lines.append(t("audit-latest"))
    for line in report.latest:
        target = (
            line.object_type if line.object_id is None else f"{line.object_type} #{line.object_id}"
        )
        lines.append(
            t(
                "audit-line",
                seq=line.seq,
                at=dates.shown_datetime(line.at, timezone),
                actor=clip(line.actor or "—", 120),
                # Whatever the database holds is shown escaped and cut: it may have been edited.
                action=clip(line.action, 80),
                object=clip(target, 80),
            )
        )
    return SafeHTML("\n".join(lines))


async def cmd_audit(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    report = await audit.report(session, user)
    await message.answer(report_text(report, settings.timezone))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="audit")
    router.message.register(cmd_audit, Command("audit"))
    return router


capability = Capability(
    name="audit",
    setup=setup,
    commands=(CommandSpec("audit", ADMINS, HomeGroup.ADMIN),),
)
