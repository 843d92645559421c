"""The organizer's panel of a meeting's card (PANEL_EDIT): the decision that convenes a
conference (the presidium's, recorded, or put to the council's vote), publishing with a last
look at how many will be invited, moving it or changing its place (a published meeting's
invitees are told, after a confirmation), and calling it off with a reason. The agenda and the
guests are in `convene_agenda`.

Every press is checked on the server (`access.get_for_organizer`) before anything is shown or
any conversation state is set; a press on a meeting called off or minuted meanwhile is answered
as such and changes nothing."""

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
from bot.callbacks import StaleButton, callback_message, redraw, toast
from bot.config import Settings
from bot.dialogs import expect_text, step_done
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.meetings import PANEL_EDIT, CDMeetingPanel, notice_buttons
from bot.keyboards.meetings_convene import (
    CDConvene,
    abort_keyboard,
    card_button,
    confirm_keyboard,
    council_vote_keyboard,
    panel_keyboard,
    reason_keyboard,
    short,
)
from bot.services.errors import InvalidInput
from bot.services.meetings import access, convening, core, listing, roll, rules
from bot.texts import SafeHTML, clip, plain, t, tn
from handlers.meetings.card import kind_text, when_text, zone_text
from handlers.meetings.convene_dialog import parse_moment
from models import District, User, Vote, VoteStatus
from models.base import utcnow
from models.meetings import AgendaStatus, Meeting, MeetingKind, MeetingStatus

PREFIX = "mc_"
# How long the council has to decide on convening a conference.
COUNCIL_DAYS = 3


class Convene(StatesGroup):
    decision = State()
    item_title = State()
    speaker = State()
    files = State()
    guest = State()
    move = State()
    place = State()
    reason = State()
    # A change people will be told of, or a cancellation, waiting for its confirmation.
    confirm = State()


# --- The conversation state of the panel's dialogs -----------------------------------------------


async def data_of(state: FSMContext) -> dict[str, Any]:
    return {
        k.removeprefix(PREFIX): v
        for k, v in (await state.get_data()).items()
        if k.startswith(PREFIX)
    }


async def remember(state: FSMContext, **values: Any) -> None:
    await state.update_data(**{PREFIX + k: v for k, v in values.items()})


async def begin(state: FSMContext, step: State, meeting_id: int, **values: Any) -> None:
    await state.clear()
    await state.set_state(step)
    await remember(state, meeting=meeting_id, **values)


async def in_step(state: FSMContext, steps: tuple[State, ...], meeting_id: int) -> dict[str, Any]:
    """The dialog's data, if this button belongs to the step going on; otherwise it is stale."""
    current = await state.get_state()
    data = await data_of(state)
    if current not in {step.state for step in steps} or data.get("meeting") != meeting_id:
        raise StaleButton()
    return data


async def organized(session: AsyncSession, user: User | None, meeting_id: int) -> Meeting:
    """The meeting, if this person organizes it and it can still be prepared or changed."""
    meeting = await access.get_for_organizer(session, user, meeting_id)
    if meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.MINUTED):
        raise InvalidInput(
            "meetings-convene-stale", status=plain(f"meetings-status-{meeting.status.value}")
        )
    return meeting


# --- The panel -----------------------------------------------------------------------------------


async def _running_vote(session: AsyncSession, meeting: Meeting) -> Vote | None:
    if meeting.decision_vote_id is None or meeting.decided_at is not None:
        return None
    vote = await session.get(Vote, meeting.decision_vote_id)
    if vote is None or vote.status not in (VoteStatus.DRAFT, VoteStatus.OPEN):
        return None
    return vote


def head(meeting: Meeting) -> SafeHTML:
    return t(
        "meetings-convene-panel-head",
        kind=kind_text(meeting),
        number=meeting.id,
        title=clip(meeting.title, 200),
    )


async def panel_view(
    session: AsyncSession, meeting: Meeting, settings: Settings
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    draft = meeting.status == MeetingStatus.DRAFT
    may_decide = meeting.kind == MeetingKind.CONFERENCE and draft and meeting.decided_at is None
    vote = await _running_vote(session, meeting)
    items = sum(1 for item in meeting.agenda if item.status == AgendaStatus.ACCEPTED)
    guests = len(await core.guests(session, meeting.id))
    lines = [
        head(meeting),
        t("meetings-convene-card-status", status=plain(f"meetings-status-{meeting.status}")),
        t(
            "meetings-convene-card-when",
            when=when_text(meeting.starts_at, meeting.ends_at, settings.timezone),
            zone=zone_text(settings.timezone),
        ),
        t("meetings-convene-card-place", place=clip(meeting.place or "—", 300)),
        "",
    ]
    if may_decide and vote is not None:
        lines.append(
            t(
                "meetings-convene-panel-vote",
                vote=vote.id,
                status=plain(f"votes-status-{vote.status.value}"),
            )
        )
    elif may_decide:
        lines.append(t("meetings-convene-panel-no-decision"))
    lines.append(t("meetings-convene-panel-draft" if draft else "meetings-convene-panel-published"))
    markup = panel_keyboard(
        meeting,
        draft=draft,
        may_decide=may_decide,
        running_vote=vote.id if vote is not None else None,
        items=items,
        guests=guests,
    )
    return SafeHTML("\n".join(lines)), markup


async def send_panel(
    message: Message, session: AsyncSession, meeting: Meeting, settings: Settings
) -> None:
    text, markup = await panel_view(session, meeting, settings)
    await message.answer(text, reply_markup=markup)


async def on_panel(
    query: CallbackQuery,
    callback_data: CDMeetingPanel,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    await send_panel(callback_message(query), session, meeting, settings)


async def on_back(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    text, markup = await panel_view(session, meeting, settings)
    await redraw(callback_message(query), text, markup)


# --- The decision that convenes a conference -----------------------------------------------------


async def on_decision(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    if meeting.kind != MeetingKind.CONFERENCE:
        raise InvalidInput("meetings-not-conference")
    if meeting.status != MeetingStatus.DRAFT:
        raise InvalidInput("meetings-not-draft")
    if meeting.decided_at is not None:
        raise InvalidInput("meetings-already-convened")
    await begin(state, Convene.decision, meeting.id)
    await callback_message(query).answer(
        t("meetings-convene-ask-decision", max=rules.REASON_MAX),
        reply_markup=abort_keyboard(meeting.id),
    )


async def on_council(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    """A draft council vote on convening; the organizer opens it from the vote's card."""
    meeting = await organized(session, user, callback_data.id)
    district = (
        await session.get(District, meeting.district_id)
        if meeting.district_id is not None
        else None
    )
    question = plain(
        "meetings-convene-council-question",
        title=short(meeting.title, 150),
        date=dates.shown_datetime(meeting.starts_at, settings.timezone),
        district=district.name if district is not None else plain("meetings-convene-no-district"),
    )
    vote = await convening.put_to_council(
        session,
        user,
        meeting.id,
        question=question,
        addressee=plain("meetings-convene-council-addressee"),
        closes_at=utcnow() + timedelta(days=COUNCIL_DAYS),
    )
    message = callback_message(query)
    text, markup = await panel_view(session, meeting, settings)
    await redraw(message, text, markup)
    await message.answer(
        t("meetings-convene-council-put", vote=vote.id), reply_markup=council_vote_keyboard(vote.id)
    )


# --- Publishing ----------------------------------------------------------------------------------


async def on_publish(
    query: CallbackQuery, callback_data: CDConvene, session: AsyncSession, user: User | None
) -> None:
    """The last look: how many will be invited, before anything is sent."""
    meeting = await organized(session, user, callback_data.id)
    rules.require_move(meeting.status, MeetingStatus.PUBLISHED)
    if not core.has_decision(meeting):
        raise InvalidInput("meetings-no-decision")
    invited = await listing.invite_forecast(session, meeting)
    if not invited:
        raise InvalidInput("meetings-nobody-invited")
    text = SafeHTML(f"{head(meeting)}\n\n{tn('meetings-convene-publish-confirm', invited)}")
    markup = confirm_keyboard(meeting.id, "pub!", "meetings-convene-btn-publish-sure")
    await redraw(callback_message(query), text, markup)


async def on_publish_sure(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    await organized(session, user, callback_data.id)
    meeting = await core.publish(
        session, user, callback_data.id, timezone=settings.timezone, buttons=notice_buttons
    )
    sent = len(await roll.invitee_ids(session, meeting.id))
    toast(callback_answer, "meetings-convene-published-toast")
    await step_done(
        callback_message(query),
        tn("meetings-convene-published", sent, number=meeting.id),
        reply_markup=card_button(meeting.id),
    )


# --- Moving, the place, cancelling ---------------------------------------------------------------


async def on_move(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    await begin(state, Convene.move, meeting.id)
    now = when_text(meeting.starts_at, meeting.ends_at, settings.timezone)
    await callback_message(query).answer(
        t("meetings-convene-ask-move", now=now), reply_markup=abort_keyboard(meeting.id)
    )


async def on_place(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    await begin(state, Convene.place, meeting.id)
    await callback_message(query).answer(
        t("meetings-convene-ask-new-place", now=meeting.place or "—", max=rules.PLACE_MAX),
        reply_markup=abort_keyboard(meeting.id),
    )


async def on_cancel(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    await begin(state, Convene.reason, meeting.id)
    key = (
        "meetings-convene-ask-reason-told"
        if meeting.status == MeetingStatus.PUBLISHED
        else "meetings-convene-ask-reason"
    )
    await callback_message(query).answer(
        t(key, max=rules.REASON_MAX), reply_markup=reason_keyboard(meeting.id)
    )


async def _change(
    session: AsyncSession,
    user: User | None,
    meeting_id: int,
    settings: Settings,
    data: dict[str, Any],
) -> Meeting:
    starts = data.get("starts")
    return await core.change(
        session,
        user,
        meeting_id,
        timezone=settings.timezone,
        buttons=notice_buttons,
        starts_at=datetime.fromisoformat(starts) if starts else None,
        place=data.get("place"),
    )


def _changed(meeting: Meeting, settings: Settings) -> SafeHTML:
    return t(
        "meetings-convene-changed",
        when=when_text(meeting.starts_at, meeting.ends_at, settings.timezone),
        place=meeting.place or "—",
    )


async def _ask_confirm(
    message: Message,
    state: FSMContext,
    meeting: Meeting,
    text: SafeHTML,
    action: str,
    label_key: str,
    **pending: Any,
) -> None:
    await state.set_state(Convene.confirm)
    await remember(state, **pending)
    await message.answer(text, reply_markup=confirm_keyboard(meeting.id, action, label_key))


async def _change_typed(
    message: Message,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
    meeting_id: int,
    pending: dict[str, Any],
    described: str,
) -> None:
    """A draft changes at once; a published meeting's invitees are told, so it is confirmed."""
    meeting = await organized(session, user, meeting_id)
    if meeting.status == MeetingStatus.DRAFT:
        meeting = await _change(session, user, meeting.id, settings, pending)
        await state.clear()
        await message.answer(_changed(meeting, settings))
        await send_panel(message, session, meeting, settings)
        return
    invited = len(await roll.invitee_ids(session, meeting.id))
    text = SafeHTML(
        f"{head(meeting)}\n{t('meetings-convene-change-what', change=described)}\n\n"
        f"{tn('meetings-convene-change-confirm', invited)}"
    )
    await _ask_confirm(
        message,
        state,
        meeting,
        text,
        "chg!",
        "meetings-convene-btn-change-sure",
        **pending,
    )


async def on_change_sure(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    await organized(session, user, callback_data.id)
    data = await in_step(state, (Convene.confirm,), callback_data.id)
    if data.get("what") != "change":
        raise StaleButton()
    meeting = await _change(session, user, callback_data.id, settings, data)
    await state.clear()
    told = len(await roll.invitee_ids(session, meeting.id))
    text = SafeHTML(f"{_changed(meeting, settings)}\n{tn('meetings-convene-changed-told', told)}")
    await step_done(callback_message(query), text, reply_markup=card_button(meeting.id))


async def _ask_cancel(
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    meeting: Meeting,
    reason: str,
) -> None:
    if meeting.status == MeetingStatus.PUBLISHED:
        invited = len(await roll.invitee_ids(session, meeting.id))
        sure = tn("meetings-convene-cancel-confirm-told", invited)
    else:
        sure = t("meetings-convene-cancel-confirm-draft")
    text = SafeHTML(
        f"{head(meeting)}\n{t('meetings-convene-cancel-reason', reason=reason or '—')}\n\n{sure}"
    )
    await _ask_confirm(
        message,
        state,
        meeting,
        text,
        "cnl!",
        "meetings-convene-btn-cancel-sure",
        what="cancel",
        reason=reason,
    )


async def on_no_reason(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    await in_step(state, (Convene.reason,), meeting.id)
    message = callback_message(query)
    await message.edit_reply_markup(reply_markup=None)
    await _ask_cancel(message, session, state, meeting, "")


async def on_cancel_sure(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    await organized(session, user, callback_data.id)
    data = await in_step(state, (Convene.confirm,), callback_data.id)
    if data.get("what") != "cancel":
        raise StaleButton()
    was_published = (await access.get(session, callback_data.id)).status == MeetingStatus.PUBLISHED
    meeting = await core.cancel(
        session, user, callback_data.id, timezone=settings.timezone, reason=data.get("reason", "")
    )
    await state.clear()
    if was_published:
        told = len(await roll.invitee_ids(session, meeting.id))
        text = tn("meetings-convene-cancelled-told", told, number=meeting.id)
    else:
        text = t("meetings-convene-cancelled", number=meeting.id)
    await step_done(callback_message(query), text)


async def on_abort(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    """Leave the panel's dialog: nothing is kept (the meeting may have been called off since)."""
    await access.get_for_organizer(session, user, callback_data.id)
    await in_step(state, tuple(Convene.__states__), callback_data.id)
    await state.clear()
    await step_done(callback_message(query), t("meetings-convene-abort-done"))


# --- Typed answers -------------------------------------------------------------------------------


async def on_text(
    message: Message,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    step = await state.get_state()
    data = await data_of(state)
    meeting_id = int(data.get("meeting") or 0)
    text = message.text or ""
    if step == Convene.decision.state:
        meeting = await convening.record_decision(session, user, meeting_id, text)
        await state.clear()
        await message.answer(t("meetings-convene-decision-recorded"))
        await send_panel(message, session, meeting, settings)
    elif step == Convene.move.state:
        starts_at = parse_moment(text, settings)
        described = dates.shown_datetime(starts_at, settings.timezone)
        pending = {"what": "change", "starts": starts_at.isoformat(), "place": None}
        await _change_typed(message, session, user, state, settings, meeting_id, pending, described)
    elif step == Convene.place.state:
        place = rules.clean_line(text, rules.PLACE_MAX, "meetings-bad-place")
        pending = {"what": "change", "starts": None, "place": place}
        await _change_typed(message, session, user, state, settings, meeting_id, pending, place)
    elif step == Convene.reason.state:
        reason = rules.clean_text(text, rules.REASON_MAX, "meetings-bad-reason")
        meeting = await organized(session, user, meeting_id)
        await _ask_cancel(message, session, state, meeting, reason)


TEXT_STEPS = (Convene.decision, Convene.move, Convene.place, Convene.reason)


def register(router: Router) -> None:
    router.callback_query.register(on_panel, CDMeetingPanel.filter(F.panel == PANEL_EDIT))
    router.callback_query.register(on_back, CDConvene.filter(F.action == "back"))
    router.callback_query.register(on_decision, CDConvene.filter(F.action == "dec"))
    router.callback_query.register(on_council, CDConvene.filter(F.action == "council"))
    router.callback_query.register(on_publish, CDConvene.filter(F.action == "pub"))
    router.callback_query.register(on_publish_sure, CDConvene.filter(F.action == "pub!"))
    router.callback_query.register(on_move, CDConvene.filter(F.action == "move"))
    router.callback_query.register(on_place, CDConvene.filter(F.action == "place"))
    router.callback_query.register(on_cancel, CDConvene.filter(F.action == "cnl"))
    router.callback_query.register(on_no_reason, CDConvene.filter(F.action == "nores"))
    router.callback_query.register(on_change_sure, CDConvene.filter(F.action == "chg!"))
    router.callback_query.register(on_cancel_sure, CDConvene.filter(F.action == "cnl!"))
    router.callback_query.register(on_abort, CDConvene.filter(F.action == "abort"))
    router.message.register(on_text, StateFilter(*TEXT_STEPS), TEXT_INPUT)
    router.message.register(expect_text, StateFilter(*TEXT_STEPS), NOT_TEXT)
