"""Callback data and keyboards of resources: the offer dialog, one's offers, the offers that
match a need, and the owner's answer to a request."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.services.paging import Page
from bot.texts import plain
from models import Organization
from models.needs import NeedCategory, ResourceContact, ResourceKind, ResourceOffer

EDITABLE_FIELDS = ("kind", "district", "category", "description", "available")


class CDOfferFor(BotCallback, prefix="rso"):
    """On whose behalf: 0 for oneself, else an organization's id (checked when sent)."""

    id: int


class CDOfferKind(BotCallback, prefix="rsk"):
    kind: str


class CDOfferCategory(BotCallback, prefix="rsc"):
    # 0: any category
    id: int


class CDOfferStep(BotCallback, prefix="rsf"):
    # send | cancel | edit
    action: str
    field: str = ""


class CDMyOffers(BotCallback, prefix="rsm"):
    page: int = 0


class CDWithdraw(BotCallback, prefix="rsw"):
    id: int
    # The list page the button was on, shown again after.
    page: int = 0


class CDNeedOffers(BotCallback, prefix="rsn"):
    need: int
    page: int = 0


class CDAskOwner(BotCallback, prefix="rsa"):
    offer: int
    need: int


class CDContactAnswer(BotCallback, prefix="rsx"):
    id: int
    agree: bool


def category_name(category: NeedCategory, language: str) -> str:
    return category.name_en if language == "en" else category.name_ru


def for_keyboard(organizations: list[Organization]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain("resources-for-myself"), callback_data=CDOfferFor(id=0))
    for organization in organizations:
        builder.button(text=organization.name[:60], callback_data=CDOfferFor(id=organization.id))
    builder.adjust(1)
    return builder.as_markup()


def kind_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in ResourceKind:
        builder.button(
            text=plain(f"resources-kind-{kind.value}"), callback_data=CDOfferKind(kind=kind)
        )
    builder.adjust(1)
    return builder.as_markup()


def category_keyboard(categories: list[NeedCategory], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain("resources-category-any"), callback_data=CDOfferCategory(id=0))
    for category in categories:
        builder.button(
            text=category_name(category, language)[:60],
            callback_data=CDOfferCategory(id=category.id),
        )
    builder.adjust(1)
    return builder.as_markup()


def summary_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain("resources-send"), callback_data=CDOfferStep(action="send"))
    for field in EDITABLE_FIELDS:
        builder.button(
            text=plain("resources-edit", field=plain(f"resources-field-{field}")),
            callback_data=CDOfferStep(action="edit", field=field),
        )
    builder.button(text=plain("resources-cancel"), callback_data=CDOfferStep(action="cancel"))
    builder.adjust(1, 2, 2, 1, 1)
    return builder.as_markup()


def my_offers_keyboard(page: Page[ResourceOffer]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for offer in page.items:
        builder.row(
            InlineKeyboardButton(
                text=plain("resources-btn-withdraw", number=offer.id),
                callback_data=CDWithdraw(id=offer.id, page=page.page).pack(),
            )
        )
    nav = pager(page.page, page.pages, lambda p: CDMyOffers(page=p).pack())
    if nav:
        builder.row(*nav)
    return builder.as_markup()


def need_offers_keyboard(need_id: int, page: Page[ResourceOffer]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for offer in page.items:
        builder.row(
            InlineKeyboardButton(
                text=plain("resources-btn-ask", number=offer.id),
                callback_data=CDAskOwner(offer=offer.id, need=need_id).pack(),
            )
        )
    nav = pager(page.page, page.pages, lambda p: CDNeedOffers(need=need_id, page=p).pack())
    if nav:
        builder.row(*nav)
    return builder.as_markup()


def request_rows(contact: ResourceContact) -> list[list[dict[str, str]]]:
    """The owner's Agree / Decline, as the delivery engine stores them (labels per recipient)."""
    return [
        [
            {
                "text_key": "resources-btn-agree",
                "data": CDContactAnswer(id=contact.id, agree=True).pack(),
            }
        ],
        [
            {
                "text_key": "resources-btn-decline",
                "data": CDContactAnswer(id=contact.id, agree=False).pack(),
            }
        ],
    ]
