"""Filing a need: `/need` for a registered person, `/file_need N` for the Secretariat filing for
a citizen who phoned or wrote on paper. A short dialog (category, district, description, photos,
place, whether the name is shown), the similar open needs of the district to support instead,
a summary with "edit a field", and the need saved with a number."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, alert, callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.dates import current_language
from bot.dialogs import abort, expect_buttons
from bot.drafts import StoredDraft
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.common import CDDistrict, CDDistrictPage
from bot.keyboards.needs_filing import (
    FIELDS,
    CDNeedFile,
    category_keyboard,
    field_label,
    own_district_keyboard,
    photos_keyboard,
    place_keyboard,
    show_name_keyboard,
    similar_keyboard,
    similar_text,
    summary_keyboard,
    summary_text,
)
from bot.services import districts, notices, users
from bot.services.errors import NotFound
from bot.services.needs import escalation, filing
from bot.services.needs.categories import active_categories, category_name
from bot.services.needs.filing import DESCRIPTION_LIMITS, MAX_PHOTOS, NeedDraft
from bot.services.permissions import SECRETARIAT, require_registered
from bot.texts import SafeHTML, plain, t, tn
from handlers.common import district_picker, turn_district_page
from models import District, User
from models.needs import Need

DRAFT = StoredDraft("need")
DISTRICT_UNKNOWN = "needs-file-district-unknown"


class FileNeed(StatesGroup):
    category = State()
    district = State()
    description = State()
    photos = State()
    place = State()
    show_name = State()
    similar = State()
    summary = State()


BUTTON_STEPS = (
    FileNeed.category,
    FileNeed.district,
    FileNeed.show_name,
    FileNeed.similar,
    FileNeed.summary,
)


def district_label(district: District) -> str:
    return f"№{district.number} · {district.name}"


async def remember(state: FSMContext, **values: Any) -> dict[str, Any]:
    """Put answers into the draft; returns the draft as it is now."""
    draft = await DRAFT.load(state)
    draft.update(values)
    await DRAFT.save(state, draft)
    return draft


async def author_of(session: AsyncSession, draft: dict[str, Any], user: User | None) -> User:
    """Whose need it is: the person filing it, or the citizen a secretary files it for."""
    on_behalf = draft.get("on_behalf")
    if not on_behalf:
        return require_registered(user)
    users.require_registrar(user)
    author = await users.find_registered(session, on_behalf)
    if author is None:
        raise NotFound("error-not-found")
    return author


async def ask(
    message: Message, state: FSMContext, session: AsyncSession, field: str, author: User
) -> None:
    """Put the question of one step, saying what to do next."""
    await state.set_state(getattr(FileNeed, field))
    draft = await DRAFT.load(state)
    if field == "category":
        names = [
            (c.id, category_name(c, current_language())) for c in await active_categories(session)
        ]
        if not names:
            await state.clear()
            await message.answer(t("needs-file-no-categories"))
            return
        await message.answer(t("needs-file-ask-category"), reply_markup=category_keyboard(names))
    elif field == "district":
        own = await districts.find(session, author.district_id)
        if own is not None:
            text = t("needs-file-ask-district", district=district_label(own))
            await message.answer(text, reply_markup=own_district_keyboard(own))
        else:
            picker = await district_picker(session, DISTRICT_UNKNOWN)
            await message.answer(t("needs-file-ask-district-pick"), reply_markup=picker)
    elif field == "description":
        low, high = DESCRIPTION_LIMITS
        await message.answer(t("needs-file-ask-description", min=low, max=high))
    elif field == "photos":
        count = len(draft.get("photo_ids", []))
        key = "needs-file-ask-photos-more" if count else "needs-file-ask-photos"
        await message.answer(t(key, max=MAX_PHOTOS), reply_markup=photos_keyboard(count))
    elif field == "place":
        await message.answer(t("needs-file-ask-place"), reply_markup=place_keyboard())
    else:
        await message.answer(t("needs-file-ask-show-name"), reply_markup=show_name_keyboard())


async def advance(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    """The next step: similar needs once the text and district are known (again after either
    changes), then the first missing field, or the summary when all are there or one was edited."""
    draft = await DRAFT.load(state)
    author = await author_of(session, draft, user)
    if "description" in draft and "district" in draft:
        checked = [draft["district"], draft["description"]]
        if draft.get("checked") != checked:
            found = await filing.similar(session, draft["district"], draft["description"])
            if found:
                await show_similar(message, state, draft, [need for need, _ in found])
                return
            draft["checked"] = checked
            await DRAFT.save(state, draft)
    missing = [field for field in FIELDS if field not in draft]
    if missing and not draft.get("editing"):
        await ask(message, state, session, missing[0], author)
        return
    draft.pop("editing", None)
    await DRAFT.save(state, draft)
    await state.set_state(FileNeed.summary)
    await message.answer(await summary(session, draft), reply_markup=summary_keyboard())


async def summary(session: AsyncSession, draft: dict[str, Any]) -> SafeHTML:
    """The draft as the person checks it before sending (their text escaped)."""
    category = await filing.category(session, draft["category"])
    district = await districts.find(session, draft["district"])
    author = await users.find_registered(session, draft.get("on_behalf") or 0)
    return summary_text(
        draft,
        category=category_name(category, current_language()) if category else "—",
        district=district_label(district) if district else "—",
        author=(author.name or "—") if author else None,
    )


async def show_similar(
    message: Message, state: FSMContext, draft: dict[str, Any], needs: list[Need]
) -> None:
    await remember(state, similar=[need.id for need in needs])
    await state.set_state(FileNeed.similar)
    named = [(need, category_name(need.category, current_language())) for need in needs]
    await message.answer(similar_text(named), reply_markup=similar_keyboard(needs))


# --- starting ----------------------------------------------------------------------------------


async def cmd_need(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    require_registered(user)
    await state.set_state(None)
    await DRAFT.save(state, {})
    await message.answer(t("needs-file-intro"))
    await advance(message, state, session, user)


async def cmd_file_need(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    """The Secretariat files a need for a citizen who phoned or wrote on paper."""
    users.require_registrar(user)
    number = (command.args or "").strip().lstrip("#№")
    person = (
        await users.find_registered(session, int(number))
        if number.isdigit() and len(number) < 10
        else None
    )
    if person is None:
        await message.answer(t("needs-file-usage"))
        return
    await state.set_state(None)
    # Their name is not shown unless they asked for it (the secretary changes it in the summary).
    await DRAFT.save(state, {"on_behalf": person.id, "show_name": False})
    await message.answer(t("needs-file-intro-for", name=person.name or "—", number=person.id))
    await advance(message, state, session, user)


# --- category and district ---------------------------------------------------------------------


async def on_category(
    query: CallbackQuery,
    callback_data: CDNeedFile,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    category = await filing.category(session, callback_data.id)
    if category is None:
        alert(callback_answer, "needs-file-category-gone")
        return
    await remember(state, category=category.id)
    name = category_name(category, current_language())
    await message.edit_text(t("needs-file-chosen", field=field_label("category"), value=name))
    await advance(message, state, session, user)


async def on_district_other(query: CallbackQuery, session: AsyncSession) -> None:
    picker = await district_picker(session, DISTRICT_UNKNOWN)
    await callback_message(query).edit_text(t("needs-file-ask-district-pick"), reply_markup=picker)


async def on_district_page(
    query: CallbackQuery, callback_data: CDDistrictPage, session: AsyncSession
) -> None:
    await turn_district_page(query, session, callback_data.page, DISTRICT_UNKNOWN)


async def on_district(
    query: CallbackQuery,
    callback_data: CDDistrict,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    if not callback_data.id:
        alert(callback_answer, "needs-file-district-required")
        return
    district = await session.get(District, callback_data.id)
    if district is None:
        alert(callback_answer, "districts-not-found")
        return
    await remember(state, district=district.id)
    label = district_label(district)
    await message.edit_text(t("needs-file-chosen", field=field_label("district"), value=label))
    await advance(message, state, session, user)


# --- description and photos --------------------------------------------------------------------


async def on_description(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    await remember(state, description=filing.clean_description(message.text or ""))
    await advance(message, state, session, user)


def _add_photo(draft: dict[str, Any], message: Message) -> tuple[bool, bool]:
    """Keep the message's photo in the draft. Returns whether it was kept (False: the limit is
    reached), and whether to answer: an album arrives as several messages, answered once."""
    assert message.photo
    photos: list[str] = draft.setdefault("photo_ids", [])
    album = message.media_group_id
    same_album = album is not None and draft.get("album") == album
    draft["album"] = album
    if len(photos) >= MAX_PHOTOS:
        warned = same_album and draft.get("warned") == album
        draft["warned"] = album
        return False, not warned
    photos.append(message.photo[-1].file_id)
    return True, not same_album


async def on_description_photo(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    """A photo with a caption is the description and the first photo; without one the photo is
    kept and the text is still asked for."""
    draft = await DRAFT.load(state)
    if message.caption and message.caption.strip():
        draft["description"] = filing.clean_description(message.caption)
        _add_photo(draft, message)
        await DRAFT.save(state, draft)
        await advance(message, state, session, user)
        return
    _, answer = _add_photo(draft, message)
    await DRAFT.save(state, draft)
    if answer:
        await message.answer(t("needs-file-photo-kept"))


async def on_description_other(message: Message) -> None:
    await message.answer(t("needs-file-type-it"))


async def on_photo(message: Message, state: FSMContext) -> None:
    draft = await DRAFT.load(state)
    kept, answer = _add_photo(draft, message)
    await DRAFT.save(state, draft)
    if not answer:
        return
    count = len(draft["photo_ids"])
    key = "needs-file-photo-added" if kept else "needs-file-photos-limit"
    await message.answer(t(key, max=MAX_PHOTOS), reply_markup=photos_keyboard(count))


async def on_photos_hint(message: Message, state: FSMContext) -> None:
    """Text, or something other than a photo, while photos are awaited."""
    count = len((await DRAFT.load(state)).get("photo_ids", []))
    key = "needs-file-photos-hint" if message.text else "needs-file-photos-only"
    await message.answer(t(key), reply_markup=photos_keyboard(count))


async def on_photos_done(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    message = callback_message(query)
    draft = await remember(state, photos=True)
    await message.edit_reply_markup(reply_markup=None)
    count = len(draft.get("photo_ids", []))
    await message.answer(
        tn("needs-file-photos-taken", count) if count else t("needs-file-photos-skipped")
    )
    await advance(message, state, session, user)


async def on_photos_clear(
    query: CallbackQuery, state: FSMContext, callback_answer: CallbackAnswer
) -> None:
    message = callback_message(query)
    await remember(state, photo_ids=[], album=None)
    toast(callback_answer, "needs-file-photos-cleared")
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(
        t("needs-file-ask-photos", max=MAX_PHOTOS), reply_markup=photos_keyboard(0)
    )


# --- the place and the name --------------------------------------------------------------------


async def _place_taken(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    place: dict[str, Any],
    note: SafeHTML,
) -> None:
    await remember(state, place=place)
    # The location keyboard goes away with the note that says what was taken.
    await message.answer(note, reply_markup=ReplyKeyboardRemove())
    await advance(message, state, session, user)


async def on_place_location(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    assert message.location
    latitude, longitude = filing.check_location(
        message.location.latitude, message.location.longitude
    )
    place = {"lat": round(latitude, 6), "lon": round(longitude, 6)}
    await _place_taken(message, state, session, user, place, t("needs-file-place-noted-location"))


async def on_place_text(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    text = message.text or ""
    if text.strip() == plain("needs-file-place-skip"):
        await _place_taken(message, state, session, user, {}, t("needs-file-place-skipped"))
        return
    address = filing.clean_address(text)
    note = t("needs-file-place-noted-address", address=address)
    await _place_taken(message, state, session, user, {"address": address}, note)


async def on_place_other(message: Message) -> None:
    await message.answer(t("needs-file-place-hint"), reply_markup=place_keyboard())


async def on_show_name(
    query: CallbackQuery,
    callback_data: CDNeedFile,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    await remember(state, show_name=bool(callback_data.id))
    value = plain("needs-file-yes" if callback_data.id else "needs-file-no")
    await message.edit_text(t("needs-file-chosen", field=field_label("show_name"), value=value))
    await advance(message, state, session, user)


# --- similar needs -----------------------------------------------------------------------------


async def on_support(
    query: CallbackQuery,
    callback_data: CDNeedFile,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    draft = await DRAFT.load(state)
    if callback_data.id not in draft.get("similar", []):
        raise StaleButton()
    supporter = await author_of(session, draft, user)
    on_behalf = bool(draft.get("on_behalf"))
    need, new = await filing.support_instead(
        session, supporter, callback_data.id, entered_by=user if on_behalf else None
    )
    await state.clear()
    if on_behalf:
        text = t("needs-file-supported-for", name=supporter.name or "—", number=need.id)
    else:
        key = "needs-file-supported" if new else "needs-file-supported-already"
        text = t(key, number=need.id)
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(text)


async def on_file_mine(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    message = callback_message(query)
    draft = await DRAFT.load(state)
    await remember(state, checked=[draft["district"], draft["description"]])
    await message.edit_reply_markup(reply_markup=None)
    await advance(message, state, session, user)


# --- the summary -------------------------------------------------------------------------------


async def on_edit(
    query: CallbackQuery,
    callback_data: CDNeedFile,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    if callback_data.field not in FIELDS:
        raise StaleButton()
    draft = await DRAFT.load(state)
    author = await author_of(session, draft, user)
    draft["editing"] = True
    if callback_data.field == "photos":
        draft.pop("photos", None)
    await DRAFT.save(state, draft)
    await message.edit_reply_markup(reply_markup=None)
    await ask(message, state, session, callback_data.field, author)


async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await abort(state, FileNeed, callback_message(query), "needs-file-cancelled")


async def on_send(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    message = callback_message(query)
    draft = await DRAFT.load(state)
    if not all(field in draft for field in FIELDS):
        raise StaleButton()
    author = await author_of(session, draft, user)
    entered_by = user if draft.get("on_behalf") else None
    place = draft.get("place") or {}
    need = await filing.file_need(
        session,
        author,
        NeedDraft(
            category_id=draft["category"],
            district_id=draft["district"],
            description=draft["description"],
            photos=list(draft.get("photo_ids", [])),
            address=place.get("address"),
            latitude=place.get("lat"),
            longitude=place.get("lon"),
            show_name=bool(draft["show_name"]),
        ),
        entered_by=entered_by,
    )
    days = settings.need_remind_base_days, settings.need_escalate_days
    await escalation.schedule(session, need, *days)
    await state.clear()
    await message.edit_reply_markup(reply_markup=None)
    if entered_by is None:
        await message.answer(t("needs-file-filed", number=need.id))
        return
    await message.answer(t("needs-file-filed-for", number=need.id, name=author.name or "—"))
    await notices.notify(session, [author], "needs-file-filed-by-secretariat", number=need.id)


async def on_use_buttons(message: Message) -> None:
    await expect_buttons(message)


async def on_album_rest(message: Message, state: FSMContext) -> None:
    """The rest of an album whose first photo (with the caption) was the description: it comes
    after the dialog has moved on (to the similar needs, or back to the summary), and is kept."""
    draft = await DRAFT.load(state)
    if draft.get("album") != message.media_group_id:
        await expect_buttons(message)
        return
    _add_photo(draft, message)
    await DRAFT.save(state, draft)


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="needs_filing")
    router.message.register(cmd_need, Command("need"))
    router.message.register(cmd_file_need, Command("file_need"))
    step = CDNeedFile.filter
    router.callback_query.register(on_category, FileNeed.category, step(F.action == "cat"))
    router.callback_query.register(
        on_district_other, FileNeed.district, step(F.action == "dist_other")
    )
    router.callback_query.register(on_district_page, FileNeed.district, CDDistrictPage.filter())
    router.callback_query.register(on_district, FileNeed.district, CDDistrict.filter())
    router.message.register(on_description, FileNeed.description, TEXT_INPUT)
    router.message.register(on_description_photo, FileNeed.description, F.photo)
    router.message.register(on_description_other, FileNeed.description, NOT_TEXT)
    router.message.register(on_photo, FileNeed.photos, F.photo)
    router.message.register(on_photos_hint, FileNeed.photos, TEXT_INPUT)
    router.message.register(on_photos_hint, FileNeed.photos, NOT_TEXT)
    router.callback_query.register(on_photos_done, FileNeed.photos, step(F.action == "photos_done"))
    router.callback_query.register(
        on_photos_clear, FileNeed.photos, step(F.action == "photos_clear")
    )
    router.message.register(on_place_location, FileNeed.place, F.location)
    router.message.register(on_place_text, FileNeed.place, TEXT_INPUT)
    router.message.register(on_place_other, FileNeed.place, NOT_TEXT)
    router.callback_query.register(on_show_name, FileNeed.show_name, step(F.action == "name"))
    router.callback_query.register(on_support, FileNeed.similar, step(F.action == "support"))
    router.callback_query.register(on_file_mine, FileNeed.similar, step(F.action == "mine"))
    router.callback_query.register(on_edit, FileNeed.summary, step(F.action == "edit"))
    router.callback_query.register(on_send, FileNeed.summary, step(F.action == "send"))
    router.callback_query.register(on_cancel, step(F.action == "cancel"))
    for waiting in (FileNeed.similar, FileNeed.summary):
        router.message.register(on_album_rest, waiting, F.photo, F.media_group_id)
    # Steps answered with a button: typed text (not a command) or anything else gets the hint.
    for waiting in BUTTON_STEPS:
        router.message.register(on_use_buttons, waiting, TEXT_INPUT)
        router.message.register(on_use_buttons, waiting, NOT_TEXT)
    return router


def _keys() -> set[str]:
    return {f"needs-file-field-{field.replace('_', '-')}" for field in FIELDS}


capability = Capability(
    name="needs_filing",
    setup=setup,
    commands=(
        CommandSpec("need"),
        CommandSpec("file_need", SECRETARIAT, HomeGroup.SECRETARIAT),
    ),
    keys=_keys,
    public_callbacks=(CDNeedFile,),
)
