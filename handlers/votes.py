"""Votes: drafting (/new_vote), the organizer's card (open, who is waiting, close, cancel,
protocol, announce), the ballot's buttons, /votes and /receipt."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import vote_files
from bot.callbacks import alert, callback_message, toast
from bot.capabilities import ORGANIZERS, Capability, CommandSpec, HomeGroup, JobContext
from bot.config import Settings
from bot.drafts import StoredDraft
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.bodies import body_title
from bot.keyboards.votes import (
    ADDRESSEES,
    DURATIONS,
    CDBallot,
    CDDraft,
    CDVote,
    addressee_keyboard,
    ballot_keyboard,
    ballot_rows,
    bits,
    bodies_keyboard,
    card_keyboard,
    confirm_action_keyboard,
    confirm_keyboard,
    counted_keyboard,
    kind_keyboard,
    list_keyboard,
    option_label,
    settings_keyboard,
)
from bot.services import schedule, votes
from bot.services.errors import NotAllowed
from bot.services.permissions import has_any_role, require_registered
from bot.texts import SafeHTML, clip, plain, t, tn
from models import (
    Majority,
    OptionKind,
    Outcome,
    Quorum,
    ScheduledJob,
    User,
    Vote,
    VoteKind,
    VoteStatus,
)
from models.base import utcnow
from scheduler.runner import JobHandler

router = Router(name="votes")

DRAFT = StoredDraft("vote_draft")
QUORUMS = [q.value for q in Quorum]
MAJORITIES = [m.value for m in Majority]


class NewVote(StatesGroup):
    body = State()
    kind = State()
    question = State()
    text = State()
    options = State()
    seats = State()
    addressee = State()
    settings = State()


# --- Drafting ------------------------------------------------------------------------------------


@router.message(Command("new_vote"))
async def cmd_new_vote(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    bodies = await votes.organizable_bodies(session, user)
    if not bodies:
        raise NotAllowed()
    await state.set_state(NewVote.body)
    await DRAFT.save(state, {})
    if len(bodies) == 1:
        await _chosen_body(message, state, bodies[0].id)
        return
    titles = {body.id: body_title(body) for body in bodies}
    await message.answer(t("votes-ask-body"), reply_markup=bodies_keyboard(bodies, titles))


async def _chosen_body(message: Message, state: FSMContext, body_id: int) -> None:
    await DRAFT.save(state, {"body_id": body_id})
    await state.set_state(NewVote.kind)
    await message.answer(t("votes-ask-kind"), reply_markup=kind_keyboard())


@router.callback_query(NewVote.body, CDDraft.filter(F.field == "body"))
async def on_body(
    query: CallbackQuery,
    callback_data: CDDraft,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    allowed = {body.id for body in await votes.organizable_bodies(session, user)}
    body_id = int(callback_data.value) if callback_data.value.isdigit() else -1
    if body_id not in allowed:
        raise NotAllowed()
    await message.edit_reply_markup(reply_markup=None)
    await _chosen_body(message, state, body_id)


@router.callback_query(NewVote.kind, CDDraft.filter(F.field == "kind"))
async def on_kind(
    query: CallbackQuery, callback_data: CDDraft, state: FSMContext, callback_answer: CallbackAnswer
) -> None:
    message = callback_message(query)
    if callback_data.value not in {kind.value for kind in VoteKind}:
        alert(callback_answer, "error-stale-button")
        return
    draft = await DRAFT.load(state)
    draft["kind"] = callback_data.value
    await DRAFT.save(state, draft)
    await message.edit_reply_markup(reply_markup=None)
    await state.set_state(NewVote.question)
    await message.answer(t("votes-ask-question", max=votes.QUESTION_MAX))


@router.message(NewVote.question, TEXT_INPUT)
async def on_question(message: Message, state: FSMContext) -> None:
    question = votes.check_question(message.text or "")
    draft = await DRAFT.load(state)
    draft["question"] = question
    await DRAFT.save(state, draft)
    await state.set_state(NewVote.text)
    await message.answer(t("votes-ask-text"))


@router.message(NewVote.text, TEXT_INPUT)
async def on_text(message: Message, state: FSMContext) -> None:
    raw = message.text or ""
    text = "" if raw.strip() in ("-", "—") else votes.check_text(raw)
    draft = await DRAFT.load(state)
    draft["text"] = text
    await DRAFT.save(state, draft)
    await _after_text(message, state, draft)


async def _after_text(message: Message, state: FSMContext, draft: dict) -> None:
    if draft.get("kind") == VoteKind.RECOMMENDATION.value:
        await state.set_state(NewVote.addressee)
        await message.answer(t("votes-ask-addressee"), reply_markup=addressee_keyboard())
        return
    await state.set_state(NewVote.options)
    key = (
        "votes-ask-candidates"
        if draft.get("kind") == VoteKind.ELECTION.value
        else "votes-ask-options"
    )
    await message.answer(t(key, max=votes.OPTIONS_MAX))


@router.message(NewVote.options, TEXT_INPUT)
async def on_options(message: Message, state: FSMContext, settings: Settings) -> None:
    options = votes.check_options((message.text or "").splitlines())
    draft = await DRAFT.load(state)
    draft["options"] = options
    await DRAFT.save(state, draft)
    if draft.get("kind") == VoteKind.ELECTION.value:
        await state.set_state(NewVote.seats)
        await message.answer(t("votes-ask-seats", max=len(options) - 1))
        return
    await _show_settings(message, state, settings)


@router.message(NewVote.seats, TEXT_INPUT)
async def on_seats(message: Message, state: FSMContext, settings: Settings) -> None:
    draft = await DRAFT.load(state)
    draft["seats"] = votes.check_seats(message.text or "", len(draft.get("options", [])))
    await DRAFT.save(state, draft)
    await _show_settings(message, state, settings)


@router.callback_query(NewVote.addressee, CDDraft.filter(F.field == "addressee"))
async def on_addressee_button(
    query: CallbackQuery,
    callback_data: CDDraft,
    state: FSMContext,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    index = int(callback_data.value) if callback_data.value.isdigit() else -1
    if not 0 <= index < len(ADDRESSEES):
        alert(callback_answer, "error-stale-button")
        return
    await message.edit_reply_markup(reply_markup=None)
    await _set_addressee(message, state, settings, plain(ADDRESSEES[index]))


@router.message(NewVote.addressee, TEXT_INPUT)
async def on_addressee(message: Message, state: FSMContext, settings: Settings) -> None:
    await _set_addressee(message, state, settings, message.text or "")


async def _set_addressee(
    message: Message, state: FSMContext, settings: Settings, addressee: str
) -> None:
    draft = await DRAFT.load(state)
    draft["addressee"] = votes.check_addressee(addressee)
    await DRAFT.save(state, draft)
    await _show_settings(message, state, settings)


@router.message(
    StateFilter(NewVote.question, NewVote.text, NewVote.options, NewVote.seats, NewVote.addressee),
    NOT_TEXT,
)
async def on_not_text(message: Message) -> None:
    await message.answer(t("votes-text-expected"))


def _default_close(settings: Settings) -> datetime:
    # Three days from now, on the hour: easy to say aloud at a meeting.
    moment = (utcnow() + timedelta(days=3)).astimezone(ZoneInfo(settings.timezone))
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


async def _show_settings(message: Message, state: FSMContext, settings: Settings) -> None:
    draft = await DRAFT.load(state)
    draft.setdefault("closes_at", _default_close(settings).isoformat())
    await DRAFT.save(state, draft)
    await state.set_state(NewVote.settings)
    await message.answer(_settings_text(draft, settings), reply_markup=settings_keyboard(draft))


def _settings_text(draft: dict, settings: Settings) -> SafeHTML:
    closes = schedule.local_time(datetime.fromisoformat(draft["closes_at"]), settings.timezone)
    return t("votes-settings", question=draft.get("question", ""), closes=closes)


@router.callback_query(NewVote.settings, CDDraft.filter(F.field != "abort"))
async def on_setting(
    query: CallbackQuery,
    callback_data: CDDraft,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    draft = await DRAFT.load(state)
    field = callback_data.field
    if field == "save":
        await _save_draft(query, state, session, user, settings, draft)
        return
    if field == "secret":
        draft["secret"] = not draft.get("secret", False)
    elif field == "changeable":
        draft["changeable"] = not draft.get("changeable", True)
    elif field == "quorum":
        current = draft.get("quorum", Quorum.MORE_THAN_HALF.value)
        draft["quorum"] = QUORUMS[(QUORUMS.index(current) + 1) % len(QUORUMS)]
    elif field == "majority":
        current = draft.get("majority", Majority.OF_CAST.value)
        draft["majority"] = MAJORITIES[(MAJORITIES.index(current) + 1) % len(MAJORITIES)]
    elif (
        field == "days" and callback_data.value.isdigit() and int(callback_data.value) in DURATIONS
    ):
        moment = utcnow() + timedelta(days=int(callback_data.value))
        local = moment.astimezone(ZoneInfo(settings.timezone)).replace(second=0, microsecond=0)
        draft["closes_at"] = local.isoformat()
    else:
        alert(callback_answer, "error-stale-button")
        return
    await DRAFT.save(state, draft)
    await callback_message(query).edit_text(
        _settings_text(draft, settings), reply_markup=settings_keyboard(draft)
    )


@router.message(NewVote.settings, TEXT_INPUT)
async def on_close_time(message: Message, state: FSMContext, settings: Settings) -> None:
    typed = schedule.parse_local_time(message.text or "", settings.timezone)
    if typed is None:
        await message.answer(t("votes-time-format"))
        return
    closes_at = votes.check_closes_at(typed)
    draft = await DRAFT.load(state)
    draft["closes_at"] = closes_at.isoformat()
    await DRAFT.save(state, draft)
    await message.answer(_settings_text(draft, settings), reply_markup=settings_keyboard(draft))


async def _save_draft(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    draft: dict,
) -> None:
    message = callback_message(query)
    data = votes.DraftInput(
        body_id=draft.get("body_id"),
        kind=VoteKind(draft.get("kind", VoteKind.RECOMMENDATION.value)),
        question=draft.get("question", ""),
        closes_at=datetime.fromisoformat(draft["closes_at"]),
        text=draft.get("text", ""),
        options=draft.get("options", []),
        max_choices=draft.get("seats", 1),
        addressee=draft.get("addressee"),
        secret=draft.get("secret", False),
        changeable=draft.get("changeable", True),
        quorum=Quorum(draft.get("quorum", Quorum.MORE_THAN_HALF.value)),
        majority=Majority(draft.get("majority", Majority.OF_CAST.value)),
    )
    vote = await votes.create_draft(session, user, data)
    await state.clear()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(t("votes-draft-saved", number=vote.id))
    await _send_card(message, session, user, vote.id, settings)


@router.callback_query(CDDraft.filter(F.field == "abort"))
async def on_abort(
    query: CallbackQuery, state: FSMContext, callback_answer: CallbackAnswer
) -> None:
    message = callback_message(query)
    if not (await state.get_state() or "").startswith("NewVote:"):
        alert(callback_answer, "error-stale-button")
        return
    await state.clear()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(t("votes-draft-aborted"))


# --- The card --------------------------------------------------------------------------------


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
            time=schedule.local_time(ended or vote.closes_at, settings.timezone),
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
        for label, count_ in vote_files.tally_bars(vote):
            lines.append(SafeHTML(f"• {clip(label, 100)}: {count_}"))
    return SafeHTML("\n".join(lines))


async def _send_card(
    message: Message, session: AsyncSession, user: User | None, vote_id: int, settings: Settings
) -> None:
    vote, organizer = await votes.get_for_viewer(session, user, vote_id)
    await message.answer(
        await _card_text(session, vote, settings),
        reply_markup=card_keyboard(
            vote, organizer=organizer, presidium=has_any_role(user, *votes.ORGANIZER_ROLES)
        ),
    )


@router.callback_query(CDVote.filter(F.action == "card"))
async def on_card(
    query: CallbackQuery,
    callback_data: CDVote,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    await _send_card(callback_message(query), session, user, callback_data.id, settings)


async def _done(query: CallbackQuery, text: SafeHTML) -> None:
    """An action on the card is done: its buttons go (they would be stale), the outcome is said."""
    message = callback_message(query)
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(text)


@router.callback_query(CDVote.filter(F.action.in_({"open", "close", "cancel", "delete"})))
async def on_ask_sure(
    query: CallbackQuery, callback_data: CDVote, session: AsyncSession, user: User | None
) -> None:
    vote = await votes.get_for_organizer(session, user, callback_data.id)
    await callback_message(query).edit_reply_markup(
        reply_markup=confirm_action_keyboard(vote, callback_data.action)
    )


@router.callback_query(CDVote.filter(F.action == "open!"))
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
    await _done(query, tn("votes-opened", vote.eligible_count, number=vote.id))
    await _send_card(callback_message(query), session, user, vote.id, settings)


@router.callback_query(CDVote.filter(F.action == "close!"))
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
        chart=vote_files.chart,
    )
    outcome = plain(f"votes-outcome-{vote.outcome}")
    await _done(query, t("votes-closed-early", number=vote.id, outcome=outcome))
    await _send_card(callback_message(query), session, user, vote.id, settings)


@router.callback_query(CDVote.filter(F.action == "cancel!"))
async def on_cancel(
    query: CallbackQuery, callback_data: CDVote, session: AsyncSession, user: User | None
) -> None:
    vote = await votes.cancel(session, user, callback_data.id)
    await _done(query, t("votes-cancelled-done", number=vote.id))


@router.callback_query(CDVote.filter(F.action == "delete!"))
async def on_delete(
    query: CallbackQuery, callback_data: CDVote, session: AsyncSession, user: User | None
) -> None:
    await votes.delete_draft(session, user, callback_data.id)
    await _done(query, t("votes-deleted", number=callback_data.id))


@router.callback_query(CDVote.filter(F.action == "waiting"))
async def on_waiting(
    query: CallbackQuery, callback_data: CDVote, session: AsyncSession, user: User | None
) -> None:
    message = callback_message(query)
    waiting = await votes.non_voters(session, user, callback_data.id)
    if not waiting:
        await message.answer(t("votes-everyone-voted", number=callback_data.id))
        return
    names = [f"• {clip(name, 80)}" for _, name in waiting[:100]]
    more = len(waiting) - len(names)
    text = tn("votes-waiting", len(waiting), number=callback_data.id) + "\n" + "\n".join(names)
    if more > 0:
        text += "\n" + tn("votes-waiting-more", more)
    await message.answer(SafeHTML(text))


@router.callback_query(CDVote.filter(F.action == "protocol"))
async def on_protocol(
    query: CallbackQuery,
    callback_data: CDVote,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    vote = await votes.closed_for_viewer(session, user, callback_data.id)
    data = await vote_files.protocol(session, vote, settings.timezone)
    await callback_message(query).answer_document(
        BufferedInputFile(data, filename=f"protocol-{vote.id}.docx"),
        caption=t("votes-protocol-caption", number=vote.id),
    )


@router.callback_query(CDVote.filter(F.action == "announce"))
async def on_announce(
    query: CallbackQuery, callback_data: CDVote, session: AsyncSession, user: User | None
) -> None:
    vote = await votes.get(session, callback_data.id)
    if not has_any_role(user, *votes.ORGANIZER_ROLES):
        raise NotAllowed()
    await callback_message(query).edit_reply_markup(
        reply_markup=confirm_action_keyboard(vote, "announce")
    )


@router.callback_query(CDVote.filter(F.action == "announce!"))
async def on_announce_sure(
    query: CallbackQuery,
    callback_data: CDVote,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    outbox = await votes.announce_results(session, user, callback_data.id, settings.timezone)
    await _done(query, tn("votes-announced", outbox.total, number=callback_data.id))


# --- /votes and /receipt ---------------------------------------------------------------------


@router.message(Command("votes"))
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
            closes = schedule.local_time(item.vote.closes_at, settings.timezone)
            lines.append(t(key, number=item.vote.id, question=item.vote.question, closes=closes))
        await message.answer(
            SafeHTML("\n".join(lines)), reply_markup=list_keyboard([i.vote for i in mine])
        )
    listed = [vote for vote in organized if vote.id not in {i.vote.id for i in mine}]
    listed += [v for v in closed if v.id not in {x.id for x in listed}]
    if listed:
        await message.answer(t("votes-others-title"), reply_markup=list_keyboard(listed[:20]))


@router.message(Command("receipt"))
async def cmd_receipt(
    message: Message, command: CommandObject, session: AsyncSession, user: User | None
) -> None:
    require_registered(user)
    code = (command.args or "").strip()
    if not code:
        await message.answer(t("votes-receipt-usage"))
        return
    receipt = await votes.check_receipt(session, code)
    vote = receipt.vote
    choice = ", ".join(option_label(vote, position) for position in receipt.positions)
    await message.answer(
        t(
            "votes-receipt-found",
            number=vote.id,
            question=vote.question,
            choice=choice,
            status=plain(f"votes-status-{vote.status.value}"),
        )
    )


# --- The ballot ------------------------------------------------------------------------------


@router.callback_query(CDBallot.filter(F.act == "shown"))
async def on_shown(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    alert(callback_answer, "votes-already-counted")


@router.callback_query(CDBallot.filter(F.act.in_({"pick", "tick", "back"})))
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
    elif not vote.changeable:
        # A ballot that cannot be changed is confirmed before it is cast.
        markup = confirm_keyboard(vote, callback_data.mask)
    else:
        await _cast(query, session, user, vote, callback_data.mask, callback_answer)
        return
    await callback_message(query).edit_reply_markup(reply_markup=markup)


@router.callback_query(CDBallot.filter(F.act == "cast"))
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
    await _cast(query, session, user, vote, callback_data.mask, callback_answer)


async def _cast(
    query: CallbackQuery,
    session: AsyncSession,
    user: User | None,
    vote: Vote,
    mask: int,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    cast = await votes.cast(session, user, vote.id, bits(mask))
    choice = ", ".join(option_label(vote, position) for position in cast.positions)
    if cast.receipt is None and not cast.changed:
        toast(callback_answer, "votes-already-counted")
        return
    toast(callback_answer, "votes-counted-short")
    if vote.changeable:
        markup = ballot_keyboard(vote, voted=cast.positions)
    else:
        markup = counted_keyboard(vote, cast.positions)
    await message.edit_reply_markup(reply_markup=markup)
    if cast.changed:
        await message.answer(t("votes-changed", number=vote.id, choice=choice))
        return
    key = "votes-counted-changeable" if vote.changeable else "votes-counted-final"
    await message.answer(t(key, number=vote.id, choice=choice, receipt=cast.receipt or ""))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    fresh = Router(name=router.name)
    for name, observer in router.observers.items():
        fresh.observers[name].handlers.extend(observer.handlers)
    return fresh


def _keys() -> set[str]:
    keys = {f"votes-option-{kind.value}" for kind in OptionKind}
    keys |= {f"votes-status-{status.value}" for status in VoteStatus}
    keys |= {f"votes-quorum-{quorum.value}" for quorum in Quorum}
    keys |= {f"votes-majority-{majority.value}" for majority in Majority}
    keys |= {f"votes-outcome-{outcome.value}" for outcome in Outcome}
    keys |= {f"votes-kind-{kind.value}" for kind in VoteKind}
    keys |= {f"votes-sure-{action}" for action in ("open", "close", "cancel", "delete", "announce")}
    return keys


def _jobs(context: JobContext) -> dict[str, JobHandler]:
    settings, i18n = context.settings, context.i18n
    timezone = settings.timezone

    def chart(vote: Vote) -> bytes:
        # One image for every recipient: drawn in the Assembly's own language.
        with i18n.context(), i18n.use_locale(settings.default_language):
            return vote_files.chart(vote)

    async def close_vote(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await votes.run_close(
            session,
            job,
            timezone=timezone,
            reply_days=settings.recommendation_reply_days,
            chart=chart,
        )

    async def remind_voters(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await votes.run_reminder(session, job, timezone=timezone, buttons=ballot_rows)

    handlers: dict[str, JobHandler] = {votes.CLOSE_KIND: close_vote}
    for kind in votes.REMINDERS:
        handlers[kind] = remind_voters
    return handlers


capability = Capability(
    name="votes",
    setup=setup,
    commands=(
        CommandSpec("votes", group=HomeGroup.COUNCIL),
        CommandSpec("receipt", group=HomeGroup.COUNCIL),
        CommandSpec("new_vote", ORGANIZERS, HomeGroup.COUNCIL),
    ),
    jobs=_jobs,
    keys=_keys,
)
