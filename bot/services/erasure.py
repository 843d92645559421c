"""Erasure (/delete_me): a person's data removed from every table, not only from their own row.

A person's data is copied into many places: an application's contacts and its thread, the
parameters of notices, a half-finished dialog. Erasure finds the traces the person left (their
name, @username, phone numbers, e-mail addresses, Telegram id) and removes them everywhere:

- texts the person wrote themselves (answers to the Secretariat, an application's contacts)
  are removed whole; the phones and e-mails in them become traces looked for elsewhere;
- every other text and JSON column of every table is scrubbed of the traces; the name is
  scrubbed only from texts tied to the person (their organizations' cards and threads, notices
  to or from them) or, when it has at least two words, everywhere — a lone first name would cut
  other people's words out of unrelated texts;
- the audit log keeps ids only, so it is not touched (its hash chain would break).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, String, Table, Text, delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import JSON

from bot.services import audit, opendata
from models import (
    ApplicationMessage,
    Base,
    Delivery,
    DeliveryStatus,
    FsmRecord,
    Membership,
    Organization,
    Outbox,
    Representative,
    User,
    UserRole,
)
from models.base import utcnow
from models.meetings import (
    AgendaItem,
    AgendaStatus,
    Meeting,
    MeetingDelegate,
    MeetingInvitee,
    MeetingStatus,
)
from models.needs import Need, NeedPhoto, ResourceOffer
from models.projects import ProjectContribution, ProjectFollower, ProjectParticipant

# What stands where a trace was cut out of a text that others wrote.
MARK = "[…]"
# Tables never scrubbed: the audit log holds ids only (and a hash chain over them); people's
# rows are handled one by one; ballots, leases and the sending quota hold no text anyone wrote.
SKIPPED_TABLES = frozenset(
    {
        "audit_log",
        "audit_head",
        "users",
        "ballots",
        "ballot_choices",
        "leases",
        "send_quota",
        "alembic_version",
    }
)
# A dialog's key names the chat and the person (`fsm:<bot>:<chat>:<user>:<destiny>`).
# Names that are unique keys of things (an organization, a district) are not people's texts.
SKIPPED_COLUMNS = frozenset(
    {
        ("fsm_states", "key"),
        ("invites", "token"),
        ("organizations", "name"),
        ("organizations", "name_key"),
        ("districts", "name"),
    }
)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A phone number as people write it: +7 (900) 123-45-67, 8 900 1234567, 89001234567.
PHONE = re.compile(r"\+?\d[\d\s().\-]{5,}\d")
PHONE_DIGITS = 10  # the last ten digits: the same number written with +7, 8 or nothing


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def phones_in(text: str) -> set[str]:
    """The numbers in a text that look like phones, by their last ten digits."""
    found = set()
    for match in PHONE.finditer(text):
        digits = _digits(match.group())
        if len(digits) >= PHONE_DIGITS:
            found.add(digits[-PHONE_DIGITS:])
    return found


def emails_in(text: str) -> set[str]:
    return {match.group().casefold() for match in EMAIL.finditer(text)}


@dataclass
class Traces:
    """What identifies a person in a text, and the two scrubbers built from it."""

    name: str | None = None
    username: str | None = None
    telegram_id: int | None = None
    phones: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)

    def _patterns(self, with_name: bool) -> list[re.Pattern[str]]:
        patterns = []
        if with_name and self.name and self.name.split():
            words = r"\s+".join(re.escape(word) for word in self.name.split())
            patterns.append(re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE))
        if self.username:
            patterns.append(re.compile(rf"(?<!\w)@?{re.escape(self.username)}(?!\w)", re.I))
        if self.telegram_id is not None:
            patterns.append(re.compile(rf"(?<!\d){self.telegram_id}(?!\d)"))
        return patterns

    def scrubber(self, *, related: bool) -> Callable[[str], str]:
        """Scrubs a text; `related` texts are tied to the person and lose their name too."""
        distinctive = bool(self.name) and len((self.name or "").split()) >= 2
        patterns = self._patterns(with_name=related or distinctive)
        phones, emails = frozenset(self.phones), frozenset(self.emails)

        def scrub(text: str) -> str:
            if emails:
                text = EMAIL.sub(
                    lambda m: MARK if m.group().casefold() in emails else m.group(), text
                )
            if phones:
                text = PHONE.sub(
                    lambda m: MARK if _digits(m.group())[-PHONE_DIGITS:] in phones else m.group(),
                    text,
                )
            for pattern in patterns:
                text = pattern.sub(MARK, text)
            return text

        return scrub


def scrub_value(value: Any, scrub: Callable[[str], str]) -> Any:
    """A text, or a JSON document with every string in it scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_value(item, scrub) for item in value]
    if isinstance(value, dict):
        return {key: scrub_value(item, scrub) for key, item in value.items()}
    return value


def _text_columns(table: Table) -> list[str]:
    return [
        column.name
        for column in table.columns
        if (table.name, column.name) not in SKIPPED_COLUMNS
        and not column.primary_key
        and not isinstance(column.type, Enum)
        and isinstance(column.type, String | Text | JSON)
    ]


async def _traces(session: AsyncSession, user: User) -> Traces:
    """The person's identifiers, with the phones and e-mails of the texts they wrote."""
    traces = Traces(name=user.name, username=user.username, telegram_id=user.telegram_id)
    own = list(
        await session.scalars(
            select(ApplicationMessage.text).where(
                ApplicationMessage.author_id == user.id,
                ApplicationMessage.from_secretariat.is_(False),
            )
        )
    )
    own += list(
        await session.scalars(
            select(Organization.contacts).where(Organization.applicant_id == user.id)
        )
    )
    if user.phone:
        own.append(user.phone)
    for text in own:
        traces.phones |= phones_in(text)
        traces.emails |= emails_in(text)
    return traces


async def _related(session: AsyncSession, user: User) -> dict[str, set[tuple[Any, ...]]]:
    """Primary keys of the rows tied to the person, by table: their texts lose the name too."""
    organizations = set(
        await session.scalars(
            select(Representative.organization_id).where(Representative.user_id == user.id)
        )
    ) | set(
        await session.scalars(select(Organization.id).where(Organization.applicant_id == user.id))
    )
    messages = set(
        await session.scalars(
            select(ApplicationMessage.id).where(
                ApplicationMessage.organization_id.in_(organizations)
            )
        )
    )
    outboxes = set(
        await session.scalars(select(Delivery.outbox_id).where(Delivery.user_id == user.id))
    ) | set(await session.scalars(select(Outbox.id).where(Outbox.author_id == user.id)))
    return {
        "organizations": {(i,) for i in organizations},
        "application_messages": {(i,) for i in messages},
        "outbox": {(i,) for i in outboxes},
        # A dialog's data is transient and may hold anything typed in it.
        "fsm_states": set(),
    }


def _models() -> dict[str, type[Base]]:
    return {
        mapper.local_table.name: mapper.class_
        for mapper in Base.registry.mappers
        if isinstance(mapper.local_table, Table)
    }


async def _scrub_tables(
    session: AsyncSession, traces: Traces, related: dict[str, set[tuple[Any, ...]]]
) -> None:
    strong = traces.scrubber(related=True)
    weak = traces.scrubber(related=False)
    models = _models()
    for table in Base.metadata.sorted_tables:
        columns = _text_columns(table)
        if table.name in SKIPPED_TABLES or not columns or table.name not in models:
            continue
        keys = list(table.primary_key.columns)
        everything_related = table.name == "fsm_states"
        changes: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        result = await session.stream(
            select(*keys, *(table.c[name] for name in columns))
            # Most rows of the big tables (deliveries) have no text at all.
            .where(or_(*(table.c[name].is_not(None) for name in columns)))
            .execution_options(yield_per=500)
        )
        async for partition in result.partitions():
            for row in partition:
                key = tuple(row[: len(keys)])
                scrub = strong if everything_related or key in related.get(table.name, ()) else weak
                changed = {}
                for name, value in zip(columns, row[len(keys) :], strict=True):
                    new = scrub_value(value, scrub)
                    if new != value:
                        changed[name] = new
                if changed:
                    changes.append((key, changed))
        model = models[table.name]
        for key, changed in changes:
            await session.execute(
                update(model)
                .where(tuple_(*keys) == tuple_(*key) if len(keys) > 1 else keys[0] == key[0])
                .values(**changed)
                .execution_options(synchronize_session="fetch")
            )


async def _remove_own_texts(session: AsyncSession, user: User) -> None:
    """Texts the person wrote are theirs: removed whole, the rows stay (the thread's order)."""
    await session.execute(
        update(ApplicationMessage)
        .where(
            ApplicationMessage.author_id == user.id, ApplicationMessage.from_secretariat.is_(False)
        )
        .values(text="")
        .execution_options(synchronize_session="fetch")
    )
    await session.execute(
        update(Organization)
        .where(Organization.applicant_id == user.id)
        .values(contacts="")
        .execution_options(synchronize_session="fetch")
    )


async def _withdraw_offers(session: AsyncSession, user: User) -> None:
    """The person's resource offers leave matching, and their texts (theirs, and likely to
    name them) are removed whole; the rows stay for the requests that point at them."""
    await session.execute(
        update(ResourceOffer)
        .where(ResourceOffer.owner_id == user.id)
        .values(
            active=False,
            withdrawn_at=func.coalesce(ResourceOffer.withdrawn_at, utcnow()),
            description="",
            available="",
        )
        .execution_options(synchronize_session="fetch")
    )


async def _unplace_needs(session: AsyncSession, user: User) -> None:
    """The needs they filed stay as the district's record without an author, but lose what may
    show where the person lives or what they look like: the photos (a yard seen from a window),
    the typed address, and the exact point, rounded as in the open data (about 100 m)."""
    await session.execute(
        delete(NeedPhoto)
        .where(NeedPhoto.need_id.in_(select(Need.id).where(Need.author_id == user.id)))
        .execution_options(synchronize_session="fetch")
    )
    placed = await session.scalars(
        select(Need).where(
            Need.author_id == user.id,
            or_(Need.address.is_not(None), Need.latitude.is_not(None)),
        )
    )
    for need in placed:
        need.address = None
        need.latitude = opendata.rounded(need.latitude)
        need.longitude = opendata.rounded(need.longitude)
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Need):
            session.expire(loaded, ["photos"])


async def _leave_projects(session: AsyncSession, user: User) -> None:
    """What they follow, and their part as a citizen in consortia (with what they brought),
    go: those rows say who they are. Their organizations stay in the consortia."""
    await session.execute(
        delete(ProjectFollower)
        .where(ProjectFollower.user_id == user.id)
        .execution_options(synchronize_session="fetch")
    )
    mine = select(ProjectParticipant.id).where(ProjectParticipant.user_id == user.id)
    await session.execute(
        delete(ProjectContribution)
        .where(ProjectContribution.participant_id.in_(mine))
        .execution_options(synchronize_session="fetch")
    )
    await session.execute(
        delete(ProjectParticipant)
        .where(ProjectParticipant.user_id == user.id)
        .execution_options(synchronize_session="fetch")
    )


async def _leave_meetings(session: AsyncSession, user: User, now: datetime) -> None:
    """Their invitations to meetings still to come, their delegations and the agenda items they
    proposed that nobody accepted go; who came to a meeting already held stays, as an anonymous
    row, in its record."""
    await session.execute(
        delete(MeetingDelegate)
        .where(MeetingDelegate.user_id == user.id)
        .execution_options(synchronize_session="fetch")
    )
    coming = select(Meeting.id).where(
        Meeting.status.in_((MeetingStatus.DRAFT, MeetingStatus.PUBLISHED)), Meeting.ends_at > now
    )
    await session.execute(
        delete(MeetingInvitee)
        .where(MeetingInvitee.user_id == user.id, MeetingInvitee.meeting_id.in_(coming))
        .execution_options(synchronize_session="fetch")
    )
    await session.execute(
        delete(AgendaItem)
        .where(AgendaItem.proposed_by_id == user.id, AgendaItem.status != AgendaStatus.ACCEPTED)
        .execution_options(synchronize_session="fetch")
    )


async def erase(session: AsyncSession, user: User) -> None:
    """Erase a person: their row becomes an anonymous author and no trace of them stays."""
    traces = await _traces(session, user)
    related = await _related(session, user)
    telegram_id = user.telegram_id
    await _remove_own_texts(session, user)
    await _withdraw_offers(session, user)
    await _unplace_needs(session, user)
    await _leave_projects(session, user)
    await _leave_meetings(session, user, utcnow())
    await _scrub_tables(session, traces, related)
    if telegram_id is not None:
        # Dialogs in any chat: `:<id>:` is the chat's or the person's part of the key.
        await session.execute(
            delete(FsmRecord)
            .where(FsmRecord.key.contains(f":{telegram_id}:"))
            .execution_options(synchronize_session="fetch", dialogs_of=telegram_id)
        )
        await session.execute(
            update(Outbox)
            .where(Outbox.progress_chat_id == telegram_id)
            .values(progress_chat_id=None, progress_message_id=None)
            .execution_options(synchronize_session="fetch")
        )
    now = utcnow()
    await session.execute(
        update(Delivery)
        .where(Delivery.user_id == user.id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED, error="erased", updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    # They represent nobody now; the organization keeps its applicant's id (an anonymous row).
    await session.execute(
        delete(Representative)
        .where(Representative.user_id == user.id)
        .execution_options(synchronize_session="fetch")
    )
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Organization):
            session.expire(loaded, ["representatives"])
    # Seats end; the rows stay, ids and dates, as the history of the bodies.
    await session.execute(
        update(Membership)
        .where(
            Membership.user_id == user.id,
            or_(Membership.until.is_(None), Membership.until > now),
        )
        .values(until=now)
        .execution_options(synchronize_session="fetch")
    )
    await session.execute(
        delete(UserRole).where(UserRole.user_id == user.id).execution_options(people=(user.id,))
    )
    _clear_row(user, now)
    await session.flush()
    await audit.record(session, user, "user.erase", "user", user.id)
    session.expire(user, ["roles", "district"])


def _clear_row(user: User, now: datetime) -> None:
    user.telegram_id = None
    user.name = None
    user.name_key = None
    user.username = None
    user.phone = None
    user.language = None
    user.district_id = None
    user.consent_at = None
    user.consent_version = None
    user.blocked_at = None
    user.deleted_at = now
