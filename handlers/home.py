"""The home screen: what a registered person can do, by section, with buttons (/help, and after
/start); a guest's /help lists what works before registration."""

from __future__ import annotations

from typing import Any

from aiogram import Dispatcher, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n

from bot.callbacks import callback_message
from bot.capabilities import ANYONE, Capability, CommandSpec, HomeGroup, Registry
from bot.keyboards.home import CDHome, CDRun, home_keyboard
from bot.services.errors import NotAllowed
from bot.texts import SafeHTML, t
from models import Role, User

# Kept screens per registry: the roles' combinations times the sections times the languages.
SCREENS_KEPT = 2000


def home_screen(
    registry: Registry, user: User, section: HomeGroup | None = None
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    """One section of a registered person's home screen (the first they have, unless asked);
    the same for everyone with the same roles and language, so drawn once for them all."""
    key = ("home", user.role_set, section, get_i18n().current_locale)
    screen: tuple[SafeHTML, InlineKeyboardMarkup] | None = registry.rendered.get(key)
    if screen is None:
        if len(registry.rendered) >= SCREENS_KEPT:
            registry.rendered.clear()
        screen = registry.rendered[key] = _draw_home(registry, user.role_set, section)
    return screen


def _draw_home(
    registry: Registry, roles: frozenset[Role], section: HomeGroup | None
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    sections = registry.home(roles)
    current = section if section in sections else next(iter(sections))
    commands = sections[current]
    lines: list[str] = [t("home-title", section=t(f"home-section-{current.value}"))]
    lines += [f"/{spec.name} — {t(spec.description_key)}" for spec in commands]
    if len(sections) > 1:
        lines += ["", t("home-other-sections")]
    markup = home_keyboard(commands, list(sections), current)
    return SafeHTML("\n".join(lines)), markup


def guest_help(registry: Registry) -> SafeHTML:
    """What works before registration, and how to register."""
    key = ("guest-help", get_i18n().current_locale)
    text: SafeHTML | None = registry.rendered.get(key)
    if text is None:
        text = registry.rendered[key] = _draw_guest_help(registry)
    return text


def _draw_guest_help(registry: Registry) -> SafeHTML:
    lines: list[str] = [t("help-title")]
    lines += [
        f"/{spec.name} — {t(spec.description_key)}"
        for spec in registry.available(frozenset(), registered=False)
    ]
    lines += ["", t("help-register-hint")]
    return SafeHTML("\n".join(lines))


def has_home(user: User | None) -> bool:
    # An admin named in the settings works before registering; everyone else registers first.
    return user is not None and (user.is_registered or Role.ADMIN in user.role_set)


async def cmd_help(message: Message, user: User | None, capabilities: Registry) -> None:
    if user is None or not has_home(user):
        await message.answer(guest_help(capabilities))
        return
    text, markup = home_screen(capabilities, user)
    await message.answer(text, reply_markup=markup)


async def on_section(
    query: CallbackQuery, callback_data: CDHome, user: User | None, capabilities: Registry
) -> None:
    if user is None or not has_home(user):
        raise NotAllowed()
    text, markup = home_screen(capabilities, user, callback_data.section)
    await callback_message(query).edit_text(text, reply_markup=markup)


async def on_run(
    query: CallbackQuery,
    callback_data: CDRun,
    user: User | None,
    capabilities: Registry,
    dispatcher: Dispatcher,
    **data: Any,
) -> None:
    """A command's button does what typing the command does: the same handlers, the same checks."""
    spec = capabilities.command(callback_data.command)
    if user is None or not has_home(user) or spec is None or not spec.on_home:
        raise NotAllowed()
    if not spec.allows(user.role_set, registered=user.is_registered):
        raise NotAllowed()
    source = callback_message(query)
    typed = Message(
        message_id=source.message_id,
        date=source.date,
        chat=source.chat,
        from_user=query.from_user,
        text=f"/{spec.name}",
    ).as_(source.bot)
    data.update(user=user, capabilities=capabilities, dispatcher=dispatcher)
    await dispatcher.propagate_event("message", typed, **data)


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="home")
    router.message.register(cmd_help, Command("help"))
    router.callback_query.register(on_section, CDHome.filter())
    router.callback_query.register(on_run, CDRun.filter())
    return router


capability = Capability(
    name="home",
    setup=setup,
    commands=(CommandSpec("help", ANYONE, on_home=False),),
    keys=lambda: {f"home-section-{section.value}" for section in HomeGroup},
    # A command's button is the command typed: its own handler checks who may use it.
    public_callbacks=(CDHome, CDRun),
)
