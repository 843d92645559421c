"""Convening and leading a meeting, the organizer's side: /new_meeting (`convene_dialog`), the
card (`card`), its PANEL_EDIT (`convene_panel`, `convene_agenda`); and the lists every
registered person has, /meetings (what is coming, and the drafts one organizes) and
/meetings_archive (what is over). The rules are in bot/services/meetings/."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import callback_message, redraw
from bot.capabilities import REGISTERED, Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.keyboards.meetings import CDMeeting
from bot.keyboards.meetings_convene import FIELDS, CDMeetingList, list_keyboard, short
from bot.services.meetings import listing
from bot.services.permissions import ORGANIZERS
from bot.texts import SafeHTML, clip, plain, t, tn
from handlers.meetings import card, convene_agenda, convene_dialog, convene_panel
from handlers.meetings.card import kind_text
from models import User

# The dialogs' steps come before the buttons and commands that take any message.
PARTS = (convene_dialog, convene_panel, convene_agenda, card)


async def list_view(
    session: AsyncSession, user: User | None, page_number: int, settings: Settings, *, archive: bool
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    if archive:
        page = await listing.archive(session, user, page_number)
    else:
        page = await listing.upcoming(session, user, page_number)
    if not page.items:
        return t(
            "meetings-convene-archive-empty" if archive else "meetings-convene-list-empty"
        ), None
    lines = [
        tn("meetings-convene-archive-title", page.total)
        if archive
        else tn("meetings-convene-list-title", page.total)
    ]
    buttons = []
    for meeting in page.items:
        lines.append(
            t(
                "meetings-convene-list-line",
                when=dates.shown_datetime(meeting.starts_at, settings.timezone),
                kind=kind_text(meeting),
                number=meeting.id,
                title=clip(meeting.title, 100),
                status=plain(f"meetings-status-{meeting.status.value}"),
            )
        )
        label = plain("meetings-convene-list-button", number=meeting.id, title=short(meeting.title))
        buttons.append((meeting.id, label))
    markup = list_keyboard(buttons, page.page, page.pages, archive=archive)
    return SafeHTML("\n\n".join(lines)), markup


async def cmd_meetings(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    text, markup = await list_view(session, user, 0, settings, archive=False)
    await message.answer(text, reply_markup=markup)


async def cmd_archive(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    text, markup = await list_view(session, user, 0, settings, archive=True)
    await message.answer(text, reply_markup=markup)


async def on_page(
    query: CallbackQuery,
    callback_data: CDMeetingList,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    text, markup = await list_view(
        session, user, callback_data.page, settings, archive=callback_data.archive
    )
    await redraw(callback_message(query), text, markup)


def setup() -> Router:
    router = Router(name="meetings_convene")
    for part in PARTS:
        part.register(router)
    router.message.register(cmd_meetings, Command("meetings"))
    router.message.register(cmd_archive, Command("meetings_archive"))
    router.callback_query.register(on_page, CDMeetingList.filter())
    return router


capability = Capability(
    name="meetings_convene",
    setup=setup,
    commands=(
        CommandSpec("meetings", REGISTERED),
        CommandSpec("meetings_archive", REGISTERED),
        CommandSpec("new_meeting", ORGANIZERS, HomeGroup.COUNCIL),
    ),
    keys=lambda: {f"meetings-convene-edit-{name}" for name in FIELDS},
    # The card shows only what `access.get_for_viewer` allows; the lists only what one may see.
    public_callbacks=(CDMeeting, CDMeetingList),
)
