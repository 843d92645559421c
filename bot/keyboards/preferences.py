"""Callback data and keyboards of /settings."""

from __future__ import annotations

from functools import lru_cache

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n

from bot import dates
from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.services.preferences import OFFERED_TOPICS, QUIET_PRESETS, receives
from bot.texts import plain
from models import Topic, User


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
    """The topics with the person's choice marked, and the quiet hours' presets; the same for
    everyone with the same choices and language, so drawn once for them all (formatting the
    presets' times costs more than the rest of a press)."""
    received = frozenset(topic for topic in OFFERED_TOPICS if receives(user, topic))
    current = (user.quiet_from, user.quiet_to) if user.quiet_from is not None else None
    return _settings_keyboard(received, current, get_i18n().current_locale)


@lru_cache(maxsize=1024)
def _settings_keyboard(
    received: frozenset[Topic], current: tuple[int, int | None] | None, _locale: str
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for topic in OFFERED_TOPICS:
        mark = "✅" if topic in received else "⬜"
        builder.button(
            text=f"{mark} {plain(f'preferences-topic-{topic.value}')}",
            callback_data=CDTopic(topic=topic.value),
        )
    for index, window in enumerate(QUIET_PRESETS):
        mark = "🔘" if window == current else "⚪"
        builder.button(text=f"{mark} {quiet_label(window)}", callback_data=CDQuiet(preset=index))
    builder.adjust(*[1] * len(OFFERED_TOPICS), 2, 2)
    return builder.as_markup()
