"""What a capability declares next to its router, and the registry the app builds from those
declarations: routers, command menus, /help and the home screen, job kinds, locale key families
and the callbacks anyone may press. Nothing else keeps a parallel list.

The list of capabilities itself is `handlers.CAPABILITIES`; the app hands the registry down
(`dp["capabilities"]`), so nothing in bot/ imports handlers/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aiogram import Router
from aiogram.filters.callback_data import CallbackData
from sqlalchemy.ext.asyncio import AsyncSession

from models import Role
from scheduler.kinds import JobSpec

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.i18n import PoI18n


class HomeGroup(StrEnum):
    """The sections of the home screen, in the order they are shown."""

    EVERYONE = "everyone"
    ORGANIZATION = "organization"
    COUNCIL = "council"
    SECRETARIAT = "secretariat"
    ADMIN = "admin"


# Who may use a command. None: anyone, even before registration; an empty set: any registered
# person; otherwise any of these roles (admins may use everything); the role sets are in
# bot/services/permissions.py.
ANYONE: frozenset[Role] | None = None
REGISTERED: frozenset[Role] = frozenset()


@dataclass(frozen=True)
class CommandSpec:
    name: str
    roles: frozenset[Role] | None = REGISTERED
    group: HomeGroup = HomeGroup.EVERYONE
    # The home screen is for the person's work; /start, /help and /cancel are how they reach it.
    on_home: bool = True

    @property
    def description_key(self) -> str:
        return f"cmd-{self.name.replace('_', '-')}"

    def allows(self, roles: frozenset[Role], *, registered: bool) -> bool:
        if self.roles is None or Role.ADMIN in roles:
            return True
        return registered and (not self.roles or bool(self.roles & roles))


@dataclass(frozen=True)
class JobContext:
    """What job handlers may need beyond the database session."""

    settings: Settings
    i18n: PoI18n


@dataclass(frozen=True)
class Capability:
    name: str
    # A fresh router each call: several dispatchers (tests, the sandbox, a restart) live in one
    # process, and aiogram lets a router belong to one of them only.
    setup: Callable[[], Router]
    commands: tuple[CommandSpec, ...] = ()
    # Job kinds this capability schedules: what each does when it is due, and whether it changes
    # the state of things (`changes_state`: runs however late after downtime) or only reminds
    # (`reminder`: may be skipped, checks its purpose when it runs). See scheduler/kinds.py.
    jobs: Callable[[JobContext], Mapping[str, JobSpec]] | None = None
    # Locale keys the code builds at run time (`f"votes-status-{status}"`), so the locale test
    # can check them; keys written out literally are found by reading the code.
    keys: Callable[[], Iterable[str]] | None = None
    # Callback data anyone may press (the trust test presses every other class as a stranger
    # and expects a refusal).
    public_callbacks: tuple[type[CallbackData], ...] = ()
    # Runs once at start, before any update: for example to make sure a recurring job exists.
    startup: Callable[[AsyncSession, Settings], Awaitable[None]] | None = None


@dataclass(frozen=True)
class Registry:
    capabilities: tuple[Capability, ...]

    def __post_init__(self) -> None:
        names = [capability.name for capability in self.capabilities]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"capabilities declared twice: {sorted(duplicates)}")
        commands = [spec.name for spec in self.commands]
        duplicates = {name for name in commands if commands.count(name) > 1}
        if duplicates:
            raise ValueError(f"commands declared twice: {sorted(duplicates)}")

    @cached_property
    def rendered(self) -> dict[Hashable, Any]:
        """Screens that depend only on the registry, roles and language (the home screen), kept
        once drawn: building a keyboard of twenty buttons costs more than the rest of a /help."""
        return {}

    @cached_property
    def commands(self) -> tuple[CommandSpec, ...]:
        """Every command, in the order the capabilities are listed (the menu's order)."""
        return tuple(spec for capability in self.capabilities for spec in capability.commands)

    def command(self, name: str) -> CommandSpec | None:
        return next((spec for spec in self.commands if spec.name == name), None)

    def available(self, roles: frozenset[Role], *, registered: bool) -> list[CommandSpec]:
        """The commands a person with these roles may use, in menu order."""
        return [spec for spec in self.commands if spec.allows(roles, registered=registered)]

    def public_menu(self) -> list[CommandSpec]:
        """What the default command menu shows to everyone."""
        return [spec for spec in self.commands if spec.roles is None or not spec.roles]

    def home(self, roles: frozenset[Role]) -> dict[HomeGroup, list[CommandSpec]]:
        """A registered person's home screen: their commands by section, empty sections left out."""
        sections: dict[HomeGroup, list[CommandSpec]] = {group: [] for group in HomeGroup}
        for spec in self.available(roles, registered=True):
            if spec.on_home:
                sections[spec.group].append(spec)
        return {group: specs for group, specs in sections.items() if specs}

    @cached_property
    def _idle_routers(self) -> list[list[Router]]:
        return []

    def routers(self) -> list[Router]:
        """The capabilities' routers in order: a set a closed dispatcher gave back (see
        give_back), else fresh ones."""
        if self._idle_routers:
            return self._idle_routers.pop()
        return [capability.setup() for capability in self.capabilities]

    def give_back(self, dispatcher: Router) -> None:
        """Take back the routers of a dispatcher that will handle nothing more, for the next one.
        Building them costs a tenth of a second (aiogram inspects every handler's signature),
        which a process starting one bot pays once and the test suite, starting hundreds,
        hundreds of times."""
        routers = list(dispatcher.sub_routers)
        dispatcher.sub_routers.clear()
        for router in routers:
            # aiogram has no way to detach a router; this is what attaching set.
            router._parent_router = None
        self._idle_routers.append(routers)

    def job_specs(self, context: JobContext) -> dict[str, JobSpec]:
        specs: dict[str, JobSpec] = {}
        for capability in self.capabilities:
            if capability.jobs is None:
                continue
            for kind, spec in capability.jobs(context).items():
                if kind in specs:
                    raise ValueError(f"job kind {kind!r} is declared twice")
                if not isinstance(spec, JobSpec):
                    # What happens to it after downtime must be a decision, not a default.
                    raise TypeError(
                        f"job kind {kind!r} must be declared with changes_state() or reminder()"
                    )
                specs[kind] = spec
        return specs

    def key_families(self) -> set[str]:
        keys = {spec.description_key for spec in self.commands}
        for capability in self.capabilities:
            if capability.keys is not None:
                keys.update(capability.keys())
        return keys

    def public_callbacks(self) -> set[type[CallbackData]]:
        return {cls for capability in self.capabilities for cls in capability.public_callbacks}

    async def startup(self, session: AsyncSession, settings: Settings) -> None:
        for capability in self.capabilities:
            if capability.startup is not None:
                await capability.startup(session, settings)
