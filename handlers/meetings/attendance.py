"""Attendance, part of the minutes capability (handlers/meetings/minutes.py): "I'm here" on the
card during the meeting, and the secretary's panel — who is present, marking those who
answered "I'll come" in one step, and a toggle per person. The rules are in
bot/services/meetings/attendance.py."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import callback_message, redraw, toast
from bot.config import Settings
from bot.keyboards.meetings import PANEL_ATTENDANCE, CDMeetingHere, CDMeetingPanel
from bot.keyboards.meetings_minutes import CDAttendance, attendance_keyboard
from bot.services.meetings import attendance
from bot.texts import SafeHTML, clip, t, tn
from handlers.meetings.agenda import heading, on_the_clock
from models import User
from models.meetings import Answer, MeetingStatus, Presence

# What each answer and each way of registering reads as, beside a name.
ANSWER_KEYS = {
    Answer.YES: "meetings-attendance-answer-yes",
    Answer.NO: "meetings-attendance-answer-no",
    Answer.MAYBE: "meetings-attendance-answer-maybe",
    Answer.NONE: "meetings-attendance-answer-none",
}
SOURCE_KEYS = {
    Presence.SELF: "meetings-attendance-by-self",
    Presence.SECRETARY: "meetings-attendance-by-secretary",
}


def roll_text(found: attendance.Roll, timezone: str) -> SafeHTML:
    meeting = found.meeting
    lines = [
        t("meetings-attendance-title", **heading(meeting)),
        tn("meetings-attendance-total", found.page.total, present=found.present),
    ]
    if not found.editable and meeting.status == MeetingStatus.PUBLISHED:
        lines.append(
            t(
                "meetings-attendance-from",
                starts=dates.shown_datetime(meeting.starts_at, timezone),
            )
        )
    for row in found.page.items:
        person = row.invitee
        if person.present and person.present_source is not None:
            lines.append(
                t(
                    "meetings-attendance-line-present",
                    name=clip(row.name, 60),
                    how=t(SOURCE_KEYS[person.present_source]),
                )
            )
        else:
            lines.append(
                t(
                    "meetings-attendance-line-absent",
                    name=clip(row.name, 60),
                    answer=t(ANSWER_KEYS[person.answer]),
                )
            )
    return SafeHTML("\n".join(lines))


async def _render(
    session: AsyncSession, user: User | None, meeting_id: int, page: int, timezone: str
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    found = await attendance.roll(session, user, meeting_id, page)
    return roll_text(found, timezone), attendance_keyboard(found)


async def on_panel(
    query: CallbackQuery,
    callback_data: CDMeetingPanel,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    text, markup = await _render(session, user, callback_data.id, 0, settings.timezone)
    await callback_message(query).answer(text, reply_markup=markup)


async def on_page(
    query: CallbackQuery,
    callback_data: CDAttendance,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    text, markup = await _render(
        session, user, callback_data.id, callback_data.page, settings.timezone
    )
    await redraw(callback_message(query), text, markup)


async def on_mark(
    query: CallbackQuery,
    callback_data: CDAttendance,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    with on_the_clock(settings.timezone):
        if callback_data.action == "mark":
            marked = await attendance.mark_answered(session, user, callback_data.id)
            callback_answer.text = tn("meetings-attendance-marked", marked)
        else:
            row = await attendance.toggle(session, user, callback_data.id, callback_data.item)
            toast(
                callback_answer,
                "meetings-attendance-toggled-on"
                if row.present
                else "meetings-attendance-toggled-off",
            )
    text, markup = await _render(
        session, user, callback_data.id, callback_data.page, settings.timezone
    )
    await redraw(callback_message(query), text, markup)


async def on_here(
    query: CallbackQuery,
    callback_data: CDMeetingHere,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    """An invitee registers during the meeting; outside its window they are told the window."""
    with on_the_clock(settings.timezone):
        _, changed = await attendance.here(session, user, callback_data.id)
    toast(callback_answer, "meetings-here-done" if changed else "meetings-here-already")


def register(router: Router) -> None:
    router.callback_query.register(on_panel, CDMeetingPanel.filter(F.panel == PANEL_ATTENDANCE))
    router.callback_query.register(on_page, CDAttendance.filter(F.action == "page"))
    router.callback_query.register(on_mark, CDAttendance.filter(F.action.in_({"mark", "toggle"})))
    router.callback_query.register(on_here, CDMeetingHere.filter())
