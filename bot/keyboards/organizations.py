"""Callback data and keyboards of organizations: joining, managing, deciding, the directory."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.texts import plain
from models import Organization, OrganizationKind, OrganizationStatus

EDITABLE_FIELDS = ("name", "kind", "district", "description", "contacts", "proposals")


class CDKind(BotCallback, prefix="okind"):
    kind: str


class CDJoin(BotCallback, prefix="join"):
    # agree | decline | send | cancel | edit
    action: str
    field: str = ""


class CDOrg(BotCallback, prefix="org"):
    """An applicant's or representative's action on their organization."""

    id: int
    # answer | invite | reps | leave | leave_yes
    action: str


class CDOrgRep(BotCallback, prefix="orep"):
    id: int
    user_id: int


class CDApp(BotCallback, prefix="app"):
    """The Secretariat's action on an application or a member organization."""

    id: int
    # open | approve | reject | ask | suspend | restore
    action: str


class CDAppPage(BotCallback, prefix="appq"):
    page: int


class CDReg(BotCallback, prefix="reg"):
    """A directory page: filters travel in the button; the search text stays in the FSM."""

    page: int = 0
    district: int = -1  # -1: any district
    kind: str = ""  # "": any kind
    # "" list | "d" choose district | "k" choose kind
    view: str = ""


class CDRegCard(BotCallback, prefix="regc"):
    id: int


def kind_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in OrganizationKind:
        builder.button(
            text=plain(f"organizations-kind-{kind.value}"), callback_data=CDKind(kind=kind)
        )
    builder.adjust(1)
    return builder.as_markup()


def agree_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain("join-agree"), callback_data=CDJoin(action="agree"))
    builder.button(text=plain("join-decline"), callback_data=CDJoin(action="decline"))
    builder.adjust(1)
    return builder.as_markup()


def summary_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=plain("join-send"), callback_data=CDJoin(action="send"))
    for field in EDITABLE_FIELDS:
        builder.button(
            text=plain("join-edit", field=plain(f"join-field-{field}")),
            callback_data=CDJoin(action="edit", field=field),
        )
    builder.button(text=plain("join-cancel"), callback_data=CDJoin(action="cancel"))
    builder.adjust(1, 2, 2, 2, 1)
    return builder.as_markup()


def my_organization_keyboard(
    organization: Organization, *, is_head: bool
) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    status = organization.status
    if status == OrganizationStatus.PENDING and organization.info_requested_at:
        builder.button(
            text=plain("organizations-answer-button"),
            callback_data=CDOrg(id=organization.id, action="answer"),
        )
    if status in (OrganizationStatus.PENDING, OrganizationStatus.APPROVED):
        builder.button(
            text=plain("organizations-invite-button"),
            callback_data=CDOrg(id=organization.id, action="invite"),
        )
    if status in (
        OrganizationStatus.APPROVED,
        OrganizationStatus.SUSPENDED,
        OrganizationStatus.PENDING,
    ):
        builder.button(
            text=plain("organizations-reps-button"),
            callback_data=CDOrg(id=organization.id, action="reps"),
        )
        if is_head:
            builder.button(
                text=plain("organizations-leave-button"),
                callback_data=CDOrg(id=organization.id, action="leave"),
            )
    builder.adjust(1)
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None


def leave_confirm_keyboard(organization_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=plain("organizations-leave-confirm"),
        callback_data=CDOrg(id=organization_id, action="leave_yes"),
    )
    return builder.as_markup()


def representatives_keyboard(
    organization: Organization, *, can_remove: bool
) -> InlineKeyboardMarkup | None:
    if not can_remove:
        return None
    builder = InlineKeyboardBuilder()
    for representative in organization.representatives:
        if representative.role.value == "head":
            continue
        builder.button(
            text=plain("organizations-rep-remove", name=representative.user.name or "—")[:60],
            callback_data=CDOrgRep(id=organization.id, user_id=representative.user_id),
        )
    builder.adjust(1)
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None


def queue_keyboard(items: list[Organization], page: int, pages: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for organization in items:
        builder.row(
            InlineKeyboardButton(
                text=f"#{organization.id} · {organization.name}"[:60],
                callback_data=CDApp(id=organization.id, action="open").pack(),
            )
        )
    nav = pager(page, pages, lambda p: CDAppPage(page=p).pack())
    if nav:
        builder.row(*nav)
    return builder.as_markup()


def application_card_keyboard(organization: Organization) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if organization.status == OrganizationStatus.PENDING:
        builder.button(
            text=plain("organizations-approve"),
            callback_data=CDApp(id=organization.id, action="approve"),
        )
        builder.button(
            text=plain("organizations-reject"),
            callback_data=CDApp(id=organization.id, action="reject"),
        )
        builder.button(
            text=plain("organizations-ask"), callback_data=CDApp(id=organization.id, action="ask")
        )
    elif organization.status == OrganizationStatus.APPROVED:
        builder.button(
            text=plain("organizations-suspend"),
            callback_data=CDApp(id=organization.id, action="suspend"),
        )
    elif organization.status == OrganizationStatus.SUSPENDED:
        builder.button(
            text=plain("organizations-restore"),
            callback_data=CDApp(id=organization.id, action="restore"),
        )
    builder.button(text=plain("organizations-back-to-queue"), callback_data=CDAppPage(page=0))
    builder.adjust(2, 1, 1)
    return builder.as_markup()
