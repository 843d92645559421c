"""Buttons of the review: the lists of /projects_review, a project's review screen, the
committee picker and the addressee of the council's vote. Every press is checked again by
bot/services/projects/review.py."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.keyboards.projects import CDProject
from bot.keyboards.votes import ADDRESSEES
from bot.services.paging import Page
from bot.services.projects.review import DEFAULT_ADDRESSEE, Screen, Shelf
from bot.texts import plain
from models import Body
from models.projects import Project

LABEL_MAX = 40


class CDRevList(BotCallback, prefix="prq"):
    """A page of one of the lists (assign · committee · council)."""

    shelf: str
    page: int = 0


class CDRev(BotCallback, prefix="prv"):
    # show · refresh (in place) · assign (the committee picker, `page` its page) · comment ·
    # recommend · return · reject · vote (asks the addressee) · addressee (`page`: its index)
    action: str
    id: int
    page: int = 0


class CDRevAssign(BotCallback, prefix="pra"):
    """Assign project `id` to committee `body`."""

    id: int
    body: int


def _short(text: str, limit: int = LABEL_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shelf_keyboard(which: Shelf, found: Page[Project]) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                text=plain("projects-review-item", number=item.id, title=_short(item.title)),
                callback_data=CDRev(action="show", id=item.id).pack(),
            )
        ]
        for item in found.items
    ]
    nav = pager(found.page, found.pages, lambda p: CDRevList(shelf=which.value, page=p).pack())
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def screen_keyboard(screen: Screen) -> InlineKeyboardMarkup:
    """The buttons this person's part gives them (the service checks each press again)."""
    project_id = screen.project.id
    builder = InlineKeyboardBuilder()

    def add(action: str, key: str) -> None:
        builder.button(text=plain(key), callback_data=CDRev(action=action, id=project_id))

    if screen.may_assign:
        add("assign", "projects-review-btn-assign")
    if screen.may_comment:
        add("comment", "projects-review-btn-comment")
    if screen.may_propose:
        add("recommend", "projects-review-btn-recommend")
        add("return", "projects-review-btn-return")
        add("reject", "projects-review-btn-reject")
    if screen.may_put_to_vote:
        add("vote", "projects-review-btn-vote")
    builder.button(text=plain("projects-review-btn-card"), callback_data=CDProject(id=project_id))
    add("refresh", "projects-review-btn-refresh")
    builder.adjust(1)
    return builder.as_markup()


def committees_keyboard(
    project: Project, found: Page[Body], titles: dict[int, str]
) -> InlineKeyboardMarkup:
    rows = []
    for body in found.items:
        key = (
            "projects-review-same-committee"
            if body.id == project.committee_id
            else "projects-review-committee"
        )
        rows.append(
            [
                InlineKeyboardButton(
                    text=plain(key, name=_short(titles[body.id])),
                    callback_data=CDRevAssign(id=project.id, body=body.id).pack(),
                )
            ]
        )
    nav = pager(
        found.page, found.pages, lambda p: CDRev(action="assign", id=project.id, page=p).pack()
    )
    if nav:
        rows.append(nav)
    rows.append(
        [
            InlineKeyboardButton(
                text=plain("projects-review-btn-back"),
                callback_data=CDRev(action="refresh", id=project.id).pack(),
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def addressee_keyboard(project_id: int) -> InlineKeyboardMarkup:
    """The usual addressees, the city's administration first (the default)."""
    builder = InlineKeyboardBuilder()
    for index in sorted(range(len(ADDRESSEES)), key=lambda i: ADDRESSEES[i] != DEFAULT_ADDRESSEE):
        builder.button(
            text=plain(ADDRESSEES[index]),
            callback_data=CDRev(action="addressee", id=project_id, page=index),
        )
    builder.adjust(1)
    return builder.as_markup()
