"""The proxy screens of a vote by organization: the delegate holding their organization's seat
presses "Hand my organization's vote to a proxy" on the ballot, finds a registered person by
name, confirms, and the proxy gets the ballot. The service checks at every step that the presser
holds the seat and has not voted; a button of another dialog or an old screen is stale."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, callback_message
from bot.config import Settings
from bot.dialogs import expect_text, step_done
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.meetings_votes import (
    CDProxy,
    ballot_rows,
    proxy_cancel_keyboard,
    proxy_confirm_keyboard,
    proxy_people_keyboard,
)
from bot.services.meetings import proxy
from bot.texts import t
from models import User

PREFIX = "mvp_"


class Proxy(StatesGroup):
    person = State()
    sure = State()


async def _data(state: FSMContext) -> dict[str, Any]:
    return {
        k.removeprefix(PREFIX): v
        for k, v in (await state.get_data()).items()
        if k.startswith(PREFIX)
    }


async def _in_dialog(state: FSMContext, vote_id: int, *steps: State) -> dict[str, Any]:
    current = await state.get_state()
    data = await _data(state)
    wanted = {step.state for step in steps} or set(Proxy.__all_states_names__)
    if current not in wanted or data.get("vote") != vote_id:
        raise StaleButton()
    return data


def _organization(seat: proxy.Seat) -> str:
    return seat.organization.name if seat.organization is not None else "—"


async def on_start(
    query: CallbackQuery,
    callback_data: CDProxy,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    seat = await proxy.seat_of(session, user, callback_data.vote)
    await state.clear()
    await state.set_state(Proxy.person)
    await state.update_data({f"{PREFIX}vote": seat.vote.id})
    await callback_message(query).answer(
        t(
            "meetings-votes-proxy-ask",
            number=seat.vote.id,
            question=seat.vote.question,
            organization=_organization(seat),
        ),
        reply_markup=proxy_cancel_keyboard(seat.vote.id),
    )


async def on_name(
    message: Message, session: AsyncSession, user: User | None, state: FSMContext
) -> None:
    vote_id = int((await _data(state)).get("vote") or 0)
    people = await proxy.find(session, user, vote_id, (message.text or "").strip())
    await state.set_state(Proxy.person)
    if not people:
        await message.answer(
            t("meetings-votes-proxy-nobody"), reply_markup=proxy_cancel_keyboard(vote_id)
        )
        return
    await message.answer(
        t("meetings-votes-proxy-found"), reply_markup=proxy_people_keyboard(vote_id, people)
    )


async def on_pick(
    query: CallbackQuery,
    callback_data: CDProxy,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    await _in_dialog(state, callback_data.vote, Proxy.person)
    seat, person = await proxy.check(session, user, callback_data.vote, callback_data.user)
    await state.set_state(Proxy.sure)
    await state.update_data({f"{PREFIX}user": person.id})
    await step_done(
        callback_message(query),
        t(
            "meetings-votes-proxy-confirm",
            number=seat.vote.id,
            organization=_organization(seat),
            name=person.name or "—",
        ),
        proxy_confirm_keyboard(seat.vote.id, person.id),
    )


async def on_sure(
    query: CallbackQuery,
    callback_data: CDProxy,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    data = await _in_dialog(state, callback_data.vote, Proxy.sure)
    if data.get("user") != callback_data.user:
        raise StaleButton()
    seat, person = await proxy.hand_over(
        session,
        user,
        callback_data.vote,
        callback_data.user,
        timezone=settings.timezone,
        buttons=ballot_rows,
    )
    await state.clear()
    await step_done(
        callback_message(query),
        t(
            "meetings-votes-proxy-done",
            number=seat.vote.id,
            organization=_organization(seat),
            name=person.name or "—",
        ),
    )


async def on_cancel(query: CallbackQuery, callback_data: CDProxy, state: FSMContext) -> None:
    await _in_dialog(state, callback_data.vote)
    await state.clear()
    await step_done(callback_message(query), t("meetings-votes-proxy-cancelled"))


async def on_not_text(message: Message) -> None:
    await expect_text(message)


def register(router: Router) -> None:
    router.callback_query.register(on_start, CDProxy.filter(F.act == "start"))
    router.callback_query.register(on_pick, CDProxy.filter(F.act == "pick"))
    router.callback_query.register(on_sure, CDProxy.filter(F.act == "sure"))
    router.callback_query.register(on_cancel, CDProxy.filter(F.act == "cancel"))
    # Typing another name on the confirmation screen searches again.
    router.message.register(on_name, StateFilter(Proxy.person, Proxy.sure), TEXT_INPUT)
    router.message.register(on_not_text, StateFilter(*Proxy.__all_states__), NOT_TEXT)
