"""Announcements: write, choose the audience, send now or later, preview, confirm, follow the
progress (and stop it), list past announcements."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.drafts import StoredDraft
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.announcements import (
    CDAnn,
    CDAud,
    audience_keyboard,
    confirm_keyboard,
    stop_keyboard,
    when_keyboard,
)
from bot.keyboards.bodies import body_title
from bot.services import announcements, bodies, districts, schedule
from bot.services.delivery import Progress
from bot.services.permissions import require_role
from bot.texts import SafeHTML, plain, t, tn
from models import Outbox, User

router = Router(name="announcements")

DRAFT = StoredDraft("announcement")


class Announce(StatesGroup):
    content = State()
    audience = State()
    when = State()
    confirm = State()


@router.message(Command("announce"))
async def cmd_announce(message: Message, state: FSMContext, user: User | None) -> None:
    require_role(user, *announcements.AUTHORS)
    await state.set_state(Announce.content)
    await DRAFT.save(state, {})
    await message.answer(t("announcements-ask-content"))


@router.message(Announce.content, TEXT_INPUT)
@router.message(Announce.content, F.photo | F.document)
async def on_content(message: Message, state: FSMContext, user: User | None) -> None:
    require_role(user, *announcements.AUTHORS)
    draft: dict = {"audience": {}}
    if message.photo:
        draft.update(media_kind="photo", media_file_id=message.photo[-1].file_id)
    elif message.document:
        draft.update(media_kind="document", media_file_id=message.document.file_id)
    # The author's formatting is kept: html_text rebuilds it from the entities, escaped.
    draft["html"] = message.html_text if (message.text or message.caption) else ""
    await DRAFT.save(state, draft)
    await state.set_state(Announce.audience)
    await message.answer(t("announcements-ask-audience"), reply_markup=audience_keyboard({}))


@router.message(Announce.content, NOT_TEXT)
async def on_content_unsupported(message: Message) -> None:
    await message.answer(t("announcements-content-unsupported"))


@router.callback_query(Announce.audience, CDAud.filter())
async def on_audience(
    query: CallbackQuery,
    callback_data: CDAud,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    require_role(user, *announcements.AUTHORS)
    draft = await DRAFT.load(state)
    audience = draft.get("audience", {})
    if callback_data.part == "next":
        if announcements.is_empty(audience):
            await query.answer(plain("announcements-choose-someone"), show_alert=True)
            return
        await query.answer()
        await query.message.edit_reply_markup(reply_markup=None)
        await state.set_state(Announce.when)
        await query.message.answer(t("announcements-ask-when"), reply_markup=when_keyboard())
        return
    if callback_data.part == "menu":
        if callback_data.value not in ("", "districts", "bodies", "roles"):
            await query.answer(plain("error-stale-button"), show_alert=True)
            return
        menu = callback_data.value  # "" goes back to the main choices
    else:
        value: int | str = callback_data.value
        if callback_data.part in ("districts", "bodies"):
            value = int(value) if value.isdigit() else -1
        audience = announcements.toggle(audience, callback_data.part, value)
        draft["audience"] = audience
        menu = draft.get("menu", "")  # a toggle keeps the list it was made in open
    draft["menu"] = menu
    await DRAFT.save(state, draft)
    await query.answer()
    markup = audience_keyboard(
        audience,
        menu,
        districts=(await districts.list_districts(session, per_page=50)).items
        if menu == "districts"
        else None,
        bodies=await bodies.all_bodies(session) if menu == "bodies" else None,
    )
    if query.message.reply_markup != markup:
        await query.message.edit_reply_markup(reply_markup=markup)


@router.callback_query(Announce.when, CDAnn.filter(F.action.in_({"now", "later"})))
async def on_when(
    query: CallbackQuery,
    callback_data: CDAnn,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    bot: Bot,
    settings: Settings,
) -> None:
    require_role(user, *announcements.AUTHORS)
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    if callback_data.action == "later":
        await query.message.answer(t("announcements-ask-time"))
        return
    draft = await DRAFT.load(state)
    draft.pop("send_at", None)
    await DRAFT.save(state, draft)
    await preview(query.message, state, session, bot, settings)


@router.message(Announce.when, TEXT_INPUT)
async def on_time(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    bot: Bot,
    settings: Settings,
) -> None:
    require_role(user, *announcements.AUTHORS)
    send_at = schedule.parse_local_time(message.text or "", settings.timezone)
    if send_at is None:
        await message.answer(t("announcements-time-format"))
        return
    announcements.check_send_at(send_at)
    draft = await DRAFT.load(state)
    draft["send_at"] = send_at.isoformat()
    await DRAFT.save(state, draft)
    await preview(message, state, session, bot, settings)


async def audience_text(session: AsyncSession, audience: dict) -> str:
    names = await announcements.describe(session, audience)
    parts = []
    if names.everyone:
        parts.append(plain("announcements-everyone"))
    parts += [plain(f"role-{role.value}") for role in names.roles]
    parts += names.districts
    parts += [body_title(body) for body in names.bodies]
    return ", ".join(parts)


async def send_copy(bot: Bot, chat_id: int, draft: dict) -> None:
    """The announcement exactly as a recipient will see it."""
    html = draft.get("html", "")
    if draft.get("media_kind") == "photo":
        await bot.send_photo(chat_id, draft["media_file_id"], caption=html or None)
    elif draft.get("media_kind") == "document":
        await bot.send_document(chat_id, draft["media_file_id"], caption=html or None)
    else:
        await bot.send_message(chat_id, html)


async def preview(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, settings: Settings
) -> None:
    draft = await DRAFT.load(state)
    recipients = await announcements.count(session, draft["audience"])
    await state.set_state(Announce.confirm)
    await message.answer(t("announcements-preview-title"))
    await send_copy(bot, message.chat.id, draft)
    when = (
        t("announcements-when-at", time=_local(draft["send_at"], settings.timezone))
        if draft.get("send_at")
        else t("announcements-when-now")
    )
    await message.answer(
        SafeHTML(
            t("announcements-summary", audience=await audience_text(session, draft["audience"]))
            + "\n"
            + tn("announcements-recipients", recipients)
            + "\n"
            + when
        ),
        reply_markup=confirm_keyboard(),
    )


def _local(moment: str | datetime, timezone: str) -> str:
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return schedule.local_time(value, timezone)


@router.callback_query(Announce.confirm, CDAnn.filter(F.action == "send"))
async def on_send(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    draft = await DRAFT.load(state)
    send_at = datetime.fromisoformat(draft["send_at"]) if draft.get("send_at") else None
    outbox = await announcements.publish(
        session,
        user,
        html=draft.get("html", ""),
        audience=draft["audience"],
        media_kind=draft.get("media_kind"),
        media_file_id=draft.get("media_file_id"),
        send_at=send_at,
    )
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    if send_at is not None:
        text = tn("announcements-scheduled", outbox.total, time=_local(send_at, settings.timezone))
    else:
        text = status_text(outbox, Progress(outbox.total, 0, 0, 0, 0, outbox.total))
    status = await query.message.answer(text, reply_markup=stop_keyboard(outbox.id))
    await announcements.attach_status(session, outbox, status.chat.id, status.message_id)


@router.callback_query(CDAnn.filter(F.action == "cancel"))
async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    if not (await state.get_state() or "").startswith("Announce:"):
        await query.answer(plain("error-stale-button"), show_alert=True)
        return
    await state.clear()
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(t("announcements-cancelled"))


@router.callback_query(CDAnn.filter(F.action == "stop"))
async def on_stop(
    query: CallbackQuery, callback_data: CDAnn, session: AsyncSession, user: User | None
) -> None:
    stopped = await announcements.stop(session, user, callback_data.id)
    await query.answer(plain("announcements-stopped", n=stopped), show_alert=True)


def status_text(outbox: Outbox, progress: Progress) -> SafeHTML:
    key = "announcements-progress-done" if progress.finished else "announcements-progress"
    return t(
        key,
        number=outbox.id,
        sent=progress.sent,
        failed=progress.failed,
        blocked=progress.blocked,
        skipped=progress.skipped,
        total=progress.total,
    )


@router.message(Command("announcements"))
async def cmd_announcements(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    rows = await announcements.recent(session, user)
    if not rows:
        await message.answer(t("announcements-none"))
        return
    lines = [t("announcements-list-title")]
    for outbox, progress in rows:
        moment = outbox.send_at or outbox.created_at
        lines.append(
            t(
                "announcements-list-line",
                number=outbox.id,
                time=_local(moment, settings.timezone),
                status=plain(f"announcements-status-{outbox.status.value}"),
                sent=progress.sent,
                failed=progress.failed,
                blocked=progress.blocked,
                total=progress.total,
            )
        )
    await message.answer(SafeHTML("\n".join(lines)))
