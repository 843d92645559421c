"""Announcements: write, choose the audience, send now or later, preview, confirm, follow the
progress (and stop it), list past announcements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import StaleButton, alert, callback_message
from bot.capabilities import Capability, CommandSpec, HomeGroup, JobContext
from bot.config import Settings
from bot.delivery import Progress
from bot.delivery.status import status_text
from bot.dialogs import abort
from bot.drafts import StoredDraft
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.announcements import (
    QUICK_ROLES,
    CDAnn,
    CDAud,
    audience_keyboard,
    confirm_keyboard,
    stop_keyboard,
    when_keyboard,
)
from bot.keyboards.bodies import body_title
from bot.services import announcements, bodies, digest, districts
from bot.services.permissions import AUTHORS
from bot.texts import SafeHTML, plain, t, tn
from models import OutboxStatus, ScheduledJob, User
from scheduler.kinds import JobSpec, reminder

DRAFT = StoredDraft("announcement")


class Announce(StatesGroup):
    content = State()
    audience = State()
    when = State()
    confirm = State()


async def cmd_announce(message: Message, state: FSMContext, user: User | None) -> None:
    announcements.require_author(user)
    await state.set_state(Announce.content)
    await DRAFT.save(state, {})
    await message.answer(t("announcements-ask-content"))


async def on_content(message: Message, state: FSMContext, user: User | None) -> None:
    announcements.require_author(user)
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


async def on_content_unsupported(message: Message) -> None:
    await message.answer(t("announcements-content-unsupported"))


async def on_audience(
    query: CallbackQuery,
    callback_data: CDAud,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    announcements.require_author(user)
    draft = await DRAFT.load(state)
    audience = draft.get("audience", {})
    if callback_data.part == "next":
        if announcements.is_empty(audience):
            alert(callback_answer, "announcements-choose-someone")
            return
        await message.edit_reply_markup(reply_markup=None)
        await state.set_state(Announce.when)
        await message.answer(t("announcements-ask-when"), reply_markup=when_keyboard())
        return
    if callback_data.part == "menu":
        if callback_data.value not in ("", "districts", "bodies", "roles"):
            raise StaleButton()
        menu = callback_data.value  # "" goes back to the main choices
    else:
        raw = callback_data.value
        value: int | str = raw
        if callback_data.part in ("districts", "bodies"):
            value = int(raw) if raw.isdigit() else -1
        audience = announcements.toggle(audience, callback_data.part, value)
        draft["audience"] = audience
        menu = draft.get("menu", "")  # a toggle keeps the list it was made in open
    draft["menu"] = menu
    await DRAFT.save(state, draft)
    markup = audience_keyboard(
        audience,
        menu,
        districts=(await districts.list_districts(session, per_page=50)).items
        if menu == "districts"
        else None,
        bodies=await bodies.all_bodies(session) if menu == "bodies" else None,
    )
    if message.reply_markup != markup:
        await message.edit_reply_markup(reply_markup=markup)


async def on_when(
    query: CallbackQuery,
    callback_data: CDAnn,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    bot: Bot,
    settings: Settings,
) -> None:
    message = callback_message(query)
    announcements.require_author(user)
    await message.edit_reply_markup(reply_markup=None)
    if callback_data.action == "later":
        await message.answer(t("announcements-ask-time"))
        return
    draft = await DRAFT.load(state)
    draft.pop("send_at", None)
    await DRAFT.save(state, draft)
    await preview(message, state, session, bot, settings)


async def on_time(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    bot: Bot,
    settings: Settings,
) -> None:
    announcements.require_author(user)
    send_at = dates.parse_local_time(message.text or "", settings.timezone)
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
        reply_markup=confirm_keyboard(_public_choice(session, draft)),
    )


def _public_choice(session: AsyncSession, draft: dict) -> bool | None:
    """The channel toggle's state, or None when there is no public channel to offer."""
    if not announcements.channel_available(session):
        return None
    return bool(draft.get("public"))


async def on_public(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    announcements.require_author(user)
    if not announcements.channel_available(session):
        raise StaleButton()
    draft = await DRAFT.load(state)
    draft["public"] = not draft.get("public")
    await DRAFT.save(state, draft)
    await message.edit_reply_markup(reply_markup=confirm_keyboard(_public_choice(session, draft)))


def _local(moment: str | datetime, timezone: str) -> str:
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return dates.shown_datetime(value, timezone)


async def on_send(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    message = callback_message(query)
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
        public=bool(draft.get("public")) and announcements.channel_available(session),
    )
    await state.clear()
    await message.edit_reply_markup(reply_markup=None)
    number = await announcements.number(session, outbox)
    if send_at is not None:
        text = tn(
            "announcements-scheduled",
            outbox.total,
            number=number,
            time=_local(send_at, settings.timezone),
        )
    elif outbox.status == OutboxStatus.QUEUING:
        # A large audience: answered now, while the workers queue it (the status follows).
        text = status_text(number, Progress(0, 0, 0, 0, 0, 0), queuing=outbox.total)
    else:
        text = status_text(number, Progress(outbox.total, 0, 0, 0, 0, outbox.total))
    status = await message.answer(text, reply_markup=stop_keyboard(outbox.id))
    await announcements.attach_status(session, outbox, status.chat.id, status.message_id)
    if draft.get("public") and announcements.channel_available(session):
        await message.answer(t("channel-announce-queued"))


async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await abort(state, Announce, callback_message(query), "announcements-cancelled")


async def on_stop(
    query: CallbackQuery,
    callback_data: CDAnn,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    stopped = await announcements.stop(session, user, callback_data.id)
    alert(callback_answer, "announcements-stopped", n=stopped)


async def cmd_announcements(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    rows = await announcements.recent(session, user)
    if not rows:
        await message.answer(t("announcements-none"))
        return
    lines = [t("announcements-list-title")]
    for row in rows:
        outbox, progress = row.outbox, row.progress
        moment = outbox.send_at or outbox.created_at
        lines.append(
            t(
                "announcements-list-line",
                number=row.number,
                time=_local(moment, settings.timezone),
                status=plain(f"announcements-status-{outbox.status.value}"),
                sent=progress.sent,
                failed=progress.failed,
                blocked=progress.blocked,
                # While its recipients are queued, the number it will have.
                total=outbox.total if outbox.status == OutboxStatus.QUEUING else progress.total,
            )
        )
    await message.answer(SafeHTML("\n".join(lines)))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="announcements")
    router.message.register(cmd_announce, Command("announce"))
    router.message.register(on_content, Announce.content, F.photo | F.document)
    router.message.register(on_content, Announce.content, TEXT_INPUT)
    router.message.register(on_content_unsupported, Announce.content, NOT_TEXT)
    router.callback_query.register(on_audience, Announce.audience, CDAud.filter())
    router.callback_query.register(
        on_when,
        Announce.when,
        CDAnn.filter(F.action.in_({"now", "later"})),
    )
    router.message.register(on_time, Announce.when, TEXT_INPUT)
    router.callback_query.register(on_send, Announce.confirm, CDAnn.filter(F.action == "send"))
    router.callback_query.register(on_public, Announce.confirm, CDAnn.filter(F.action == "public"))
    router.callback_query.register(on_cancel, CDAnn.filter(F.action == "cancel"))
    router.callback_query.register(on_stop, CDAnn.filter(F.action == "stop"))
    router.message.register(cmd_announcements, Command("announcements"))
    return router


def _keys() -> set[str]:
    keys = {f"announcements-status-{status.value}" for status in OutboxStatus}
    keys |= {f"announcements-role-{role.value}" for role in QUICK_ROLES}
    keys |= {f"announcements-pick-{part}" for part in ("districts", "bodies", "roles")}
    return keys


def _jobs(context: JobContext) -> dict[str, JobSpec]:
    timezone = context.settings.timezone

    async def daily_digest(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await digest.run(
            session, job, timezone, context.settings.default_language, context.i18n
        )

    # The digest judges its own lateness: a skipped one must still schedule the next.
    return {digest.KIND: reminder(daily_digest, skip_after=None)}


async def _startup(session: AsyncSession, settings: Settings) -> None:
    # Before any update is taken: the next digest is always in the schedule.
    await digest.ensure_scheduled(session, settings.timezone)


capability = Capability(
    name="announcements",
    setup=setup,
    commands=(
        CommandSpec("announce", AUTHORS, HomeGroup.ADMIN),
        CommandSpec("announcements", AUTHORS, HomeGroup.ADMIN),
    ),
    jobs=_jobs,
    keys=_keys,
    startup=_startup,
)
