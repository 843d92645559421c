"""What the invited answer and what the organizers see of it: the answer buttons under every
notice and on the card; the card's Answers panel (totals, by person, by organization, who has not
answered, the quorum forecast); the Delegates panel (`delegates.py`, on this router); the
scheduler's quorum check and the yearly rule. The rules are in bot/services/meetings/
{answers,delegates,forecast,yearly}.py."""

from __future__ import annotations

import contextlib
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import callback_message, redraw, redraw_markup, toast
from bot.capabilities import Capability, JobContext
from bot.config import Settings
from bot.keyboards.meetings import PANEL_ANSWERS, CDMeetingAnswer, CDMeetingPanel
from bot.keyboards.meetings_answers import (
    VIEW_ORGANIZATIONS,
    VIEW_PEOPLE,
    VIEW_SILENT,
    VIEW_TOTALS,
    VIEWS,
    CDAnswers,
    mark_answers,
    overview_keyboard,
)
from bot.services.errors import InvalidInput
from bot.services.meetings import answers, forecast, yearly
from bot.services.meetings.forecast import Forecast, Overview, Person
from bot.texts import SafeHTML, clip, plain, t, tn
from handlers.meetings import delegates
from models import ScheduledJob, User
from models.meetings import Answer, Meeting
from models.votes import Quorum
from scheduler.kinds import JobSpec, reminder

# The quorum check warns two days ahead: half a day late it still helps.
CHECK_LATE = forecast.CHECK_BEFORE / 4


# --- Answering ----------------------------------------------------------------------------------


async def on_answer(
    query: CallbackQuery,
    callback_data: CDMeetingAnswer,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    """Record the answer; the pressed keyboard (a notice's, a reminder's, the card's) marks it."""
    try:
        chosen = Answer(callback_data.answer)
    except ValueError:
        raise InvalidInput("meetings-answers-bad") from None
    await answers.answer(session, user, callback_data.id, chosen)
    label = plain(f"meetings-btn-{chosen.value}")
    toast(callback_answer, "meetings-answers-recorded", answer=label)
    message = query.message
    if not isinstance(message, Message):
        return  # too old to edit: the toast says it all
    markup = mark_answers(message.reply_markup, callback_data.id, chosen)
    if markup is not None:
        # A message Telegram no longer lets the bot edit keeps its buttons; the answer stands.
        with contextlib.suppress(TelegramBadRequest):
            await redraw_markup(message, markup)


# --- The overview -------------------------------------------------------------------------------


def _heading(meeting: Meeting) -> SafeHTML:
    return t(
        "meetings-answers-title",
        kind=plain(f"meetings-kind-{meeting.kind.value}"),
        number=meeting.id,
        title=meeting.title,
    )


def _state(answer: Answer) -> str:
    return plain(f"meetings-answers-state-{answer.value}")


def forecast_lines(found: Forecast) -> list[SafeHTML]:
    rule = plain(f"votes-quorum-{found.quorum.value}")
    if found.needed is None:
        return [t("meetings-answers-forecast-nobody", rule=rule)]
    counts = {"rule": rule, "coming": found.coming, "needed": found.needed}
    if found.by_organization:
        lines = [tn("meetings-answers-forecast-organizations", found.eligible, **counts)]
    else:
        lines = [tn("meetings-answers-forecast-members", found.eligible, **counts)]
    if found.quorum == Quorum.NONE or found.expected:
        lines.append(t("meetings-answers-forecast-yes"))
    elif found.with_maybe:
        lines.append(t("meetings-answers-forecast-maybe", maybe=found.maybe))
    else:
        lines.append(t("meetings-answers-forecast-no", maybe=found.maybe))
    return lines


def totals_text(found: Overview) -> SafeHTML:
    totals = found.totals
    lines = [
        _heading(found.meeting),
        tn("meetings-answers-invited", found.invited),
        tn("meetings-answers-total-yes", totals[Answer.YES]),
        tn("meetings-answers-total-maybe", totals[Answer.MAYBE]),
        tn("meetings-answers-total-no", totals[Answer.NO]),
        tn("meetings-answers-total-none", totals[Answer.NONE]),
    ]
    if found.forecast is not None:
        lines.append(SafeHTML(""))
        lines += forecast_lines(found.forecast)
    return SafeHTML("\n".join(lines))


def _person_line(person: Person, *, answer: bool = True) -> SafeHTML:
    name = clip(person.name, 60)
    state = _state(person.answer) if answer else ""
    if person.organization:
        return t(
            "meetings-answers-person-org",
            name=name,
            answer=state,
            organization=clip(person.organization, 80),
        )
    return t("meetings-answers-person", name=name, answer=state)


async def _people_text(
    session: AsyncSession, user: User | None, meeting_id: int, page: int, *, silent: bool
) -> tuple[Meeting, SafeHTML, int, int]:
    meeting, found = await forecast.people(session, user, meeting_id, page, silent=silent)
    if silent:
        title = tn("meetings-answers-silent-title", found.total)
    else:
        title = tn("meetings-answers-people-title", found.total)
    lines = [_heading(meeting), title]
    if silent and not found.items:
        lines.append(t("meetings-answers-silent-none"))
    lines += [_person_line(person, answer=not silent) for person in found.items]
    return meeting, SafeHTML("\n".join(lines)), found.page, found.pages


async def _organizations_text(
    session: AsyncSession, user: User | None, meeting_id: int, page: int
) -> tuple[Meeting, SafeHTML, int, int]:
    meeting, found, counts = await forecast.by_organization(session, user, meeting_id, page)
    lines = [
        _heading(meeting),
        tn("meetings-answers-orgs-title", found.total),
        t(
            "meetings-answers-orgs-counts",
            yes=counts[Answer.YES],
            maybe=counts[Answer.MAYBE],
            no=counts[Answer.NO],
            none=counts[Answer.NONE],
        ),
    ]
    for row in found.items:
        people = ", ".join(
            plain("meetings-answers-delegate", name=person.name[:60], answer=_state(person.answer))
            for person in row.delegates
        )
        lines.append(
            t(
                "meetings-answers-org",
                organization=clip(row.name, 80),
                answer=_state(row.answer),
                delegates=clip(people or "—", 300),
            )
        )
    return meeting, SafeHTML("\n".join(lines)), found.page, found.pages


async def render(
    session: AsyncSession, user: User | None, meeting_id: int, view: str, page: int
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    if view in (VIEW_PEOPLE, VIEW_SILENT):
        meeting, text, page, pages = await _people_text(
            session, user, meeting_id, page, silent=view == VIEW_SILENT
        )
    elif view == VIEW_ORGANIZATIONS:
        meeting, text, page, pages = await _organizations_text(session, user, meeting_id, page)
    else:
        found = await forecast.overview(session, user, meeting_id)
        meeting, text, page, pages = found.meeting, totals_text(found), 0, 1
    return text, overview_keyboard(meeting, view, page, pages)


async def on_panel(
    query: CallbackQuery, callback_data: CDMeetingPanel, session: AsyncSession, user: User | None
) -> None:
    text, markup = await render(session, user, callback_data.id, VIEW_TOTALS, 0)
    await callback_message(query).answer(text, reply_markup=markup)


async def on_view(
    query: CallbackQuery, callback_data: CDAnswers, session: AsyncSession, user: User | None
) -> None:
    text, markup = await render(
        session, user, callback_data.id, callback_data.view, callback_data.page
    )
    await redraw(callback_message(query), text, markup)


# --- Wiring ---------------------------------------------------------------------------------------


def setup() -> Router:
    router = Router(name="meetings_answers")
    router.callback_query.register(on_answer, CDMeetingAnswer.filter())
    router.callback_query.register(on_panel, CDMeetingPanel.filter(F.panel == PANEL_ANSWERS))
    router.callback_query.register(on_view, CDAnswers.filter(F.view.in_(set(VIEWS))))
    delegates.register(router)
    return router


def _jobs(context: JobContext) -> dict[str, JobSpec]:
    timezone = context.settings.timezone

    async def quorum_check(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await forecast.run_check(session, job, timezone=timezone)

    async def yearly_check(session: AsyncSession, job: ScheduledJob) -> dict[str, Any]:
        return await yearly.run(session, job, timezone=timezone)

    return {
        forecast.CHECK_KIND: reminder(quorum_check, skip_after=CHECK_LATE),
        # The daily check keeps the next one in the schedule itself, so it always runs; the
        # week between two reminders is its own rule.
        yearly.KIND: reminder(yearly_check, skip_after=None),
    }


async def _startup(session: AsyncSession, settings: Settings) -> None:
    # Before any update is taken: the yearly rule's next check is always in the schedule.
    await yearly.ensure_scheduled(session, settings.timezone)


def _keys() -> set[str]:
    return {
        *(f"meetings-answers-state-{answer.value}" for answer in Answer),
        *(f"meetings-answers-view-{view}" for view in VIEWS),
        *(f"votes-quorum-{quorum.value}" for quorum in Quorum),
    }


capability = Capability(
    name="meetings_answers",
    setup=setup,
    jobs=_jobs,
    keys=_keys,
    startup=_startup,
)
