"""The moves every dialog makes, written once: a step answered with a button, a dialog left from
its Cancel button, and the hint for an answer of the wrong kind."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import StatesGroup
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.types import User as TelegramUser

from bot.callbacks import StaleButton
from bot.services.errors import NotAllowed
from bot.texts import t


def sender(message: Message) -> TelegramUser:
    """Who wrote the message. In a private chat there always is someone; a message without a
    sender (a channel post, an anonymous group admin) is not for the bot's dialogs."""
    if message.from_user is None:
        raise NotAllowed()
    return message.from_user


async def step_done(
    message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None
) -> Message:
    """The buttons of the step just answered go away (a second press cannot repeat it), and a
    new message says what happened or asks the next question."""
    await message.edit_reply_markup(reply_markup=None)
    return await message.answer(text, reply_markup=reply_markup)


async def abort(state: FSMContext, dialog: type[StatesGroup], message: Message, key: str) -> None:
    """Leave the dialog from its Cancel button: nothing is kept and the person is told. A Cancel
    on an old message, when that dialog is no longer going on, is a stale button."""
    if await state.get_state() not in dialog.__all_states_names__:
        raise StaleButton()
    await state.clear()
    await step_done(message, t(key))


async def expect_text(message: Message) -> None:
    """Something other than text (a photo, a sticker…) where a text answer is asked for."""
    await message.answer(t("dialog-send-text"))


async def expect_buttons(
    message: Message, reply_markup: InlineKeyboardMarkup | None = None
) -> None:
    """Typed text where the step is answered with a button."""
    await message.answer(t("dialog-use-buttons"), reply_markup=reply_markup)
