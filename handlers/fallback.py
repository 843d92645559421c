"""Last in line: stale or forged buttons and messages nobody else understood."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import StaleButton
from bot.capabilities import Capability
from bot.texts import t


async def on_stale_button(query: CallbackQuery) -> None:
    raise StaleButton()


async def on_unknown(message: Message, state: FSMContext) -> None:
    in_dialog = await state.get_state() is not None
    if message.text and message.text.startswith("/"):
        key = "unknown-command-in-dialog" if in_dialog else "unknown-command"
    else:
        key = "unknown-message-in-dialog" if in_dialog else "unknown-message"
    await message.answer(t(key))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="fallback")
    router.callback_query.register(on_stale_button)
    router.message.register(on_unknown)
    return router


capability = Capability(name="fallback", setup=setup)
