"""The .ics file every meeting notice carries (RFC 5545, written with `icalendar`): one event
whose UID stays the meeting's, so a calendar replaces it on a change (a higher SEQUENCE) and
removes it on a cancellation (METHOD:CANCEL)."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

from models.base import utcnow
from models.meetings import AgendaStatus, Meeting, MeetingStatus

PRODID = "-//Serpukhov Civil Society Assembly//Assembly Bot//RU"
UID_DOMAIN = "assembly-bot"


def uid(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}@{UID_DOMAIN}"


def file_name(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}.ics"


def ics(
    meeting: Meeting,
    *,
    description: str = "",
    location: str | None = None,
    now: datetime | None = None,
) -> bytes:
    """The meeting as a calendar event; cancelled when the meeting is. `description` is plain
    text (the agenda, written by the caller in the recipient's language)."""
    cancelled = meeting.status == MeetingStatus.CANCELLED
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", now or utcnow())
    # In UTC: a time with a bare offset is written as floating local time, which a calendar
    # would put at the reader's own clock.
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", meeting.ends_at.astimezone(UTC))
    event.add("summary", meeting.title)
    place = location if location is not None else meeting.place
    if place:
        event.add("location", place)
    if description:
        event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def agenda_lines(meeting: Meeting) -> list[str]:
    """The accepted agenda items as plain lines, numbered (needs `meeting.agenda` loaded)."""
    items = [item for item in meeting.agenda if item.status == AgendaStatus.ACCEPTED]
    return [f"{index}. {item.title}" for index, item in enumerate(items, start=1)]
