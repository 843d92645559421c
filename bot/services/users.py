"""People: consent, onboarding data, languages, roles and erasure."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from bot.languages import LANGUAGES
from bot.services import audit, erasure, invites
from bot.services.errors import InvalidInput, NotFound
from bot.services.permissions import SECRETARIAT, has_any_role, require_role
from models import (
    District,
    Invite,
    InviteKind,
    Organization,
    OrganizationStatus,
    Representative,
    Role,
    User,
    UserRole,
)
from models.base import utcnow

# Session-info key: ids of users whose roles this transaction changed (their menus follow).
ROLES_CHANGED = "roles_changed"
ERASED_TELEGRAM_IDS = "erased_telegram_ids"


def _roles_changed(session: AsyncSession, user: User) -> None:
    session.info.setdefault(ROLES_CHANGED, set()).add(user.id)


# Bump when the consent text in the catalogues changes materially; stored with each consent.
CONSENT_VERSION = "2026-11-23"


def is_registrar(user: User | None) -> bool:
    """The Secretariat is the registering body: it keeps the registry of people and
    organizations, and sees every application and card."""
    return has_any_role(user, *SECRETARIAT)


def require_registrar(actor: User | None) -> User:
    """The actor, if they are of the Secretariat (see `is_registrar`); otherwise NotAllowed."""
    return require_role(actor, *SECRETARIAT)


async def get_user(session: AsyncSession, telegram_id: int) -> User | None:
    """The living person behind a Telegram id, or None if they never consented or were erased.

    One statement with the roles and the district joined: every update asks this first."""
    found = await session.scalars(
        select(User)
        .where(User.telegram_id == telegram_id)
        .options(joinedload(User.roles), joinedload(User.district))
    )
    return found.unique().one_or_none()


async def find_registered(session: AsyncSession, user_id: int) -> User | None:
    """A registered, not erased person by internal number (as the Secretariat sees it)."""
    user = await session.get(User, user_id)
    return user if user is not None and user.is_registered else None


async def get_or_create_user(session: AsyncSession, telegram_id: int) -> User:
    user = await get_user(session, telegram_id)
    if user is None:
        user = User(telegram_id=telegram_id, roles=[])
        session.add(user)
        await session.flush()
    return user


async def mark_reachable(session: AsyncSession, user: User) -> None:
    """The person wrote to the bot, so it may write to them again (they had blocked it)."""
    user.blocked_at = None
    await session.flush()


async def ensure_admins(session: AsyncSession, admin_ids: list[int]) -> None:
    """Admins named in settings hold the admin role (only their Telegram id is stored for it)."""
    for telegram_id in admin_ids:
        user = await get_or_create_user(session, telegram_id)
        await grant_role(session, user, Role.ADMIN)


async def grant_role(session: AsyncSession, user: User, role: Role) -> bool:
    """Give a role once; returns False when the user already had it."""
    if role in user.role_set:
        return False
    user.roles.append(UserRole(role=role))
    await session.flush()
    _roles_changed(session, user)
    return True


async def revoke_role(session: AsyncSession, user: User, role: Role) -> bool:
    for user_role in list(user.roles):
        if user_role.role == role:
            user.roles.remove(user_role)
            await session.flush()
            _roles_changed(session, user)
            return True
    return False


async def give_consent(
    session: AsyncSession, telegram_id: int, *, language: str, username: str | None
) -> User:
    """Record consent to personal-data processing: before it, nothing about the person is kept."""
    user = await get_or_create_user(session, telegram_id)
    if user.consent_at is None:
        user.consent_at = utcnow()
        user.consent_version = CONSENT_VERSION
    user.language = language if language in LANGUAGES else user.language
    user.username = username
    await session.flush()
    return user


def clean_name(raw: str, max_length: int) -> str:
    """A display name: trimmed, single-spaced, printable, with at least one letter."""
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput("onboarding-name-empty")
    if len(name) > max_length:
        raise InvalidInput("onboarding-name-too-long", max=max_length, length=len(name))
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in name):
        raise InvalidInput("onboarding-name-invalid")
    if not any(ch.isalpha() for ch in name):
        raise InvalidInput("onboarding-name-no-letters")
    return name


async def set_name(session: AsyncSession, user: User, raw: str, *, max_length: int) -> User:
    user.name = clean_name(raw, max_length)
    user.name_key = user.name.casefold()
    await session.flush()
    return user


async def set_district(session: AsyncSession, user: User, district_id: int | None) -> User:
    """Attach the user to a district (None: they do not know theirs yet)."""
    if district_id is not None and await session.get(District, district_id) is None:
        raise NotFound("districts-not-found")
    user.district_id = district_id
    await session.flush()
    await session.refresh(user, ["district"])
    return user


async def complete_registration(session: AsyncSession, user: User) -> bool:
    """Finish onboarding once: the person becomes a citizen. False if they already were."""
    if user.registered_at is not None:
        return False
    user.registered_at = utcnow()
    await grant_role(session, user, Role.CITIZEN)
    return True


async def set_language(session: AsyncSession, user: User, language: str) -> None:
    if language not in LANGUAGES:
        raise InvalidInput("language-unknown")
    user.language = language
    await session.flush()


@dataclass(frozen=True)
class Profile:
    name: str | None
    district: str | None
    roles: list[Role]
    organizations: list[str]
    registered: bool


async def profile(session: AsyncSession, user: User) -> Profile:
    """What the person sees about themselves in /me."""
    names = await session.scalars(
        select(Organization.name)
        .join(Representative, Representative.organization_id == Organization.id)
        .where(
            Representative.user_id == user.id,
            Organization.status.in_([OrganizationStatus.APPROVED, OrganizationStatus.SUSPENDED]),
        )
        .order_by(Organization.name)
    )
    return Profile(
        name=user.name,
        district=user.district.name if user.district else None,
        roles=sorted(user.role_set, key=list(Role).index),
        organizations=list(names),
        registered=user.is_registered,
    )


async def erase_user(session: AsyncSession, user: User) -> None:
    """Erase personal data everywhere (see `bot.services.erasure`); the row stays as an
    anonymous author so that content stays readable."""
    # The menu is keyed by the Telegram id, which is about to go: refresh it first.
    session.info.setdefault(ERASED_TELEGRAM_IDS, set()).add(user.telegram_id)
    await erasure.erase(session, user)


async def search_people(session: AsyncSession, query: str, limit: int = 8) -> list[User]:
    """Registered people by part of the name, by @username or by Telegram id."""
    query = query.strip()
    if not query:
        return []
    conditions = [User.name_key.contains(" ".join(query.casefold().split()))]
    if query.startswith("@") and len(query) > 1:
        conditions.append(User.username == query[1:])
    if query.isdigit() and len(query) < 16:
        conditions.append(User.telegram_id == int(query))
    rows = await session.scalars(
        select(User)
        .where(User.deleted_at.is_(None), User.registered_at.is_not(None), or_(*conditions))
        .order_by(User.name_key, User.id)
        .limit(limit)
    )
    return list(rows)


TAKEOVER_TTL = timedelta(days=30)


async def register_on_behalf(
    session: AsyncSession,
    actor: User | None,
    raw_name: str,
    district_id: int | None,
    *,
    max_length: int = 100,
) -> tuple[User, Invite]:
    """The Secretariat registers someone from a signed paper form; they may later take the
    account over with a one-time link."""
    actor = require_registrar(actor)
    name = clean_name(raw_name, max_length)
    if district_id is not None and await session.get(District, district_id) is None:
        raise NotFound("districts-not-found")
    now = utcnow()
    person = User(
        name=name,
        name_key=name.casefold(),
        district_id=district_id,
        consent_at=now,
        consent_version=CONSENT_VERSION,
        consent_source="paper",
        entered_by_id=actor.id,
        registered_at=now,
        roles=[],
    )
    session.add(person)
    await session.flush()
    await grant_role(session, person, Role.CITIZEN)
    invite = await invites.create(
        session, InviteKind.TAKEOVER, actor, TAKEOVER_TTL, user_id=person.id
    )
    await audit.record(session, actor, "user.register_on_behalf", "user", person.id)
    return person, invite


async def take_over(
    session: AsyncSession, telegram_id: int, username: str | None, token: str
) -> User:
    """A person claims the account the Secretariat opened for them, with its one-time link."""
    current = await get_user(session, telegram_id)
    if current is not None and current.is_registered:
        raise InvalidInput("invites-already-registered")
    invite = await invites.peek(session, token)
    if invite is None or invite.kind != InviteKind.TAKEOVER or invite.user_id is None:
        raise NotFound("invites-not-found")
    person = await session.get(User, invite.user_id)
    if person is None or person.deleted_at is not None:
        raise NotFound("invites-not-found")
    await invites.claim(session, token, InviteKind.TAKEOVER, person)
    if current is not None:
        # An unfinished record (an admin id from settings, or a half-done onboarding) gives its
        # roles to the real account and goes.
        for role in current.role_set:
            await grant_role(session, person, role)
        await session.delete(current)
        await session.flush()
    person.telegram_id = telegram_id
    person.username = username
    await session.flush()
    await audit.record(session, person, "user.take_over", "user", person.id)
    return person
