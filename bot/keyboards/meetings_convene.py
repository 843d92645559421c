"""Buttons of convening a meeting: the /new_meeting dialog, the organizer's panel (PANEL_EDIT of
the card) with its agenda, guests and confirmations, and the lists /meetings and
/meetings_archive. What a button offers is a hint: the handlers check every press again."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.meetings import CDMeeting
from bot.keyboards.paging import pager
from bot.keyboards.votes import CDVote
from bot.texts import plain
from models import User
from models.meetings import Meeting

LABEL_MAX = 32
DURATIONS = (1, 2, 3, 4)
DEFAULT_HOURS = 3
# The summary's "edit a field" buttons, in the dialog's order.
FIELDS = ("title", "starts", "duration", "district", "place", "deadline", "votes")


class CDNewMeeting(BotCallback, prefix="mcn"):
    """An answer inside /new_meeting: kind (value: 0 a conference, else the body) · dur (hours)
    · dist (a district, 0 none) · dists (the list of districts, value: its page) · nodl (no
    proposals) · votes (1 yes, 0 no) · edit (value: the field's index in FIELDS) · save · abort."""

    field: str
    value: int = 0


class CDConvene(BotCallback, prefix="mce"):
    """An organizer's action on a meeting (id); item: an agenda item or a person where one is
    meant. The panel: back · agenda · guests · dec · council · pub · pub! · move · place · cnl;
    the agenda: add · files · rm · spk · spkname · skip · done; the guests: guest · g · ung;
    inside a dialog: nores · chg! · cnl! · abort."""

    action: str
    id: int
    item: int = 0


class CDMeetingList(BotCallback, prefix="mcl"):
    """A page of /meetings (archive false) or /meetings_archive (archive true)."""

    archive: bool
    page: int


def short(text: str, limit: int = LABEL_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _button(text: str, data: BotCallback) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=rows)


# --- /new_meeting ------------------------------------------------------------------------------


def _abort_row() -> list[InlineKeyboardButton]:
    return [_button(plain("meetings-convene-btn-abort"), CDNewMeeting(field="abort"))]


def dialog_abort() -> InlineKeyboardMarkup:
    """Under a question answered by typing: the way out."""
    return _markup([_abort_row()])


def kind_keyboard(conference: bool, bodies: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if conference:
        rows.append([_button(plain("meetings-convene-btn-conference"), CDNewMeeting(field="kind"))])
    for body_id, title in bodies:
        label = plain("meetings-convene-btn-session", body=short(title, 40))
        rows.append([_button(label, CDNewMeeting(field="kind", value=body_id))])
    return _markup([*rows, _abort_row()])


def duration_keyboard() -> InlineKeyboardMarkup:
    row = [
        _button(
            plain(
                "meetings-convene-btn-hours-default"
                if hours == DEFAULT_HOURS
                else "meetings-convene-btn-hours",
                hours=hours,
            ),
            CDNewMeeting(field="dur", value=hours),
        )
        for hours in DURATIONS
    ]
    return _markup([row, _abort_row()])


def rotation_keyboard(district_id: int, name: str) -> InlineKeyboardMarkup:
    return _markup(
        [
            [
                _button(
                    plain("meetings-convene-btn-accept", district=short(name, 40)),
                    CDNewMeeting(field="dist", value=district_id),
                )
            ],
            [_button(plain("meetings-convene-btn-other"), CDNewMeeting(field="dists"))],
            _abort_row(),
        ]
    )


def districts_keyboard(
    choices: Sequence[tuple[int, str]], page: int, pages: int, *, optional: bool
) -> InlineKeyboardMarkup:
    """The districts (id, label with when it last hosted), a page at a time; a session may have
    none."""
    rows = [[_button(label, CDNewMeeting(field="dist", value=id_))] for id_, label in choices]
    nav = pager(page, pages, lambda p: CDNewMeeting(field="dists", value=p).pack())
    if nav:
        rows.append(nav)
    if optional:
        rows.append(
            [_button(plain("meetings-convene-btn-no-district"), CDNewMeeting(field="dist"))]
        )
    return _markup([*rows, _abort_row()])


def deadline_keyboard() -> InlineKeyboardMarkup:
    return _markup(
        [
            [_button(plain("meetings-convene-btn-no-proposals"), CDNewMeeting(field="nodl"))],
            _abort_row(),
        ]
    )


def votes_keyboard() -> InlineKeyboardMarkup:
    return _markup(
        [
            [
                _button(
                    plain("meetings-convene-btn-votes-yes"), CDNewMeeting(field="votes", value=1)
                ),
                _button(
                    plain("meetings-convene-btn-votes-no"), CDNewMeeting(field="votes", value=0)
                ),
            ],
            _abort_row(),
        ]
    )


def summary_keyboard() -> InlineKeyboardMarkup:
    edits = [
        _button(plain(f"meetings-convene-edit-{name}"), CDNewMeeting(field="edit", value=index))
        for index, name in enumerate(FIELDS)
    ]
    rows = [edits[index : index + 2] for index in range(0, len(edits), 2)]
    rows.append([_button(plain("meetings-convene-btn-save"), CDNewMeeting(field="save"))])
    return _markup([*rows, _abort_row()])


# --- The organizer's panel ---------------------------------------------------------------------


def _act(
    label_key: str, action: str, meeting_id: int, item: int = 0, **params: object
) -> list[InlineKeyboardButton]:
    return [_button(plain(label_key, **params), CDConvene(action=action, id=meeting_id, item=item))]


def panel_keyboard(
    meeting: Meeting,
    *,
    draft: bool,
    may_decide: bool,
    running_vote: int | None,
    items: int,
    guests: int,
) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if may_decide:
        rows.append(_act("meetings-convene-btn-decision", "dec", meeting.id))
        if running_vote is None:
            rows.append(_act("meetings-convene-btn-council", "council", meeting.id))
    if running_vote is not None:
        rows.append(
            [
                _button(
                    plain("meetings-convene-btn-vote", number=running_vote),
                    CDVote(action="card", id=running_vote),
                )
            ]
        )
    rows.append(_act("meetings-convene-btn-agenda", "agenda", meeting.id, n=items))
    rows.append(_act("meetings-convene-btn-guests", "guests", meeting.id, n=guests))
    if draft:
        rows.append(_act("meetings-convene-btn-publish", "pub", meeting.id))
    rows.append(
        [
            *_act("meetings-convene-btn-move", "move", meeting.id),
            *_act("meetings-convene-btn-place", "place", meeting.id),
        ]
    )
    rows.append(_act("meetings-convene-btn-cancel", "cnl", meeting.id))
    rows.append([_button(plain("meetings-btn-open"), CDMeeting(id=meeting.id))])
    return _markup(rows)


def _back(meeting_id: int) -> list[InlineKeyboardButton]:
    return _act("meetings-convene-btn-back", "back", meeting_id)


def agenda_keyboard(
    meeting_id: int, item_ids: Sequence[int], *, full: bool
) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if not full:
        rows.append(_act("meetings-convene-btn-add-item", "add", meeting_id))
    for number, item_id in enumerate(item_ids, start=1):
        rows.append(
            [
                *_act("meetings-convene-btn-files", "files", meeting_id, item_id, number=number),
                *_act("meetings-convene-btn-remove-item", "rm", meeting_id, item_id, number=number),
            ]
        )
    rows.append(_back(meeting_id))
    return _markup(rows)


def guests_keyboard(meeting_id: int, guests: Sequence[User]) -> InlineKeyboardMarkup:
    rows = [_act("meetings-convene-btn-add-guest", "guest", meeting_id)]
    for guest in guests:
        rows.append(
            _act(
                "meetings-convene-btn-remove-guest",
                "ung",
                meeting_id,
                guest.id,
                name=short(guest.name or "—"),
            )
        )
    rows.append(_back(meeting_id))
    return _markup(rows)


def people_keyboard(
    meeting_id: int, people: Sequence[User], action: str, *, typed: str | None = None
) -> InlineKeyboardMarkup:
    """People found by name: a speaker (action spk, also the typed name and "no speaker") or a
    guest (action g)."""
    rows = [
        [
            _button(
                short(person.name or "—"), CDConvene(action=action, id=meeting_id, item=person.id)
            )
        ]
        for person in people
    ]
    if typed is not None:
        rows.append(
            _act("meetings-convene-btn-typed-speaker", "spkname", meeting_id, name=short(typed))
        )
        rows.append(_act("meetings-convene-btn-no-speaker", "skip", meeting_id))
    rows.append(_act("meetings-convene-btn-abort", "abort", meeting_id))
    return _markup(rows)


def speaker_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    return _markup(
        [
            _act("meetings-convene-btn-no-speaker", "skip", meeting_id),
            _act("meetings-convene-btn-abort", "abort", meeting_id),
        ]
    )


def files_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    return _markup([_act("meetings-convene-btn-files-done", "done", meeting_id)])


def abort_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    return _markup([_act("meetings-convene-btn-abort", "abort", meeting_id)])


def reason_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    return _markup(
        [
            _act("meetings-convene-btn-no-reason", "nores", meeting_id),
            _act("meetings-convene-btn-abort", "abort", meeting_id),
        ]
    )


def confirm_keyboard(meeting_id: int, action: str, label_key: str) -> InlineKeyboardMarkup:
    """A last look before what cannot be taken back: publish (pub!), a change people are told
    of (chg!), a cancellation (cnl!)."""
    return _markup(
        [
            _act(label_key, action, meeting_id),
            _act("meetings-convene-btn-abort", "abort", meeting_id)
            if action != "pub!"
            else _back(meeting_id),
        ]
    )


def council_vote_keyboard(vote_id: int) -> InlineKeyboardMarkup:
    return _markup(
        [
            [
                _button(
                    plain("meetings-convene-btn-vote", number=vote_id),
                    CDVote(action="card", id=vote_id),
                )
            ]
        ]
    )


def card_button(meeting_id: int) -> InlineKeyboardMarkup:
    return _markup([[_button(plain("meetings-btn-open"), CDMeeting(id=meeting_id))]])


# --- The lists ---------------------------------------------------------------------------------


def list_keyboard(
    meetings: Sequence[tuple[int, str]], page: int, pages: int, *, archive: bool
) -> InlineKeyboardMarkup:
    rows = [[_button(label, CDMeeting(id=meeting_id))] for meeting_id, label in meetings]
    nav = pager(page, pages, lambda p: CDMeetingList(archive=archive, page=p).pack())
    if nav:
        rows.append(nav)
    return _markup(rows)
