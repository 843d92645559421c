"""The ◀ n/m ▶ row shared by every paginated list."""

from __future__ import annotations

from collections.abc import Callable

from aiogram.types import InlineKeyboardButton


def pager(page: int, pages: int, data: Callable[[int], str]) -> list[InlineKeyboardButton]:
    """Navigation buttons for `page` of `pages`; none when everything fits one page.

    The middle button repeats the current page, so pressing it changes nothing.
    """
    if pages <= 1:
        return []
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀", callback_data=data(page - 1)))
    nav.append(InlineKeyboardButton(text=f"{page + 1}/{pages}", callback_data=data(page)))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton(text="▶", callback_data=data(page + 1)))
    return nav
