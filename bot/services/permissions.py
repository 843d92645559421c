"""Server-side role checks: every privileged action calls these, whatever the keyboard showed;
and the one definition of the role sets the checks and the command menu use."""

from __future__ import annotations

from bot.services.errors import NotAllowed
from models import Role, User

# The role sets, defined once. Admins pass every check (`has_any_role`), so they are named only
# where an action is theirs alone.
ADMINS = frozenset({Role.ADMIN})
SECRETARIAT = frozenset({Role.SECRETARIAT})
REPRESENTATIVES = frozenset({Role.REPRESENTATIVE})
# Announcements: the executive committee, the presidium and the Secretariat write them.
AUTHORS = frozenset({Role.EXECUTIVE, Role.PRESIDIUM, Role.SECRETARIAT})
# The presidium organizes any body's votes; a committee's chair and secretary organize their
# own committee's (checked per body), so both see /new_vote.
PRESIDIUM = frozenset({Role.PRESIDIUM})
ORGANIZERS = frozenset({Role.PRESIDIUM, Role.COMMITTEE})


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
