"""/settings: which topics reach a person, and their quiet hours."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import callback_message, toast
from bot.capabilities import Capability, CommandSpec
from bot.keyboards.preferences import CDQuiet, CDTopic, settings_keyboard
from bot.services import preferences
from bot.services.permissions import require_registered
from bot.services.preferences import MUTABLE_TOPICS
from bot.texts import plain, t
from models import Topic, User


async def cmd_settings(message: Message, user: User | None) -> None:
    user = require_registered(user)
    await message.answer(t("preferences-title"), reply_markup=settings_keyboard(user))


async def on_topic(
    query: CallbackQuery,
    callback_data: CDTopic,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    user = require_registered(user)
    enabled = await preferences.toggle_topic(session, user, Topic(callback_data.topic))
    topic_name = plain(f"preferences-topic-{callback_data.topic}")
    toast(callback_answer, "preferences-on" if enabled else "preferences-off", topic=topic_name)
    await callback_message(query).edit_reply_markup(reply_markup=settings_keyboard(user))


async def on_quiet(
    query: CallbackQuery,
    callback_data: CDQuiet,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    user = require_registered(user)
    before = settings_keyboard(user)
    await preferences.set_quiet_hours(
        session, user, preferences.QUIET_PRESETS[callback_data.preset]
    )
    toast(callback_answer, "preferences-saved")
    after = settings_keyboard(user)
    if after != before:
        await callback_message(query).edit_reply_markup(reply_markup=after)


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="preferences")
    router.message.register(cmd_settings, Command("settings"))
    router.callback_query.register(
        on_topic,
        CDTopic.filter(F.topic.in_([topic.value for topic in Topic])),
    )
    router.callback_query.register(
        on_quiet,
        CDQuiet.filter(F.preset.in_(range(len(preferences.QUIET_PRESETS)))),
    )
    return router


capability = Capability(
    name="preferences",
    setup=setup,
    commands=(CommandSpec("settings"),),
    keys=lambda: {f"preferences-topic-{topic.value}" for topic in MUTABLE_TOPICS},
    public_callbacks=(CDTopic, CDQuiet),
)
