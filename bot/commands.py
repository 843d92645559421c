"""The one list of commands: /help, the command menu and its scopes are all built from it."""

from __future__ import annotations

from dataclasses import dataclass

from models import Role


@dataclass(frozen=True)
class CommandSpec:
    name: str
    # None: anyone, even before registration; an empty set: any registered person;
    # otherwise any of these roles (admins see everything).
    roles: frozenset[Role] | None = frozenset()

    @property
    def description_key(self) -> str:
        return f"cmd-{self.name.replace('_', '-')}"


ANYONE = None
REGISTERED: frozenset[Role] = frozenset()
SECRETARIAT = frozenset({Role.SECRETARIAT})
ADMINS = frozenset({Role.ADMIN})
AUTHORS = frozenset({Role.EXECUTIVE, Role.PRESIDIUM, Role.SECRETARIAT})
# Committee chairs and secretaries organize their committee's votes (checked per body).
ORGANIZERS = frozenset({Role.PRESIDIUM, Role.COMMITTEE})

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", ANYONE),
    CommandSpec("help", ANYONE),
    CommandSpec("me", REGISTERED),
    CommandSpec("language", ANYONE),
    CommandSpec("settings", REGISTERED),
    CommandSpec("privacy", ANYONE),
    CommandSpec("cancel", ANYONE),
    CommandSpec("delete_me", REGISTERED),
    CommandSpec("registry", ANYONE),
    CommandSpec("join", REGISTERED),
    CommandSpec("my_orgs", REGISTERED),
    CommandSpec("invite", frozenset({Role.REPRESENTATIVE})),
    CommandSpec("applications", SECRETARIAT),
    CommandSpec("export", SECRETARIAT),
    CommandSpec("register_person", SECRETARIAT),
    CommandSpec("register_org", SECRETARIAT),
    CommandSpec("districts", SECRETARIAT),
    CommandSpec("add_district", SECRETARIAT),
    CommandSpec("import_districts", SECRETARIAT),
    CommandSpec("announce", AUTHORS),
    CommandSpec("announcements", AUTHORS),
    CommandSpec("votes", REGISTERED),
    CommandSpec("receipt", REGISTERED),
    CommandSpec("recommendations", ANYONE),
    CommandSpec("new_vote", ORGANIZERS),
    CommandSpec("bodies", SECRETARIAT),
    CommandSpec("new_body", SECRETARIAT),
    CommandSpec("secretariat", ADMINS),
    CommandSpec("audit", ADMINS),
)


def available(roles: frozenset[Role], *, registered: bool) -> list[CommandSpec]:
    """The commands a person with these roles may use, in menu order."""

    def allowed(spec: CommandSpec) -> bool:
        if spec.roles is None or Role.ADMIN in roles:
            return True
        return registered and (not spec.roles or bool(spec.roles & roles))

    return [spec for spec in COMMANDS if allowed(spec)]


def public_menu() -> list[CommandSpec]:
    """What the default command menu shows to everyone."""
    return [spec for spec in COMMANDS if spec.roles is None or not spec.roles]
