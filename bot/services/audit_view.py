"""The audit log as admins read it: whether the chain is intact, and the latest entries with the
names of who made them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.audit import Verification
from bot.services.permissions import require_role
from models import Role, User

LATEST = 10
# Each action code the services write, and the text that says it in the reader's language
# (tests/test_audit_words.py checks that every code written has one); an unknown code, say from
# an older version, is shown as it is.
ACTION_KEYS: dict[str, str] = {
    "announcement.publish": "audit-action-announcement-publish",
    "announcement.stop": "audit-action-announcement-stop",
    "body.create": "audit-action-body-create",
    "body.add_member": "audit-action-body-add-member",
    "body.remove_member": "audit-action-body-remove-member",
    "district.rename": "audit-action-district-rename",
    "district.describe": "audit-action-district-describe",
    "district.set_base": "audit-action-district-set-base",
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
    "recommendation.register": "audit-action-recommendation-register",
    "recommendation.answered": "audit-action-recommendation-answered",
    "recommendation.implemented": "audit-action-recommendation-implemented",
    "recommendation.overdue": "audit-action-recommendation-overdue",
    "role.grant_secretariat": "audit-action-role-grant-secretariat",
    "role.revoke_secretariat": "audit-action-role-revoke-secretariat",
    "user.register_on_behalf": "audit-action-user-register-on-behalf",
    "user.take_over": "audit-action-user-take-over",
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
}
# What an entry is about, by its object type.
OBJECT_KEYS: dict[str, str] = {
    "body": "audit-object-body",
    "district": "audit-object-district",
    "organization": "audit-object-organization",
    "outbox": "audit-object-outbox",
    "recommendation": "audit-object-recommendation",
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
class Report:
    verification: Verification
    latest: list[Line]


async def report(session: AsyncSession, actor: User | None, limit: int = LATEST) -> Report:
    """Verify the whole chain and list the latest entries; for admins only."""
    require_role(actor, Role.ADMIN)
    verification = await audit.verify(session)
    entries = await audit.latest(session, limit)
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
    return Report(verification, lines)
