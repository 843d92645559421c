"""The vote's card, for its organizers (and the voters and the Secretariat, who only look): open,
who has not voted, close early, call off, delete a draft, the protocol, announce the results."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import callback_message
from bot.config import Settings
from bot.dialogs import step_done
from bot.keyboards.bodies import body_title
from bot.keyboards.votes import (
    CDVote,
    ballot_rows,
    card_keyboard,
    confirm_action_keyboard,
    option_label,
)
from bot.services import votes
from bot.services.errors import NotAllowed
from bot.texts import SafeHTML, clip, plain, t, tn
from models import User, Vote, VoteStatus


def _chart(vote: Vote) -> bytes:
    # Drawn for the organizer who closes it, in their language (the close sends it to every voter).
    return votes.chart(vote, plain)


CLOSES_KEYS = {
    VoteStatus.CLOSED: "votes-card-closed",
    VoteStatus.CANCELLED: "votes-card-cancelled",
}


async def _card_text(session: AsyncSession, vote: Vote, settings: Settings) -> SafeHTML:
    lines = [
        t("votes-card-title", number=vote.id, status=plain(f"votes-status-{vote.status.value}")),
        t("votes-card-question", question=vote.question),
    ]
    if vote.text:
        lines.append(SafeHTML(clip(vote.text, 600)))
    if vote.addressee:
        lines.append(t("votes-card-addressee", addressee=vote.addressee))
    options = ", ".join(option_label(vote, option.position) for option in vote.options)
    lines.append(t("votes-card-options", options=options))
    if vote.max_choices > 1:
        lines.append(tn("votes-card-seats", vote.max_choices))
    lines.append(
        t(
            "votes-card-rules",
            secret=plain("votes-secret" if vote.secret else "votes-open"),
            quorum=plain(f"votes-quorum-{vote.quorum.value}"),
            majority=plain(f"votes-majority-{vote.majority.value}"),
        )
    )
    # A finished vote says when it ended, not when it was due to.
    ended = vote.closed_at if vote.status in CLOSES_KEYS else None
    lines.append(
        t(
            CLOSES_KEYS.get(vote.status, "votes-card-closes"),
            time=dates.shown_datetime(ended or vote.closes_at, settings.timezone),
        )
    )
    if vote.status == VoteStatus.OPEN:
        count = await votes.turnout(session, vote.id)
        lines.append(t("votes-card-turnout", voted=count.voted, eligible=count.eligible))
    if vote.status == VoteStatus.CLOSED and vote.result:
        lines.append(
            t(
                "votes-card-result",
                outcome=plain(
                    f"votes-outcome-{vote.outcome.value if vote.outcome else 'rejected'}"
                ),
                cast=vote.result.get("cast", 0),
                eligible=vote.result.get("eligible", 0),
            )
        )
        for label, count_ in votes.tally_bars(vote, plain):
            lines.append(SafeHTML(f"• {clip(label, 100)}: {count_}"))
    return SafeHTML("\n".join(lines))


async def send_card(
    message: Message, session: AsyncSession, user: User | None, vote_id: int, settings: Settings
) -> None:
    vote, organizer = await votes.get_for_viewer(session, user, vote_id)
    await message.answer(
        await _card_text(session, vote, settings),
        reply_markup=card_keyboard(
            vote, organizer=organizer, presidium=votes.organizes_every_vote(user)
        ),
    )


async def on_card(
    query: CallbackQuery,
    callback_data: CDVote,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    await send_card(callback_message(query), session, user, callback_data.id, settings)


async def on_ask_sure(
    query: CallbackQuery, callback_data: CDVote, session: AsyncSession, user: User | None
) -> None:
    vote = await votes.get_for_organizer(session, user, callback_data.id)
    await callback_message(query).edit_reply_markup(
        reply_markup=confirm_action_keyboard(vote, callback_data.action)
    )


async def on_open(
    query: CallbackQuery,
    callback_data: CDVote,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    vote = await votes.open_vote(
        session, user, callback_data.id, timezone=settings.timezone, buttons=ballot_rows
    )
    await step_done(
        callback_message(query), tn("votes-opened", vote.eligible_count, number=vote.id)
    )
    await send_card(callback_message(query), session, user, vote.id, settings)


async def on_close(
    query: CallbackQuery,
    callback_data: CDVote,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    vote = await votes.close_early(
        session,
        user,
        callback_data.id,
        timezone=settings.timezone,
        reply_days=settings.recommendation_reply_days,
        chart=_chart,
    )
    outcome = plain(f"votes-outcome-{vote.outcome}")
    await step_done(
        callback_message(query), t("votes-closed-early", number=vote.id, outcome=outcome)
    )
    await send_card(callback_message(query), session, user, vote.id, settings)


async def on_cancel(
    query: CallbackQuery, callback_data: CDVote, session: AsyncSession, user: User | None
) -> None:
    vote = await votes.cancel(session, user, callback_data.id)
    await step_done(callback_message(query), t("votes-cancelled-done", number=vote.id))


async def on_delete(
    query: CallbackQuery, callback_data: CDVote, session: AsyncSession, user: User | None
) -> None:
    await votes.delete_draft(session, user, callback_data.id)
    await step_done(callback_message(query), t("votes-deleted", number=callback_data.id))


async def on_waiting(
    query: CallbackQuery, callback_data: CDVote, session: AsyncSession, user: User | None
) -> None:
    message = callback_message(query)
    waiting = await votes.non_voters(session, user, callback_data.id)
    if not waiting.total:
        await message.answer(t("votes-everyone-voted", number=callback_data.id))
        return
    names = [f"• {clip(name, 80)}" for _, name in waiting.shown]
    more = waiting.total - len(names)
    text = tn("votes-waiting", waiting.total, number=callback_data.id) + "\n" + "\n".join(names)
    if more > 0:
        text += "\n" + tn("votes-waiting-more", more)
    await message.answer(SafeHTML(text))


async def on_protocol(
    query: CallbackQuery,
    callback_data: CDVote,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    vote = await votes.closed_for_viewer(session, user, callback_data.id)
    data = await votes.protocol(session, vote, settings.timezone, plain, body_title)
    await callback_message(query).answer_document(
        BufferedInputFile(data, filename=f"protocol-{vote.id}.docx"),
        caption=t("votes-protocol-caption", number=vote.id),
    )


async def on_announce(
    query: CallbackQuery, callback_data: CDVote, session: AsyncSession, user: User | None
) -> None:
    vote = await votes.get(session, callback_data.id)
    if not votes.organizes_every_vote(user):
        raise NotAllowed()
    await callback_message(query).edit_reply_markup(
        reply_markup=confirm_action_keyboard(vote, "announce")
    )


async def on_announce_sure(
    query: CallbackQuery,
    callback_data: CDVote,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    outbox = await votes.announce_results(session, user, callback_data.id, settings.timezone)
    await step_done(
        callback_message(query), tn("votes-announced", outbox.total, number=callback_data.id)
    )


def register(router: Router) -> None:
    router.callback_query.register(on_card, CDVote.filter(F.action == "card"))
    router.callback_query.register(
        on_ask_sure, CDVote.filter(F.action.in_({"open", "close", "cancel", "delete"}))
    )
    router.callback_query.register(on_open, CDVote.filter(F.action == "open!"))
    router.callback_query.register(on_close, CDVote.filter(F.action == "close!"))
    router.callback_query.register(on_cancel, CDVote.filter(F.action == "cancel!"))
    router.callback_query.register(on_delete, CDVote.filter(F.action == "delete!"))
    router.callback_query.register(on_waiting, CDVote.filter(F.action == "waiting"))
    router.callback_query.register(on_protocol, CDVote.filter(F.action == "protocol"))
    router.callback_query.register(on_announce, CDVote.filter(F.action == "announce"))
    router.callback_query.register(on_announce_sure, CDVote.filter(F.action == "announce!"))
