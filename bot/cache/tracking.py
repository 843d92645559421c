"""Every committed change to what the cache holds, noticed through the ORM's session events
(registered on import, for every session of the process):

- objects flushed: a person's row or roles, a district, a conversation state;
- bulk statements on those tables: they name the people they touch with the execution option
  `people=(user ids)` (or `dialogs_of=telegram id` for conversation states); one that does not
  drops everything.

At commit the changes are dropped from this process's cache and, on PostgreSQL, sent to the
other processes with NOTIFY in the same transaction, so they arrive only if it commits.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from bot.cache.people import CACHE_INFO_KEY, EPOCH_INFO_KEY, Changes, PeopleCache, read_since
from models import District, FsmRecord, User, UserRole

CHANNEL = "assembly_people"
PENDING_INFO_KEY = "people_changes"
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more: a longer list drops everything.
PAYLOAD_MAX = 7900

PEOPLE_TABLES = frozenset({User.__tablename__, UserRole.__tablename__})


def changes_of(session: Session) -> Changes:
    changes: Changes = session.info.setdefault(PENDING_INFO_KEY, Changes())
    return changes


def written_states(session: Session) -> set[str]:
    """The conversation states this session wrote (read them from it, not from the cache)."""
    changes: Changes | None = session.info.get(PENDING_INFO_KEY)
    return changes.states if changes is not None else set()


def encode(changes: Changes, origin: str | None) -> str:
    payload = json.dumps(
        {
            "o": origin,
            "all": changes.everything,
            "t": sorted(changes.telegram_ids),
            "u": sorted(changes.user_ids),
            "s": sorted(changes.states),
            "d": sorted(changes.dialogs_of),
        },
        separators=(",", ":"),
    )
    if len(payload.encode()) <= PAYLOAD_MAX:
        return payload
    return json.dumps({"o": origin, "all": True})


def decode(payload: str) -> Changes:
    try:
        raw = json.loads(payload)
        return Changes(
            telegram_ids=set(raw.get("t", ())),
            user_ids=set(raw.get("u", ())),
            states=set(raw.get("s", ())),
            dialogs_of=set(raw.get("d", ())),
            everything=bool(raw.get("all")),
            origin=raw.get("o"),
        )
    except (ValueError, TypeError, AttributeError):
        return Changes(everything=True)


@event.listens_for(Session, "after_begin")
def _note_epoch(session: Session, _transaction: SessionTransaction, _conn: Connection) -> None:
    cache: PeopleCache | None = session.info.get(CACHE_INFO_KEY)
    if cache is not None:
        session.info[EPOCH_INFO_KEY] = cache.epoch


@event.listens_for(Session, "after_flush")
def _collect_flushed(session: Session, _flush: UOWTransaction) -> None:
    changes: Changes | None = None
    for obj in chain(session.new, session.dirty, session.deleted):
        if not isinstance(obj, User | UserRole | District | FsmRecord):
            continue
        changes = changes or changes_of(session)
        if isinstance(obj, User):
            changes.user_ids.add(obj.id)
            changes.users.append(obj)
            # Before and after: a consent creates the row, an erasure empties the id.
            history = inspect(obj).attrs.telegram_id.history
            for telegram_id in chain(history.added, history.deleted, history.unchanged):
                if telegram_id is not None:
                    changes.telegram_ids.add(telegram_id)
        elif isinstance(obj, UserRole):
            changes.user_ids.add(obj.user_id)
        elif isinstance(obj, District):
            changes.everything = True
        else:
            changes.states.add(obj.key)


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table: Any = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    options = state.execution_options
    if name in PEOPLE_TABLES:
        people = options.get("people")
        changes = changes_of(state.session)
        changes.bulk = True
        if people is None:
            changes.everything = True
        else:
            changes.user_ids.update(people)
    elif name == District.__tablename__:
        changes_of(state.session).everything = True
    elif name == FsmRecord.__tablename__:
        dialogs_of = options.get("dialogs_of")
        changes = changes_of(state.session)
        if dialogs_of is None:
            changes.everything = True
        else:
            changes.dialogs_of.add(dialogs_of)


@event.listens_for(Session, "before_commit")
def _notify_others(session: Session) -> None:
    if PENDING_INFO_KEY not in session.info:
        # Objects not flushed yet may still be changes: flush now so they are counted.
        if not (session.new or session.dirty or session.deleted):
            return
    session.flush()
    changes: Changes | None = session.info.get(PENDING_INFO_KEY)
    if changes and session.get_bind().dialect.name == "postgresql":
        cache: PeopleCache | None = session.info.get(CACHE_INFO_KEY)
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": encode(changes, cache.origin if cache else None)},
        )


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    changes: Changes | None = session.info.pop(PENDING_INFO_KEY, None)
    cache: PeopleCache | None = session.info.get(CACHE_INFO_KEY)
    if changes and cache is not None:
        # The objects hold what was read then plus what this transaction wrote: true now only
        # if nothing was dropped meanwhile (another process, or another update, changed them).
        since = read_since(session)
        unchanged_since = since is not None and since == cache.epoch
        cache.forget(changes)
        if unchanged_since and not changes.bulk and not changes.everything:
            for user in changes.users:
                cache.keep_committed(user)
