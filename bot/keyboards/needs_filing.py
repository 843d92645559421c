"""Callback data, keyboards and the longer texts of filing a need: categories, the district,
photos, the place, whether the name is shown, the similar needs to support instead, and the
summary."""

from __future__ import annotations

from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.common import CDDistrict
from bot.services.needs.filing import DESCRIPTION_LIMITS
from bot.texts import SafeHTML, clip, plain, t
from models import District
from models.needs import Need

# The fields of a need the summary offers to change, in the dialog's order.
FIELDS = ("category", "district", "description", "photos", "place", "show_name")
# How much of a similar need's text the suggestion shows.
SHORT_TEXT = 90


class CDNeedFile(BotCallback, prefix="nf"):
    """A step of the filing dialog answered with a button; acts on the presser's own draft."""

    # cat | dist_other | photos_done | photos_clear | name | support | mine | edit | send | cancel
    action: str
    id: int = 0  # the category, 1/0 for yes/no, the need to support
    field: str = ""  # edit: which field


def field_label(field: str) -> str:
    return plain(f"needs-file-field-{field.replace('_', '-')}")


def category_keyboard(names: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category_id, name in names:
        builder.button(text=name[:60], callback_data=CDNeedFile(action="cat", id=category_id))
    builder.adjust(2)
    return builder.as_markup()


def own_district_keyboard(district: District) -> InlineKeyboardMarkup:
    """The person's own district in one tap, or the picker for another."""
    own = f"✅ №{district.number} · {district.name}"[:60]
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=own, callback_data=CDDistrict(id=district.id).pack())],
            [
                InlineKeyboardButton(
                    text=plain("needs-file-district-other"),
                    callback_data=CDNeedFile(action="dist_other").pack(),
                )
            ],
        ]
    )


def photos_keyboard(count: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if count:
        builder.button(
            text=plain("needs-file-photos-done"), callback_data=CDNeedFile(action="photos_done")
        )
        builder.button(
            text=plain("needs-file-photos-clear"), callback_data=CDNeedFile(action="photos_clear")
        )
    else:
        builder.button(
            text=plain("needs-file-photos-none"), callback_data=CDNeedFile(action="photos_done")
        )
    builder.adjust(1)
    return builder.as_markup()


def place_keyboard() -> ReplyKeyboardMarkup:
    """A keyboard under the input field: the phone shares its location with one press."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=plain("needs-file-place-location"), request_location=True)],
            [KeyboardButton(text=plain("needs-file-place-skip"))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=plain("needs-file-place-placeholder"),
    )


def show_name_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain("needs-file-name-yes"), callback_data=CDNeedFile(action="name", id=1))
    builder.button(text=plain("needs-file-name-no"), callback_data=CDNeedFile(action="name", id=0))
    builder.adjust(1)
    return builder.as_markup()


def similar_keyboard(needs: list[Need]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for need in needs:
        builder.button(
            text=plain("needs-file-support", number=need.id),
            callback_data=CDNeedFile(action="support", id=need.id),
        )
    builder.button(text=plain("needs-file-mine"), callback_data=CDNeedFile(action="mine"))
    builder.adjust(1)
    return builder.as_markup()


def summary_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for field in FIELDS:
        builder.button(
            text=plain("needs-file-edit", field=field_label(field)),
            callback_data=CDNeedFile(action="edit", field=field),
        )
    builder.button(text=plain("needs-file-send"), callback_data=CDNeedFile(action="send"))
    builder.button(text=plain("needs-file-cancel"), callback_data=CDNeedFile(action="cancel"))
    builder.adjust(2, 2, 2, 1, 1)
    return builder.as_markup()


def similar_text(needs: list[tuple[Need, str]]) -> SafeHTML:
    """The similar open needs, each with its category's name: number, category, the beginning of
    its text (escaped), supports."""
    lines = [
        t(
            "needs-file-similar-line",
            number=need.id,
            category=category,
            text=clip(need.description, SHORT_TEXT),
            supports=need.support_count,
        )
        for need, category in needs
    ]
    return t("needs-file-similar", needs=SafeHTML("\n".join(lines)))


def summary_text(
    draft: dict[str, Any], *, category: str, district: str, author: str | None
) -> SafeHTML:
    """The summary of a draft (the person's text escaped); `author` when filed for a citizen."""
    place = draft.get("place") or {}
    if "address" in place:
        where = place["address"]
    elif "lat" in place:
        where = plain("needs-file-place-coordinates", latitude=place["lat"], longitude=place["lon"])
    else:
        where = plain("needs-file-place-none")
    text = t(
        "needs-file-card",
        category=category,
        district=district,
        place=where,
        photos=len(draft.get("photo_ids", [])),
        show_name=plain("needs-file-yes" if draft.get("show_name") else "needs-file-no"),
        description=clip(draft["description"], DESCRIPTION_LIMITS[1]),
    )
    lines = [t("needs-file-summary-title"), ""]
    if author is not None:
        lines.append(t("needs-file-card-for", name=author, number=draft["on_behalf"]))
    return SafeHTML("\n".join([*lines, text]))
