"""The draft dialog: /new_vote asks the body, the kind, the question, the text, the options or
the addressee, then shows the settings until the draft is saved or dropped."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import alert, callback_message
from bot.config import Settings
from bot.drafts import StoredDraft
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.bodies import body_title
from bot.keyboards.votes import (
    ADDRESSEES,
    DURATIONS,
    CDDraft,
    addressee_keyboard,
    bodies_keyboard,
    kind_keyboard,
    settings_keyboard,
)
from bot.services import votes
from bot.services.errors import NotAllowed
from bot.texts import SafeHTML, plain, t
from handlers.votes.card import send_card
from models import Majority, Quorum, User, VoteKind
from models.base import utcnow

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


async def on_question(message: Message, state: FSMContext) -> None:
    question = votes.check_question(message.text or "")
    draft = await DRAFT.load(state)
    draft["question"] = question
    await DRAFT.save(state, draft)
    await state.set_state(NewVote.text)
    await message.answer(t("votes-ask-text"))


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


async def on_seats(message: Message, state: FSMContext, settings: Settings) -> None:
    draft = await DRAFT.load(state)
    draft["seats"] = votes.check_seats(message.text or "", len(draft.get("options", [])))
    await DRAFT.save(state, draft)
    await _show_settings(message, state, settings)


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


async def on_addressee(message: Message, state: FSMContext, settings: Settings) -> None:
    await _set_addressee(message, state, settings, message.text or "")


async def _set_addressee(
    message: Message, state: FSMContext, settings: Settings, addressee: str
) -> None:
    draft = await DRAFT.load(state)
    draft["addressee"] = votes.check_addressee(addressee)
    await DRAFT.save(state, draft)
    await _show_settings(message, state, settings)


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
    closes = dates.shown_datetime(datetime.fromisoformat(draft["closes_at"]), settings.timezone)
    return t("votes-settings", question=draft.get("question", ""), closes=closes)


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


async def on_close_time(message: Message, state: FSMContext, settings: Settings) -> None:
    typed = dates.parse_local_time(message.text or "", settings.timezone)
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
    await send_card(message, session, user, vote.id, settings)


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


def register(router: Router) -> None:
    """The dialog's handlers, in the order they are asked: each step takes only its own state."""
    router.message.register(cmd_new_vote, Command("new_vote"))
    router.callback_query.register(on_body, NewVote.body, CDDraft.filter(F.field == "body"))
    router.callback_query.register(on_kind, NewVote.kind, CDDraft.filter(F.field == "kind"))
    router.message.register(on_question, NewVote.question, TEXT_INPUT)
    router.message.register(on_text, NewVote.text, TEXT_INPUT)
    router.message.register(on_options, NewVote.options, TEXT_INPUT)
    router.message.register(on_seats, NewVote.seats, TEXT_INPUT)
    router.callback_query.register(
        on_addressee_button, NewVote.addressee, CDDraft.filter(F.field == "addressee")
    )
    router.message.register(on_addressee, NewVote.addressee, TEXT_INPUT)
    router.message.register(
        on_not_text,
        StateFilter(
            NewVote.question, NewVote.text, NewVote.options, NewVote.seats, NewVote.addressee
        ),
        NOT_TEXT,
    )
    router.callback_query.register(on_setting, NewVote.settings, CDDraft.filter(F.field != "abort"))
    router.message.register(on_close_time, NewVote.settings, TEXT_INPUT)
    # Any state of the dialog: the handler itself checks it is one (and says the button is stale).
    router.callback_query.register(on_abort, CDDraft.filter(F.field == "abort"))
