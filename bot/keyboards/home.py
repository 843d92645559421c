"""The home screen's buttons: a person's commands in the open section, and the other sections."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.capabilities import CommandSpec, HomeGroup
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.texts import plain


class CDHome(BotCallback, prefix="home"):
    section: HomeGroup


class CDRun(BotCallback, prefix="run"):
    command: str


def button_label(spec: CommandSpec) -> str:
    description = plain(spec.description_key)
    return description[:1].upper() + description[1:]


def home_keyboard(
    commands: list[CommandSpec], sections: list[HomeGroup], current: HomeGroup
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for spec in commands:
        builder.button(text=button_label(spec), callback_data=CDRun(command=spec.name))
    others = [section for section in sections if section != current]
    for section in others:
        builder.button(
            text="» " + plain(f"home-section-{section.value}"),
            callback_data=CDHome(section=section),
        )
    # Commands one per row (their labels are phrases); the other sections side by side.
    tabs = [min(len(others) - start, 2) for start in range(0, len(others), 2)]
    builder.adjust(*([1] * len(commands)), *tabs)
    return builder.as_markup()
