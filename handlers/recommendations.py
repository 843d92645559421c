"""The recommendations registry: anyone browses it; the Secretariat records answers."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import callback_message, toast
from bot.capabilities import ANYONE, Capability, CommandSpec, JobContext
from bot.config import Settings
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.votes import CDRec, recommendation_keyboard, registry_keyboard
from bot.services import recommendations
from bot.texts import SafeHTML, clip, plain, t
from models import FollowUp, Recommendation, ScheduledJob, User
from models.meetings import Meeting
from scheduler.kinds import JobSpec, changes_state, reminder


class Answer(StatesGroup):
    text = State()


async def _registry_text(
    session: AsyncSession, number: int
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    page = await recommendations.page(session, number)
    if not page.items:
        return t("recommendations-empty"), None
    text = t("recommendations-title", total=page.total)
    return text, registry_keyboard(page.items, page.page, page.pages)


async def cmd_recommendations(message: Message, session: AsyncSession) -> None:
    text, markup = await _registry_text(session, 0)
    await message.answer(text, reply_markup=markup)


async def on_page(query: CallbackQuery, callback_data: CDRec, session: AsyncSession) -> None:
    text, markup = await _registry_text(session, callback_data.page)
    await callback_message(query).edit_text(text, reply_markup=markup)


def card_text(item: Recommendation, timezone: str, meeting: Meeting | None = None) -> SafeHTML:
    """A recommendation's card; one a meeting decided (`meeting`: whose minutes record it) says
    which meeting, where one a vote adopted gives the tally."""
    status = plain(f"recommendations-status-{item.status.value}")
    lines = [
        t("recommendations-card-title", number=item.number, question=item.title),
        t(
            "recommendations-card-facts",
            date=dates.shown_datetime(item.adopted_at, timezone),
            addressee=item.addressee,
            status=status,
            due=dates.shown_datetime(item.reply_due, timezone),
        ),
    ]
    if item.vote is not None:
        result = item.vote.result or {}
        counts = result.get("counts", {})
        lines.append(
            t(
                "recommendations-card-decided",
                yes=counts.get("0", 0),
                no=counts.get("1", 0),
                abstain=counts.get("2", 0),
                eligible=result.get("eligible", 0),
            )
        )
    elif meeting is not None:
        lines.append(
            t(
                "recommendations-card-meeting",
                kind=plain(f"meetings-kind-{meeting.kind.value}"),
                number=meeting.id,
                date=dates.shown_date(meeting.starts_at, timezone),
            )
        )
    if item.overdue and item.status == FollowUp.SENT:
        lines.append(t("recommendations-card-overdue"))
    # A one-line decision is its own title: not said twice.
    if item.full_text and item.full_text.strip() != item.title:
        lines.append(SafeHTML(clip(item.full_text, 1500)))
    if item.answer:
        lines.append(t("recommendations-card-answer", answer=item.answer[:1500]))
    return SafeHTML("\n".join(lines))


async def on_show(
    query: CallbackQuery,
    callback_data: CDRec,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    item = await recommendations.get(session, callback_data.id)
    meeting = await recommendations.origin(session, item)
    await callback_message(query).edit_text(
        card_text(item, settings.timezone, meeting),
        reply_markup=recommendation_keyboard(
            item, callback_data.page, recommendations.may_follow_up(user)
        ),
    )


async def on_answer(
    query: CallbackQuery,
    callback_data: CDRec,
    session: AsyncSession,
    state: FSMContext,
    user: User | None,
) -> None:
    recommendations.require_follow_up(user)
    item = await recommendations.get(session, callback_data.id)
    await state.set_state(Answer.text)
    await state.update_data(recommendation_id=item.id)
    await callback_message(query).answer(t("recommendations-ask-answer", number=item.number))


async def on_answer_text(
    message: Message,
    session: AsyncSession,
    state: FSMContext,
    user: User | None,
    settings: Settings,
) -> None:
    data = await state.get_data()
    item = await recommendations.mark_answered(
        session, user, int(data.get("recommendation_id", 0)), message.text or ""
    )
    await state.clear()
    await message.answer(
        card_text(item, settings.timezone, await recommendations.origin(session, item)),
        reply_markup=recommendation_keyboard(item, 0, True),
    )


async def on_answer_not_text(message: Message) -> None:
    await message.answer(t("recommendations-text-expected"))


async def on_done(
    query: CallbackQuery,
    callback_data: CDRec,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    item = await recommendations.mark_implemented(session, user, callback_data.id)
    toast(callback_answer, "recommendations-marked-done")
    await callback_message(query).edit_text(
        card_text(item, settings.timezone, await recommendations.origin(session, item)),
        reply_markup=recommendation_keyboard(item, callback_data.page, True),
    )


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="recommendations")
    router.message.register(cmd_recommendations, Command("recommendations"))
    router.callback_query.register(on_page, CDRec.filter(F.action == "page"))
    router.callback_query.register(on_show, CDRec.filter(F.action == "show"))
    router.callback_query.register(on_answer, CDRec.filter(F.action == "answer"))
    router.message.register(on_answer_text, Answer.text, TEXT_INPUT)
    router.message.register(on_answer_not_text, Answer.text, NOT_TEXT)
    router.callback_query.register(on_done, CDRec.filter(F.action == "done"))
    return router


def _jobs(context: JobContext) -> dict[str, JobSpec]:
    timezone = context.settings.timezone

    async def reply_soon(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await recommendations.run_remind(session, job, timezone)

    async def reply_overdue(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await recommendations.run_overdue(session, job, timezone)

    return {
        recommendations.REMIND_KIND: reminder(reply_soon),
        recommendations.OVERDUE_KIND: changes_state(reply_overdue),
    }


capability = Capability(
    name="recommendations",
    setup=setup,
    commands=(CommandSpec("recommendations", ANYONE),),
    jobs=_jobs,
    keys=lambda: {f"recommendations-status-{status.value}" for status in FollowUp},
)
