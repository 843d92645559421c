"""What /audit shows and what the schedule does with the chain: the check against the witnesses,
the latest entries with who made them, a pasted witness code compared with the chain, and the
witness sent at start and daily."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import chain, witness
from bot.services.audit.chain import Verification
from bot.services.permissions import ADMINS, require_role
from models import AuditEntry, ScheduledJob, User
from models.base import utcnow

LATEST = 10


async def latest(session: AsyncSession, limit: int = LATEST) -> list[AuditEntry]:
    rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit))
    return list(rows)


# Each action code the services write, and the text that says it in the reader's language
# (tests/test_audit_words.py checks that every code written has one); an unknown code, say from
# an older version, is shown as it is.
ACTION_KEYS: dict[str, str] = {
    "announcement.publish": "audit-action-announcement-publish",
    "announcement.stop": "audit-action-announcement-stop",
    "body.create": "audit-action-body-create",
    "body.add_member": "audit-action-body-add-member",
    "body.remove_member": "audit-action-body-remove-member",
    # The council's composition (services/council.py).
    "council.designate_citywide": "audit-action-council-designate-citywide",
    "council.revoke_citywide": "audit-action-council-revoke-citywide",
    "council.set_office": "audit-action-council-set-office",
    "council.clear_office": "audit-action-council-clear-office",
    "district.rename": "audit-action-district-rename",
    "district.describe": "audit-action-district-describe",
    "district.set_base": "audit-action-district-set-base",
    # meetings: the organizer's moves (bot/services/meetings/core.py, convening.py).
    "meeting.create": "audit-action-meeting-create",
    "meeting.edit": "audit-action-meeting-edit",
    "meeting.add_item": "audit-action-meeting-add-item",
    "meeting.remove_item": "audit-action-meeting-remove-item",
    "meeting.add_guest": "audit-action-meeting-add-guest",
    "meeting.remove_guest": "audit-action-meeting-remove-guest",
    "meeting.publish": "audit-action-meeting-publish",
    "meeting.change": "audit-action-meeting-change",
    "meeting.cancel": "audit-action-meeting-cancel",
    "meeting.convene": "audit-action-meeting-convene",
    "meeting.add_file": "audit-action-meeting-add-file",
    # meetings_answers: a member organization names its conference delegates.
    "meeting.delegates": "audit-action-meeting-delegates",
    "need.file": "audit-action-need-file",
    "need.accept": "audit-action-need-accept",
    "need.reject": "audit-action-need-reject",
    "need.in_work": "audit-action-need-in-work",
    "need.resolve": "audit-action-need-resolve",
    "need.merge": "audit-action-need-merge",
    "need.answer": "audit-action-need-answer",
    "need.ask": "audit-action-need-ask",
    "need.reply": "audit-action-need-reply",
    "need.take_up": "audit-action-need-take-up",
    "need.remind_base": "audit-action-need-remind-base",
    "need.escalate": "audit-action-need-escalate",
    "organization.apply": "audit-action-organization-apply",
    "organization.approve": "audit-action-organization-approve",
    "organization.reject": "audit-action-organization-reject",
    "organization.ask": "audit-action-organization-ask",
    "organization.answer": "audit-action-organization-answer",
    "organization.suspend": "audit-action-organization-suspend",
    "organization.restore": "audit-action-organization-restore",
    "organization.leave": "audit-action-organization-leave",
    "organization.invite": "audit-action-organization-invite",
    "organization.join_representative": "audit-action-organization-join-representative",
    "organization.remove_representative": "audit-action-organization-remove-representative",
    "project.create": "audit-action-project-create",
    "project.edit": "audit-action-project-edit",
    "project.submit": "audit-action-project-submit",
    "project.status": "audit-action-project-status",
    "project.assign": "audit-action-project-assign",
    "project.comment": "audit-action-project-comment",
    "project.propose": "audit-action-project-propose",
    "project.to_vote": "audit-action-project-to-vote",
    "project.link_need": "audit-action-project-link-need",
    "project.milestone_add": "audit-action-project-milestone-add",
    "project.milestone_done": "audit-action-project-milestone-done",
    "project.report_plan": "audit-action-project-report-plan",
    "project.report": "audit-action-project-report",
    "project.escalate": "audit-action-project-escalate",
    "project.join": "audit-action-project-join",
    "project.invite": "audit-action-project-invite",
    "project.answer_invite": "audit-action-project-answer-invite",
    "project.leave": "audit-action-project-leave",
    "project.contribute": "audit-action-project-contribute",
    "project.resolve_needs": "audit-action-project-resolve-needs",
    "programme.create": "audit-action-programme-create",
    "programme.edit": "audit-action-programme-edit",
    # meetings: agenda proposals, attendance, minutes
    "meeting.agenda_propose": "audit-action-meeting-agenda-propose",
    "meeting.agenda_accept": "audit-action-meeting-agenda-accept",
    "meeting.agenda_decline": "audit-action-meeting-agenda-decline",
    "meeting.here": "audit-action-meeting-here",
    "meeting.attendance_mark": "audit-action-meeting-attendance-mark",
    "meeting.attendance_toggle": "audit-action-meeting-attendance-toggle",
    "meeting.decision_add": "audit-action-meeting-decision-add",
    "meeting.decision_remove": "audit-action-meeting-decision-remove",
    "meeting.minutes": "audit-action-meeting-minutes",
    "recommendation.register": "audit-action-recommendation-register",
    "recommendation.answered": "audit-action-recommendation-answered",
    "recommendation.implemented": "audit-action-recommendation-implemented",
    "recommendation.overdue": "audit-action-recommendation-overdue",
    "resource.offer": "audit-action-resource-offer",
    "resource.withdraw": "audit-action-resource-withdraw",
    "resource.ask": "audit-action-resource-ask",
    "resource.agree": "audit-action-resource-agree",
    "resource.decline": "audit-action-resource-decline",
    "role.grant_secretariat": "audit-action-role-grant-secretariat",
    "role.revoke_secretariat": "audit-action-role-revoke-secretariat",
    "user.register_on_behalf": "audit-action-user-register-on-behalf",
    "user.take_over": "audit-action-user-take-over",
    "user.erase": "audit-action-user-erase",
    "vote.draft": "audit-action-vote-draft",
    "vote.delete_draft": "audit-action-vote-delete-draft",
    "vote.open": "audit-action-vote-open",
    "vote.extend": "audit-action-vote-extend",
    "vote.proxy": "audit-action-vote-proxy",
    "vote.cast": "audit-action-vote-cast",
    "vote.change": "audit-action-vote-change",
    "vote.close": "audit-action-vote-close",
    "vote.close_early": "audit-action-vote-close-early",
    "vote.cancel": "audit-action-vote-cancel",
    "vote.announce": "audit-action-vote-announce",
    "project.role": "audit-action-project-role",
}
# What an entry is about, by its object type.
OBJECT_KEYS: dict[str, str] = {
    "body": "audit-object-body",
    "district": "audit-object-district",
    "meeting": "audit-object-meeting",
    "need": "audit-object-need",
    "organization": "audit-object-organization",
    "outbox": "audit-object-outbox",
    "project": "audit-object-project",
    "programme": "audit-object-programme",
    "recommendation": "audit-object-recommendation",
    "resource_contact": "audit-object-resource-contact",
    "resource_offer": "audit-object-resource-offer",
    "user": "audit-object-user",
    "vote": "audit-object-vote",
}


@dataclass(frozen=True)
class Line:
    seq: int
    at: datetime
    actor: str | None  # the actor's name; None for the system or an erased or nameless person
    action: str
    object_type: str
    object_id: int | None


@dataclass(frozen=True)
class Witnessed:
    """The newest witness on record."""

    seq: int
    sent_at: datetime


@dataclass(frozen=True)
class Pasted:
    """A witness code an admin pasted, compared with the chain: `matches`, `differs` (the entry
    was rewritten) or `missing` (the chain no longer reaches it)."""

    seq: int
    outcome: str


@dataclass(frozen=True)
class Report:
    verification: Verification
    latest: list[Line]
    witness: Witnessed | None = None
    pasted: Pasted | None = None


async def check_pasted(session: AsyncSession, seq: int, mac: str) -> Pasted:
    """Compare a witness the admin kept with the entry the table holds now."""
    stored = await session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == seq))
    if stored is None:
        return Pasted(seq, "missing")
    return Pasted(seq, "matches" if stored.lower().startswith(mac.lower()) else "differs")


async def report(
    session: AsyncSession, actor: User | None, limit: int = LATEST, pasted: str | None = None
) -> Report:
    """Verify the whole chain against the witnesses (and a pasted witness code, if any) and list
    the latest entries; for admins only."""
    require_role(actor, *ADMINS)
    witnessed = await witness.heads(session)
    code = witness.parse_code(pasted) if pasted else None
    pasted_check = await check_pasted(session, *code) if code else None
    if code is not None:
        # The admin's own copy counts like a recorded witness: the rows may have been removed.
        seq, mac = code
        known = witnessed.setdefault(seq, set())
        if len(mac) == len(chain.GENESIS):
            known.add(mac)
    verification = await chain.verify(session, witnessed)
    entries = await latest(session, limit)
    ids = {entry.actor_id for entry in entries if entry.actor_id is not None}
    names: dict[int, str | None] = {}
    if ids:
        rows = await session.execute(select(User.id, User.name).where(User.id.in_(ids)))
        names = {user_id: name for user_id, name in rows.all()}
    lines = [
        Line(
            seq=entry.seq,
            at=entry.at,
            actor=names.get(entry.actor_id) if entry.actor_id is not None else None,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
        )
        for entry in entries
    ]
    newest = await witness.last(session)
    shown = Witnessed(newest.seq, newest.sent_at) if newest else None
    return Report(verification, lines, shown, pasted_check)


async def witness_now(session: AsyncSession, reason: str) -> bool:
    """Check the chain and send its head to the admins, unless the log is empty or that head was
    already witnessed; a broken chain is reported to them instead. Returns whether it sent."""
    verification = await chain.verify(session)
    if not verification.ok:
        await witness.alarm(session, verification.broken_at or 0)
        return True
    head = await chain.head_entry(session)
    if head is None:
        return False
    seq, mac = head
    previous = await witness.last(session)
    if previous is not None and (previous.seq, previous.mac) == (seq, mac):
        return False
    await witness.send(session, seq, mac, reason)
    return True


async def run_daily(session: AsyncSession, job: ScheduledJob, timezone: str) -> dict[str, Any]:
    """The daily witness, then the next one in the schedule."""
    sent = await witness_now(session, witness.DAILY)
    await witness.ensure_scheduled(session, timezone, max(utcnow(), job.due_at))
    return {"sent": sent}


async def startup(session: AsyncSession, timezone: str) -> None:
    """At start: witness the head and keep the daily witness in the schedule."""
    await witness_now(session, witness.START)
    await witness.ensure_scheduled(session, timezone, utcnow())
