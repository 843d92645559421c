"""/settings: which topics reach a person, and their quiet hours."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.keyboards.preferences import CDQuiet, CDTopic, settings_keyboard
from bot.services import preferences
from bot.services.permissions import require_registered
from bot.texts import plain, t
from models import Topic, User

router = Router(name="preferences")


@router.message(Command("settings"))
async def cmd_settings(message: Message, user: User | None) -> None:
    user = require_registered(user)
    await message.answer(t("preferences-title"), reply_markup=settings_keyboard(user))


@router.callback_query(CDTopic.filter(F.topic.in_([topic.value for topic in Topic])))
async def on_topic(
    query: CallbackQuery, callback_data: CDTopic, session: AsyncSession, user: User | None
) -> None:
    user = require_registered(user)
    enabled = await preferences.toggle_topic(session, user, Topic(callback_data.topic))
    topic_name = plain(f"preferences-topic-{callback_data.topic}")
    await query.answer(plain("preferences-on" if enabled else "preferences-off", topic=topic_name))
    await query.message.edit_reply_markup(reply_markup=settings_keyboard(user))


@router.callback_query(CDQuiet.filter(F.preset.in_(range(len(preferences.QUIET_PRESETS)))))
async def on_quiet(
    query: CallbackQuery, callback_data: CDQuiet, session: AsyncSession, user: User | None
) -> None:
    user = require_registered(user)
    before = settings_keyboard(user)
    await preferences.set_quiet_hours(
        session, user, preferences.QUIET_PRESETS[callback_data.preset]
    )
    await query.answer(plain("preferences-saved"))
    after = settings_keyboard(user)
    if after != before:
        await query.message.edit_reply_markup(reply_markup=after)
