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
