"""Buttons of a meeting's votes panel and its dialog, and of a delegate's proxy. What a button
offers is a hint: the services check every press again."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.meetings import PANEL_VOTES, CDMeetingPanel
from bot.keyboards.votes import ADDRESSEES, CDVote
from bot.keyboards.votes import ballot_rows as vote_ballot_rows
from bot.services.meetings.proxy import offers_proxy
from bot.services.meetings.voting import Panel
from bot.texts import plain
from models import User, Vote, VoteKind
from models.meetings import MeetingKind

LABEL_MAX = 40
# The latest votes of the panel that get a button to their card (a keyboard stays short).
VOTES_SHOWN = 10
# Minutes a vote stays open, offered as buttons (any other length is typed).
DURATIONS = (30, 60, 120)
KINDS = (VoteKind.RECOMMENDATION, VoteKind.QUESTION, VoteKind.ELECTION)


class CDMeetingVote(BotCallback, prefix="mvd"):
    """A meeting's votes panel and its dialog (id: the meeting): new (item: the kind's index in
    KINDS) · addr (item: an addressee) · cand (item: a person) · cands (every candidate is
    named) · dur (item: minutes) · cancel."""

    id: int
    act: str
    item: int = 0


class CDProxy(BotCallback, prefix="mvp"):
    """A delegate hands their organization's vote to a proxy: start · pick (user: the person
    found) · sure (user) · cancel."""

    vote: int
    act: str
    user: int = 0


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _row(text: str, data: BotCallback) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=text, callback_data=data.pack())]


def ballot_rows(vote: Vote) -> list[list[dict[str, str]]]:
    """The ballot of a vote at a meeting: the vote's own buttons and, in a vote by
    organization, the delegate's way to hand it to a proxy."""
    rows = vote_ballot_rows(vote)
    if offers_proxy(vote):
        data = CDProxy(vote=vote.id, act="start").pack()
        rows.append([{"text_key": "meetings-votes-btn-proxy", "data": data}])
    return rows


def panel_keyboard(found: Panel) -> InlineKeyboardMarkup:
    meeting = found.meeting
    rows: list[list[InlineKeyboardButton]] = []
    for index, kind in enumerate(KINDS):
        if kind == VoteKind.ELECTION and meeting.kind != MeetingKind.CONFERENCE:
            continue
        label = plain(f"meetings-votes-btn-new-{kind.value}")
        rows.append(_row(label, CDMeetingVote(id=meeting.id, act="new", item=index)))
    for vote in found.votes[-VOTES_SHOWN:]:
        status = plain(f"votes-status-{vote.status.value}")
        label = f"№{vote.id} · {status} · {_short(vote.question)}"
        rows.append(_row(label, CDVote(action="card", id=vote.id)))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def cancel_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _row(plain("meetings-votes-btn-cancel"), CDMeetingVote(id=meeting_id, act="cancel"))
        ]
    )


def addressee_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    rows = [
        _row(plain(key), CDMeetingVote(id=meeting_id, act="addr", item=index))
        for index, key in enumerate(ADDRESSEES)
    ]
    rows.append(
        _row(plain("meetings-votes-btn-cancel"), CDMeetingVote(id=meeting_id, act="cancel"))
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def candidates_keyboard(
    meeting_id: int, found: Sequence[User], chosen: int
) -> InlineKeyboardMarkup:
    """The people found (each adds a candidate) and, once two are named, "Done"."""
    rows = [
        _row(
            _short(person.name or f"#{person.id}"),
            CDMeetingVote(id=meeting_id, act="cand", item=person.id),
        )
        for person in found
    ]
    if chosen >= 2:
        rows.append(
            _row(
                plain("meetings-votes-btn-candidates-done", n=chosen),
                CDMeetingVote(id=meeting_id, act="cands"),
            )
        )
    rows.append(
        _row(plain("meetings-votes-btn-cancel"), CDMeetingVote(id=meeting_id, act="cancel"))
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def durations_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    rows = [
        _row(
            plain("meetings-votes-btn-open-minutes", n=minutes)
            if minutes < 60
            else plain("meetings-votes-btn-open-hours", n=minutes // 60),
            CDMeetingVote(id=meeting_id, act="dur", item=minutes),
        )
        for minutes in DURATIONS
    ]
    rows.append(
        _row(plain("meetings-votes-btn-cancel"), CDMeetingVote(id=meeting_id, act="cancel"))
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def opened_keyboard(vote: Vote, meeting_id: int) -> InlineKeyboardMarkup:
    """After opening: the vote's card (turnout, close early) and the panel again."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _row(
                plain("meetings-votes-btn-card", number=vote.id), CDVote(action="card", id=vote.id)
            ),
            _row(
                plain("meetings-votes-btn-panel"),
                CDMeetingPanel(id=meeting_id, panel=PANEL_VOTES),
            ),
        ]
    )


def proxy_people_keyboard(vote_id: int, people: Sequence[User]) -> InlineKeyboardMarkup:
    rows = [
        _row(
            _short(person.name or f"#{person.id}"),
            CDProxy(vote=vote_id, act="pick", user=person.id),
        )
        for person in people
    ]
    rows.append(_row(plain("meetings-votes-btn-cancel"), CDProxy(vote=vote_id, act="cancel")))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def proxy_confirm_keyboard(vote_id: int, user_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _row(
                plain("meetings-votes-btn-proxy-sure"),
                CDProxy(vote=vote_id, act="sure", user=user_id),
            ),
            _row(plain("meetings-votes-btn-cancel"), CDProxy(vote=vote_id, act="cancel")),
        ]
    )


def proxy_cancel_keyboard(vote_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            _row(plain("meetings-votes-btn-cancel"), CDProxy(vote=vote_id, act="cancel"))
        ]
    )
