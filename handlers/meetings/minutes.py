"""The minutes panel of a meeting's card, and attendance (handlers/meetings/attendance.py).
Before the minutes: the secretary records the decisions and publishes the minutes — typed text
(several messages are joined) and/or a document —, and every invitee receives them. After: everyone
who sees the meeting reads the minutes and the decisions; the presidium or the organizers make a
decision a recommendation in the registry. The rules are in bot/services/meetings/minutes.py."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import StaleButton, callback_message, redraw, toast
from bot.capabilities import Capability
from bot.config import Settings
from bot.delivery import split_text
from bot.dialogs import expect_text, step_done
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.meetings import PANEL_MINUTES, CDMeetingPanel, notice_buttons
from bot.keyboards.meetings_minutes import (
    CDMinutes,
    minutes_cancel_keyboard,
    minutes_keyboard,
    minutes_send_keyboard,
    recommendation_link,
)
from bot.services.errors import InvalidInput
from bot.services.meetings import minutes, rules
from bot.services.meetings.minutes import MinutesFile
from bot.texts import SafeHTML, clip, plain, t, tn
from handlers.meetings import attendance
from handlers.meetings.agenda import fit, heading, on_the_clock
from models import User

PREFIX = "mmn_"
# How much of the minutes' text the panel shows; the rest comes with "Full text".
EXCERPT = 1200
ROOM = 3300
# The full minutes come as messages up to this many; longer, as a text file.
FULL_PARTS_MAX = 4


class Writing(StatesGroup):
    decision = State()
    content = State()
    addressee = State()


def minutes_text(found: minutes.Minutes, timezone: str) -> SafeHTML:
    meeting = found.meeting
    lines: list[str] = [
        t(
            "meetings-minutes-title",
            starts=dates.shown_datetime(meeting.starts_at, timezone),
            **heading(meeting),
        )
    ]
    if meeting.minutes_at is not None:
        lines.append(
            t(
                "meetings-minutes-published-at",
                at=dates.shown_datetime(meeting.minutes_at, timezone),
                who=found.author or "—",
            )
        )
    elif found.waiting:
        lines.append(
            t("meetings-minutes-wait", starts=dates.shown_datetime(meeting.starts_at, timezone))
        )
    else:
        lines.append(t("meetings-minutes-how", max=rules.TEXT_MAX))
    decisions: list[str] = []
    for index, decision in enumerate(found.decisions, start=1):
        number = found.recommended.get(decision.id)
        if number is not None:
            decisions.append(
                t(
                    "meetings-minutes-decision-recommended",
                    n=index,
                    text=clip(decision.text, 400),
                    number=number,
                )
            )
        else:
            decisions.append(t("meetings-minutes-decision", n=index, text=clip(decision.text, 400)))
    lines.append(
        tn("meetings-minutes-decisions", len(found.decisions))
        if found.decisions
        else t("meetings-minutes-no-decisions")
    )
    tail: list[str] = []
    if meeting.minutes_text:
        tail.append(t("meetings-minutes-excerpt", text=clip(meeting.minutes_text, EXCERPT)))
    if meeting.minutes_file_id:
        tail.append(t("meetings-minutes-document", name=meeting.minutes_file_name or "—"))
    kept, left = fit(decisions, ROOM - sum(len(line) for line in (*lines, *tail)))
    lines.extend(kept)
    if left:
        lines.append(tn("meetings-mm-more", left))
    lines.extend(tail)
    return SafeHTML("\n".join(lines))


async def _render(
    session: AsyncSession, user: User | None, meeting_id: int, timezone: str
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    found = await minutes.view(session, user, meeting_id)
    return minutes_text(found, timezone), minutes_keyboard(found)


async def on_panel(
    query: CallbackQuery,
    callback_data: CDMeetingPanel,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    text, markup = await _render(session, user, callback_data.id, settings.timezone)
    await callback_message(query).answer(text, reply_markup=markup)


async def on_show(
    query: CallbackQuery,
    callback_data: CDMinutes,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    text, markup = await _render(session, user, callback_data.id, settings.timezone)
    await redraw(callback_message(query), text, markup)


async def on_remove(
    query: CallbackQuery,
    callback_data: CDMinutes,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    with on_the_clock(settings.timezone):
        await minutes.remove_decision(session, user, callback_data.id, callback_data.item)
    toast(callback_answer, "meetings-minutes-removed")
    text, markup = await _render(session, user, callback_data.id, settings.timezone)
    await redraw(callback_message(query), text, markup)


async def on_full_text(
    query: CallbackQuery,
    callback_data: CDMinutes,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    """The published minutes in full: the decisions and the text, in as many messages as
    Telegram needs."""
    found = await minutes.view(session, user, callback_data.id)
    meeting = found.meeting
    if meeting.minutes_at is None:
        raise StaleButton()
    params: dict[str, Any] = {
        "starts": dates.shown_datetime(meeting.starts_at, settings.timezone),
        "decisions": minutes.decision_lines(found.decisions) or "—",
        "minutes": meeting.minutes_text or "—",
        **heading(meeting),
    }
    message = callback_message(query)
    parts = split_text(t("meetings-minutes-full", **params))
    if len(parts) <= FULL_PARTS_MAX:
        for part in parts:
            await message.answer(part)
        return
    # Dozens of messages in a row would flood the chat: a long text comes as one file.
    content = plain("meetings-minutes-file", **params).encode("utf-8")
    await message.answer_document(
        BufferedInputFile(content, filename=f"minutes-{meeting.id}.txt"),
        caption=t("meetings-minutes-file-caption", **heading(meeting)),
    )


async def on_document(
    query: CallbackQuery, callback_data: CDMinutes, session: AsyncSession, user: User | None
) -> None:
    found = await minutes.view(session, user, callback_data.id)
    if found.meeting.minutes_at is None or not found.meeting.minutes_file_id:
        raise StaleButton()
    await callback_message(query).answer_document(found.meeting.minutes_file_id)


# --- Dialogs: a decision; the minutes; a recommendation's addressee ----------------------------


async def _data(state: FSMContext) -> dict[str, Any]:
    return {
        k.removeprefix(PREFIX): v
        for k, v in (await state.get_data()).items()
        if k.startswith(PREFIX)
    }


async def _remember(state: FSMContext, **values: Any) -> None:
    await state.update_data({PREFIX + k: v for k, v in values.items()})


async def _begin(state: FSMContext, step: State, meeting_id: int, item: int = 0) -> None:
    await state.clear()
    await state.set_state(step)
    await _remember(state, meeting=meeting_id, item=item)


async def _in_dialog(state: FSMContext, step: State, meeting_id: int) -> dict[str, Any]:
    data = await _data(state)
    if await state.get_state() != step.state or data.get("meeting") != meeting_id:
        raise StaleButton()
    return data


async def on_add(
    query: CallbackQuery,
    callback_data: CDMinutes,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    with on_the_clock(settings.timezone):
        meeting = await minutes.require_editor(session, user, callback_data.id)
    await _begin(state, Writing.decision, meeting.id)
    await callback_message(query).answer(
        t("meetings-minutes-ask-decision", max=minutes.DECISION_MAX),
        reply_markup=minutes_cancel_keyboard(meeting.id),
    )


async def on_decision(
    message: Message,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    data = await _data(state)
    meeting_id = int(data.get("meeting") or 0)
    with on_the_clock(settings.timezone):
        await minutes.add_decision(session, user, meeting_id, message.text or "")
    await state.clear()
    await message.answer(t("meetings-minutes-decision-added"))
    text, markup = await _render(session, user, meeting_id, settings.timezone)
    await message.answer(text, reply_markup=markup)


async def on_publish(
    query: CallbackQuery,
    callback_data: CDMinutes,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    with on_the_clock(settings.timezone):
        meeting = await minutes.require_editor(session, user, callback_data.id)
    await _begin(state, Writing.content, meeting.id)
    await _remember(state, text="", file_id=None, file_name=None)
    await callback_message(query).answer(
        t("meetings-minutes-ask-content", max=rules.TEXT_MAX),
        reply_markup=minutes_cancel_keyboard(meeting.id),
    )


async def _received(message: Message, data: dict[str, Any], meeting_id: int) -> None:
    document = data.get("file_name") or (
        "📎" if data.get("file_id") else plain("meetings-minutes-no-document")
    )
    await message.answer(
        t(
            "meetings-minutes-received",
            chars=len(str(data.get("text") or "")),
            max=rules.TEXT_MAX,
            document=document,
        ),
        reply_markup=minutes_send_keyboard(meeting_id),
    )


async def _append(state: FSMContext, data: dict[str, Any], part: str) -> None:
    """A part of the minutes' text: Telegram cuts a long text into several messages, so each
    is appended to what came before."""
    so_far = str(data.get("text") or "")
    part = part.strip()
    joined = f"{so_far}\n{part}" if so_far else part
    if len(joined) > rules.TEXT_MAX:
        raise InvalidInput("meetings-minutes-too-long", max=rules.TEXT_MAX, chars=len(so_far))
    await _remember(state, text=joined)
    data["text"] = joined


async def on_content_text(message: Message, state: FSMContext) -> None:
    data = await _data(state)
    await _append(state, data, message.text or "")
    await _received(message, data, int(data.get("meeting") or 0))


async def on_content_document(message: Message, state: FSMContext) -> None:
    """The minutes as a document (a second one replaces the first); its caption, if any, is
    part of the text."""
    data = await _data(state)
    document = message.document
    assert document is not None
    if message.caption:
        await _append(state, data, message.caption)
    await _remember(state, file_id=document.file_id, file_name=document.file_name)
    data.update(file_id=document.file_id, file_name=document.file_name)
    await _received(message, data, int(data.get("meeting") or 0))


async def on_content_other(message: Message) -> None:
    await message.answer(t("meetings-minutes-text-or-document"))


async def on_send(
    query: CallbackQuery,
    callback_data: CDMinutes,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    data = await _in_dialog(state, Writing.content, callback_data.id)
    file_id = data.get("file_id")
    document = (
        MinutesFile(str(file_id), str(data.get("file_name") or "") or None) if file_id else None
    )
    with on_the_clock(settings.timezone):
        meeting = await minutes.publish(
            session,
            user,
            callback_data.id,
            text=str(data.get("text") or "") or None,
            document=document,
            timezone=settings.timezone,
            buttons=notice_buttons,
        )
    await state.clear()
    toast(callback_answer, "meetings-minutes-published-toast")
    await step_done(callback_message(query), t("meetings-minutes-published", **heading(meeting)))


async def on_recommend(
    query: CallbackQuery,
    callback_data: CDMinutes,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    meeting, decision = await minutes.require_recommender(session, user, callback_data.item)
    if meeting.id != callback_data.id:
        raise StaleButton()
    await _begin(state, Writing.addressee, meeting.id, decision.id)
    await callback_message(query).answer(
        t("meetings-minutes-ask-addressee", text=clip(decision.text, 300)),
        reply_markup=minutes_cancel_keyboard(meeting.id),
    )


async def on_addressee(
    message: Message,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    data = await _data(state)
    recommendation = await minutes.recommend(
        session,
        user,
        int(data.get("item") or 0),
        message.text or "",
        reply_days=settings.recommendation_reply_days,
    )
    await state.clear()
    await message.answer(
        t(
            "meetings-minutes-recommended",
            number=recommendation.number,
            addressee=recommendation.addressee,
            due=dates.shown_date(recommendation.reply_due, settings.timezone),
        ),
        reply_markup=recommendation_link(recommendation.id),
    )


async def on_cancel(query: CallbackQuery, callback_data: CDMinutes, state: FSMContext) -> None:
    data = await _data(state)
    if (
        await state.get_state() not in Writing.__all_states_names__
        or data.get("meeting") != callback_data.id
    ):
        raise StaleButton()
    await state.clear()
    await step_done(callback_message(query), t("meetings-mm-cancelled"))


def setup() -> Router:
    router = Router(name="meetings_minutes")
    router.callback_query.register(on_panel, CDMeetingPanel.filter(F.panel == PANEL_MINUTES))
    router.callback_query.register(on_show, CDMinutes.filter(F.action == "show"))
    router.callback_query.register(on_remove, CDMinutes.filter(F.action == "remove"))
    router.callback_query.register(on_full_text, CDMinutes.filter(F.action == "text"))
    router.callback_query.register(on_document, CDMinutes.filter(F.action == "doc"))
    router.callback_query.register(on_add, CDMinutes.filter(F.action == "add"))
    router.callback_query.register(on_publish, CDMinutes.filter(F.action == "publish"))
    router.callback_query.register(on_send, CDMinutes.filter(F.action == "send"))
    router.callback_query.register(on_recommend, CDMinutes.filter(F.action == "recommend"))
    router.callback_query.register(on_cancel, CDMinutes.filter(F.action == "cancel"))
    router.message.register(on_decision, Writing.decision, TEXT_INPUT)
    router.message.register(on_addressee, Writing.addressee, TEXT_INPUT)
    for step in (Writing.decision, Writing.addressee):
        router.message.register(expect_text, step, NOT_TEXT)
    router.message.register(on_content_text, Writing.content, TEXT_INPUT)
    router.message.register(on_content_document, Writing.content, F.document)
    router.message.register(on_content_other, Writing.content, NOT_TEXT)
    attendance.register(router)
    return router


capability = Capability(name="meetings_minutes", setup=setup)
