"""Callback data and keyboards of district management (the Secretariat's /districts)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.bodies import short
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.services.paging import Page
from bot.texts import plain
from models import District, Organization


class CDDistricts(BotCallback, prefix="dl"):
    page: int = 0


class CDDistrictCard(BotCallback, prefix="dc"):
    id: int
    # The list page to go back to.
    page: int = 0


class CDDistrictRename(BotCallback, prefix="dr"):
    id: int


class CDDistrictDescribe(BotCallback, prefix="dd"):
    id: int


class CDDistrictOrgs(BotCallback, prefix="dos"):
    """The approved organizations of a district, to pick its base one from."""

    id: int
    page: int = 0


class CDDistrictBase(BotCallback, prefix="dbo"):
    id: int
    org: int


def districts_keyboard(page: Page[District]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for district in page.items:
        label = plain("districts-line", number=district.number, name=short(district.name))
        data = CDDistrictCard(id=district.id, page=page.page)
        builder.row(InlineKeyboardButton(text=label, callback_data=data.pack()))
    nav = pager(page.page, page.pages, lambda p: CDDistricts(page=p).pack())
    if nav:
        builder.row(*nav)
    return builder.as_markup()


def district_card_keyboard(district: District, list_page: int = 0) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=plain("districts-btn-rename"), callback_data=CDDistrictRename(id=district.id)
    )
    builder.button(
        text=plain("districts-btn-describe"), callback_data=CDDistrictDescribe(id=district.id)
    )
    builder.button(text=plain("districts-btn-base"), callback_data=CDDistrictOrgs(id=district.id))
    builder.button(text=plain("districts-btn-back"), callback_data=CDDistricts(page=list_page))
    builder.adjust(1)
    return builder.as_markup()


def organizations_keyboard(district: District, page: Page[Organization]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for organization in page.items:
        mark = "★ " if organization.id == district.base_organization_id else ""
        data = CDDistrictBase(id=district.id, org=organization.id)
        builder.row(
            InlineKeyboardButton(text=mark + short(organization.name), callback_data=data.pack())
        )
    nav = pager(page.page, page.pages, lambda p: CDDistrictOrgs(id=district.id, page=p).pack())
    if nav:
        builder.row(*nav)
    builder.row(
        InlineKeyboardButton(
            text=plain("districts-btn-back"), callback_data=CDDistrictCard(id=district.id).pack()
        )
    )
    return builder.as_markup()
