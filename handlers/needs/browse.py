"""Browsing needs for everyone (/needs), a need's card (/needcard N, /need_N or a button) with
its photos and place, support ("me too") and taking it back, one's own needs (/my_needs), and the
Secretariat's categories (/need_categories)."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, InputMediaPhoto, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import DB_INT_MAX, alert, callback_message, toast
from bot.capabilities import ANYONE, REGISTERED, Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.dates import current_language, shown_date
from bot.dialogs import expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.needs_browse import (
    CDMyNeeds,
    CDNeedCard,
    CDNeedCat,
    CDNeeds,
    CDNeedSupport,
    card_keyboard,
    categories_keyboard,
    category_choice,
    category_keyboard,
    district_choice,
    list_keyboard,
    my_needs_keyboard,
    status_choice,
)
from bot.services import districts
from bot.services.needs import browse, categories, support
from bot.services.needs.browse import OPEN, SORT_SUPPORTS, SORTS, STATUS_FILTERS, Filters
from bot.services.needs.categories import category_name
from bot.services.permissions import SECRETARIAT, require_registered, require_role
from bot.texts import SafeHTML, clip, plain, t, tn
from models import User
from models.needs import OPEN_STATUSES, Need, NeedCategory, NeedEvent, NeedEventKind, NeedStatus

PER_PAGE = 8
DISTRICTS_PER_PAGE = 20
# A card stays well within Telegram's 4096 with these cuts.
DESCRIPTION_SHOWN = 1500
EVENT_TEXT_SHOWN = 250
ALBUM = 10  # photos per media group (Telegram's limit)
NEED_COMMAND = re.compile(r"^/need_(\d{1,10})(?:@\w+)?$")


class CategoryNames(StatesGroup):
    names = State()


# --- The list ---------------------------------------------------------------------------------


def _filters(data: CDNeeds) -> Filters:
    return Filters(
        district_id=data.district if data.district > 0 else None,
        category_id=data.category if data.category > 0 else None,
        status=data.status if data.status in STATUS_FILTERS else OPEN,
        sort=data.sort if data.sort in SORTS else SORT_SUPPORTS,
    )


def _status(need: Need) -> str:
    return plain(f"needs-browse-status-{need.status.value}")


async def list_view(session: AsyncSession, data: CDNeeds) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    filters = _filters(data)
    district = await districts.find(session, filters.district_id)
    category = await categories.find(session, filters.category_id)
    # A forged or deleted district/category: the whole city, any category.
    data = data.model_copy(
        update={
            "district": district.id if district else 0,
            "category": category.id if category else 0,
            "status": filters.status,
            "sort": filters.sort,
            "view": "",
        }
    )
    filters = _filters(data)
    page = await browse.browse(session, filters, data.page, PER_PAGE)
    data = data.model_copy(update={"page": page.page})
    language = current_language()
    conditions = [
        district.name if district else plain("needs-browse-whole-city"),
        category_name(category, language) if category else plain("needs-browse-any-category"),
        plain(f"needs-browse-filter-{filters.status}"),
        plain(f"needs-browse-sorted-{filters.sort}"),
    ]
    found = (
        t("needs-browse-found-many", n=browse.COUNT_CAP)
        if page.total > browse.COUNT_CAP
        else tn("needs-browse-found", page.total)
    )
    lines: list[str] = [
        found,
        t("needs-browse-conditions", conditions=" · ".join(conditions)),
    ]
    if not page.items:
        lines.append(t("needs-browse-nothing"))
    for need in page.items:
        lines.append(
            t(
                "needs-browse-item",
                number=need.id,
                category=category_name(need.category, language),
                status=_status(need),
                supports=need.support_count,
                text=clip(" ".join(need.description.split()), 120),
            )
        )
    return SafeHTML("\n\n".join(lines)), list_keyboard(data, page.items, page.page, page.pages)


async def cmd_needs(message: Message, session: AsyncSession, user: User | None) -> None:
    district = user.district_id if user is not None and user.is_registered else None
    text, markup = await list_view(session, CDNeeds(district=district or 0))
    await message.answer(text, reply_markup=markup)


async def on_list(query: CallbackQuery, callback_data: CDNeeds, session: AsyncSession) -> None:
    message = callback_message(query)
    markup: InlineKeyboardMarkup
    if callback_data.view == "d":
        found = await districts.list_districts(session, callback_data.page, DISTRICTS_PER_PAGE)
        markup = district_choice(callback_data, found)
    elif callback_data.view == "c":
        markup = category_choice(
            callback_data, await categories.all_categories(session), current_language()
        )
    elif callback_data.view == "t":
        markup = status_choice(callback_data)
    else:
        text, markup = await list_view(session, callback_data)
        if message.html_text != text or message.reply_markup != markup:
            await message.edit_text(text, reply_markup=markup)
        return
    if message.reply_markup != markup:
        await message.edit_reply_markup(reply_markup=markup)


# --- A need's card ----------------------------------------------------------------------------


def _event_line(event: NeedEvent, timezone: str) -> SafeHTML:
    status = event.status_to.value if event.status_to else ""
    return t(
        f"needs-card-event-{event.kind.value}",
        date=shown_date(event.created_at, timezone),
        status=plain(f"needs-browse-status-{status}") if status else "",
        text=clip(event.text or "", EVENT_TEXT_SHOWN),
        number=event.subject_id or "",
    )


def render_card(card: browse.Card, timezone: str) -> SafeHTML:
    need = card.need
    lines: list[str] = [
        t("needs-card-title", number=need.id),
        t("needs-card-category", category=category_name(need.category, current_language())),
        t("needs-card-district", district=need.district.name),
        t("needs-card-status", status=_status(need)),
    ]
    if card.handler:
        lines.append(t("needs-card-handler", handler=clip(card.handler, 300)))
    if need.status == NeedStatus.MERGED and need.merged_into_id is not None:
        lines.append(t("needs-card-merged", number=need.merged_into_id))
    if need.status == NeedStatus.REJECTED and need.reject_reason:
        lines.append(t("needs-card-rejected", reason=clip(need.reject_reason, 500)))
    lines.append(t("needs-card-filed", date=shown_date(need.created_at, timezone)))
    if card.author_name:
        lines.append(t("needs-card-author", name=clip(card.author_name, 100)))
    lines += ["", clip(need.description, DESCRIPTION_SHOWN), ""]
    if need.address:
        lines.append(t("needs-card-address", address=clip(need.address, 300)))
    elif need.latitude is not None and need.longitude is not None:
        lines.append(t("needs-card-location"))
    if need.photos:
        lines.append(tn("needs-card-photo-count", len(need.photos)))
    lines.append(tn("needs-card-supports", need.support_count))
    if card.history:
        lines += ["", t("needs-card-history")]
        lines += [_event_line(event, timezone) for event in card.history]
    return SafeHTML("\n".join(lines))


async def card_view(
    session: AsyncSession, need_id: int, user: User | None, timezone: str
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    card = await browse.card(session, need_id, user)
    markup = card_keyboard(
        card.need,
        open_=card.need.status in OPEN_STATUSES,
        supported=card.supported,
        own=card.own,
    )
    return render_card(card, timezone), markup


async def _send_card(
    message: Message, session: AsyncSession, need_id: int, user: User | None, settings: Settings
) -> None:
    text, markup = await card_view(session, need_id, user, settings.timezone)
    await message.answer(text, reply_markup=markup)


async def cmd_needcard(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    argument = (command.args or "").strip().lstrip("№#")
    if not argument.isdigit():
        await message.answer(t("needs-browse-card-usage"))
        return
    number = int(argument)
    if number > DB_INT_MAX:
        await message.answer(t("needs-browse-not-found"))
        return
    await _send_card(message, session, number, user, settings)


async def on_need_command(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    match = NEED_COMMAND.match(message.text or "")
    number = int(match.group(1)) if match else 0
    if not 0 < number <= DB_INT_MAX:
        await message.answer(t("needs-browse-not-found"))
        return
    await _send_card(message, session, number, user, settings)


async def on_card(
    query: CallbackQuery,
    callback_data: CDNeedCard,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    need = await browse.get_need(session, callback_data.id)
    if callback_data.action == "photos":
        if not need.photos:
            alert(callback_answer, "needs-card-no-photos")
            return
        for start in range(0, len(need.photos), ALBUM):
            chunk = need.photos[start : start + ALBUM]
            caption = t("needs-card-photos-caption", number=need.id)
            if len(chunk) == 1:
                await message.answer_photo(chunk[0].file_id, caption=caption)
            else:
                media = [
                    InputMediaPhoto(media=photo.file_id, caption=caption if index == 0 else None)
                    for index, photo in enumerate(chunk)
                ]
                await message.answer_media_group(media=list(media))
        return
    if callback_data.action == "place":
        if need.latitude is None or need.longitude is None:
            alert(callback_answer, "needs-card-no-place")
            return
        await message.answer_location(latitude=need.latitude, longitude=need.longitude)
        return
    await _send_card(message, session, need.id, user, settings)


async def on_support(
    query: CallbackQuery,
    callback_data: CDNeedSupport,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    if callback_data.on:
        need, changed = await support.support(session, user, callback_data.id)
        toast(callback_answer, "needs-support-done" if changed else "needs-support-already")
    else:
        need, changed = await support.take_back(session, user, callback_data.id)
        toast(callback_answer, "needs-support-taken-back" if changed else "needs-support-not-yours")
    text, markup = await card_view(session, need.id, user, settings.timezone)
    if message.html_text != text or message.reply_markup != markup:
        await message.edit_text(text, reply_markup=markup)


# --- One's own needs --------------------------------------------------------------------------


async def my_needs_view(
    session: AsyncSession, user: User | None, page_number: int
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    person = require_registered(user)
    page = await browse.my_needs(session, person, page_number, PER_PAGE)
    if not page.items:
        return t("needs-browse-my-none"), None
    lines = [tn("needs-browse-my-title", page.total)]
    for item in page.items:
        lines.append(
            t(
                "needs-browse-my-item-filed" if item.filed else "needs-browse-my-item-supported",
                number=item.need.id,
                status=_status(item.need),
                supports=item.need.support_count,
                text=clip(" ".join(item.need.description.split()), 120),
            )
        )
    markup = my_needs_keyboard([item.need for item in page.items], page.page, page.pages)
    return SafeHTML("\n\n".join(lines)), markup


async def cmd_my_needs(message: Message, session: AsyncSession, user: User | None) -> None:
    text, markup = await my_needs_view(session, user, 0)
    await message.answer(text, reply_markup=markup)


async def on_my_needs(
    query: CallbackQuery, callback_data: CDMyNeeds, session: AsyncSession, user: User | None
) -> None:
    message = callback_message(query)
    text, markup = await my_needs_view(session, user, callback_data.page)
    if message.html_text != text or message.reply_markup != markup:
        await message.edit_text(text, reply_markup=markup)


# --- The Secretariat's categories -------------------------------------------------------------


async def categories_view(
    session: AsyncSession, user: User | None
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    require_role(user, *SECRETARIAT)
    found = await categories.all_categories(session)
    return t("needs-categories-title"), categories_keyboard(found, current_language())


def category_text(category: NeedCategory) -> SafeHTML:
    return t(
        "needs-categories-card",
        name_ru=category.name_ru,
        name_en=category.name_en,
        state=plain("needs-categories-active" if category.active else "needs-categories-inactive"),
    )


async def cmd_need_categories(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    text, markup = await categories_view(session, user)
    if await state.get_state() == CategoryNames.names.state:
        await state.set_state(None)
    await message.answer(text, reply_markup=markup)


async def on_category(
    query: CallbackQuery,
    callback_data: CDNeedCat,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    require_role(user, *SECRETARIAT)
    message = callback_message(query)
    action, category_id = callback_data.action, callback_data.id
    if action == "add":
        await state.set_state(CategoryNames.names)
        await state.update_data({"need_category": 0})
        await message.answer(t("needs-categories-ask-names"))
        return
    if action == "list":
        text, markup = await categories_view(session, user)
        await message.edit_text(text, reply_markup=markup)
        return
    category = await categories.get(session, category_id)
    if action == "rename":
        await state.set_state(CategoryNames.names)
        await state.update_data({"need_category": category.id})
        await message.answer(t("needs-categories-ask-names"))
        return
    if action in ("off", "on"):
        category = await categories.set_active(session, user, category.id, action == "on")
        toast(callback_answer, "needs-categories-saved")
    elif action in ("up", "down"):
        category = await categories.move(session, user, category.id, -1 if action == "up" else 1)
        toast(callback_answer, "needs-categories-saved")
    elif action != "open":
        alert(callback_answer, "error-stale-button")
        return
    text = category_text(category)
    markup = category_keyboard(category)
    if message.html_text != text or message.reply_markup != markup:
        await message.edit_text(text, reply_markup=markup)


async def on_names(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    category_id = int((await state.get_data()).get("need_category") or 0)
    if category_id:
        category = await categories.rename(session, user, category_id, message.text or "")
    else:
        category = await categories.add(session, user, message.text or "")
    await state.set_state(None)
    await message.answer(t("needs-categories-done"))
    await message.answer(category_text(category), reply_markup=category_keyboard(category))


async def on_names_not_text(message: Message) -> None:
    await expect_text(message)


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="needs_browse")
    router.message.register(cmd_needs, Command("needs"))
    router.callback_query.register(on_list, CDNeeds.filter())
    router.message.register(cmd_needcard, Command("needcard"))
    router.message.register(on_need_command, F.text.regexp(NEED_COMMAND))
    router.callback_query.register(on_card, CDNeedCard.filter())
    router.callback_query.register(on_support, CDNeedSupport.filter())
    router.message.register(cmd_my_needs, Command("my_needs"))
    router.callback_query.register(on_my_needs, CDMyNeeds.filter())
    router.message.register(cmd_need_categories, Command("need_categories"))
    router.callback_query.register(on_category, CDNeedCat.filter())
    router.message.register(on_names, CategoryNames.names, TEXT_INPUT)
    router.message.register(on_names_not_text, CategoryNames.names, NOT_TEXT)
    return router


def _keys() -> set[str]:
    keys = {f"needs-browse-status-{status.value}" for status in NeedStatus}
    keys |= {f"needs-card-event-{kind.value}" for kind in NeedEventKind}
    keys |= {f"needs-browse-filter-{status}" for status in STATUS_FILTERS}
    keys |= {f"needs-browse-sort-{sort}" for sort in SORTS}
    keys |= {f"needs-browse-sorted-{sort}" for sort in SORTS}
    return keys


capability = Capability(
    name="needs_browse",
    setup=setup,
    commands=(
        CommandSpec("needs", ANYONE),
        CommandSpec("my_needs", REGISTERED),
        CommandSpec("needcard", ANYONE, on_home=False),
        CommandSpec("need_categories", SECRETARIAT, HomeGroup.SECRETARIAT),
    ),
    keys=_keys,
    public_callbacks=(CDNeeds, CDNeedCard, CDNeedSupport, CDMyNeeds),
)
