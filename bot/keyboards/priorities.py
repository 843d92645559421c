"""Callback data and keyboards of the priorities poll dialog (/priority_poll)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.services import priorities
from bot.texts import plain
from models.needs import Need


class CDPriority(BotCallback, prefix="prio"):
    # tick (value: a need's number), next, days (value: 1, 3, 7), secret, open, abort
    act: str
    value: int = 0


def _button(text: str, act: str, value: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=CDPriority(act=act, value=value).pack())


def needs_keyboard(offered: Sequence[Need], picked: Sequence[int]) -> InlineKeyboardMarkup:
    """The proposed needs, each ticked on or off, then "next" with how many are ticked."""
    builder = InlineKeyboardBuilder()
    for need in offered:
        mark = "☑️" if need.id in picked else "⬜"
        label = f"{mark} {priorities.option_label(need)}"[:60]
        builder.row(_button(f"{label} · 👍{need.support_count}", "tick", need.id))
    builder.row(_button(plain("priorities-next", n=len(picked)), "next"))
    builder.row(_button(plain("priorities-abort"), "abort"))
    return builder.as_markup()


def settings_keyboard(days: int, secret: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        *(
            _button(("✅ " if n == days else "") + plain("priorities-days", n=n), "days", n)
            for n in priorities.DURATIONS
        )
    )
    secrecy = "priorities-secret-on" if secret else "priorities-secret-off"
    builder.row(_button(plain(secrecy), "secret"))
    builder.row(_button(plain("priorities-open"), "open"))
    builder.row(_button(plain("priorities-abort"), "abort"))
    return builder.as_markup()
