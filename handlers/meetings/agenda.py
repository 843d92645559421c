"""The agenda panel of a meeting's card: everyone it is for sees the accepted agenda; an invitee
proposes an item until the proposals deadline (a title, then whether they will speak to it);
the organizer accepts or declines (with a reason) each proposal. The rules are in
bot/services/meetings/agenda.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import StaleButton, callback_message, redraw, toast
from bot.capabilities import Capability
from bot.config import Settings
from bot.dialogs import expect_buttons, expect_text, step_done
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.meetings import PANEL_AGENDA, CDMeetingPanel
from bot.keyboards.meetings_minutes import (
    CDAgenda,
    agenda_cancel_keyboard,
    agenda_keyboard,
    speak_keyboard,
)
from bot.services.errors import InvalidInput
from bot.services.meetings import agenda, rules
from bot.services.meetings.agenda import OutOfTime
from bot.texts import SafeHTML, clip, plain, t, tn
from models import User
from models.meetings import AgendaItem, AgendaStatus, Meeting

PREFIX = "mag_"
# Room for the lists of a panel in one message (Telegram's limit is 4096).
ROOM = 3500


class Proposal(StatesGroup):
    title = State()
    speak = State()
    reason = State()


@contextmanager
def on_the_clock(timezone: str) -> Iterator[None]:
    """A refusal naming moments (a deadline, a window) says them on the reader's clock."""
    try:
        yield
    except OutOfTime as exc:
        shown = {
            name: dates.shown_datetime(moment, timezone) for name, moment in exc.moments.items()
        }
        raise InvalidInput(exc.key, **exc.params, **shown) from exc


def heading(meeting: Meeting) -> dict[str, Any]:
    """What every panel's title says of its meeting."""
    return {
        "kind": plain(f"meetings-kind-{meeting.kind.value}"),
        "number": meeting.id,
        "title": meeting.title,
    }


def fit(lines: list[str], room: int = ROOM) -> tuple[list[str], int]:
    """As many lines as fit the room; returns them and how many were left out."""
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) > room:
            break
        kept.append(line)
        used += len(line) + 1
    return kept, len(lines) - len(kept)


def _speaker(item: AgendaItem, names: dict[int, str]) -> str:
    if item.speaker_id is not None:
        return names.get(item.speaker_id, "—")
    return item.speaker_name or ""


def agenda_text(found: agenda.Agenda, timezone: str) -> SafeHTML:
    lines: list[str] = [t("meetings-agenda-title", **heading(found.meeting))]
    items: list[str] = []
    for index, item in enumerate(found.accepted, start=1):
        speaker = _speaker(item, found.names)
        if speaker:
            items.append(
                t(
                    "meetings-agenda-line-speaker",
                    n=index,
                    item=clip(item.title, 200),
                    speaker=clip(speaker, 60),
                )
            )
        else:
            items.append(t("meetings-agenda-line", n=index, item=clip(item.title, 200)))
    if not items:
        lines.append(t("meetings-agenda-empty"))
    if found.deadline is not None:
        deadline = t(
            "meetings-agenda-open", deadline=dates.shown_datetime(found.deadline, timezone)
        )
    else:
        deadline = t("meetings-agenda-closed-note")
    tail: list[str] = [deadline]
    if found.mine:
        tail.append(t("meetings-agenda-mine"))
        for item in found.mine[: agenda.PENDING_MAX * 2]:
            if item.status == AgendaStatus.DECLINED:
                tail.append(
                    t(
                        "meetings-agenda-mine-declined",
                        item=clip(item.title, 120),
                        reason=clip(item.decline_reason or "—", 200),
                    )
                )
            else:
                tail.append(t("meetings-agenda-mine-pending", item=clip(item.title, 120)))
    if found.organizer and found.pending:
        tail.append(tn("meetings-agenda-pending", len(found.pending)))
        for index, item in enumerate(found.pending, start=1):
            key = (
                "meetings-agenda-proposal-speaks"
                if item.speaker_id is not None
                else "meetings-agenda-proposal"
            )
            tail.append(
                t(
                    key,
                    n=index,
                    item=clip(item.title, 200),
                    who=clip(found.names.get(item.proposed_by_id or 0, "—"), 60),
                )
            )
    room = ROOM - sum(len(line) for line in tail[:3])
    kept, left = fit(items, room // 2 if found.pending else room)
    lines.extend(kept)
    if left:
        lines.append(tn("meetings-mm-more", left))
    shown, hidden = fit(tail, ROOM - sum(len(line) + 1 for line in lines))
    lines.extend(shown)
    if hidden:
        lines.append(tn("meetings-mm-more", hidden))
    return SafeHTML("\n".join(lines))


async def _render(
    session: AsyncSession, user: User | None, meeting_id: int, timezone: str
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    found = await agenda.view(session, user, meeting_id)
    return agenda_text(found, timezone), agenda_keyboard(found)


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
    callback_data: CDAgenda,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    text, markup = await _render(session, user, callback_data.id, settings.timezone)
    await redraw(callback_message(query), text, markup)


async def on_accept(
    query: CallbackQuery,
    callback_data: CDAgenda,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    item = await agenda.accept(session, user, callback_data.id, callback_data.item)
    toast(callback_answer, "meetings-agenda-accepted", item=item.title)
    text, markup = await _render(session, user, callback_data.id, settings.timezone)
    await redraw(callback_message(query), text, markup)


# --- Dialogs: a proposal; a decline's reason ---------------------------------------------------


async def _data(state: FSMContext) -> dict[str, Any]:
    return {
        k.removeprefix(PREFIX): v
        for k, v in (await state.get_data()).items()
        if k.startswith(PREFIX)
    }


async def _begin(state: FSMContext, step: State, meeting_id: int, item: int = 0) -> None:
    await state.clear()
    await state.set_state(step)
    await state.update_data({PREFIX + "meeting": meeting_id, PREFIX + "item": item})


async def _in_dialog(state: FSMContext, step: State, meeting_id: int) -> dict[str, Any]:
    """The dialog's data, if this button belongs to the step going on; otherwise it is stale."""
    data = await _data(state)
    if await state.get_state() != step.state or data.get("meeting") != meeting_id:
        raise StaleButton()
    return data


async def on_propose(
    query: CallbackQuery,
    callback_data: CDAgenda,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    with on_the_clock(settings.timezone):
        meeting = await agenda.require_proposer(session, user, callback_data.id)
    await _begin(state, Proposal.title, meeting.id)
    await callback_message(query).answer(
        t("meetings-agenda-ask-title", max=rules.ITEM_MAX, **heading(meeting)),
        reply_markup=agenda_cancel_keyboard(meeting.id),
    )


async def on_title(message: Message, state: FSMContext) -> None:
    data = await _data(state)
    meeting_id = int(data.get("meeting") or 0)
    title = rules.clean_line(message.text, rules.ITEM_MAX, "meetings-bad-item")
    await state.update_data({PREFIX + "title": title})
    await state.set_state(Proposal.speak)
    await message.answer(
        t("meetings-agenda-ask-speak", item=title), reply_markup=speak_keyboard(meeting_id)
    )


async def on_speak(
    query: CallbackQuery,
    callback_data: CDAgenda,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    data = await _in_dialog(state, Proposal.speak, callback_data.id)
    with on_the_clock(settings.timezone):
        item = await agenda.propose(
            session,
            user,
            callback_data.id,
            str(data.get("title") or ""),
            speak=callback_data.action == "speak",
        )
    await state.clear()
    toast(callback_answer, "meetings-agenda-sent-toast")
    await step_done(callback_message(query), t("meetings-agenda-sent", item=item.title))


async def on_decline(
    query: CallbackQuery,
    callback_data: CDAgenda,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    item = await agenda.require_decider(session, user, callback_data.id, callback_data.item)
    await _begin(state, Proposal.reason, callback_data.id, item.id)
    await callback_message(query).answer(
        t("meetings-agenda-ask-reason", item=item.title, max=rules.REASON_MAX),
        reply_markup=agenda_cancel_keyboard(callback_data.id),
    )


async def on_reason(
    message: Message,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    data = await _data(state)
    meeting_id = int(data.get("meeting") or 0)
    item = await agenda.decline(
        session, user, meeting_id, int(data.get("item") or 0), message.text or ""
    )
    await state.clear()
    await message.answer(t("meetings-agenda-declined", item=item.title))
    text, markup = await _render(session, user, meeting_id, settings.timezone)
    await message.answer(text, reply_markup=markup)


async def on_cancel(query: CallbackQuery, callback_data: CDAgenda, state: FSMContext) -> None:
    data = await _data(state)
    if (
        await state.get_state() not in Proposal.__all_states_names__
        or data.get("meeting") != callback_data.id
    ):
        raise StaleButton()
    await state.clear()
    await step_done(callback_message(query), t("meetings-mm-cancelled"))


async def on_buttons_hint(message: Message, state: FSMContext) -> None:
    data = await _data(state)
    await expect_buttons(message, speak_keyboard(int(data.get("meeting") or 0)))


def setup() -> Router:
    router = Router(name="meetings_agenda")
    router.callback_query.register(on_panel, CDMeetingPanel.filter(F.panel == PANEL_AGENDA))
    router.callback_query.register(on_show, CDAgenda.filter(F.action == "show"))
    router.callback_query.register(on_accept, CDAgenda.filter(F.action == "accept"))
    router.callback_query.register(on_propose, CDAgenda.filter(F.action == "propose"))
    router.callback_query.register(on_speak, CDAgenda.filter(F.action.in_({"speak", "nospeak"})))
    router.callback_query.register(on_decline, CDAgenda.filter(F.action == "decline"))
    router.callback_query.register(on_cancel, CDAgenda.filter(F.action == "cancel"))
    router.message.register(on_title, Proposal.title, TEXT_INPUT)
    router.message.register(on_reason, Proposal.reason, TEXT_INPUT)
    for step in (Proposal.title, Proposal.reason):
        router.message.register(expect_text, step, NOT_TEXT)
    router.message.register(on_buttons_hint, Proposal.speak, ~F.text.startswith("/"))
    return router


capability = Capability(name="meetings_agenda", setup=setup)
