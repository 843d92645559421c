"""A meeting's card (/meeting_N, or the 📅 button of a notice or a list): what, which body, its
status, when (in the Assembly's time), where, the accepted agenda with its speakers, the decision
that convened it, the viewer's own answer, and for organizers the answers so far. Its buttons are
the shared `card_keyboard`: each panel belongs to its capability. /meeting_N_files sends the
agenda's documents."""

from __future__ import annotations

import re
from datetime import datetime

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import DB_INT_MAX, callback_message
from bot.config import Settings
from bot.keyboards.bodies import body_title
from bot.keyboards.meetings import CDMeeting, card_keyboard
from bot.services.meetings import files, listing
from bot.services.meetings.listing import Card
from bot.texts import SafeHTML, clip, plain, t, tn
from models import User
from models.meetings import Answer, DecisionSource, Meeting, MeetingKind, MeetingStatus

MEETING_COMMAND = re.compile(r"^/meeting_(\d{1,10})(?:@\w+)?$")
FILES_COMMAND = re.compile(r"^/meeting_(\d{1,10})_files(?:@\w+)?$")
# Room for the card in one message (Telegram's limit is 4096): the agenda is cut to fit.
ROOM = 3700
MOSCOW = "Europe/Moscow"


def zone_text(timezone: str) -> str:
    return plain("meetings-convene-zone-moscow") if timezone == MOSCOW else timezone


def when_text(starts_at: datetime, ends_at: datetime, timezone: str) -> str:
    """25.11.2026 18:00–21:00, or both ends in full when the meeting runs past midnight."""
    start = dates.shown_datetime(starts_at, timezone)
    if dates.local_day(starts_at, timezone) == dates.local_day(ends_at, timezone):
        end_local = dates.local(ends_at, timezone)
        end = dates.shown_time_of_day(end_local.hour * 60 + end_local.minute)
    else:
        end = dates.shown_datetime(ends_at, timezone)
    return f"{start}–{end}"


def kind_text(meeting: Meeting) -> str:
    return plain(f"meetings-kind-{meeting.kind.value}")


def _decision(card: Card, timezone: str) -> SafeHTML | None:
    meeting = card.meeting
    if meeting.kind != MeetingKind.CONFERENCE:
        return None
    if meeting.decided_at is not None:
        day = dates.shown_date(meeting.decided_at, timezone)
        if meeting.decision_source == DecisionSource.VOTE and meeting.decision_vote_id:
            return t("meetings-convene-card-decision-vote", vote=meeting.decision_vote_id, date=day)
        return t(
            "meetings-convene-card-decision-presidium",
            text=clip(meeting.decision_text or "", 300),
            date=day,
            who=clip(card.decided_by or "—", 60),
        )
    if card.decision_vote is not None:
        return t(
            "meetings-convene-card-decision-pending",
            vote=card.decision_vote.id,
            status=plain(f"votes-status-{card.decision_vote.status.value}"),
        )
    return t("meetings-convene-card-decision-none")


def agenda_lines(agenda: list[listing.AgendaLine], room: int) -> list[str]:
    """The accepted agenda, numbered, with speakers and how many documents; cut to `room`."""
    if not agenda:
        return [t("meetings-convene-card-agenda-empty")]
    lines: list[str] = [t("meetings-convene-card-agenda")]
    used = len(lines[0])
    for position, line in enumerate(agenda, start=1):
        title = clip(line.item.title, 150)
        if line.speaker:
            text = t(
                "meetings-convene-card-item-speaker",
                position=position,
                title=title,
                speaker=clip(line.speaker, 60),
            )
        else:
            text = t("meetings-convene-card-item", position=position, title=title)
        if line.files:
            text = SafeHTML(f"{text} 📎{line.files}")
        if used + len(text) > room:
            lines.append(tn("meetings-convene-card-more", len(agenda) - position + 1))
            break
        lines.append(text)
        used += len(text) + 1
    return lines


def card_text(card: Card, timezone: str) -> SafeHTML:
    meeting = card.meeting
    lines: list[str] = [
        t(
            "meetings-convene-card-head",
            kind=kind_text(meeting),
            number=meeting.id,
            title=clip(meeting.title, 200),
        )
    ]
    if card.body is not None:
        lines.append(t("meetings-convene-card-body", body=body_title(card.body)))
    lines.append(
        t("meetings-convene-card-status", status=plain(f"meetings-status-{meeting.status.value}"))
    )
    lines.append(
        t(
            "meetings-convene-card-when",
            when=when_text(meeting.starts_at, meeting.ends_at, timezone),
            zone=zone_text(timezone),
        )
    )
    lines.append(t("meetings-convene-card-place", place=clip(meeting.place or "—", 300)))
    if card.district is not None:
        lines.append(t("meetings-convene-card-district", district=card.district.name))
    if meeting.agenda_deadline is not None and meeting.status == MeetingStatus.PUBLISHED:
        deadline = dates.shown_datetime(meeting.agenda_deadline, timezone)
        lines.append(t("meetings-convene-card-deadline", deadline=deadline))
    if meeting.votes_planned:
        lines.append(t("meetings-convene-card-votes"))
    decision = _decision(card, timezone)
    if decision is not None:
        lines.append(decision)
    if meeting.status == MeetingStatus.MINUTED and meeting.minutes_at is not None:
        lines.append(
            t("meetings-convene-card-minuted", date=dates.shown_date(meeting.minutes_at, timezone))
        )
    if meeting.status == MeetingStatus.CANCELLED:
        lines.append(
            t(
                "meetings-convene-card-cancelled",
                date=dates.shown_date(meeting.cancelled_at or meeting.starts_at, timezone),
                reason=clip(meeting.cancel_reason or "—", 300),
            )
        )
    invitee = card.viewer.invitee
    # While the meeting is announced its answer buttons mark the answer; afterwards what counts
    # is whether one came.
    if invitee is not None and meeting.status == MeetingStatus.MINUTED and invitee.present:
        lines.append(t("meetings-convene-card-present"))
    if card.answers is not None and meeting.status != MeetingStatus.DRAFT:
        lines.append(
            t(
                "meetings-convene-card-answers",
                yes=card.answers[Answer.YES],
                no=card.answers[Answer.NO],
                maybe=card.answers[Answer.MAYBE],
                none=card.answers[Answer.NONE],
            )
        )
    used = sum(len(line) + 1 for line in lines)
    lines.append("")
    lines += agenda_lines(card.agenda, ROOM - used)
    if any(line.files for line in card.agenda):
        lines.append(t("meetings-convene-card-files", number=meeting.id))
    return SafeHTML("\n".join(lines))


async def send_card(
    message: Message, session: AsyncSession, user: User | None, meeting_id: int, settings: Settings
) -> None:
    """The card as a new message, for a person who may see the meeting."""
    card = await listing.card(session, user, meeting_id)
    await message.answer(
        card_text(card, settings.timezone), reply_markup=card_keyboard(card.meeting, card.viewer)
    )


def _number(pattern: re.Pattern[str], text: str | None) -> int:
    match = pattern.match(text or "")
    return int(match.group(1)) if match else 0


async def on_meeting_command(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    number = _number(MEETING_COMMAND, message.text)
    if not 0 < number <= DB_INT_MAX:
        await message.answer(t("meetings-not-found", number=number))
        return
    await send_card(message, session, user, number, settings)


async def on_card(
    query: CallbackQuery,
    callback_data: CDMeeting,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    await send_card(callback_message(query), session, user, callback_data.id, settings)


async def on_files_command(message: Message, session: AsyncSession, user: User | None) -> None:
    """The documents of the agenda, item by item, for a person who may see the meeting."""
    number = _number(FILES_COMMAND, message.text)
    if not 0 < number <= DB_INT_MAX:
        await message.answer(t("meetings-not-found", number=number))
        return
    meeting, found = await files.of_meeting(session, user, number)
    if not found:
        await message.answer(t("meetings-convene-files-none", number=meeting.id))
        return
    accepted = [line.item.id for line in await listing.agenda(session, meeting)]
    for item, documents in found:
        position = accepted.index(item.id) + 1 if item.id in accepted else 0
        caption = t(
            "meetings-convene-files-caption", position=position, title=clip(item.title, 900)
        )
        for document in documents:
            if document.kind == "photo":
                await message.answer_photo(document.file_id, caption=caption)
            else:
                await message.answer_document(document.file_id, caption=caption)


def register(router: Router) -> None:
    router.message.register(on_meeting_command, F.text.regexp(MEETING_COMMAND))
    router.message.register(on_files_command, F.text.regexp(FILES_COMMAND))
    router.callback_query.register(on_card, CDMeeting.filter())
