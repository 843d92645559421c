"""The cache of people and their conversation state, one per application (its sessions carry it
in `session.info`, so each database has its own).

A person is kept as plain values (their row, roles and district) and attached to the update's
session as ORM objects without a query, so handlers and services use and change them as if
loaded. What is kept is dropped when a committed change touches it (bot.cache.tracking), and
expires after `ttl` seconds whatever happens: the last guard against a change this process was
not told of. A load that began before a change was heard is not kept (the epoch moved on).
"""

from __future__ import annotations

import copy
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from bot import db, metrics
from bot.services import users
from models import District, User, UserRole

CACHE_INFO_KEY = db.CACHE_INFO_KEY
# The cache's epoch when the session's transaction began (set by bot.cache.tracking), and when
# the session first took a person from the cache or the database (load_person).
EPOCH_INFO_KEY = "people_epoch"
PERSON_EPOCH_INFO_KEY = "person_epoch"

_USER_COLUMNS = tuple(attr.key for attr in User.__mapper__.column_attrs)
_ROLE_COLUMNS = tuple(attr.key for attr in UserRole.__mapper__.column_attrs)
_DISTRICT_COLUMNS = tuple(attr.key for attr in District.__mapper__.column_attrs)
_PERSON_ATTRIBUTES = frozenset({*_USER_COLUMNS, "roles", "district"})
_ROLE_KEYS = frozenset(_ROLE_COLUMNS)
_DISTRICT_KEYS = frozenset(_DISTRICT_COLUMNS)

State = tuple[str | None, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Person:
    row: dict[str, Any] | None  # None: nobody by that Telegram id (a guest who has not consented)
    roles: tuple[dict[str, Any], ...]
    district: dict[str, Any] | None
    expires: float


@dataclass
class Changes:
    """What a transaction changed, as far as the cache is concerned."""

    telegram_ids: set[int] = field(default_factory=set)
    user_ids: set[int] = field(default_factory=set)
    states: set[str] = field(default_factory=set)
    # People whose every dialog went (erasure deletes them by pattern).
    dialogs_of: set[int] = field(default_factory=set)
    everything: bool = False
    # The people's objects flushed (not sent to other processes): after the commit the cache
    # keeps them as they now are, when a statement did not change their rows behind them.
    users: list[User] = field(default_factory=list)
    bulk: bool = False
    # The cache of the process that made them (heard from PostgreSQL, its own are skipped: it
    # applied them at the commit).
    origin: str | None = None

    def __bool__(self) -> bool:
        return bool(
            self.everything or self.telegram_ids or self.user_ids or self.states or self.dialogs_of
        )


def _copied(value: Any) -> Any:
    # A JSON column holds a list or a dict: each attached object gets its own copy.
    return copy.deepcopy(value) if isinstance(value, list | dict) else value


def _values(obj: object, columns: tuple[str, ...]) -> dict[str, Any]:
    return {key: _copied(getattr(obj, key)) for key in columns}


class PeopleCache:
    def __init__(self, ttl: float, *, live: bool = True, size: int = 100_000) -> None:
        self.ttl = ttl
        self.size = size
        # False while changes made elsewhere cannot be heard (the listener is not connected).
        self.live = live
        self.origin = uuid.uuid4().hex
        self.epoch = 0
        self.people: dict[int, Person] = {}
        self.telegram_of: dict[int, int] = {}
        self.states: dict[str, tuple[float, State]] = {}

    @property
    def enabled(self) -> bool:
        return self.live and self.ttl > 0

    # People

    def person(self, telegram_id: int) -> Person | None:
        found = self.people.get(telegram_id) if self.enabled else None
        return found if found is not None and found.expires > time.monotonic() else None

    def keep(self, telegram_id: int, user: User | None, epoch: int) -> None:
        if not self.enabled or epoch != self.epoch:
            return
        if len(self.people) >= self.size:
            self.people.clear()
            self.telegram_of.clear()
        expires = time.monotonic() + self.ttl
        if user is None:
            self.people[telegram_id] = Person(None, (), None, expires)
            return
        self.people[telegram_id] = Person(
            _values(user, _USER_COLUMNS),
            tuple(_values(role, _ROLE_COLUMNS) for role in user.roles),
            _values(user.district, _DISTRICT_COLUMNS) if user.district is not None else None,
            expires,
        )
        self.telegram_of[user.id] = telegram_id

    def keep_committed(self, user: User) -> None:
        """A person's objects just committed, complete and unchanged since: kept as they are."""
        state = inspect(user)
        if state.deleted or state.detached or user.telegram_id is None:
            return
        if state.unloaded & _PERSON_ATTRIBUTES:
            return
        # Reading an attribute that is not loaded would be a query, which cannot run here.
        if any(inspect(role).unloaded & _ROLE_KEYS for role in user.roles):
            return
        if user.district is not None and inspect(user.district).unloaded & _DISTRICT_KEYS:
            return
        self.keep(user.telegram_id, user, self.epoch)

    # Conversation state

    def state(self, key: str) -> State | None:
        found = self.states.get(key) if self.enabled else None
        if found is None or found[0] <= time.monotonic():
            return None
        state, data = found[1]
        return state, copy.deepcopy(data) if data else {}

    def keep_state(self, key: str, value: State, epoch: int) -> None:
        if not self.enabled or epoch != self.epoch:
            return
        if len(self.states) >= self.size:
            self.states.clear()
        state, data = value
        self.states[key] = (
            time.monotonic() + self.ttl,
            (state, copy.deepcopy(data) if data else {}),
        )

    # Invalidation

    def forget(self, changes: Changes) -> None:
        self.epoch += 1
        if changes.everything:
            self.clear()
            return
        for user_id in changes.user_ids:
            telegram_id = self.telegram_of.pop(user_id, None)
            if telegram_id is not None:
                self.people.pop(telegram_id, None)
        for telegram_id in changes.telegram_ids:
            self.people.pop(telegram_id, None)
        for key in changes.states:
            self.states.pop(key, None)
        for telegram_id in changes.dialogs_of:
            part = f":{telegram_id}:"
            for key in [key for key in self.states if part in key]:
                del self.states[key]

    def clear(self) -> None:
        self.epoch += 1
        self.people.clear()
        self.telegram_of.clear()
        self.states.clear()

    def pause(self) -> None:
        """Changes made elsewhere can no longer be heard: keep nothing until they can."""
        self.live = False
        self.clear()

    def resume(self) -> None:
        self.clear()
        self.live = True


def cache_of(session: AsyncSession) -> PeopleCache | None:
    cache: PeopleCache | None = session.info.get(CACHE_INFO_KEY)
    return cache if cache is not None and cache.enabled else None


def read_since(session: Session) -> int | None:
    """The epoch at the session's earliest read of people: what it holds of them is known true
    only if nothing was dropped since."""
    epochs = [
        session.info[key] for key in (PERSON_EPOCH_INFO_KEY, EPOCH_INFO_KEY) if key in session.info
    ]
    return min(epochs) if epochs else None


def epoch_of(session: AsyncSession, cache: PeopleCache) -> int:
    # No transaction yet: nothing was read, so nothing older than now can be kept.
    epoch: int = session.info.get(EPOCH_INFO_KEY, cache.epoch)
    return epoch


def _detached(model: type[Any], values: dict[str, Any]) -> Any:
    """An instance holding `values` as if loaded from its row: made as the ORM's loader makes
    one (no constructor, no attribute events), then given its identity."""
    obj = model._sa_class_manager.new_instance()
    obj.__dict__.update({key: _copied(value) for key, value in values.items()})
    # No history, so nothing is written unless a handler changes something.
    make_transient_to_detached(obj)
    return obj


def attach(session: AsyncSession, person: Person) -> User | None:
    """The kept person as the session's own ORM objects, without a query; None when the
    session already holds them (then the caller loads as usual)."""
    assert person.row is not None
    sync = session.sync_session
    if identity_key(User, person.row["id"]) in sync.identity_map:
        return None
    user: User = _detached(User, person.row)
    set_committed_value(user, "roles", [_detached(UserRole, role) for role in person.roles])
    district: District | None = None
    if person.district is not None:
        held = sync.identity_map.get(identity_key(District, person.district["id"]))
        district = held if isinstance(held, District) else _detached(District, person.district)
    set_committed_value(user, "district", district)
    session.add(user)
    return user


async def load_person(session: AsyncSession, telegram_id: int) -> User | None:
    """The person behind a Telegram id (see users.get_user), from the cache when it has them."""
    cache = cache_of(session)
    if cache is not None:
        session.info.setdefault(PERSON_EPOCH_INFO_KEY, cache.epoch)
        person = cache.person(telegram_id)
        if person is not None:
            if person.row is None:
                metrics.people_cache(hit=True)
                return None
            attached = attach(session, person)
            if attached is not None:
                metrics.people_cache(hit=True)
                return attached
        metrics.people_cache(hit=False)
    user = await users.get_user(session, telegram_id)
    if cache is not None:
        cache.keep(telegram_id, user, epoch_of(session, cache))
    return user
