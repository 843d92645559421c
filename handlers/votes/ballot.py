"""The ballot's buttons, pressed by a voter: pick or tick options, confirm, cast or change."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import alert, callback_message, toast
from bot.keyboards.votes import (
    CDBallot,
    CDConfirm,
    ballot_keyboard,
    bits,
    confirm_keyboard,
    counted_keyboard,
    option_label,
)
from bot.services import votes
from bot.texts import t
from models import User, Vote


async def on_shown(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    alert(callback_answer, "votes-already-counted")


async def _ask_confirmation(
    query: CallbackQuery, session: AsyncSession, user: User | None, vote: Vote, mask: int
) -> None:
    # The server keeps the screen's code: a cast without it is refused (see votes.cast).
    code = await votes.confirm(session, user, vote.id, bits(mask))
    await callback_message(query).edit_reply_markup(reply_markup=confirm_keyboard(vote, mask, code))


async def on_pick(
    query: CallbackQuery,
    callback_data: CDBallot,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    vote = await votes.check_voter(session, user, callback_data.vote)
    if callback_data.act == "back":
        markup = ballot_keyboard(vote)
    elif callback_data.act == "tick":
        if len(bits(callback_data.mask)) > vote.max_choices:
            alert(callback_answer, "votes-too-many", n=vote.max_choices)
            return
        markup = ballot_keyboard(vote, callback_data.mask)
    elif votes.is_final(vote):
        await _ask_confirmation(query, session, user, vote, callback_data.mask)
        return
    else:
        await _cast(query, session, user, vote, callback_data.mask, callback_answer)
        return
    await callback_message(query).edit_reply_markup(reply_markup=markup)


async def on_cast(
    query: CallbackQuery,
    callback_data: CDBallot,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    vote = await votes.get(session, callback_data.vote)
    if not callback_data.mask:
        alert(callback_answer, "votes-choose-something")
        return
    if votes.is_final(vote):
        await _ask_confirmation(query, session, user, vote, callback_data.mask)
        return
    await _cast(query, session, user, vote, callback_data.mask, callback_answer)


async def on_confirmed(
    query: CallbackQuery,
    callback_data: CDConfirm,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    vote = await votes.get(session, callback_data.vote)
    await _cast(query, session, user, vote, callback_data.mask, callback_answer, callback_data.code)


async def _cast(
    query: CallbackQuery,
    session: AsyncSession,
    user: User | None,
    vote: Vote,
    mask: int,
    callback_answer: CallbackAnswer,
    confirmation: str | None = None,
) -> None:
    message = callback_message(query)
    cast = await votes.cast(session, user, vote.id, bits(mask), confirmation=confirmation)
    choice = ", ".join(option_label(vote, position) for position in cast.positions)
    if cast.receipt is None and not cast.changed:
        toast(callback_answer, "votes-already-counted")
        return
    toast(callback_answer, "votes-counted-short")
    if vote.changeable and not vote.secret:
        markup = ballot_keyboard(vote, voted=cast.positions)
    else:
        markup = counted_keyboard(vote, cast.positions)
    await message.edit_reply_markup(reply_markup=markup)
    if cast.changed:
        await message.answer(t("votes-changed", number=vote.id, choice=choice))
        return
    if vote.secret:
        key = "votes-counted-secret"
    elif vote.changeable:
        key = "votes-counted-changeable"
    else:
        key = "votes-counted-final"
    await message.answer(t(key, number=vote.id, choice=choice, receipt=cast.receipt or ""))


def register(router: Router) -> None:
    router.callback_query.register(on_shown, CDBallot.filter(F.act == "shown"))
    router.callback_query.register(on_pick, CDBallot.filter(F.act.in_({"pick", "tick", "back"})))
    router.callback_query.register(on_cast, CDBallot.filter(F.act == "cast"))
    router.callback_query.register(on_confirmed, CDConfirm.filter())
