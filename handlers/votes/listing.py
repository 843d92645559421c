"""/votes (the votes waiting for a person, and those they organize or took part in) and /receipt
(whether a ballot is in the count)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.config import Settings
from bot.keyboards.votes import list_keyboard, option_label
from bot.services import votes
from bot.services.permissions import require_registered
from bot.texts import SafeHTML, plain, t
from models import User


async def cmd_votes(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    user = require_registered(user)
    mine = await votes.open_for_voter(session, user)
    organized = await votes.organized(session, user)
    closed = await votes.recent_closed_for(session, user)
    if not mine and not organized and not closed:
        await message.answer(t("votes-none"))
        return
    if mine:
        lines = [t("votes-mine-title")]
        for item in mine:
            key = "votes-mine-voted" if item.voted else "votes-mine-waiting"
            closes = dates.shown_datetime(item.vote.closes_at, settings.timezone)
            lines.append(t(key, number=item.vote.id, question=item.vote.question, closes=closes))
        await message.answer(
            SafeHTML("\n".join(lines)), reply_markup=list_keyboard([i.vote for i in mine])
        )
    listed = [vote for vote in organized if vote.id not in {i.vote.id for i in mine}]
    listed += [v for v in closed if v.id not in {x.id for x in listed}]
    if listed:
        await message.answer(t("votes-others-title"), reply_markup=list_keyboard(listed[:20]))


async def cmd_receipt(
    message: Message, command: CommandObject, session: AsyncSession, user: User | None
) -> None:
    user = require_registered(user)
    code = (command.args or "").strip()
    if not code:
        await message.answer(t("votes-receipt-usage"))
        return
    receipt = await votes.check_receipt(session, user, code)
    vote = receipt.vote
    params = {
        "number": vote.id,
        "question": vote.question,
        "status": plain(f"votes-status-{vote.status.value}"),
    }
    if receipt.positions is None:
        await message.answer(t("votes-receipt-counted", **params))
        return
    choice = ", ".join(option_label(vote, position) for position in receipt.positions)
    await message.answer(t("votes-receipt-current", choice=choice, **params))


def register(router: Router) -> None:
    router.message.register(cmd_votes, Command("votes"))
    router.message.register(cmd_receipt, Command("receipt"))
