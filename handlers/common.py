"""Commands that work from anywhere: /help and /cancel."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands import available
from bot.keyboards.common import district_keyboard
from bot.middlewares.i18n import LANGUAGE_KEY
from bot.services import districts
from bot.texts import SafeHTML, t
from models import User

router = Router(name="common")


def help_text(user: User | None) -> SafeHTML:
    """The commands this person can use now, one per line."""
    registered = user is not None and user.is_registered
    roles = user.role_set if user is not None else frozenset()
    lines = [t("help-title")]
    lines += [
        f"/{spec.name} — {t(spec.description_key)}"
        for spec in available(roles, registered=registered)
    ]
    if not registered:
        lines += ["", t("help-register-hint")]
    return SafeHTML("\n".join(lines))


async def turn_district_page(
    query: CallbackQuery, session: AsyncSession, page_number: int, none_label: str
) -> None:
    """Show another page of a district picker (the same in every dialog that has one)."""
    page = await districts.list_districts(session, page_number)
    markup = district_keyboard(page, none_label)
    await query.answer()
    # Telegram refuses an edit that changes nothing (the page counter button is pressable).
    if query.message.reply_markup != markup:
        await query.message.edit_reply_markup(reply_markup=markup)


@router.message(Command("help"))
async def cmd_help(message: Message, user: User | None) -> None:
    await message.answer(help_text(user))


@router.message(Command("cancel"))
async def cmd_cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(t("cancel-nothing"))
        return
    # Keep a guest's language choice: it is not personal data and they will likely return.
    language = (await state.get_data()).get(LANGUAGE_KEY)
    await state.clear()
    if language:
        await state.update_data({LANGUAGE_KEY: language})
    await message.answer(t("cancel-done"))
