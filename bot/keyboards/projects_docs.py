"""Buttons of the programmes (their list, a programme's screen and its dialogs) and of a
project's documents panel (the passport as DOCX or PDF)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.keyboards.projects import CDProject
from bot.services.paging import Page
from bot.services.projects.programmes import ProgrammeRow, ProgrammeScreen
from bot.texts import plain

LABEL_WIDTH = 48


class CDProgramme(BotCallback, prefix="pgm"):
    # list · show · title · summary · close · reopen · minority · minority_on · minority_off ·
    # add · remove
    action: str
    id: int = 0
    page: int = 0


class CDPassport(BotCallback, prefix="pxd"):
    """A project's passport in a format: docx · pdf."""

    id: int
    fmt: str


def _short(text: str, width: int = LABEL_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def list_keyboard(page: Page[ProgrammeRow]) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                text=plain(
                    "projects-docs-programme-item",
                    number=row.programme.id,
                    title=_short(row.programme.title, 40),
                    count=row.total,
                ),
                callback_data=CDProgramme(action="show", id=row.programme.id).pack(),
            )
        ]
        for row in page.items
    ]
    nav = pager(page.page, page.pages, lambda p: CDProgramme(action="list", page=p).pack())
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def screen_keyboard(
    found: ProgrammeScreen, *, maker: bool, presidium: bool, assigner: bool
) -> InlineKeyboardMarkup:
    """The projects (each opens its card), then what this person may do; the service checks
    every action again."""
    programme = found.row.programme
    builder = InlineKeyboardBuilder()
    for project in found.projects.items:
        builder.row(
            InlineKeyboardButton(
                text=f"№{project.id} · {_short(project.title or '—', 40)}",
                callback_data=CDProject(id=project.id).pack(),
            )
        )
    nav = pager(
        found.projects.page,
        found.projects.pages,
        lambda p: CDProgramme(action="show", id=programme.id, page=p).pack(),
    )
    if nav:
        builder.row(*nav)

    def button(action: str, key: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=plain(key), callback_data=CDProgramme(action=action, id=programme.id).pack()
        )

    if assigner:
        adding = [button("add", "projects-docs-btn-add")] if programme.active else []
        builder.row(*adding, button("remove", "projects-docs-btn-remove"))
    if maker:
        builder.row(
            button("title", "projects-docs-btn-title"),
            button("summary", "projects-docs-btn-summary"),
        )
        if programme.active:
            builder.row(button("close", "projects-docs-btn-close"))
        else:
            builder.row(button("reopen", "projects-docs-btn-reopen"))
    if presidium and programme.district_id is not None:
        key = (
            "projects-docs-btn-minority-off"
            if programme.minority_allowed
            else "projects-docs-btn-minority-on"
        )
        builder.row(button("minority", key))
    builder.row(button("list", "projects-docs-btn-list"))
    return builder.as_markup()


def minority_keyboard(programme_id: int, allow: bool) -> InlineKeyboardMarkup:
    """The confirmation of the council's decision (or of its withdrawal)."""
    action = "minority_on" if allow else "minority_off"
    key = "projects-docs-btn-confirm-on" if allow else "projects-docs-btn-confirm-off"
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=plain(key),
                    callback_data=CDProgramme(action=action, id=programme_id).pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    text=plain("projects-docs-btn-back"),
                    callback_data=CDProgramme(action="show", id=programme_id).pack(),
                )
            ],
        ]
    )


def docs_keyboard(project_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=plain("projects-docs-btn-docx"),
                    callback_data=CDPassport(id=project_id, fmt="docx").pack(),
                ),
                InlineKeyboardButton(
                    text=plain("projects-docs-btn-pdf"),
                    callback_data=CDPassport(id=project_id, fmt="pdf").pack(),
                ),
            ]
        ]
    )
