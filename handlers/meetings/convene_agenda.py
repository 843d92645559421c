"""The agenda and the guests, from the organizer's panel: add an item (its title, then its
speaker: a registered person found by name, a name typed for someone outside the bot, or
nobody), attach documents and photos to an item, remove an item; invite a registered person as
a guest by name (told at once if the meeting is already published), or take the invitation back.

As in the panel, every press is checked with `convene_panel.organized` first."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import callback_message, redraw, toast
from bot.config import Settings
from bot.dialogs import expect_text, step_done
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.meetings import notice_buttons
from bot.keyboards.meetings_convene import (
    CDConvene,
    abort_keyboard,
    agenda_keyboard,
    files_keyboard,
    guests_keyboard,
    people_keyboard,
    speaker_keyboard,
)
from bot.services import users
from bot.services.errors import InvalidInput, NotFound
from bot.services.meetings import core, files, listing, rules
from bot.texts import SafeHTML, clip, t, tn
from handlers.meetings.card import agenda_lines
from handlers.meetings.convene_panel import (
    Convene,
    begin,
    data_of,
    head,
    in_step,
    organized,
    remember,
)
from models import User
from models.meetings import Meeting

# Room for the agenda in the panel's message (Telegram's limit is 4096).
AGENDA_ROOM = 3300
SEARCH_MAX = rules.SPEAKER_MAX


# --- The agenda ----------------------------------------------------------------------------------


async def agenda_view(
    session: AsyncSession, meeting: Meeting
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    agenda = await listing.agenda(session, meeting)
    lines = [head(meeting), "", *agenda_lines(agenda, AGENDA_ROOM)]
    if agenda:
        lines += ["", t("meetings-convene-agenda-hint")]
    markup = agenda_keyboard(
        meeting.id, [line.item.id for line in agenda], full=len(agenda) >= rules.AGENDA_MAX
    )
    return SafeHTML("\n".join(lines)), markup


async def on_agenda(
    query: CallbackQuery, callback_data: CDConvene, session: AsyncSession, user: User | None
) -> None:
    meeting = await organized(session, user, callback_data.id)
    text, markup = await agenda_view(session, meeting)
    await redraw(callback_message(query), text, markup)


async def on_add_item(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    if len(await listing.agenda(session, meeting)) >= rules.AGENDA_MAX:
        raise InvalidInput("meetings-agenda-full", max=rules.AGENDA_MAX)
    await begin(state, Convene.item_title, meeting.id)
    await callback_message(query).answer(
        t("meetings-convene-ask-item", max=rules.ITEM_MAX), reply_markup=abort_keyboard(meeting.id)
    )


async def _add_item(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    callback_answer: CallbackAnswer,
    **speaker: Any,
) -> None:
    await organized(session, user, callback_data.id)
    data = await in_step(state, (Convene.speaker,), callback_data.id)
    item = await core.add_item(
        session, user, callback_data.id, str(data.get("title") or ""), **speaker
    )
    await state.clear()
    meeting = await organized(session, user, callback_data.id)
    toast(callback_answer, "meetings-convene-item-added")
    message = callback_message(query)
    await step_done(message, t("meetings-convene-item-added-text", title=item.title))
    text, markup = await agenda_view(session, meeting)
    await message.answer(text, reply_markup=markup)


async def on_speaker(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await _add_item(
        query, callback_data, session, user, state, callback_answer, speaker_id=callback_data.item
    )


async def on_speaker_typed(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    typed = (await data_of(state)).get("typed")
    await _add_item(query, callback_data, session, user, state, callback_answer, speaker_name=typed)


async def on_no_speaker(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    await _add_item(query, callback_data, session, user, state, callback_answer)


async def on_remove_item(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    await organized(session, user, callback_data.id)
    meeting = await core.remove_item(session, user, callback_data.id, callback_data.item)
    toast(callback_answer, "meetings-convene-item-removed")
    text, markup = await agenda_view(session, meeting)
    await redraw(callback_message(query), text, markup)


# --- Documents of an item ------------------------------------------------------------------------


async def on_files(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    agenda = await listing.agenda(session, meeting)
    ids = [line.item.id for line in agenda]
    if callback_data.item not in ids:
        raise NotFound("meetings-item-not-found")
    item = agenda[ids.index(callback_data.item)].item
    await begin(state, Convene.files, meeting.id, item=item.id)
    await callback_message(query).answer(
        t(
            "meetings-convene-ask-files",
            position=ids.index(item.id) + 1,
            title=clip(item.title, 200),
            max=files.FILES_PER_ITEM,
        ),
        reply_markup=files_keyboard(meeting.id),
    )


async def on_file(
    message: Message, session: AsyncSession, user: User | None, state: FSMContext
) -> None:
    data = await data_of(state)
    meeting_id, item_id = int(data.get("meeting") or 0), int(data.get("item") or 0)
    if message.photo:
        kind, file_id, name = "photo", message.photo[-1].file_id, None
    elif message.document:
        kind, file_id = "document", message.document.file_id
        name = message.document.file_name
    else:
        await message.answer(
            t("meetings-convene-files-hint"), reply_markup=files_keyboard(meeting_id)
        )
        return
    held = await files.add(
        session, user, meeting_id, item_id, kind=kind, file_id=file_id, name=name
    )
    await message.answer(
        t("meetings-convene-file-kept", n=held, max=files.FILES_PER_ITEM),
        reply_markup=files_keyboard(meeting_id),
    )


async def on_files_done(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    await in_step(state, (Convene.files,), meeting.id)
    await state.clear()
    message = callback_message(query)
    await step_done(message, t("meetings-convene-files-done"))
    text, markup = await agenda_view(session, meeting)
    await message.answer(text, reply_markup=markup)


# --- Guests --------------------------------------------------------------------------------------


async def guests_view(
    session: AsyncSession, meeting: Meeting
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    guests = await core.guests(session, meeting.id)
    lines = [head(meeting), "", tn("meetings-convene-guests", len(guests))]
    lines += [
        t("meetings-convene-guest-line", name=clip(guest.name or "—", 80)) for guest in guests
    ]
    return SafeHTML("\n".join(lines)), guests_keyboard(meeting.id, guests)


async def on_guests(
    query: CallbackQuery, callback_data: CDConvene, session: AsyncSession, user: User | None
) -> None:
    meeting = await organized(session, user, callback_data.id)
    text, markup = await guests_view(session, meeting)
    await redraw(callback_message(query), text, markup)


async def on_add_guest(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    await begin(state, Convene.guest, meeting.id)
    await callback_message(query).answer(
        t("meetings-convene-ask-guest"), reply_markup=abort_keyboard(meeting.id)
    )


async def on_guest(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    await in_step(state, (Convene.guest,), meeting.id)
    await core.add_guest(
        session,
        user,
        meeting.id,
        callback_data.item,
        timezone=settings.timezone,
        buttons=notice_buttons,
    )
    await state.clear()
    guest = await session.get(User, callback_data.item)
    toast(callback_answer, "meetings-convene-guest-added")
    message = callback_message(query)
    name = guest.name if guest is not None and guest.name else "—"
    await step_done(message, t("meetings-convene-guest-added-text", name=name))
    text, markup = await guests_view(session, meeting)
    await message.answer(text, reply_markup=markup)


async def on_remove_guest(
    query: CallbackQuery,
    callback_data: CDConvene,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    meeting = await organized(session, user, callback_data.id)
    await core.remove_guest(session, user, meeting.id, callback_data.item)
    toast(callback_answer, "meetings-convene-guest-removed")
    text, markup = await guests_view(session, meeting)
    await redraw(callback_message(query), text, markup)


# --- Typed answers -------------------------------------------------------------------------------


async def on_text(
    message: Message, session: AsyncSession, user: User | None, state: FSMContext
) -> None:
    step = await state.get_state()
    data = await data_of(state)
    meeting_id = int(data.get("meeting") or 0)
    text = message.text or ""
    if step == Convene.item_title.state:
        title = rules.clean_line(text, rules.ITEM_MAX, "meetings-bad-item")
        await organized(session, user, meeting_id)
        await state.set_state(Convene.speaker)
        await remember(state, title=title)
        await message.answer(
            t("meetings-convene-ask-speaker", title=title),
            reply_markup=speaker_keyboard(meeting_id),
        )
    elif step == Convene.speaker.state:
        typed = rules.clean_line(text, rules.SPEAKER_MAX, "meetings-bad-speaker")
        await organized(session, user, meeting_id)
        people = await users.search_people(session, typed)
        await remember(state, typed=typed)
        key = "meetings-convene-speaker-found" if people else "meetings-convene-speaker-none"
        await message.answer(
            t(key, name=typed), reply_markup=people_keyboard(meeting_id, people, "spk", typed=typed)
        )
    elif step == Convene.guest.state:
        typed = rules.clean_line(text, SEARCH_MAX, "meetings-convene-bad-search")
        await organized(session, user, meeting_id)
        people = await users.search_people(session, typed)
        if not people:
            await message.answer(
                t("meetings-convene-guest-none", name=typed),
                reply_markup=abort_keyboard(meeting_id),
            )
            return
        await message.answer(
            t("meetings-convene-guest-found"),
            reply_markup=people_keyboard(meeting_id, people, "g"),
        )


TEXT_STEPS = (Convene.item_title, Convene.speaker, Convene.guest)


def register(router: Router) -> None:
    router.callback_query.register(on_agenda, CDConvene.filter(F.action == "agenda"))
    router.callback_query.register(on_add_item, CDConvene.filter(F.action == "add"))
    router.callback_query.register(on_speaker, CDConvene.filter(F.action == "spk"))
    router.callback_query.register(on_speaker_typed, CDConvene.filter(F.action == "spkname"))
    router.callback_query.register(on_no_speaker, CDConvene.filter(F.action == "skip"))
    router.callback_query.register(on_remove_item, CDConvene.filter(F.action == "rm"))
    router.callback_query.register(on_files, CDConvene.filter(F.action == "files"))
    router.callback_query.register(on_files_done, CDConvene.filter(F.action == "done"))
    router.callback_query.register(on_guests, CDConvene.filter(F.action == "guests"))
    router.callback_query.register(on_add_guest, CDConvene.filter(F.action == "guest"))
    router.callback_query.register(on_guest, CDConvene.filter(F.action == "g"))
    router.callback_query.register(on_remove_guest, CDConvene.filter(F.action == "ung"))
    router.message.register(on_text, StateFilter(*TEXT_STEPS), TEXT_INPUT)
    router.message.register(expect_text, StateFilter(*TEXT_STEPS), NOT_TEXT)
    router.message.register(on_file, Convene.files, ~F.text.startswith("/"))
