"""Callback data and keyboards of announcements: the audience picker, sending, stopping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.bodies import body_title
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.services.announcements import AUDIENCE_ROLES
from bot.texts import plain
from models import Body, District

QUICK_ROLES = AUDIENCE_ROLES[:3]


class CDAud(BotCallback, prefix="aud"):
    # everyone | roles | districts | bodies (toggle a value) · menu (open a list) · next
    part: str
    value: str = ""


class CDAnn(BotCallback, prefix="ann"):
    # now | later | public | send | cancel | stop
    action: str
    id: int = 0


def _mark(on: bool) -> str:
    return "✅" if on else "⬜"


def audience_keyboard(
    audience: Mapping[str, Any],
    menu: str = "",
    districts: list[District] | None = None,
    bodies: list[Body] | None = None,
) -> InlineKeyboardMarkup:
    """The main choices, or one opened list (districts, bodies, roles) with its toggles."""
    builder = InlineKeyboardBuilder()
    roles = set(audience.get("roles", []))
    if menu == "districts":
        chosen = {int(d) for d in audience.get("districts", [])}
        for district in districts or []:
            builder.button(
                text=f"{_mark(district.id in chosen)} №{district.number} · {district.name}"[:60],
                callback_data=CDAud(part="districts", value=str(district.id)),
            )
    elif menu == "bodies":
        chosen = {int(b) for b in audience.get("bodies", [])}
        for body in bodies or []:
            builder.button(
                text=f"{_mark(body.id in chosen)} {body_title(body)}"[:60],
                callback_data=CDAud(part="bodies", value=str(body.id)),
            )
    elif menu == "roles":
        for role in AUDIENCE_ROLES:
            builder.button(
                text=f"{_mark(role.value in roles)} {plain(f'role-{role.value}')}",
                callback_data=CDAud(part="roles", value=role.value),
            )
    if menu:
        builder.button(text=plain("announcements-back"), callback_data=CDAud(part="menu"))
        builder.adjust(1)
        return builder.as_markup()
    builder.button(
        text=f"{_mark(bool(audience.get('everyone')))} {plain('announcements-everyone')}",
        callback_data=CDAud(part="everyone"),
    )
    for role in QUICK_ROLES:
        builder.button(
            text=f"{_mark(role.value in roles)} {plain(f'announcements-role-{role.value}')}",
            callback_data=CDAud(part="roles", value=role.value),
        )
    for list_name in ("districts", "bodies", "roles"):
        count = len(audience.get(list_name, []))
        suffix = f" ({count})" if count else ""
        builder.button(
            text=plain(f"announcements-pick-{list_name}") + suffix,
            callback_data=CDAud(part="menu", value=list_name),
        )
    builder.button(text=plain("announcements-next"), callback_data=CDAud(part="next"))
    builder.adjust(1, 3, 3, 1)
    return builder.as_markup()


def when_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain("announcements-now"), callback_data=CDAnn(action="now"))
    builder.button(text=plain("announcements-later"), callback_data=CDAnn(action="later"))
    builder.adjust(2)
    return builder.as_markup()


def confirm_keyboard(public: bool | None = None) -> InlineKeyboardMarkup:
    """Send or cancel; with a public channel (`public` not None), also whether to post there."""
    builder = InlineKeyboardBuilder()
    if public is not None:
        builder.button(
            text=f"{_mark(public)} {plain('channel-announce-toggle')}",
            callback_data=CDAnn(action="public"),
        )
    builder.button(text=plain("announcements-send"), callback_data=CDAnn(action="send"))
    builder.button(text=plain("announcements-cancel"), callback_data=CDAnn(action="cancel"))
    builder.adjust(1)
    return builder.as_markup()


def stop_keyboard(outbox_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=plain("announcements-stop"),
                    callback_data=CDAnn(action="stop", id=outbox_id).pack(),
                )
            ]
        ]
    )
