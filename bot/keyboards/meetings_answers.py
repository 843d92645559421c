"""Buttons of the answers: the chosen answer marked under a notice or on the card, the
organizers' overview (totals, by person, by organization, who is silent) and a member
organization's delegates. What a button offers is a hint: the service checks every press."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.meetings import ANSWERS, CDMeeting, CDMeetingAnswer, answer_label
from bot.keyboards.paging import pager
from bot.services.meetings.delegates import MAX_SHOWN, Delegation
from bot.texts import plain
from models import Organization
from models.meetings import Answer, Meeting, MeetingKind

LABEL_MAX = 40

# The views of the overview.
VIEW_TOTALS = "sum"
VIEW_PEOPLE = "ppl"
VIEW_ORGANIZATIONS = "org"
VIEW_SILENT = "non"
VIEWS = (VIEW_TOTALS, VIEW_PEOPLE, VIEW_ORGANIZATIONS, VIEW_SILENT)


class CDAnswers(BotCallback, prefix="mans"):
    """A view of a meeting's answers (organizers, the Secretariat): sum · ppl · org · non."""

    id: int
    view: str
    page: int = 0


class CDDelegates(BotCallback, prefix="mdel"):
    """An organization's delegates at a conference: open (act "org"), tick a representative
    (act "tog", i: their place in the list), save the ticked (act "save") or go back to the
    choice of organization (act "back"); `mask` holds the ticks as bits, so the choice lives in
    the message itself."""

    id: int
    org: int
    act: str
    mask: int = 0
    i: int = 0


def _short(text: str, limit: int = LABEL_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _answer_of(data: str | None, meeting_id: int) -> Answer | None:
    if not data or not data.startswith(f"{CDMeetingAnswer.__prefix__}:"):
        return None
    try:
        parsed = CDMeetingAnswer.unpack(data)
    except (TypeError, ValueError):
        return None
    if parsed.id != meeting_id or parsed.answer not in {a.value for a in ANSWERS}:
        return None
    return Answer(parsed.answer)


def mark_answers(
    markup: InlineKeyboardMarkup | None, meeting_id: int, chosen: Answer
) -> InlineKeyboardMarkup | None:
    """The same keyboard with the chosen answer marked (a notice's, a reminder's or the card's);
    None when it has no answer buttons of this meeting."""
    if markup is None:
        return None
    found = False
    rows: list[list[InlineKeyboardButton]] = []
    for row in markup.inline_keyboard:
        new_row: list[InlineKeyboardButton] = []
        for button in row:
            answer = _answer_of(button.callback_data, meeting_id)
            if answer is not None:
                found = True
                button = button.model_copy(update={"text": answer_label(answer, answer == chosen)})
            new_row.append(button)
        rows.append(new_row)
    return InlineKeyboardMarkup(inline_keyboard=rows) if found else None


def _button(text: str, data: BotCallback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def overview_keyboard(meeting: Meeting, view: str, page: int, pages: int) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    nav = pager(page, pages, lambda p: CDAnswers(id=meeting.id, view=view, page=p).pack())
    if nav:
        rows.append(nav)
    shown = [VIEW_PEOPLE, VIEW_SILENT, VIEW_TOTALS]
    if meeting.kind == MeetingKind.CONFERENCE:
        shown.insert(1, VIEW_ORGANIZATIONS)
    choices = [
        _button(plain(f"meetings-answers-view-{name}"), CDAnswers(id=meeting.id, view=name))
        for name in shown
        if name != view
    ]
    rows += [choices[index : index + 2] for index in range(0, len(choices), 2)]
    rows.append([_button(plain("meetings-btn-open"), CDMeeting(id=meeting.id))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def organizations_keyboard(
    meeting_id: int, organizations: list[Organization]
) -> InlineKeyboardMarkup:
    """Which organization's delegates to open (a person representing several)."""
    rows = [
        [_button(_short(o.name), CDDelegates(id=meeting_id, org=o.id, act="org"))]
        for o in organizations[:MAX_SHOWN]
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def mask_of(found: Delegation) -> int:
    """The current delegates as ticks over the list of representatives."""
    chosen = set(found.delegates)
    mask = 0
    for index, person in enumerate(found.representatives[:MAX_SHOWN]):
        if person.id in chosen:
            mask |= 1 << index
    return mask


def ticked(found: Delegation, mask: int) -> list[int]:
    return [
        person.id
        for index, person in enumerate(found.representatives[:MAX_SHOWN])
        if mask & (1 << index)
    ]


def _tick(on: bool, name: str) -> str:
    key = "meetings-delegates-btn-on" if on else "meetings-delegates-btn-off"
    return plain(key, name=_short(name))


def delegates_keyboard(found: Delegation, mask: int) -> InlineKeyboardMarkup | None:
    meeting_id, org = found.meeting.id, found.organization.id
    back = [
        _button(
            plain("meetings-delegates-btn-back"), CDDelegates(id=meeting_id, org=org, act="back")
        )
    ]
    if not found.can_name:
        return InlineKeyboardMarkup(inline_keyboard=[back]) if found.several else None
    rows = [
        [
            _button(
                _tick(bool(mask & (1 << index)), person.name or "—"),
                CDDelegates(id=meeting_id, org=org, act="tog", mask=mask, i=index),
            )
        ]
        for index, person in enumerate(found.representatives[:MAX_SHOWN])
    ]
    rows.append(
        [
            _button(
                plain("meetings-delegates-btn-save"),
                CDDelegates(id=meeting_id, org=org, act="save", mask=mask),
            )
        ]
    )
    if found.several:
        rows.append(back)
    return InlineKeyboardMarkup(inline_keyboard=rows)
