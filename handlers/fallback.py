"""Last in line: stale or forged buttons and messages nobody else understood."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.texts import plain, t

router = Router(name="fallback")


@router.callback_query()
async def on_stale_button(query: CallbackQuery) -> None:
    await query.answer(plain("error-stale-button"), show_alert=True)


@router.message()
async def on_unknown(message: Message, state: FSMContext) -> None:
    in_dialog = await state.get_state() is not None
    if message.text and message.text.startswith("/"):
        key = "unknown-command-in-dialog" if in_dialog else "unknown-command"
    else:
        key = "unknown-message-in-dialog" if in_dialog else "unknown-message"
    await message.answer(t(key))
