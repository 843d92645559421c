"""Votes at a meeting: the organizers' votes panel of a published meeting and its short dialog
(the question; the addressee, the options or the candidates with their seats and term; how long
it stays open), after which the vote opens at once and its ballots reach those present only. A
conference votes by organization and may elect council members; a session votes by person.

The rules are in bot/services/meetings/{voting,election,proxy}.py; the delegates' proxy screens
are in `voting_proxy`. Every step checks on the server that the presser organizes the meeting.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import StaleButton, alert, callback_message
from bot.capabilities import Capability
from bot.config import Settings
from bot.dialogs import expect_text, step_done
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.meetings import PANEL_VOTES, CDMeetingPanel
from bot.keyboards.meetings_votes import (
    DURATIONS,
    KINDS,
    CDMeetingVote,
    addressee_keyboard,
    ballot_rows,
    cancel_keyboard,
    candidates_keyboard,
    durations_keyboard,
    opened_keyboard,
    panel_keyboard,
)
from bot.keyboards.votes import ADDRESSEES
from bot.services import bodies, votes
from bot.services.meetings import voting
from bot.texts import SafeHTML, clip, plain, t, tn
from handlers.meetings import voting_proxy
from models import User, VoteKind
from models.meetings import MeetingKind

PREFIX = "mv_"


class MeetingVote(StatesGroup):
    question = State()
    addressee = State()
    options = State()
    candidates = State()
    seats = State()
    term = State()
    duration = State()


async def _data(state: FSMContext) -> dict[str, Any]:
    return {
        k.removeprefix(PREFIX): v
        for k, v in (await state.get_data()).items()
        if k.startswith(PREFIX)
    }


async def _remember(state: FSMContext, **values: Any) -> None:
    await state.update_data(**{PREFIX + k: v for k, v in values.items()})


async def _in_dialog(state: FSMContext, meeting_id: int, *steps: State) -> dict[str, Any]:
    """The dialog's data, if this button belongs to the step going on; otherwise it is stale."""
    current = await state.get_state()
    data = await _data(state)
    wanted = {step.state for step in steps} or set(MeetingVote.__all_states_names__)
    if current not in wanted or data.get("meeting") != meeting_id:
        raise StaleButton()
    return data


# --- The panel ------------------------------------------------------------------------------------


def panel_text(found: voting.Panel) -> SafeHTML:
    meeting = found.meeting
    present = (
        tn("meetings-votes-present-organizations", found.present)
        if meeting.kind == MeetingKind.CONFERENCE
        else tn("meetings-votes-present-members", found.present)
    )
    lines = [
        t("meetings-votes-panel-title", title=meeting.title),
        present,
        t("meetings-votes-panel-hint"),
    ]
    if found.votes:
        lines.append(t("meetings-votes-panel-held"))
        for vote in found.votes[-20:]:
            lines.append(
                t(
                    "meetings-votes-panel-line",
                    number=vote.id,
                    status=plain(f"votes-status-{vote.status.value}"),
                    question=clip(vote.question, 120),
                )
            )
    return SafeHTML("\n".join(lines))


async def on_panel(
    query: CallbackQuery, callback_data: CDMeetingPanel, session: AsyncSession, user: User | None
) -> None:
    found = await voting.panel(session, user, callback_data.id)
    await callback_message(query).answer(panel_text(found), reply_markup=panel_keyboard(found))


# --- Starting a vote ------------------------------------------------------------------------------


async def on_new(
    query: CallbackQuery,
    callback_data: CDMeetingVote,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    if not 0 <= callback_data.item < len(KINDS):
        raise StaleButton()
    kind = KINDS[callback_data.item]
    meeting = await voting.meeting_for_votes(session, user, callback_data.id)
    voting.check_kind(meeting, kind)
    await state.clear()
    await state.set_state(MeetingVote.question)
    await _remember(state, meeting=meeting.id, kind=kind.value, candidates=[])
    await callback_message(query).answer(
        t(
            "meetings-votes-ask-question",
            kind=plain(f"meetings-votes-kind-{kind.value}"),
            max=votes.QUESTION_MAX,
        ),
        reply_markup=cancel_keyboard(meeting.id),
    )


async def _next(
    message: Message, state: FSMContext, step: State, text: str, keyboard: InlineKeyboardMarkup
) -> None:
    await state.set_state(step)
    await message.answer(text, reply_markup=keyboard)


async def _ask_duration(message: Message, state: FSMContext, meeting_id: int) -> None:
    await _next(
        message,
        state,
        MeetingVote.duration,
        t("meetings-votes-ask-duration"),
        durations_keyboard(meeting_id),
    )


def _candidates_text(candidates: list[list[Any]]) -> SafeHTML:
    lines: list[str] = [tn("meetings-votes-candidates", len(candidates))]
    lines += [f"{index}. {clip(str(name), 80)}" for index, (_, name) in enumerate(candidates, 1)]
    lines.append(t("meetings-votes-ask-candidate-more"))
    return SafeHTML("\n".join(lines))


# --- Text steps -----------------------------------------------------------------------------------


async def on_text(
    message: Message,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    step = await state.get_state()
    data = await _data(state)
    meeting_id = int(data.get("meeting") or 0)
    text = message.text or ""
    cancel = cancel_keyboard(meeting_id)
    if step == MeetingVote.question.state:
        await _remember(state, question=votes.check_question(text))
        kind = VoteKind(str(data.get("kind")))
        if kind == VoteKind.RECOMMENDATION:
            await _next(
                message,
                state,
                MeetingVote.addressee,
                t("meetings-votes-ask-addressee"),
                addressee_keyboard(meeting_id),
            )
        elif kind == VoteKind.QUESTION:
            ask = t("meetings-votes-ask-options", max=votes.OPTIONS_MAX)
            await _next(message, state, MeetingVote.options, ask, cancel)
        else:
            ask = t("meetings-votes-ask-candidate", max=votes.OPTIONS_MAX)
            await _next(message, state, MeetingVote.candidates, ask, cancel)
    elif step == MeetingVote.addressee.state:
        await _remember(state, addressee=votes.check_addressee(text))
        await _ask_duration(message, state, meeting_id)
    elif step == MeetingVote.options.state:
        await _remember(state, options=votes.check_options(text.splitlines()))
        await _ask_duration(message, state, meeting_id)
    elif step == MeetingVote.candidates.state:
        await _search(message, session, user, state, meeting_id, text, data)
    elif step == MeetingVote.seats.state:
        seats = votes.check_seats(text, len(data.get("candidates") or []))
        await _remember(state, seats=seats)
        await _next(message, state, MeetingVote.term, t("meetings-votes-ask-term"), cancel)
    elif step == MeetingVote.term.state:
        term = bodies.parse_term_end(text, settings.timezone)
        await _remember(state, term=term.isoformat())
        await _ask_duration(message, state, meeting_id)
    elif step == MeetingVote.duration.state:
        duration = voting.parse_duration(text)
        opened, markup = await _open(session, user, state, settings, duration)
        await message.answer(opened, reply_markup=markup)


async def _search(
    message: Message,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    meeting_id: int,
    text: str,
    data: dict[str, Any],
) -> None:
    chosen = data.get("candidates") or []
    taken = {user_id for user_id, _ in chosen}
    found = await voting.find_candidates(session, user, meeting_id, text.strip())
    found = [person for person in found if person.id not in taken]
    key = "meetings-votes-found" if found else "meetings-votes-found-nobody"
    await message.answer(t(key), reply_markup=candidates_keyboard(meeting_id, found, len(chosen)))


async def on_not_text(message: Message) -> None:
    await expect_text(message)


# --- Buttons inside the dialog --------------------------------------------------------------------


async def on_addressee(
    query: CallbackQuery, callback_data: CDMeetingVote, state: FSMContext
) -> None:
    await _in_dialog(state, callback_data.id, MeetingVote.addressee)
    if not 0 <= callback_data.item < len(ADDRESSEES):
        raise StaleButton()
    message = callback_message(query)
    await _remember(state, addressee=plain(ADDRESSEES[callback_data.item]))
    await message.edit_reply_markup(reply_markup=None)
    await _ask_duration(message, state, callback_data.id)


async def on_candidate(
    query: CallbackQuery,
    callback_data: CDMeetingVote,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    data = await _in_dialog(state, callback_data.id, MeetingVote.candidates)
    person = await voting.candidate(session, user, callback_data.id, callback_data.item)
    chosen: list[list[Any]] = list(data.get("candidates") or [])
    if any(user_id == person.id for user_id, _ in chosen):
        alert(callback_answer, "meetings-votes-candidate-twice")
        return
    if len(chosen) >= votes.OPTIONS_MAX:
        alert(callback_answer, "votes-bad-options", max=votes.OPTIONS_MAX)
        return
    chosen.append([person.id, person.name or f"#{person.id}"])
    await _remember(state, candidates=chosen)
    await step_done(
        callback_message(query),
        _candidates_text(chosen),
        candidates_keyboard(callback_data.id, [], len(chosen)),
    )


async def on_candidates_done(
    query: CallbackQuery, callback_data: CDMeetingVote, state: FSMContext
) -> None:
    data = await _in_dialog(state, callback_data.id, MeetingVote.candidates)
    chosen = data.get("candidates") or []
    if len(chosen) < 2:
        raise StaleButton()
    await state.set_state(MeetingVote.seats)
    await step_done(
        callback_message(query),
        t("meetings-votes-ask-seats", max=len(chosen) - 1),
        cancel_keyboard(callback_data.id),
    )


async def on_duration(
    query: CallbackQuery,
    callback_data: CDMeetingVote,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    await _in_dialog(state, callback_data.id, MeetingVote.duration)
    if callback_data.item not in DURATIONS:
        raise StaleButton()
    minutes = timedelta(minutes=callback_data.item)
    text, markup = await _open(session, user, state, settings, minutes)
    await step_done(callback_message(query), text, markup)


async def on_cancel(query: CallbackQuery, callback_data: CDMeetingVote, state: FSMContext) -> None:
    await _in_dialog(state, callback_data.id)
    await state.clear()
    await step_done(callback_message(query), t("meetings-votes-cancelled"))


async def _open(
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
    duration: timedelta,
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    """Open the vote the dialog describes; what to say and the buttons to show."""
    data = await _data(state)
    meeting_id = int(data.get("meeting") or 0)
    term = data.get("term")
    vote = await voting.open_at_meeting(
        session,
        user,
        meeting_id,
        voting.MeetingVoteInput(
            kind=VoteKind(str(data.get("kind"))),
            question=str(data.get("question") or ""),
            duration=duration,
            options=list(data.get("options") or []),
            candidates=[int(user_id) for user_id, _ in data.get("candidates") or []],
            seats=int(data.get("seats") or 1),
            term_until=datetime.fromisoformat(term) if term else None,
            addressee=data.get("addressee"),
        ),
        timezone=settings.timezone,
        buttons=ballot_rows,
    )
    await state.clear()
    text = tn(
        "meetings-votes-opened",
        vote.eligible_count,
        number=vote.id,
        question=vote.question,
        closes=dates.shown_datetime(vote.closes_at, settings.timezone),
    )
    return text, opened_keyboard(vote, meeting_id)


# --- Wiring ---------------------------------------------------------------------------------------


def setup() -> Router:
    router = Router(name="meetings_votes")
    router.callback_query.register(on_panel, CDMeetingPanel.filter(F.panel == PANEL_VOTES))
    router.callback_query.register(on_new, CDMeetingVote.filter(F.act == "new"))
    router.callback_query.register(on_addressee, CDMeetingVote.filter(F.act == "addr"))
    router.callback_query.register(on_candidate, CDMeetingVote.filter(F.act == "cand"))
    router.callback_query.register(on_candidates_done, CDMeetingVote.filter(F.act == "cands"))
    router.callback_query.register(on_duration, CDMeetingVote.filter(F.act == "dur"))
    router.callback_query.register(on_cancel, CDMeetingVote.filter(F.act == "cancel"))
    steps = StateFilter(*MeetingVote.__all_states__)
    router.message.register(on_text, steps, TEXT_INPUT)
    router.message.register(on_not_text, steps, NOT_TEXT)
    voting_proxy.register(router)
    return router


capability = Capability(
    name="meetings_votes",
    setup=setup,
    keys=lambda: {
        *(f"meetings-votes-btn-new-{kind.value}" for kind in KINDS),
        *(f"meetings-votes-kind-{kind.value}" for kind in KINDS),
    },
)
