"""/new_meeting: the kind (a conference, or a session of a body one organizes), the title, the
date and time (Moscow time), how long, the district (for a conference the rotation's proposal
and why), the place, the deadline for agenda proposals, whether votes are planned; then a
summary where any field can be fixed, and "Save draft".

The draft lives in the conversation state, which is in the database: a restart of the bot loses
nothing. Who may create what is checked when the kind is chosen and again when it is saved."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import StaleButton, callback_message
from bot.config import Settings
from bot.dialogs import expect_buttons, expect_text, step_done
from bot.drafts import StoredDraft
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.bodies import body_title
from bot.keyboards.meetings_convene import (
    DEFAULT_HOURS,
    DURATIONS,
    FIELDS,
    CDNewMeeting,
    dialog_abort,
    districts_keyboard,
    duration_keyboard,
    kind_keyboard,
    rotation_keyboard,
    summary_keyboard,
    votes_keyboard,
)
from bot.keyboards.meetings_convene import (
    deadline_keyboard as no_proposals_keyboard,
)
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.meetings import access, core, rotation, rules
from bot.services.meetings.core import MeetingInput
from bot.texts import SafeHTML, plain, t
from handlers.meetings.card import send_card, when_text
from models import Body, District, User
from models.base import utcnow
from models.meetings import MeetingKind

DRAFT = StoredDraft("meeting_draft")
DISTRICTS_PER_PAGE = 10


class NewMeeting(StatesGroup):
    kind = State()
    title = State()
    starts = State()
    duration = State()
    district = State()
    place = State()
    deadline = State()
    votes = State()
    summary = State()


# The steps in the order they are asked; each field of the summary is answered by its step.
ORDER = (
    NewMeeting.title,
    NewMeeting.starts,
    NewMeeting.duration,
    NewMeeting.district,
    NewMeeting.place,
    NewMeeting.deadline,
    NewMeeting.votes,
)
STEP_OF = dict(zip(FIELDS, ORDER, strict=True))
TEXT_STEPS = (
    NewMeeting.title,
    NewMeeting.starts,
    NewMeeting.place,
    NewMeeting.deadline,
)
BUTTON_STEPS = (NewMeeting.kind, NewMeeting.duration, NewMeeting.district, NewMeeting.votes)


def _conference(draft: dict[str, Any]) -> bool:
    return draft.get("kind") == MeetingKind.CONFERENCE.value


async def _kind_choices(session: AsyncSession, user: User | None) -> tuple[bool, list[Body]]:
    return access.convenes_conferences(user), await core.creatable_bodies(session, user)


async def cmd_new_meeting(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    conference, bodies = await _kind_choices(session, user)
    if not conference and not bodies:
        raise NotAllowed()
    await state.clear()
    await state.set_state(NewMeeting.kind)
    await DRAFT.save(state, {})
    choices = [(body.id, body_title(body)) for body in bodies]
    await message.answer(
        t("meetings-convene-ask-kind"), reply_markup=kind_keyboard(conference, choices)
    )


async def on_kind(
    query: CallbackQuery,
    callback_data: CDNewMeeting,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    conference, bodies = await _kind_choices(session, user)
    if callback_data.value == 0:
        if not conference:
            raise NotAllowed()
        draft: dict[str, Any] = {"kind": MeetingKind.CONFERENCE.value}
        chosen = plain("meetings-kind-conference")
    else:
        body = next((b for b in bodies if b.id == callback_data.value), None)
        if body is None:
            raise NotAllowed()
        chosen = plain("meetings-convene-session-of", body=body_title(body))
        draft = {"kind": MeetingKind.SESSION.value, "body_id": body.id, "body_title": chosen}
    await DRAFT.save(state, draft)
    message = callback_message(query)
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(t("meetings-convene-chosen-kind", kind=chosen))
    await _ask(message, state, session, settings, NewMeeting.title, draft)


# --- Asking a step -------------------------------------------------------------------------------


def _example(settings: Settings) -> str:
    """A week from now at 18:00, typed the way the bot reads it."""
    day = (utcnow() + timedelta(days=7)).astimezone(ZoneInfo(settings.timezone)).date()
    return datetime.combine(day, time(18)).strftime(dates.TYPED_FORMAT)


async def _ask(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    step: State,
    draft: dict[str, Any],
) -> None:
    await state.set_state(step)
    text: SafeHTML
    markup: InlineKeyboardMarkup
    if step == NewMeeting.title:
        text, markup = t("meetings-convene-ask-title", max=rules.TITLE_MAX), dialog_abort()
    elif step == NewMeeting.starts:
        text = t("meetings-convene-ask-starts", example=_example(settings))
        markup = dialog_abort()
    elif step == NewMeeting.duration:
        text, markup = t("meetings-convene-ask-duration"), duration_keyboard()
    elif step == NewMeeting.district:
        text, markup = await _district_question(session, settings, draft)
    elif step == NewMeeting.place:
        text, markup = t("meetings-convene-ask-place", max=rules.PLACE_MAX), dialog_abort()
    elif step == NewMeeting.deadline:
        text, markup = t("meetings-convene-ask-deadline"), no_proposals_keyboard()
    else:
        text, markup = t("meetings-convene-ask-votes"), votes_keyboard()
    await message.answer(text, reply_markup=markup)


async def _district_question(
    session: AsyncSession, settings: Settings, draft: dict[str, Any]
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    if not _conference(draft):
        text = t("meetings-convene-ask-district-session")
        return text, await _districts_markup(session, settings, 0, optional=True)
    turn = await rotation.suggest(session)
    if turn is None:
        return t("meetings-convene-no-districts"), districts_keyboard([], 0, 1, optional=True)
    if turn.last_hosted is None:
        why = t("meetings-convene-why-never", district=turn.district.name)
    else:
        why = t(
            "meetings-convene-why-longest",
            district=turn.district.name,
            date=dates.shown_date(turn.last_hosted, settings.timezone),
        )
    text = SafeHTML(f"{t('meetings-convene-ask-district-rotation')}\n\n{why}")
    return text, rotation_keyboard(turn.district.id, turn.district.name)


async def _districts_markup(
    session: AsyncSession, settings: Settings, page: int, *, optional: bool
) -> InlineKeyboardMarkup:
    turns = sorted(await rotation.turns(session), key=lambda turn: turn.district.number)
    pages = max(1, -(-len(turns) // DISTRICTS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = turns[page * DISTRICTS_PER_PAGE : (page + 1) * DISTRICTS_PER_PAGE]
    choices = []
    for turn in shown:
        hosted = (
            dates.shown_date(turn.last_hosted, settings.timezone)
            if turn.last_hosted is not None
            else plain("meetings-convene-never")
        )
        label = plain(
            "meetings-convene-district-choice",
            number=turn.district.number,
            district=turn.district.name,
            hosted=hosted,
        )
        choices.append((turn.district.id, label))
    return districts_keyboard(choices, page, pages, optional=optional)


async def _next(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
    draft: dict[str, Any],
    step: State,
) -> None:
    """Keep the answer and ask the next step, or go back to the summary if a field was fixed."""
    await DRAFT.save(state, draft)
    if draft.get("editing"):
        await _summary(message, state, settings, draft)
        return
    following = ORDER[ORDER.index(step) + 1 :]
    if following:
        await _ask(message, state, session, settings, following[0], draft)
    else:
        await _summary(message, state, settings, draft)


# --- Typed answers -------------------------------------------------------------------------------


async def on_title(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    draft = await DRAFT.load(state)
    draft["title"] = rules.clean_line(message.text, rules.TITLE_MAX, "meetings-bad-title")
    await _next(message, state, session, settings, draft, NewMeeting.title)


def parse_moment(text: str, settings: Settings) -> datetime:
    """A moment typed DD.MM.YYYY HH:MM on the Assembly's clock, in the future; in UTC, as kept
    (a moment read back from its ISO form has a bare offset, which a calendar file cannot name)."""
    typed = dates.parse_local_time(text, settings.timezone)
    if typed is None:
        raise InvalidInput("meetings-convene-bad-time")
    return rules.check_start(typed).astimezone(UTC)


async def on_starts(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    starts_at = parse_moment(message.text or "", settings)
    draft = await DRAFT.load(state)
    draft["starts_at"] = starts_at.isoformat()
    deadline = draft.get("deadline")
    if deadline and datetime.fromisoformat(deadline) >= starts_at:
        # A deadline after the new start would be refused at saving: asked again in the summary.
        draft["deadline"] = None
    await _next(message, state, session, settings, draft, NewMeeting.starts)


async def on_place(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    draft = await DRAFT.load(state)
    draft["place"] = rules.clean_line(message.text, rules.PLACE_MAX, "meetings-bad-place")
    await _next(message, state, session, settings, draft, NewMeeting.place)


def parse_deadline(text: str, starts_at: datetime, settings: Settings) -> datetime:
    """DD.MM.YYYY (until the end of that day) or DD.MM.YYYY HH:MM; after now, before the start."""
    zone = ZoneInfo(settings.timezone)
    typed = dates.parse_local_time(text, settings.timezone)
    if typed is None:
        try:
            day = datetime.strptime(text.strip(), "%d.%m.%Y").date()
        except ValueError:
            raise InvalidInput("meetings-convene-bad-deadline") from None
        typed = datetime.combine(day, time(23, 59), tzinfo=zone)
    if typed <= utcnow():
        raise InvalidInput("meetings-convene-deadline-past")
    if typed >= starts_at:
        raise InvalidInput("meetings-bad-agenda-deadline")
    return typed.astimezone(UTC)


async def on_deadline(
    message: Message, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    draft = await DRAFT.load(state)
    starts_at = datetime.fromisoformat(draft["starts_at"])
    draft["deadline"] = parse_deadline(message.text or "", starts_at, settings).isoformat()
    await _next(message, state, session, settings, draft, NewMeeting.deadline)


# --- Answers by button ---------------------------------------------------------------------------


async def _pressed(query: CallbackQuery) -> Message:
    message = callback_message(query)
    await message.edit_reply_markup(reply_markup=None)
    return message


async def on_duration(
    query: CallbackQuery,
    callback_data: CDNewMeeting,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    if callback_data.value not in DURATIONS:
        raise StaleButton()
    draft = await DRAFT.load(state)
    draft["hours"] = callback_data.value
    message = await _pressed(query)
    await _next(message, state, session, settings, draft, NewMeeting.duration)


async def on_district(
    query: CallbackQuery,
    callback_data: CDNewMeeting,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    draft = await DRAFT.load(state)
    if callback_data.value:
        district = await session.get(District, callback_data.value)
        if district is None:
            raise StaleButton()
        draft["district_id"], draft["district_name"] = district.id, district.name
    else:
        draft["district_id"] = draft["district_name"] = None
    message = await _pressed(query)
    await _next(message, state, session, settings, draft, NewMeeting.district)


async def on_districts(
    query: CallbackQuery,
    callback_data: CDNewMeeting,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    """ "Choose another": every district with when it last hosted a conference."""
    markup = await _districts_markup(
        session, settings, callback_data.value, optional=not _conference(await DRAFT.load(state))
    )
    message = callback_message(query)
    if message.reply_markup != markup:
        await message.edit_reply_markup(reply_markup=markup)


async def on_no_deadline(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, settings: Settings
) -> None:
    draft = await DRAFT.load(state)
    draft["deadline"] = None
    message = await _pressed(query)
    await _next(message, state, session, settings, draft, NewMeeting.deadline)


async def on_votes(
    query: CallbackQuery,
    callback_data: CDNewMeeting,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    draft = await DRAFT.load(state)
    draft["votes"] = bool(callback_data.value)
    message = await _pressed(query)
    await _next(message, state, session, settings, draft, NewMeeting.votes)


# --- The summary ---------------------------------------------------------------------------------


async def _summary(
    message: Message, state: FSMContext, settings: Settings, draft: dict[str, Any]
) -> None:
    draft["editing"] = False
    await DRAFT.save(state, draft)
    await state.set_state(NewMeeting.summary)
    await message.answer(_summary_text(draft, settings), reply_markup=summary_keyboard())


def _summary_text(draft: dict[str, Any], settings: Settings) -> SafeHTML:
    starts_at = datetime.fromisoformat(draft["starts_at"])
    ends_at = starts_at + timedelta(hours=int(draft.get("hours") or DEFAULT_HOURS))
    deadline = draft.get("deadline")
    kind = plain("meetings-kind-conference") if _conference(draft) else draft.get("body_title")
    return t(
        "meetings-convene-summary",
        kind=kind or "",
        title=draft.get("title", ""),
        when=when_text(starts_at, ends_at, settings.timezone),
        district=draft.get("district_name") or "—",
        place=draft.get("place", ""),
        deadline=(
            dates.shown_datetime(datetime.fromisoformat(deadline), settings.timezone)
            if deadline
            else plain("meetings-convene-no-proposals")
        ),
        votes=plain("meetings-convene-yes" if draft.get("votes") else "meetings-convene-no"),
    )


async def on_edit(
    query: CallbackQuery,
    callback_data: CDNewMeeting,
    state: FSMContext,
    session: AsyncSession,
    settings: Settings,
) -> None:
    if not 0 <= callback_data.value < len(FIELDS):
        raise StaleButton()
    draft = await DRAFT.load(state)
    draft["editing"] = True
    await DRAFT.save(state, draft)
    message = await _pressed(query)
    await _ask(message, state, session, settings, STEP_OF[FIELDS[callback_data.value]], draft)


async def on_save(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    draft = await DRAFT.load(state)
    starts_at = datetime.fromisoformat(draft["starts_at"])
    deadline = draft.get("deadline")
    meeting = await core.create(
        session,
        user,
        MeetingInput(
            kind=MeetingKind(draft["kind"]),
            body_id=draft.get("body_id"),
            title=draft.get("title", ""),
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=int(draft.get("hours") or DEFAULT_HOURS)),
            place=draft.get("place", ""),
            district_id=draft.get("district_id"),
            agenda_deadline=datetime.fromisoformat(deadline) if deadline else None,
            votes_planned=bool(draft.get("votes")),
        ),
    )
    await state.clear()
    message = await _pressed(query)
    await message.answer(t("meetings-convene-saved", number=meeting.id))
    await send_card(message, session, user, meeting.id, settings)


async def on_abort(query: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() not in NewMeeting.__all_states_names__:
        raise StaleButton()
    await state.clear()
    await step_done(callback_message(query), t("meetings-convene-aborted"))


async def on_buttons_hint(message: Message, state: FSMContext) -> None:
    await expect_buttons(message)


def register(router: Router) -> None:
    router.message.register(cmd_new_meeting, Command("new_meeting"))
    router.callback_query.register(on_kind, NewMeeting.kind, CDNewMeeting.filter(F.field == "kind"))
    router.message.register(on_title, NewMeeting.title, TEXT_INPUT)
    router.message.register(on_starts, NewMeeting.starts, TEXT_INPUT)
    router.message.register(on_place, NewMeeting.place, TEXT_INPUT)
    router.message.register(on_deadline, NewMeeting.deadline, TEXT_INPUT)
    router.callback_query.register(
        on_duration, NewMeeting.duration, CDNewMeeting.filter(F.field == "dur")
    )
    router.callback_query.register(
        on_district, NewMeeting.district, CDNewMeeting.filter(F.field == "dist")
    )
    router.callback_query.register(
        on_districts, NewMeeting.district, CDNewMeeting.filter(F.field == "dists")
    )
    router.callback_query.register(
        on_no_deadline, NewMeeting.deadline, CDNewMeeting.filter(F.field == "nodl")
    )
    router.callback_query.register(
        on_votes, NewMeeting.votes, CDNewMeeting.filter(F.field == "votes")
    )
    router.callback_query.register(
        on_edit, NewMeeting.summary, CDNewMeeting.filter(F.field == "edit")
    )
    router.callback_query.register(
        on_save, NewMeeting.summary, CDNewMeeting.filter(F.field == "save")
    )
    # Any state of the dialog: the handler itself checks it is one (and says the button is stale).
    router.callback_query.register(on_abort, CDNewMeeting.filter(F.field == "abort"))
    router.message.register(expect_text, StateFilter(*TEXT_STEPS), NOT_TEXT)
    router.message.register(
        on_buttons_hint, StateFilter(*BUTTON_STEPS, NewMeeting.summary), ~F.text.startswith("/")
    )
