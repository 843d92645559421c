"""Resources offered to meet the needs: the /offer dialog, /my_offers with Withdraw, the offers
that match a need for its handlers (/need_offers N), and asking an offer's owner, who agrees to
share contacts or declines."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, alert, callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.dates import current_language
from bot.dialogs import abort, expect_buttons, expect_text, step_done
from bot.drafts import StoredDraft
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.common import CDDistrict, CDDistrictPage
from bot.keyboards.resources import (
    EDITABLE_FIELDS,
    CDAskOwner,
    CDContactAnswer,
    CDMyOffers,
    CDNeedOffers,
    CDOfferCategory,
    CDOfferFor,
    CDOfferKind,
    CDOfferStep,
    CDWithdraw,
    category_keyboard,
    category_name,
    for_keyboard,
    kind_keyboard,
    my_offers_keyboard,
    need_offers_keyboard,
    request_rows,
    summary_keyboard,
)
from bot.services import districts, resources
from bot.services.errors import NotAllowed
from bot.services.needs.access import moderated_districts
from bot.services.paging import Page
from bot.services.permissions import REPRESENTATIVES, SECRETARIAT, require_registered
from bot.services.resources import LIMITS, Draft
from bot.texts import SafeHTML, clip, plain, t
from handlers.common import district_picker, turn_district_page
from models import User
from models.needs import ResourceKind, ResourceOffer

DRAFT = StoredDraft("offer")
ORDER = ("for", "kind", "district", "category", "description", "available")
TEXT_FIELDS = ("description", "available")


class Offer(StatesGroup):
    for_ = State()
    kind = State()
    district = State()
    category = State()
    description = State()
    available = State()
    summary = State()


STATES = {
    "for": Offer.for_,
    "kind": Offer.kind,
    "district": Offer.district,
    "category": Offer.category,
    "description": Offer.description,
    "available": Offer.available,
}


# --- rendering ---------------------------------------------------------------------------------


async def _labels(
    session: AsyncSession, district_id: int | None, category_id: int | None
) -> dict[str, str]:
    district = await districts.find(session, district_id) if district_id else None
    category = await resources.category(session, category_id)
    labels = {
        "district": district.name if district else plain("resources-district-city"),
        "category": category_name(category, current_language())
        if category
        else plain("resources-category-any"),
    }
    return labels


async def offer_line(session: AsyncSession, offer: ResourceOffer) -> SafeHTML:
    """An offer in a list: its number, kind, district, category, description and availability;
    never its owner."""
    labels = await _labels(session, offer.district_id, offer.category_id)
    return t(
        "resources-offer-line",
        number=offer.id,
        kind=plain(f"resources-kind-{offer.kind.value}"),
        district=labels["district"],
        category=labels["category"],
        description=clip(offer.description, 600),
        available=clip(offer.available, 200),
    )


# --- the offer dialog --------------------------------------------------------------------------


async def ask(
    message: Message, state: FSMContext, session: AsyncSession, user: User, field: str
) -> None:
    await state.set_state(STATES[field])
    markup: InlineKeyboardMarkup | None = None
    if field == "for":
        markup = for_keyboard(await resources.organizations_of(session, user))
    elif field == "kind":
        markup = kind_keyboard()
    elif field == "district":
        markup = await district_picker(session, "resources-district-city")
    elif field == "category":
        markup = category_keyboard(await resources.categories(session), current_language())
    if field in TEXT_FIELDS:
        low, high = LIMITS[field]
        await message.answer(t(f"resources-ask-{field}", min=low, max=high))
    else:
        await message.answer(t(f"resources-ask-{field}"), reply_markup=markup)


async def advance(message: Message, state: FSMContext, session: AsyncSession, user: User) -> None:
    """Ask the first missing field, or show the summary when all are there (or one was edited)."""
    draft = await DRAFT.load(state)
    missing = [field for field in ORDER if field not in draft]
    if missing and not draft.get("editing"):
        await ask(message, state, session, user, missing[0])
        return
    draft.pop("editing", None)
    await DRAFT.save(state, draft)
    await state.set_state(Offer.summary)
    labels = await _labels(session, draft["district"], draft["category"])
    organization = await resources.organization_of(session, user, draft["for"])
    text = t(
        "resources-summary",
        owner=organization.name if organization else plain("resources-for-myself"),
        kind=plain(f"resources-kind-{draft['kind']}"),
        district=labels["district"],
        category=labels["category"],
        description=draft["description"],
        available=draft["available"],
    )
    await message.answer(text, reply_markup=summary_keyboard())


async def cmd_offer(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    user = require_registered(user)
    await state.set_state(None)
    draft: dict[str, object] = {}
    if not await resources.organizations_of(session, user):
        draft["for"] = 0
    await DRAFT.save(state, draft)
    await message.answer(t("resources-intro"))
    await advance(message, state, session, user)


async def _chosen(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    field: str,
    value: object,
    label: str,
) -> None:
    user = require_registered(user)
    message = callback_message(query)
    draft = await DRAFT.load(state)
    draft[field] = value
    await DRAFT.save(state, draft)
    await message.edit_text(t("resources-chosen", value=label))
    await advance(message, state, session, user)


async def on_for(
    query: CallbackQuery,
    callback_data: CDOfferFor,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    user = require_registered(user)
    label = plain("resources-for-myself")
    if callback_data.id:
        organization = await resources.organization_of(session, user, callback_data.id)
        if organization is None:
            raise NotAllowed()
        label = organization.name
    await _chosen(query, state, session, user, "for", callback_data.id, label)


async def on_kind(
    query: CallbackQuery,
    callback_data: CDOfferKind,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    label = plain(f"resources-kind-{callback_data.kind}")
    await _chosen(query, state, session, user, "kind", callback_data.kind, label)


async def on_district_page(
    query: CallbackQuery, callback_data: CDDistrictPage, session: AsyncSession
) -> None:
    await turn_district_page(query, session, callback_data.page, "resources-district-city")


async def on_district(
    query: CallbackQuery,
    callback_data: CDDistrict,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    district = await districts.find(session, callback_data.id) if callback_data.id else None
    if callback_data.id and district is None:
        alert(callback_answer, "districts-not-found")
        return
    label = district.name if district else plain("resources-district-city")
    value = district.id if district else None
    await _chosen(query, state, session, user, "district", value, label)


async def on_category(
    query: CallbackQuery,
    callback_data: CDOfferCategory,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    category = await resources.category(session, callback_data.id or None)
    if callback_data.id and (category is None or not category.active):
        alert(callback_answer, "resources-category-not-found")
        return
    label = (
        category_name(category, current_language()) if category else plain("resources-category-any")
    )
    value = category.id if category else None
    await _chosen(query, state, session, user, "category", value, label)


async def _take_text(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None, field: str
) -> None:
    user = require_registered(user)
    value = resources.clean_field(field, message.text or "")
    draft = await DRAFT.load(state)
    draft[field] = value
    await DRAFT.save(state, draft)
    await advance(message, state, session, user)


async def on_description(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    await _take_text(message, state, session, user, "description")


async def on_available(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    await _take_text(message, state, session, user, "available")


async def on_not_text(message: Message) -> None:
    await expect_text(message)


async def on_text_at_buttons(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    """Typed text where the step is answered with a button: the question again, with them."""
    user = require_registered(user)
    current = await state.get_state()
    field = next((name for name, st in STATES.items() if st.state == current), None)
    if field is None:
        await expect_buttons(message, summary_keyboard())
        return
    await message.answer(t("dialog-use-buttons"))
    await ask(message, state, session, user, field)


async def on_edit(
    query: CallbackQuery,
    callback_data: CDOfferStep,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    user = require_registered(user)
    message = callback_message(query)
    if callback_data.field not in EDITABLE_FIELDS:
        raise StaleButton()
    draft = await DRAFT.load(state)
    draft["editing"] = True
    await DRAFT.save(state, draft)
    await message.edit_reply_markup(reply_markup=None)
    await ask(message, state, session, user, callback_data.field)


async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await abort(state, Offer, callback_message(query), "resources-cancelled")


async def on_send(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    message = callback_message(query)
    draft = await DRAFT.load(state)
    if not all(field in draft for field in ORDER):
        raise StaleButton()
    offer = await resources.create_offer(
        session,
        user,
        Draft(
            kind=ResourceKind(draft["kind"]),
            district_id=draft["district"],
            category_id=draft["category"],
            description=draft["description"],
            available=draft["available"],
            organization_id=draft["for"] or None,
        ),
    )
    await state.clear()
    await step_done(message, t("resources-sent", number=offer.id))


# --- one's own offers --------------------------------------------------------------------------


async def my_offers_view(
    session: AsyncSession, page: Page[ResourceOffer]
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    if not page.items:
        return t("resources-my-none"), InlineKeyboardMarkup(inline_keyboard=[])
    lines = [t("resources-my-title", total=page.total)]
    lines += [await offer_line(session, offer) for offer in page.items]
    return SafeHTML("\n\n".join(lines)), my_offers_keyboard(page)


async def cmd_my_offers(message: Message, session: AsyncSession, user: User | None) -> None:
    page = await resources.my_offers(session, user)
    text, markup = await my_offers_view(session, page)
    await message.answer(text, reply_markup=markup if page.items else None)


async def on_my_offers_page(
    query: CallbackQuery, callback_data: CDMyOffers, session: AsyncSession, user: User | None
) -> None:
    page = await resources.my_offers(session, user, callback_data.page)
    text, markup = await my_offers_view(session, page)
    await callback_message(query).edit_text(text, reply_markup=markup)


async def on_withdraw(
    query: CallbackQuery,
    callback_data: CDWithdraw,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    offer = await resources.withdraw(session, user, callback_data.id)
    toast(callback_answer, "resources-withdrawn", number=offer.id)
    page = await resources.my_offers(session, user, callback_data.page)
    text, markup = await my_offers_view(session, page)
    await callback_message(query).edit_text(text, reply_markup=markup)


# --- a need's handlers: the matching offers, and asking an owner --------------------------------


async def need_offers_view(
    session: AsyncSession, user: User | None, need_id: int, page_number: int = 0
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    need, page = await resources.matching_offers(session, user, need_id, page_number)
    title = t("resources-need-title", number=need.id, description=clip(need.description, 300))
    if not page.items:
        return SafeHTML(title + "\n\n" + t("resources-need-none")), None
    lines = [title, t("resources-need-count", total=page.total)]
    lines += [await offer_line(session, offer) for offer in page.items]
    return SafeHTML("\n\n".join(lines)), need_offers_keyboard(need.id, page)


async def cmd_need_offers(
    message: Message, command: CommandObject, session: AsyncSession, user: User | None
) -> None:
    # Who works no district's needs is refused before anything else is read.
    worked = await moderated_districts(session, user)
    if worked is not None and not worked:
        raise NotAllowed()
    number = (command.args or "").strip().lstrip("#№")
    if not number.isdigit() or len(number) > 9:
        await message.answer(t("resources-need-usage"))
        return
    text, markup = await need_offers_view(session, user, int(number))
    await message.answer(text, reply_markup=markup)


async def on_need_offers_page(
    query: CallbackQuery, callback_data: CDNeedOffers, session: AsyncSession, user: User | None
) -> None:
    text, markup = await need_offers_view(session, user, callback_data.need, callback_data.page)
    await callback_message(query).edit_text(text, reply_markup=markup)


async def on_ask(
    query: CallbackQuery,
    callback_data: CDAskOwner,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    contact = await resources.ask(
        session, user, callback_data.offer, callback_data.need, request_rows
    )
    toast(callback_answer, "resources-asked", number=contact.offer_id)
    await callback_message(query).answer(
        t("resources-asked-note", offer=contact.offer_id, need=contact.need_id)
    )


async def on_contact_answer(
    query: CallbackQuery,
    callback_data: CDContactAnswer,
    session: AsyncSession,
    user: User | None,
) -> None:
    answered = await resources.answer(session, user, callback_data.id, callback_data.agree)
    if callback_data.agree:
        await resources.exchange_contacts(session, answered)
        key = "resources-agreed"
    else:
        await resources.tell_declined(session, answered)
        key = "resources-declined"
    await step_done(callback_message(query), t(key, need=answered.need.id))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="resources")
    router.message.register(cmd_offer, Command("offer"))
    router.message.register(on_description, Offer.description, TEXT_INPUT)
    router.message.register(on_available, Offer.available, TEXT_INPUT)
    router.message.register(on_not_text, Offer.description, NOT_TEXT)
    router.message.register(on_not_text, Offer.available, NOT_TEXT)
    for step in (Offer.for_, Offer.kind, Offer.district, Offer.category, Offer.summary):
        router.message.register(on_text_at_buttons, step, TEXT_INPUT)
    router.callback_query.register(on_for, Offer.for_, CDOfferFor.filter())
    router.callback_query.register(
        on_kind, Offer.kind, CDOfferKind.filter(F.kind.in_([k.value for k in ResourceKind]))
    )
    router.callback_query.register(on_district_page, Offer.district, CDDistrictPage.filter())
    router.callback_query.register(on_district, Offer.district, CDDistrict.filter())
    router.callback_query.register(on_category, Offer.category, CDOfferCategory.filter())
    router.callback_query.register(on_edit, Offer.summary, CDOfferStep.filter(F.action == "edit"))
    router.callback_query.register(on_send, Offer.summary, CDOfferStep.filter(F.action == "send"))
    router.callback_query.register(on_cancel, CDOfferStep.filter(F.action == "cancel"))
    router.message.register(cmd_my_offers, Command("my_offers"))
    router.callback_query.register(on_my_offers_page, CDMyOffers.filter())
    router.callback_query.register(on_withdraw, CDWithdraw.filter())
    router.message.register(cmd_need_offers, Command("need_offers"))
    router.callback_query.register(on_need_offers_page, CDNeedOffers.filter())
    router.callback_query.register(on_ask, CDAskOwner.filter())
    router.callback_query.register(on_contact_answer, CDContactAnswer.filter())
    return router


def _keys() -> set[str]:
    keys = {f"resources-kind-{kind.value}" for kind in ResourceKind}
    keys |= {f"resources-field-{field}" for field in EDITABLE_FIELDS}
    keys |= {f"resources-ask-{field}" for field in ORDER}
    for field in LIMITS:
        keys |= {f"resources-{field}-too-short", f"resources-{field}-too-long"}
    return keys


capability = Capability(
    name="resources",
    setup=setup,
    commands=(
        CommandSpec("offer"),
        CommandSpec("my_offers"),
        CommandSpec("need_offers", REPRESENTATIVES | SECRETARIAT, HomeGroup.ORGANIZATION),
    ),
    keys=_keys,
    # The dialog's own buttons and one's own list act on the presser's own data.
    public_callbacks=(CDOfferFor, CDOfferKind, CDOfferCategory, CDOfferStep, CDMyOffers),
)
