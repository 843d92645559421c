"""The command menu in Telegram's clients, per language, wider for admins (command scopes)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from bot.capabilities import CommandSpec, Registry
from bot.languages import LANGUAGES
from bot.texts import plain
from models import Role


def _commands(specs: list[CommandSpec]) -> list[BotCommand]:
    return [BotCommand(command=s.name, description=plain(s.description_key)) for s in specs]


async def set_default_menu(bot: Bot, i18n: I18n, registry: Registry, default_language: str) -> None:
    """The menu everyone sees: one per language, and the default language for all others."""
    with i18n.context():
        for language in LANGUAGES:
            with i18n.use_locale(language):
                commands = _commands(registry.public_menu())
                await bot.set_my_commands(commands, BotCommandScopeDefault(), language)
                if language == default_language:
                    await bot.set_my_commands(commands, BotCommandScopeDefault())


async def set_personal_menu(
    bot: Bot,
    i18n: I18n,
    registry: Registry,
    chat_id: int,
    roles: frozenset[Role],
    language: str,
) -> None:
    """A wider menu for a person whose roles give them more commands than everyone has."""
    with i18n.context(), i18n.use_locale(language):
        specs = registry.available(roles, registered=True)
        scope = BotCommandScopeChat(chat_id=chat_id)
        if len(specs) == len(registry.public_menu()):
            await bot.delete_my_commands(scope)
        else:
            await bot.set_my_commands(_commands(specs), scope)
