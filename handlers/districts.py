"""Districts for the Secretariat and admins: the list with cards (rename, describe the borders,
designate the base organization), adding one, importing a CSV file."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import alert, callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.dialogs import expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.districts import (
    CDDistrictBase,
    CDDistrictCard,
    CDDistrictDescribe,
    CDDistrictOrgs,
    CDDistrictRename,
    CDDistricts,
    district_card_keyboard,
    districts_keyboard,
    organizations_keyboard,
)
from bot.services import districts
from bot.services.districts import DistrictCard
from bot.services.permissions import SECRETARIAT
from bot.texts import SafeHTML, clip, t, tn
from handlers.bodies import show
from models import User

CSV_MAX_BYTES = 256 * 1024
PER_PAGE = 8


class DistrictImport(StatesGroup):
    file = State()


class DistrictEdit(StatesGroup):
    name = State()
    description = State()


def card_text(card: DistrictCard) -> SafeHTML:
    district, base = card.district, card.base_organization
    description = (
        clip(district.description, 2400) if district.description else t("districts-no-description")
    )
    base_name = clip(base.name, 400) if base is not None else t("districts-no-base")
    return t(
        "districts-card",
        number=district.number,
        name=clip(district.name, 400),
        description=description,
        base=base_name,
    )


async def list_view(
    session: AsyncSession, user: User | None, page: int
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    result = await districts.manage_page(session, user, page, PER_PAGE)
    if not result.total:
        return t("districts-empty"), None
    text = SafeHTML(tn("districts-count", result.total) + "\n" + t("districts-choose"))
    return text, districts_keyboard(result)


async def cmd_districts(message: Message, session: AsyncSession, user: User | None) -> None:
    text, markup = await list_view(session, user, 0)
    await message.answer(text, reply_markup=markup)


async def on_districts_page(
    query: CallbackQuery, callback_data: CDDistricts, session: AsyncSession, user: User | None
) -> None:
    text, markup = await list_view(session, user, callback_data.page)
    await show(query, text, markup)


async def on_district_card(
    query: CallbackQuery, callback_data: CDDistrictCard, session: AsyncSession, user: User | None
) -> None:
    card = await districts.card(session, user, callback_data.id)
    await show(query, card_text(card), district_card_keyboard(card.district, callback_data.page))


async def on_edit(
    query: CallbackQuery,
    callback_data: CDDistrictRename | CDDistrictDescribe,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    card = await districts.card(session, user, callback_data.id)
    district = card.district
    if isinstance(callback_data, CDDistrictRename):
        await state.set_state(DistrictEdit.name)
        prompt = t("districts-ask-name", number=district.number, max=districts.NAME_MAX)
    else:
        await state.set_state(DistrictEdit.description)
        prompt = t(
            "districts-ask-description", number=district.number, max=districts.DESCRIPTION_MAX
        )
    await state.set_data({"district_id": district.id})
    await callback_message(query).answer(prompt)


async def on_edit_text(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    district_id = int((await state.get_data()).get("district_id") or 0)
    # A refused text (a taken name, too long) keeps the dialog on this step.
    if await state.get_state() == DistrictEdit.name.state:
        district = await districts.rename_district(session, user, district_id, message.text or "")
        done = t("districts-renamed", number=district.number, name=clip(district.name, 400))
    else:
        district = await districts.describe_district(session, user, district_id, message.text or "")
        done = t("districts-described", number=district.number)
    await state.clear()
    card = await districts.card(session, user, district.id)
    await message.answer(done)
    await message.answer(card_text(card), reply_markup=district_card_keyboard(card.district))


async def on_edit_not_text(message: Message) -> None:
    await expect_text(message)


async def on_district_orgs(
    query: CallbackQuery,
    callback_data: CDDistrictOrgs,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    page = await districts.approved_organizations(
        session, user, callback_data.id, callback_data.page, PER_PAGE
    )
    if not page.total:
        alert(callback_answer, "districts-no-organizations")
        return
    card = await districts.card(session, user, callback_data.id)
    text = t(
        "districts-choose-base", number=card.district.number, name=clip(card.district.name, 400)
    )
    await show(query, text, organizations_keyboard(card.district, page))


async def on_district_base(
    query: CallbackQuery,
    callback_data: CDDistrictBase,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    await districts.set_base_organization(session, user, callback_data.id, callback_data.org)
    card = await districts.card(session, user, callback_data.id)
    toast(callback_answer, "districts-base-set")
    await show(query, card_text(card), district_card_keyboard(card.district))


async def cmd_add_district(
    message: Message, command: CommandObject, session: AsyncSession, user: User | None
) -> None:
    districts.require_manager(user)
    number, _, name = (command.args or "").strip().partition(" ")
    if not number or not name.strip():
        await message.answer(t("districts-add-usage"))
        return
    district = await districts.add_district(session, user, number, name)
    await message.answer(t("districts-added", number=district.number, name=district.name))


async def cmd_import_districts(message: Message, state: FSMContext, user: User | None) -> None:
    districts.require_manager(user)
    await state.set_state(DistrictImport.file)
    await message.answer(t("districts-import-ask"))


async def on_import_file(
    message: Message, bot: Bot, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    districts.require_manager(user)
    document = message.document
    if document is None:  # the filter lets only documents in; this narrows the type
        return
    if document.file_size and document.file_size > CSV_MAX_BYTES:
        await message.answer(t("districts-import-too-big", max_kb=CSV_MAX_BYTES // 1024))
        return
    data = await bot.download(document)
    raw = data.read() if data else b""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1251", errors="replace")  # Excel in Russian saves CSV in cp1251
    result = await districts.import_csv(session, user, text)
    await state.clear()
    lines = [
        tn("districts-import-added", result.added),
        tn("districts-import-updated", result.updated),
    ]
    lines += [
        t("districts-import-error", line=line, reason=t(error.key, **error.params))
        for line, error in result.errors[:20]
    ]
    await message.answer(SafeHTML("\n".join(lines)))


async def on_import_not_file(message: Message) -> None:
    await message.answer(t("districts-import-ask"))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="districts")
    router.message.register(cmd_districts, Command("districts"))
    router.callback_query.register(on_districts_page, CDDistricts.filter())
    router.callback_query.register(on_district_card, CDDistrictCard.filter())
    router.callback_query.register(on_edit, CDDistrictDescribe.filter())
    router.callback_query.register(on_edit, CDDistrictRename.filter())
    router.message.register(on_edit_text, DistrictEdit.description, TEXT_INPUT)
    router.message.register(on_edit_text, DistrictEdit.name, TEXT_INPUT)
    router.message.register(on_edit_not_text, DistrictEdit.description, NOT_TEXT)
    router.message.register(on_edit_not_text, DistrictEdit.name, NOT_TEXT)
    router.callback_query.register(on_district_orgs, CDDistrictOrgs.filter())
    router.callback_query.register(on_district_base, CDDistrictBase.filter())
    router.message.register(cmd_add_district, Command("add_district"))
    router.message.register(cmd_import_districts, Command("import_districts"))
    router.message.register(on_import_file, DistrictImport.file, F.document)
    router.message.register(on_import_not_file, DistrictImport.file)
    return router


capability = Capability(
    name="districts",
    setup=setup,
    commands=(
        CommandSpec("districts", SECRETARIAT, HomeGroup.SECRETARIAT),
        CommandSpec("add_district", SECRETARIAT, HomeGroup.SECRETARIAT),
        CommandSpec("import_districts", SECRETARIAT, HomeGroup.SECRETARIAT),
    ),
)
