"""What works from anywhere: /cancel, and the district picker every dialog shares."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import callback_message, redraw_markup
from bot.capabilities import ANYONE, Capability, CommandSpec
from bot.keyboards.common import district_keyboard
from bot.middlewares.i18n import LANGUAGE_KEY
from bot.services import districts
from bot.texts import t


async def district_picker(
    session: AsyncSession, none_label: str = "onboarding-district-unknown"
) -> InlineKeyboardMarkup:
    """The first page of the district picker (the same in every dialog that asks for one); the
    last button, labelled by `none_label`, stands for "no district"."""
    return district_keyboard(await districts.list_districts(session), none_label)


async def turn_district_page(
    query: CallbackQuery, session: AsyncSession, page_number: int, none_label: str
) -> None:
    """Show another page of a district picker (the same in every dialog that has one)."""
    message = callback_message(query)
    page = await districts.list_districts(session, page_number)
    markup = district_keyboard(page, none_label)
    await redraw_markup(message, markup)


async def cmd_cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(t("cancel-nothing"))
        return
    # Keep a guest's language choice: it is not personal data and they will likely return.
    language = (await state.get_data()).get(LANGUAGE_KEY)
    await state.clear()
    if language:
        await state.update_data({LANGUAGE_KEY: language})
    # A dialog may have left a reply keyboard (the place step's "send my location"): it goes too.
    await message.answer(t("cancel-done"), reply_markup=ReplyKeyboardRemove())


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="common")
    router.message.register(cmd_cancel, Command("cancel"))
    return router


capability = Capability(
    name="common",
    setup=setup,
    commands=(CommandSpec("cancel", ANYONE, on_home=False),),
)
