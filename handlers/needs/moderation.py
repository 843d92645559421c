"""Moderating a district's needs: /needs_queue, the moderation card and its actions, the filer's
reply to a question, and the escalation jobs. The rules are in bot/services/needs/moderation.py."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup, JobContext
from bot.config import Settings
from bot.dialogs import expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.needs_moderation import (
    CDNeedMod,
    CDNeedReply,
    card_keyboard,
    queue_keyboard,
    reply_buttons,
)
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.needs import access, escalation, moderation
from bot.services.permissions import PRESIDIUM, has_any_role
from bot.texts import SafeHTML, clip, plain, t
from models import Role, ScheduledJob, User
from models.needs import Need, NeedEventKind, NeedStatus
from scheduler.kinds import JobSpec, changes_state


class Moderate(StatesGroup):
    merge = State()
    reject = State()
    ask = State()
    answer = State()
    work_text = State()
    take_up = State()


class Reply(StatesGroup):
    text = State()


# The prompt for each dialog step.
PROMPTS = {
    "merge": (Moderate.merge, "needs-mod-ask-merge"),
    "reject": (Moderate.reject, "needs-mod-ask-reject"),
    "ask": (Moderate.ask, "needs-mod-ask-question"),
    "answer": (Moderate.answer, "needs-mod-ask-answer"),
    "work_text": (Moderate.work_text, "needs-mod-ask-who"),
    "take_up": (Moderate.take_up, "needs-mod-ask-vote"),
}


PHOTOS_SHOWN = 10


# --- Texts -------------------------------------------------------------------------------------


def _category(need: Need) -> str:
    return need.category.name_ru if dates.current_language() == "ru" else need.category.name_en


async def card_text(session: AsyncSession, need: Need) -> SafeHTML:
    lines = [
        t("needs-mod-card-title", number=need.id),
        t(
            "needs-mod-card-facts",
            district=need.district.name,
            category=_category(need),
            status=plain(f"needs-mod-status-{moderation.slug(need.status)}"),
            supports=need.support_count,
            days=moderation.waiting_since(need),
        ),
        SafeHTML(clip(need.description, 1500)),
    ]
    if need.address:
        lines.append(t("needs-mod-card-address", address=need.address))
    if need.handler_text:
        lines.append(t("needs-mod-card-handler", handler=need.handler_text))
    if need.merged_into_id:
        lines.append(t("needs-mod-card-merged", target=need.merged_into_id))
    if need.reject_reason:
        lines.append(t("needs-mod-card-reason", reason=need.reject_reason[:500]))
    talk = await moderation.conversation(session, need.id)
    for event in talk[-6:]:
        key = {
            NeedEventKind.QUESTION: "needs-mod-card-question",
            NeedEventKind.REPLY: "needs-mod-card-reply",
            NeedEventKind.ANSWER: "needs-mod-card-answer",
        }[event.kind]
        lines.append(t(key, text=(event.text or "")[:400]))
    return SafeHTML("\n".join(lines))


async def _card(
    session: AsyncSession, need: Need, page: int
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    has_base = await access.base_organization(session, need.district_id) is not None
    return await card_text(session, need), card_keyboard(need, page, has_base=has_base)


async def _queue(
    session: AsyncSession, user: User | None, page: int
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    found = await moderation.queue(session, user, page)
    if not found.items:
        return t("needs-mod-queue-empty"), None
    text = t("needs-mod-queue-title", total=found.total)
    return text, queue_keyboard(found.items, found.page, found.pages)


# --- The queue and the card --------------------------------------------------------------------


async def cmd_queue(
    message: Message, command: CommandObject, session: AsyncSession, user: User | None
) -> None:
    """/needs_queue: new needs of one's districts; /needs_queue N: need N's moderation card."""
    await moderation.require_any_district(session, user)
    argument = (command.args or "").strip().lstrip("№#")
    if argument:
        if not argument.isdigit():
            raise InvalidInput("needs-mod-need-number")
        need = await moderation.for_moderator(session, user, int(argument))
        text, markup = await _card(session, need, 0)
        await message.answer(text, reply_markup=markup)
        return
    text, queue_markup = await _queue(session, user, 0)
    await message.answer(text, reply_markup=queue_markup)


async def on_page(
    query: CallbackQuery, callback_data: CDNeedMod, session: AsyncSession, user: User | None
) -> None:
    text, markup = await _queue(session, user, callback_data.page)
    await callback_message(query).edit_text(text, reply_markup=markup)


async def on_show(
    query: CallbackQuery, callback_data: CDNeedMod, session: AsyncSession, user: User | None
) -> None:
    need = await moderation.for_moderator(session, user, callback_data.id)
    text, markup = await _card(session, need, callback_data.page)
    await callback_message(query).edit_text(text, reply_markup=markup)


async def on_photos(
    query: CallbackQuery, callback_data: CDNeedMod, session: AsyncSession, user: User | None
) -> None:
    """The need's photos, sent again by their Telegram file ids."""
    need = await moderation.for_moderator(session, user, callback_data.id)
    message = callback_message(query)
    for photo in need.photos[:PHOTOS_SHOWN]:
        await message.answer_photo(photo.file_id)


async def on_action(
    query: CallbackQuery,
    callback_data: CDNeedMod,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    """One press, done: accept, in work by the base organization, resolved."""
    action = callback_data.action
    if action == "accept":
        need = await moderation.accept(session, user, callback_data.id)
    elif action == "work_base":
        need = await moderation.mark_in_work(session, user, callback_data.id, by_base=True)
    else:
        need = await moderation.resolve(session, user, callback_data.id)
    toast(callback_answer, f"needs-mod-done-{moderation.slug(need.status)}", number=need.id)
    text, markup = await _card(session, need, callback_data.page)
    await callback_message(query).edit_text(text, reply_markup=markup)


async def on_prompt(
    query: CallbackQuery,
    callback_data: CDNeedMod,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    """An action that needs a text: checked now, asked for, done when the text comes."""
    need = await moderation.get(session, callback_data.id)
    if callback_data.action == "take_up" and has_any_role(user, *PRESIDIUM):
        pass  # the presidium takes up any need (the vote is checked when its number comes)
    else:
        await access.require_moderator(session, user, need)
    step, key = PROMPTS[callback_data.action]
    await state.set_state(step)
    await state.update_data(need_mod=need.id, need_mod_page=callback_data.page)
    await callback_message(query).answer(t(key, number=need.id))


def _number(text: str) -> int:
    digits = text.strip().lstrip("№#").strip()
    if not digits.isdigit() or len(digits) > 9:
        raise InvalidInput("needs-mod-need-number")
    return int(digits)


async def on_text(
    message: Message, session: AsyncSession, user: User | None, state: FSMContext
) -> None:
    data = await state.get_data()
    need_id = int(data.get("need_mod") or 0)
    page = int(data.get("need_mod_page") or 0)
    step = await state.get_state()
    text = message.text or ""
    done: str
    if step == Moderate.merge.state:
        need = await moderation.merge(session, user, need_id, _number(text))
        done = "needs-mod-done-merged"
    elif step == Moderate.reject.state:
        need = await moderation.reject(session, user, need_id, text)
        done = "needs-mod-done-rejected"
    elif step == Moderate.work_text.state:
        need = await moderation.mark_in_work(session, user, need_id, who=text)
        done = "needs-mod-done-in-work"
    elif step == Moderate.ask.state:
        await moderation.ask(session, user, need_id, text, reply_buttons(need_id))
        need, done = await moderation.get(session, need_id), "needs-mod-done-asked"
    elif step == Moderate.answer.state:
        await moderation.answer(session, user, need_id, text)
        need, done = await moderation.get(session, need_id), "needs-mod-done-answered"
    else:
        vote_id = _number(text)
        await moderation.take_up(session, user, need_id, vote_id)
        need, done = await moderation.get(session, need_id), "needs-mod-done-taken"
    await state.clear()
    await message.answer(t(done, number=need.id))
    if await access.may_moderate(session, user, need):
        card, markup = await _card(session, need, page)
        await message.answer(card, reply_markup=markup)


async def cmd_take_up(
    message: Message, command: CommandObject, session: AsyncSession, user: User | None
) -> None:
    """/needs_take_up V N [N…]: link needs to vote V the person organizes."""
    await moderation.require_may_take_up(session, user)
    parts = (command.args or "").replace(",", " ").split()
    if len(parts) < 2 or len(parts) > 11:
        await message.answer(t("needs-mod-take-up-usage"))
        return
    vote_id, *need_ids = (_number(part) for part in parts)
    for need_id in need_ids:
        await moderation.take_up(session, user, need_id, vote_id)
    await message.answer(
        t("needs-mod-taken-many", vote=vote_id, numbers=", ".join(f"№{n}" for n in need_ids))
    )


# --- The filer's reply -------------------------------------------------------------------------


async def on_reply(
    query: CallbackQuery,
    callback_data: CDNeedReply,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    need = await moderation.get(session, callback_data.id)
    if user is None or need.author_id != user.id:
        raise NotAllowed()
    await state.set_state(Reply.text)
    await state.update_data(need_reply=need.id)
    await callback_message(query).answer(t("needs-mod-ask-reply", number=need.id))


async def on_reply_text(
    message: Message, session: AsyncSession, user: User | None, state: FSMContext
) -> None:
    need_id = int((await state.get_data()).get("need_reply") or 0)
    await moderation.reply(session, user, need_id, message.text or "")
    await state.clear()
    await message.answer(t("needs-mod-reply-sent", number=need_id))


# --- Wiring ------------------------------------------------------------------------------------


def setup() -> Router:
    router = Router(name="needs_moderation")
    router.message.register(cmd_queue, Command("needs_queue"))
    router.message.register(cmd_take_up, Command("needs_take_up"))
    router.callback_query.register(on_page, CDNeedMod.filter(F.action == "page"))
    router.callback_query.register(on_show, CDNeedMod.filter(F.action == "show"))
    router.callback_query.register(on_photos, CDNeedMod.filter(F.action == "photos"))
    router.callback_query.register(
        on_action, CDNeedMod.filter(F.action.in_({"accept", "work_base", "resolve"}))
    )
    router.callback_query.register(on_prompt, CDNeedMod.filter(F.action.in_(set(PROMPTS))))
    router.callback_query.register(on_reply, CDNeedReply.filter())
    steps = (Moderate.merge, Moderate.reject, Moderate.ask, Moderate.answer)
    for step in (*steps, Moderate.work_text, Moderate.take_up):
        router.message.register(on_text, step, TEXT_INPUT)
        router.message.register(expect_text, step, NOT_TEXT)
    router.message.register(on_reply_text, Reply.text, TEXT_INPUT)
    router.message.register(expect_text, Reply.text, NOT_TEXT)
    return router


def _jobs(context: JobContext) -> dict[str, JobSpec]:
    async def remind_base(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await escalation.run_remind_base(session, job)

    async def escalate(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await escalation.run_escalate(session, job)

    # Both record what happened on the need, so they run however late (and only once).
    return {
        escalation.REMIND_BASE_KIND: changes_state(remind_base),
        escalation.ESCALATE_KIND: changes_state(escalate),
    }


async def _startup(session: AsyncSession, settings: Settings) -> None:
    await escalation.catch_up(session, settings.need_remind_base_days, settings.need_escalate_days)


capability = Capability(
    name="needs_moderation",
    setup=setup,
    commands=(
        CommandSpec(
            "needs_queue",
            frozenset({Role.REPRESENTATIVE, Role.SECRETARIAT}),
            HomeGroup.ORGANIZATION,
        ),
        CommandSpec(
            "needs_take_up",
            frozenset({Role.REPRESENTATIVE, Role.SECRETARIAT, Role.PRESIDIUM}),
            HomeGroup.COUNCIL,
        ),
    ),
    jobs=_jobs,
    startup=_startup,
    keys=lambda: {
        *(f"needs-mod-status-{moderation.slug(status)}" for status in NeedStatus),
        *(f"needs-notice-status-{moderation.slug(status)}" for status in moderation.NOTIFIED),
        *(f"needs-mod-done-{moderation.slug(status)}" for status in moderation.NOTIFIED),
    },
)
