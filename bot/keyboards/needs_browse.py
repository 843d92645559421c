"""Callback data and keyboards of browsing needs: the filtered list, a need's card (support,
photos, place), one's own needs, and the Secretariat's list of categories."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.services.needs.browse import SORT_DATE, SORT_SUPPORTS, STATUS_FILTERS
from bot.services.needs.categories import category_name
from bot.services.paging import Page
from bot.texts import plain
from models import District
from models.needs import Need, NeedCategory

LABEL = 60  # a button's label is cut to what a phone shows


class CDNeeds(BotCallback, prefix="nbl"):
    """A page of the list; the filters travel in the button."""

    page: int = 0
    district: int = 0  # 0: the whole city
    category: int = 0  # 0: any category
    status: str = "open"
    sort: str = SORT_SUPPORTS
    # "" the list | "d" choose a district | "c" choose a category | "t" choose a status
    view: str = ""


class CDNeedCard(BotCallback, prefix="nbc"):
    id: int
    # open | photos | place
    action: str = "open"


class CDNeedSupport(BotCallback, prefix="nbs"):
    id: int
    on: bool


class CDMyNeeds(BotCallback, prefix="nbm"):
    page: int = 0


class CDNeedCat(BotCallback, prefix="nbk"):
    """The Secretariat's action on the categories."""

    # list | open | add | rename | off | on | up | down
    action: str
    id: int = 0


def _row(text: str, data: BotCallback) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=text[:LABEL], callback_data=data.pack())]


def list_keyboard(
    filters: CDNeeds, needs: list[Need], page: int, pages: int
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for need in needs:
        label = plain(
            "needs-browse-item-button",
            number=need.id,
            supports=need.support_count,
            text=" ".join(need.description.split())[:40],
        )
        builder.row(*_row(label, CDNeedCard(id=need.id)))
    nav = pager(page, pages, lambda p: filters.model_copy(update={"page": p, "view": ""}).pack())
    if nav:
        builder.row(*nav)
    choose = {"page": 0}
    builder.row(
        InlineKeyboardButton(
            text=plain("needs-browse-by-district"),
            callback_data=filters.model_copy(update={**choose, "view": "d"}).pack(),
        ),
        InlineKeyboardButton(
            text=plain("needs-browse-by-category"),
            callback_data=filters.model_copy(update={**choose, "view": "c"}).pack(),
        ),
    )
    other_sort = SORT_DATE if filters.sort == SORT_SUPPORTS else SORT_SUPPORTS
    builder.row(
        InlineKeyboardButton(
            text=plain("needs-browse-by-status"),
            callback_data=filters.model_copy(update={**choose, "view": "t"}).pack(),
        ),
        InlineKeyboardButton(
            text=plain(f"needs-browse-sort-{other_sort}"),
            callback_data=filters.model_copy(update={**choose, "sort": other_sort}).pack(),
        ),
    )
    return builder.as_markup()


def district_choice(filters: CDNeeds, districts: Page[District]) -> InlineKeyboardMarkup:
    """A page of districts to choose from (`filters.page` is the page of districts here)."""
    builder = InlineKeyboardBuilder()
    back = {"page": 0, "view": ""}
    builder.row(
        *_row(plain("needs-browse-whole-city"), filters.model_copy(update={**back, "district": 0}))
    )
    for district in districts.items:
        label = f"№{district.number} · {district.name}"
        builder.row(*_row(label, filters.model_copy(update={**back, "district": district.id})))
    nav = pager(
        districts.page,
        districts.pages,
        lambda p: filters.model_copy(update={"page": p, "view": "d"}).pack(),
    )
    if nav:
        builder.row(*nav)
    return builder.as_markup()


def category_choice(
    filters: CDNeeds, categories: list[NeedCategory], language: str
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        *_row(
            plain("needs-browse-any-category"),
            filters.model_copy(update={"category": 0, "view": ""}),
        )
    )
    for category in categories:
        builder.row(
            *_row(
                category_name(category, language),
                filters.model_copy(update={"category": category.id, "view": ""}),
            )
        )
    return builder.as_markup()


def status_choice(filters: CDNeeds) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for status in STATUS_FILTERS:
        builder.row(
            *_row(
                plain(f"needs-browse-filter-{status}"),
                filters.model_copy(update={"status": status, "view": ""}),
            )
        )
    return builder.as_markup()


def card_keyboard(
    need: Need, *, open_: bool, supported: bool, own: bool
) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    if supported:
        builder.row(*_row(plain("needs-card-take-back"), CDNeedSupport(id=need.id, on=False)))
    elif open_ and not own:
        builder.row(*_row(plain("needs-card-support"), CDNeedSupport(id=need.id, on=True)))
    extra = []
    if need.photos:
        extra.append(
            InlineKeyboardButton(
                text=plain("needs-card-photos", n=len(need.photos)),
                callback_data=CDNeedCard(id=need.id, action="photos").pack(),
            )
        )
    if need.latitude is not None and need.longitude is not None:
        extra.append(
            InlineKeyboardButton(
                text=plain("needs-card-place"),
                callback_data=CDNeedCard(id=need.id, action="place").pack(),
            )
        )
    if extra:
        builder.row(*extra)
    if need.merged_into_id is not None:
        builder.row(
            *_row(
                plain("needs-card-open-merged", number=need.merged_into_id),
                CDNeedCard(id=need.merged_into_id),
            )
        )
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None


def my_needs_keyboard(needs: list[Need], page: int, pages: int) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for need in needs:
        label = plain(
            "needs-browse-item-button",
            number=need.id,
            supports=need.support_count,
            text=" ".join(need.description.split())[:40],
        )
        builder.row(*_row(label, CDNeedCard(id=need.id)))
    nav = pager(page, pages, lambda p: CDMyNeeds(page=p).pack())
    if nav:
        builder.row(*nav)
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None


def categories_keyboard(categories: list[NeedCategory], language: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for category in categories:
        mark = "✅" if category.active else "🚫"
        builder.row(
            *_row(
                f"{mark} {category_name(category, language)}",
                CDNeedCat(action="open", id=category.id),
            )
        )
    builder.row(*_row(plain("needs-categories-add"), CDNeedCat(action="add")))
    return builder.as_markup()


def category_keyboard(category: NeedCategory) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=plain("needs-categories-rename"),
        callback_data=CDNeedCat(action="rename", id=category.id),
    )
    if category.active:
        builder.button(
            text=plain("needs-categories-deactivate"),
            callback_data=CDNeedCat(action="off", id=category.id),
        )
    else:
        builder.button(
            text=plain("needs-categories-activate"),
            callback_data=CDNeedCat(action="on", id=category.id),
        )
    builder.button(
        text=plain("needs-categories-up"), callback_data=CDNeedCat(action="up", id=category.id)
    )
    builder.button(
        text=plain("needs-categories-down"), callback_data=CDNeedCat(action="down", id=category.id)
    )
    builder.button(text=plain("needs-categories-back"), callback_data=CDNeedCat(action="list"))
    builder.adjust(1, 1, 2, 1)
    return builder.as_markup()
