"""Callback data and keyboards of bodies and the Secretariat: lists, cards, member dialogs."""

from __future__ import annotations

import re

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import get_i18n

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.services.bodies import CREATABLE, BodyCard, BodyLine
from bot.services.paging import Page
from bot.texts import plain, tn
from models import Body, BodyKind, CouncilCategory, MemberRole, Membership, User

LABEL_MAX = 48


class CDBodies(BotCallback, prefix="bl"):
    page: int = 0


class CDBody(BotCallback, prefix="bd"):
    id: int
    page: int = 0


class CDMemberAdd(BotCallback, prefix="bma"):
    body: int


class CDMemberRemove(BotCallback, prefix="bmr"):
    """Ask to remove a member; `confirm` is the second press, on the confirmation."""

    body: int
    user: int
    page: int = 0
    confirm: bool = False


class CDPerson(BotCallback, prefix="bpp"):
    """A person picked from search results (in the add-member and grant dialogs)."""

    id: int


class CDMemberRole(BotCallback, prefix="bro"):
    role: MemberRole


class CDCategory(BotCallback, prefix="bca"):
    category: CouncilCategory


class CDNewBody(BotCallback, prefix="bnk"):
    kind: BodyKind


class CDSkipDirection(BotCallback, prefix="bns"):
    pass


class CDSecretariat(BotCallback, prefix="sc"):
    page: int = 0


class CDSecretariatGrant(BotCallback, prefix="scg"):
    pass


class CDSecretariatRevoke(BotCallback, prefix="scr"):
    user: int
    page: int = 0
    confirm: bool = False


def short(text: str, limit: int = LABEL_MAX) -> str:
    """A label cut to what a phone shows on a button."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def body_title(body: Body) -> str:
    """ "Committee “Culture”", or just the kind for a single body; plain text, not escaped.

    A name that already says its kind ("Комитет по культуре", "Culture committee", in any of
    the bot's languages) is shown alone, not as "Комитет «Комитет по культуре»".
    """
    kind = plain(f"body-kind-{body.kind.value}")
    if not body.name:
        return kind
    if _names_kind(body.name, body.kind):
        return body.name
    return plain("bodies-title-named", kind=kind, name=body.name)


def _names_kind(name: str, kind: BodyKind) -> bool:
    i18n = get_i18n()
    key = f"body-kind-{kind.value}"
    labels = {i18n.gettext(key, locale=language) for language in i18n.available_locales}
    return any(
        re.search(rf"(?<!\w){re.escape(label)}(?!\w)", name, re.IGNORECASE) for label in labels
    )


def person_label(person: User) -> str:
    """A name, told apart from namesakes by the @username or the district."""
    name = person.name or "—"
    if person.username:
        return short(f"{name} · @{person.username}")
    if person.district is not None:
        return short(f"{name} · {person.district.name}")
    return short(name)


def bodies_keyboard(page: Page[BodyLine]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for line in page.items:
        label = plain(
            "bodies-button",
            title=short(body_title(line.body), 36),
            count=tn("bodies-members-count", line.members),
        )
        builder.row(InlineKeyboardButton(text=label, callback_data=CDBody(id=line.body.id).pack()))
    nav = pager(page.page, page.pages, lambda p: CDBodies(page=p).pack())
    if nav:
        builder.row(*nav)
    return builder.as_markup()


def body_card_keyboard(card: BodyCard) -> InlineKeyboardMarkup:
    body_id, members = card.body.id, card.members
    builder = InlineKeyboardBuilder()
    for membership in members.items:
        data = CDMemberRemove(body=body_id, user=membership.user_id, page=members.page)
        label = plain("bodies-btn-remove", name=short(membership.user.name or "—", 40))
        builder.row(InlineKeyboardButton(text=label, callback_data=data.pack()))
    nav = pager(members.page, members.pages, lambda p: CDBody(id=body_id, page=p).pack())
    if nav:
        builder.row(*nav)
    builder.row(
        InlineKeyboardButton(
            text=plain("bodies-btn-add"), callback_data=CDMemberAdd(body=body_id).pack()
        )
    )
    builder.row(
        InlineKeyboardButton(text=plain("bodies-btn-back"), callback_data=CDBodies().pack())
    )
    return builder.as_markup()


def confirm_keyboard(yes_key: str, yes: CallbackData, no: CallbackData) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain(yes_key), callback_data=yes)
    builder.button(text=plain("bodies-btn-keep"), callback_data=no)
    builder.adjust(1)
    return builder.as_markup()


def people_keyboard(people: list[User]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for found in people:
        builder.button(text=person_label(found), callback_data=CDPerson(id=found.id))
    builder.adjust(1)
    return builder.as_markup()


def member_role_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for role in MemberRole:
        builder.button(
            text=plain(f"member-role-{role.value}"), callback_data=CDMemberRole(role=role)
        )
    builder.adjust(1)
    return builder.as_markup()


def category_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category in CouncilCategory:
        builder.button(
            text=plain(f"council-category-{category.value}"),
            callback_data=CDCategory(category=category),
        )
    builder.adjust(1)
    return builder.as_markup()


def new_body_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in CREATABLE:
        builder.button(text=plain(f"body-kind-{kind.value}"), callback_data=CDNewBody(kind=kind))
    builder.adjust(1)
    return builder.as_markup()


def skip_direction_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain("bodies-btn-skip-direction"), callback_data=CDSkipDirection())
    return builder.as_markup()


def secretariat_keyboard(page: Page[Membership]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for membership in page.items:
        data = CDSecretariatRevoke(user=membership.user_id, page=page.page)
        label = plain("bodies-btn-remove", name=short(membership.user.name or "—", 40))
        builder.row(InlineKeyboardButton(text=label, callback_data=data.pack()))
    nav = pager(page.page, page.pages, lambda p: CDSecretariat(page=p).pack())
    if nav:
        builder.row(*nav)
    builder.row(
        InlineKeyboardButton(
            text=plain("bodies-btn-grant"), callback_data=CDSecretariatGrant().pack()
        )
    )
    return builder.as_markup()
