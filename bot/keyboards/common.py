"""Callback data and keyboards of onboarding and the profile."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.languages import NAMES
from bot.services.paging import Page
from bot.texts import plain


class CDLanguage(BotCallback, prefix="lang"):
    code: str


class CDConsent(BotCallback, prefix="consent"):
    agree: bool


class CDTelegramName(BotCallback, prefix="tgname"):
    pass


class CDDistrict(BotCallback, prefix="dist"):
    # 0 means "I don't know my district"
    id: int


class CDDistrictPage(BotCallback, prefix="distp"):
    page: int


class CDDeleteMe(BotCallback, prefix="delme"):
    confirm: bool
    # The one-time code /delete_me put in the dialog state; a button without it is refused.
    code: str = ""


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for code, name in NAMES.items():
        builder.button(text=name, callback_data=CDLanguage(code=code))
    return builder.as_markup()


def consent_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain("onboarding-consent-agree"), callback_data=CDConsent(agree=True))
    builder.button(text=plain("onboarding-consent-decline"), callback_data=CDConsent(agree=False))
    builder.adjust(1)
    return builder.as_markup()


def telegram_name_keyboard(full_name: str) -> InlineKeyboardMarkup | None:
    if not full_name.strip():
        return None
    # Button labels are capped by Telegram clients; a long name would be cut anyway.
    label = plain("onboarding-name-use-telegram", name=full_name[:40])
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=CDTelegramName().pack())]]
    )


def district_keyboard(
    page: Page, none_label: str = "onboarding-district-unknown"
) -> InlineKeyboardMarkup:
    """Districts with paging, and a last button for "none" (0) labelled by the catalogue key."""
    builder = InlineKeyboardBuilder()
    for district in page.items:
        builder.row(
            InlineKeyboardButton(
                text=f"№{district.number} · {district.name}"[:60],
                callback_data=CDDistrict(id=district.id).pack(),
            )
        )
    nav = pager(page.page, page.pages, lambda p: CDDistrictPage(page=p).pack())
    if nav:
        builder.row(*nav)
    builder.row(InlineKeyboardButton(text=plain(none_label), callback_data=CDDistrict(id=0).pack()))
    return builder.as_markup()


def delete_me_keyboard(code: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=plain("delete-me-confirm"), callback_data=CDDeleteMe(confirm=True, code=code)
    )
    builder.button(text=plain("delete-me-keep"), callback_data=CDDeleteMe(confirm=False, code=code))
    builder.adjust(1)
    return builder.as_markup()
