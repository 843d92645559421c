"""Buttons of the moderators' queue and moderation card, and the filer's reply button."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.services.needs.moderation import TRANSITIONS
from bot.texts import plain
from models.needs import OPEN_STATUSES, Need, NeedStatus


class CDNeedMod(BotCallback, prefix="nmod"):
    # page · show · photos · accept · merge · reject · ask · answer · work_base · work_text ·
    # resolve · take_up
    action: str
    id: int = 0
    page: int = 0


class CDNeedReply(BotCallback, prefix="nrpl"):
    """The filer's "Reply" under a moderator's question (the server checks it is theirs)."""

    id: int


def reply_buttons(need_id: int) -> list[list[dict[str, str]]]:
    """The reply button as delivery data (its label in the filer's language)."""
    return [[{"text_key": "needs-mod-btn-reply", "data": CDNeedReply(id=need_id).pack()}]]


def queue_keyboard(items: list[Need], page: int, pages: int) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                text=plain("needs-mod-queue-item", number=item.id, summary=_short(item)),
                callback_data=CDNeedMod(action="show", id=item.id, page=page).pack(),
            )
        ]
        for item in items
    ]
    nav = pager(page, pages, lambda p: CDNeedMod(action="page", page=p).pack())
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def _short(need: Need) -> str:
    text = " ".join(need.description.split())
    return text if len(text) <= 40 else text[:39] + "…"


def card_keyboard(need: Need, page: int, *, has_base: bool) -> InlineKeyboardMarkup:
    """The actions the need's status allows (the service checks them again)."""
    allowed = TRANSITIONS[need.status]
    builder = InlineKeyboardBuilder()

    def add(action: str, key: str) -> None:
        builder.button(
            text=plain(key), callback_data=CDNeedMod(action=action, id=need.id, page=page)
        )

    if NeedStatus.ACCEPTED in allowed:
        add("accept", "needs-mod-btn-accept")
    if NeedStatus.IN_WORK in allowed:
        if has_base:
            add("work_base", "needs-mod-btn-work-base")
        add("work_text", "needs-mod-btn-work-text")
    if NeedStatus.RESOLVED in allowed:
        add("resolve", "needs-mod-btn-resolve")
    if NeedStatus.MERGED in allowed:
        add("merge", "needs-mod-btn-merge")
    if NeedStatus.REJECTED in allowed:
        add("reject", "needs-mod-btn-reject")
    if need.photos:
        builder.button(
            text=plain("needs-mod-btn-photos", n=len(need.photos)),
            callback_data=CDNeedMod(action="photos", id=need.id, page=page),
        )
    if need.status in OPEN_STATUSES:
        if need.author_id is not None:
            add("ask", "needs-mod-btn-ask")
        add("answer", "needs-mod-btn-answer")
        add("take_up", "needs-mod-btn-take-up")
    add("page", "needs-mod-btn-back")
    builder.adjust(2)
    return builder.as_markup()
