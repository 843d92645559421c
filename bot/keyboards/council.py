"""Callback data and keyboards of the council's composition (/council_composition) and of the
council steps of the Secretariat's seating dialog."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.bodies import short
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.services.council import CATEGORY_ORDER, CitywideLine, Composition, SeatLine
from bot.services.paging import Page
from bot.texts import plain
from models import CouncilCategory, Organization
from models.council import Office


class CDCouncil(BotCallback, prefix="gch"):
    """The composition screen."""


class CDCouncilSeats(BotCallback, prefix="gcm"):
    category: CouncilCategory
    page: int = 0


class CDCitywide(BotCallback, prefix="gcw"):
    page: int = 0


class CDCitywideAdd(BotCallback, prefix="gca"):
    """The approved organizations that may be designated city-wide, page by page."""

    page: int = 0


class CDCitywidePick(BotCallback, prefix="gcp"):
    org: int


class CDCitywideRevoke(BotCallback, prefix="gcr"):
    """Ask to revoke a designation; `confirm` is the second press, on the confirmation."""

    id: int
    page: int = 0
    confirm: bool = False


class CDOfficeSet(BotCallback, prefix="gco"):
    office: Office


class CDOfficeClear(BotCallback, prefix="gcx"):
    office: Office
    confirm: bool = False


class CDSeatOrganization(BotCallback, prefix="gso"):
    """The organization a council seat represents (a step of the seating dialog)."""

    org: int


class CDSeatOffice(BotCallback, prefix="gsf"):
    """The office a co-chair's seat rests on (a step of the seating dialog)."""

    office: Office


def _back(data: BotCallback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=plain("council-btn-back"), callback_data=data.pack())


def composition_keyboard(composition: Composition) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category in CATEGORY_ORDER:
        label = plain(
            "council-btn-group",
            group=plain(f"council-group-{category.value}"),
            n=composition.counts[category],
        )
        data = CDCouncilSeats(category=category)
        builder.row(InlineKeyboardButton(text=label, callback_data=data.pack()))
    builder.row(
        InlineKeyboardButton(text=plain("council-btn-citywide"), callback_data=CDCitywide().pack())
    )
    for line in composition.offices:
        office = plain(f"council-office-{line.office.value}")
        buttons = [
            InlineKeyboardButton(
                text=short(plain("council-btn-office-set", office=office)),
                callback_data=CDOfficeSet(office=line.office).pack(),
            )
        ]
        if line.designation is not None:
            buttons.append(
                InlineKeyboardButton(
                    text=plain("council-btn-office-clear"),
                    callback_data=CDOfficeClear(office=line.office).pack(),
                )
            )
        builder.row(*buttons)
    return builder.as_markup()


def seats_keyboard(category: CouncilCategory, page: Page[SeatLine]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    nav = pager(page.page, page.pages, lambda p: CDCouncilSeats(category=category, page=p).pack())
    if nav:
        builder.row(*nav)
    builder.row(_back(CDCouncil()))
    return builder.as_markup()


def citywide_keyboard(page: Page[CitywideLine]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for line in page.items:
        data = CDCitywideRevoke(id=line.designation.id, page=page.page)
        label = plain("council-btn-revoke", name=short(line.organization.name, 40))
        builder.row(InlineKeyboardButton(text=label, callback_data=data.pack()))
    nav = pager(page.page, page.pages, lambda p: CDCitywide(page=p).pack())
    if nav:
        builder.row(*nav)
    builder.row(
        InlineKeyboardButton(
            text=plain("council-btn-designate"), callback_data=CDCitywideAdd().pack()
        )
    )
    builder.row(_back(CDCouncil()))
    return builder.as_markup()


def candidates_keyboard(page: Page[Organization]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for organization in page.items:
        data = CDCitywidePick(org=organization.id)
        builder.row(InlineKeyboardButton(text=short(organization.name), callback_data=data.pack()))
    nav = pager(page.page, page.pages, lambda p: CDCitywideAdd(page=p).pack())
    if nav:
        builder.row(*nav)
    builder.row(_back(CDCitywide()))
    return builder.as_markup()


def confirm_keyboard(yes_key: str, yes: BotCallback, no: BotCallback) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain(yes_key), callback_data=yes)
    builder.button(text=plain("council-btn-keep"), callback_data=no)
    builder.adjust(1)
    return builder.as_markup()


def seat_organizations_keyboard(organizations: list[Organization]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for organization in organizations:
        builder.button(
            text=short(organization.name), callback_data=CDSeatOrganization(org=organization.id)
        )
    builder.adjust(1)
    return builder.as_markup()


def seat_offices_keyboard(offices: list[Office]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for office in offices:
        builder.button(
            text=short(plain(f"council-office-{office.value}")),
            callback_data=CDSeatOffice(office=office),
        )
    builder.adjust(1)
    return builder.as_markup()
