"""The Delegates panel of a conference's card: a representative of a member organization sees
its representatives, ticks who goes as its delegates and saves (its head does; any
representative when it has no head). Someone representing several organizations picks one
first. Registered on the answers' router (`answers.py`); the rules are in
bot/services/meetings/delegates.py."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import callback_message, redraw, toast
from bot.config import Settings
from bot.keyboards.meetings import PANEL_DELEGATES, CDMeetingPanel, notice_buttons
from bot.keyboards.meetings_answers import (
    CDDelegates,
    delegates_keyboard,
    mask_of,
    organizations_keyboard,
    ticked,
)
from bot.services.errors import NotAllowed
from bot.services.meetings import delegates
from bot.services.meetings.delegates import MAX_SHOWN, Delegation
from bot.texts import SafeHTML, t
from models import User


def delegation_text(found: Delegation, settings: Settings) -> SafeHTML:
    names = {person.id: person.name or "—" for person in found.representatives}
    lines = [
        t(
            "meetings-delegates-title",
            organization=found.organization.name,
            number=found.meeting.id,
            title=found.meeting.title,
            starts=dates.shown_datetime(found.meeting.starts_at, settings.timezone),
        ),
        t(
            "meetings-delegates-current",
            names=", ".join(names.get(user_id, "—") for user_id in found.delegates) or "—",
        ),
    ]
    if not found.named:
        lines.append(t("meetings-delegates-default"))
    if found.can_name:
        lines.append(t("meetings-delegates-hint"))
        if len(found.representatives) > MAX_SHOWN:
            lines.append(t("meetings-delegates-too-many", max=MAX_SHOWN))
    else:
        lines.append(t("meetings-delegates-head-names"))
    return SafeHTML("\n\n".join(lines))


def _view(
    found: Delegation, settings: Settings, mask: int
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    return delegation_text(found, settings), delegates_keyboard(found, mask)


async def on_panel(
    query: CallbackQuery,
    callback_data: CDMeetingPanel,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    organizations = await delegates.choices(session, user, callback_data.id)
    message = callback_message(query)
    if len(organizations) > 1:
        await message.answer(
            t("meetings-delegates-choose"),
            reply_markup=organizations_keyboard(callback_data.id, organizations),
        )
        return
    found = await delegates.delegation(session, user, callback_data.id, organizations[0].id)
    text, markup = _view(found, settings, mask_of(found))
    await message.answer(text, reply_markup=markup)


async def on_back(
    query: CallbackQuery, callback_data: CDDelegates, session: AsyncSession, user: User | None
) -> None:
    """Back to the choice of organization (someone representing several)."""
    organizations = await delegates.choices(session, user, callback_data.id)
    markup = organizations_keyboard(callback_data.id, organizations)
    await redraw(callback_message(query), t("meetings-delegates-choose"), markup)


async def on_open(
    query: CallbackQuery,
    callback_data: CDDelegates,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    found = await delegates.delegation(session, user, callback_data.id, callback_data.org)
    text, markup = _view(found, settings, mask_of(found))
    await redraw(callback_message(query), text, markup)


async def on_tick(
    query: CallbackQuery,
    callback_data: CDDelegates,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    """Tick or untick a representative: only the message changes until the choice is saved."""
    found = await delegates.delegation(session, user, callback_data.id, callback_data.org)
    if not found.can_name:
        raise NotAllowed("meetings-delegates-head-only")
    mask = callback_data.mask
    if 0 <= callback_data.i < min(len(found.representatives), MAX_SHOWN):
        mask ^= 1 << callback_data.i
    text, markup = _view(found, settings, mask)
    await redraw(callback_message(query), text, markup)


async def on_save(
    query: CallbackQuery,
    callback_data: CDDelegates,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    found = await delegates.delegation(session, user, callback_data.id, callback_data.org)
    changed = await delegates.set_delegates(
        session,
        user,
        callback_data.id,
        callback_data.org,
        ticked(found, callback_data.mask),
        timezone=settings.timezone,
        buttons=notice_buttons,
    )
    toast(callback_answer, "meetings-delegates-saved", n=len(changed.delegates))
    found = await delegates.delegation(session, user, callback_data.id, callback_data.org)
    text, markup = _view(found, settings, mask_of(found))
    await redraw(callback_message(query), text, markup)


def register(router: Router) -> None:
    router.callback_query.register(on_panel, CDMeetingPanel.filter(F.panel == PANEL_DELEGATES))
    router.callback_query.register(on_open, CDDelegates.filter(F.act == "org"))
    router.callback_query.register(on_tick, CDDelegates.filter(F.act == "tog"))
    router.callback_query.register(on_save, CDDelegates.filter(F.act == "save"))
    router.callback_query.register(on_back, CDDelegates.filter(F.act == "back"))
