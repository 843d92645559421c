"""The buttons every meetings capability shares: a meeting's card and the panels it opens, the
answer buttons of a notice, "I'm here". Each panel belongs to one capability
(`handlers/meetings/…`), which takes the presses of its panel name and checks on the server that
the presser may use it."""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.services.meetings.access import Viewer
from bot.texts import plain
from models.base import utcnow
from models.meetings import Answer, Meeting, MeetingKind, MeetingStatus

# The panels a card opens, and the capability that answers each.
PANEL_EDIT = "edit"  # convening: the organizer's draft, publishing, moving, cancelling
PANEL_ANSWERS = "answers"  # answers: by person and organization, who is silent, the forecast
PANEL_DELEGATES = "delegates"  # answers: a member organization names its delegates
PANEL_AGENDA = "agenda"  # agenda: proposals by the invited, accepted or declined
PANEL_ATTENDANCE = "attendance"  # minutes: who is here, adjusted by the secretary
PANEL_MINUTES = "minutes"  # minutes: the minutes and the decisions
PANEL_VOTES = "votes"  # conference votes: by organization, the election of the council
PANELS = (
    PANEL_EDIT,
    PANEL_ANSWERS,
    PANEL_DELEGATES,
    PANEL_AGENDA,
    PANEL_ATTENDANCE,
    PANEL_MINUTES,
    PANEL_VOTES,
)
ANSWERS = (Answer.YES, Answer.NO, Answer.MAYBE)


class CDMeeting(BotCallback, prefix="mt"):
    """Open a meeting's card (from a list or a notice)."""

    id: int


class CDMeetingPanel(BotCallback, prefix="mtp"):
    """Open one of a meeting's panels from its card."""

    id: int
    panel: str


class CDMeetingAnswer(BotCallback, prefix="mta"):
    """An invitee's answer: yes, no, maybe."""

    id: int
    answer: str


class CDMeetingHere(BotCallback, prefix="mth"):
    """An invitee registers their attendance during the meeting."""

    id: int


def answer_label(answer: Answer, chosen: bool) -> str:
    """An answer button's label; the chosen one is marked (• ✅ I'll come •)."""
    label = plain(f"meetings-btn-{answer.value}")
    return plain("meetings-answers-btn-chosen", label=label) if chosen else label


def notice_buttons(meeting: Meeting, invited: bool) -> list[list[dict[str, str]]]:
    """Under a notice: the answers for the invited, and the card for everyone."""
    rows: list[list[dict[str, str]]] = []
    if invited:
        rows.append(
            [
                {
                    "text_key": f"meetings-btn-{answer.value}",
                    "data": CDMeetingAnswer(id=meeting.id, answer=answer.value).pack(),
                }
                for answer in ANSWERS
            ]
        )
    rows.append([{"text_key": "meetings-btn-open", "data": CDMeeting(id=meeting.id).pack()}])
    return rows


def is_on(meeting: Meeting, now: datetime | None = None) -> bool:
    """Whether the meeting is taking place now (the window for "I'm here")."""
    now = now or utcnow()
    return meeting.status == MeetingStatus.PUBLISHED and meeting.starts_at <= now < meeting.ends_at


def visible_panels(meeting: Meeting, viewer: Viewer) -> list[str]:
    """The panels this person may open from the card, in the card's order."""
    closed = meeting.status in (MeetingStatus.MINUTED, MeetingStatus.CANCELLED)
    panels: list[str] = []
    if viewer.organizer and meeting.status != MeetingStatus.CANCELLED:
        panels.append(PANEL_EDIT)
    if viewer.secretary and meeting.status != MeetingStatus.DRAFT:
        panels.append(PANEL_ANSWERS)
    if (
        meeting.kind == MeetingKind.CONFERENCE
        and viewer.organizations
        and meeting.status == MeetingStatus.PUBLISHED
    ):
        panels.append(PANEL_DELEGATES)
    if (viewer.organizer or viewer.invited) and not closed:
        panels.append(PANEL_AGENDA)
    if viewer.secretary and meeting.status == MeetingStatus.PUBLISHED:
        panels.append(PANEL_ATTENDANCE)
    # Published minutes are for everyone who sees the meeting (read only); before that the
    # panel is the secretary's, to record the decisions and publish.
    if meeting.status == MeetingStatus.MINUTED or (
        viewer.secretary and meeting.status == MeetingStatus.PUBLISHED
    ):
        panels.append(PANEL_MINUTES)
    if viewer.organizer and meeting.status == MeetingStatus.PUBLISHED:
        panels.append(PANEL_VOTES)
    return panels


def card_keyboard(
    meeting: Meeting, viewer: Viewer, now: datetime | None = None
) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton]] = []
    if viewer.invited and meeting.status == MeetingStatus.PUBLISHED:
        if is_on(meeting, now):
            rows.append(
                [
                    InlineKeyboardButton(
                        text=plain("meetings-btn-here"),
                        callback_data=CDMeetingHere(id=meeting.id).pack(),
                    )
                ]
            )
        chosen = viewer.invitee.answer if viewer.invitee is not None else Answer.NONE
        rows.append(
            [
                InlineKeyboardButton(
                    text=answer_label(answer, answer == chosen),
                    callback_data=CDMeetingAnswer(id=meeting.id, answer=answer.value).pack(),
                )
                for answer in ANSWERS
            ]
        )
    for panel in visible_panels(meeting, viewer):
        rows.append(
            [
                InlineKeyboardButton(
                    text=plain(f"meetings-panel-{panel}"),
                    callback_data=CDMeetingPanel(id=meeting.id, panel=panel).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
