"""Last in line: stale or forged buttons and messages nobody else understood."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.texts import plain, t

router = Router(name="fallback")


@router.callback_query()
async def on_stale_button(query: CallbackQuery) -> None:
    await query.answer(plain("error-stale-button"), show_alert=True)


@router.message()
async def on_unknown(message: Message) -> None:
    await message.answer(t("unknown-message"))
