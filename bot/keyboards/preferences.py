"""Callback data and keyboards of /settings."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot import dates
from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.services.preferences import OFFERED_TOPICS, QUIET_PRESETS, receives
from bot.texts import plain
from models import User


class CDTopic(BotCallback, prefix="topic"):
    topic: str


class CDQuiet(BotCallback, prefix="quiet"):
    # index in QUIET_PRESETS
    preset: int


def quiet_label(window: tuple[int, int] | None) -> str:
    if window is None:
        return plain("preferences-quiet-off")
    start, end = window
    return plain(
        "preferences-quiet-window",
        start=dates.shown_time_of_day(start),
        end=dates.shown_time_of_day(end),
    )


def settings_keyboard(user: User) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for topic in OFFERED_TOPICS:
        mark = "✅" if receives(user, topic) else "⬜"
        builder.button(
            text=f"{mark} {plain(f'preferences-topic-{topic.value}')}",
            callback_data=CDTopic(topic=topic.value),
        )
    current = (user.quiet_from, user.quiet_to) if user.quiet_from is not None else None
    for index, window in enumerate(QUIET_PRESETS):
        mark = "🔘" if window == current else "⚪"
        builder.button(text=f"{mark} {quiet_label(window)}", callback_data=CDQuiet(preset=index))
    builder.adjust(*[1] * len(OFFERED_TOPICS), 2, 2)
    return builder.as_markup()
