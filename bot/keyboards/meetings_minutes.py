"""Buttons of a meeting's agenda, attendance and minutes panels and of their dialogs. What a
button offers is a hint: the services check every press again."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.paging import pager
from bot.keyboards.votes import CDRec
from bot.services.meetings.agenda import Agenda
from bot.services.meetings.attendance import Roll
from bot.services.meetings.minutes import Minutes
from bot.texts import plain

LABEL_MAX = 28
# Proposals and decisions with their own buttons, each (a keyboard stays short).
ROWS_MAX = 15


class CDAgenda(BotCallback, prefix="mmag"):
    """The agenda panel: show · propose (an invitee starts a proposal) · speak, nospeak (the
    proposal's last step) · accept, decline (item: a proposal; the organizer) · cancel."""

    action: str
    id: int
    item: int = 0


class CDAttendance(BotCallback, prefix="mmat"):
    """The attendance panel (the secretary): page · mark (everyone who answered "I'll come") ·
    toggle (item: a person)."""

    action: str
    id: int
    item: int = 0
    page: int = 0


class CDMinutes(BotCallback, prefix="mmin"):
    """The minutes panel: show · add, remove (item: a decision) · publish, send, cancel (the
    secretary's dialogs) · recommend (item: a decision; the presidium or the organizers) ·
    text, doc (the published minutes in full, the document)."""

    action: str
    id: int
    item: int = 0


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _row(text: str, data: BotCallback) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=text, callback_data=data.pack())]


# --- Agenda ----------------------------------------------------------------------------------


def agenda_keyboard(found: Agenda) -> InlineKeyboardMarkup:
    meeting_id = found.meeting.id
    rows: list[list[InlineKeyboardButton]] = []
    if found.may_propose:
        rows.append(
            _row(plain("meetings-agenda-btn-propose"), CDAgenda(action="propose", id=meeting_id))
        )
    for index, item in enumerate(found.pending[:ROWS_MAX], start=1):
        rows.append(
            [
                InlineKeyboardButton(
                    text=plain("meetings-agenda-btn-accept", n=index, title=_short(item.title)),
                    callback_data=CDAgenda(action="accept", id=meeting_id, item=item.id).pack(),
                ),
                InlineKeyboardButton(
                    text=plain("meetings-agenda-btn-decline", n=index),
                    callback_data=CDAgenda(action="decline", id=meeting_id, item=item.id).pack(),
                ),
            ]
        )
    rows.append(_row(plain("meetings-mm-btn-refresh"), CDAgenda(action="show", id=meeting_id)))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def speak_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _row(plain("meetings-agenda-btn-speak"), CDAgenda(action="speak", id=meeting_id)),
            _row(plain("meetings-agenda-btn-nospeak"), CDAgenda(action="nospeak", id=meeting_id)),
            _row(plain("meetings-mm-btn-cancel"), CDAgenda(action="cancel", id=meeting_id)),
        ]
    )


def agenda_cancel_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _row(plain("meetings-mm-btn-cancel"), CDAgenda(action="cancel", id=meeting_id))
        ]
    )


# --- Attendance ------------------------------------------------------------------------------


def attendance_keyboard(found: Roll) -> InlineKeyboardMarkup:
    meeting_id = found.meeting.id
    page = found.page.page
    rows: list[list[InlineKeyboardButton]] = []
    if found.editable:
        rows.append(
            _row(
                plain("meetings-attendance-btn-mark"),
                CDAttendance(action="mark", id=meeting_id, page=page),
            )
        )
        for row in found.page.items:
            key = (
                "meetings-attendance-btn-present"
                if row.invitee.present
                else "meetings-attendance-btn-absent"
            )
            rows.append(
                _row(
                    plain(key, name=_short(row.name)),
                    CDAttendance(
                        action="toggle", id=meeting_id, item=row.invitee.user_id, page=page
                    ),
                )
            )
    nav = pager(
        page,
        found.page.pages,
        lambda number: CDAttendance(action="page", id=meeting_id, page=number).pack(),
    )
    if nav:
        rows.append(nav)
    rows.append(
        _row(
            plain("meetings-mm-btn-refresh"), CDAttendance(action="page", id=meeting_id, page=page)
        )
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


# --- Minutes ---------------------------------------------------------------------------------


def minutes_keyboard(found: Minutes) -> InlineKeyboardMarkup:
    meeting = found.meeting
    rows: list[list[InlineKeyboardButton]] = []
    if found.editable:
        rows.append(_row(plain("meetings-minutes-btn-add"), CDMinutes(action="add", id=meeting.id)))
        for index, decision in enumerate(found.decisions[:ROWS_MAX], start=1):
            rows.append(
                _row(
                    plain("meetings-minutes-btn-remove", n=index, text=_short(decision.text)),
                    CDMinutes(action="remove", id=meeting.id, item=decision.id),
                )
            )
        rows.append(
            _row(plain("meetings-minutes-btn-publish"), CDMinutes(action="publish", id=meeting.id))
        )
    if found.may_recommend:
        shown = 0
        for index, decision in enumerate(found.decisions, start=1):
            if decision.id in found.recommended or shown >= ROWS_MAX:
                continue
            shown += 1
            rows.append(
                _row(
                    plain("meetings-minutes-btn-recommend", n=index, text=_short(decision.text)),
                    CDMinutes(action="recommend", id=meeting.id, item=decision.id),
                )
            )
    if meeting.minutes_text:
        rows.append(
            _row(plain("meetings-minutes-btn-text"), CDMinutes(action="text", id=meeting.id))
        )
    if meeting.minutes_file_id:
        rows.append(_row(plain("meetings-minutes-btn-doc"), CDMinutes(action="doc", id=meeting.id)))
    rows.append(_row(plain("meetings-mm-btn-refresh"), CDMinutes(action="show", id=meeting.id)))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def minutes_cancel_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _row(plain("meetings-mm-btn-cancel"), CDMinutes(action="cancel", id=meeting_id))
        ]
    )


def minutes_send_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    """Under each part of the minutes received: publish what was sent, or leave."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _row(plain("meetings-minutes-btn-send"), CDMinutes(action="send", id=meeting_id)),
            _row(plain("meetings-mm-btn-cancel"), CDMinutes(action="cancel", id=meeting_id)),
        ]
    )


def recommendation_link(recommendation_id: int) -> InlineKeyboardMarkup:
    """Open the new recommendation's card in the registry."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _row(
                plain("meetings-minutes-btn-registry"),
                CDRec(action="show", id=recommendation_id, page=0),
            )
        ]
    )
