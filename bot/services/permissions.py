"""Server-side role checks: every privileged action calls these, whatever the keyboard showed."""

from __future__ import annotations

from bot.services.errors import NotAllowed
from models import Role, User


def has_any_role(user: User | None, *roles: Role) -> bool:
    if user is None or user.deleted_at is not None:
        return False
    held = user.role_set
    return Role.ADMIN in held or bool(held.intersection(roles))


def require_role(user: User | None, *roles: Role) -> User:
    """The user, if they hold one of `roles` (admins hold all); otherwise NotAllowed."""
    if user is None or not has_any_role(user, *roles):
        raise NotAllowed()
    return user


def require_registered(user: User | None) -> User:
    if user is None or not user.is_registered:
        raise NotAllowed("error-not-registered")
    return user
