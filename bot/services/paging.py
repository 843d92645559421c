"""One page of a long list: Telegram messages are short, so every list is shown page by page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    total: int = 0


def page_bounds(page: int, total: int, per_page: int) -> tuple[int, int]:
    """(page, pages): an out-of-range page number is clamped, not an error."""
    pages = max(1, -(-total // per_page))
    return min(max(page, 0), pages - 1), pages
