"""Review and decision: /projects_review (each person's lists by their part), a project's review
screen (also the "review" panel of its card), assigning to a committee, comments, the chair's
outcome and putting a recommendation to the council's vote. The rules are in
bot/services/projects/review.py."""

from __future__ import annotations

from typing import Literal

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import StaleButton, callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.dialogs import expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.bodies import body_title
from bot.keyboards.projects import PANEL_REVIEW, CDProjectPanel
from bot.keyboards.projects_review import (
    CDRev,
    CDRevAssign,
    CDRevList,
    addressee_keyboard,
    committees_keyboard,
    screen_keyboard,
    shelf_keyboard,
)
from bot.keyboards.votes import ADDRESSEES
from bot.services.errors import DomainError, InvalidInput
from bot.services.projects import review
from bot.services.projects.review import Outcome, Shelf
from bot.services.projects.rules import COMMENT_MAX, TRANSITIONS, slug
from bot.texts import SafeHTML, clip, plain, roubles, t, tn
from handlers.votes.card import send_card
from models import Role, User
from models.projects import ProjectStatus

# Every status a project can be moved to.
NOTIFIED = frozenset(to for targets in TRANSITIONS.values() for to in targets)


class Review(StatesGroup):
    comment = State()
    reasons = State()
    addressee = State()


# Refusals of the text itself: the dialog waits for a better one.
RETYPE = frozenset({"projects-text-empty", "projects-text-too-long", "votes-bad-addressee"})
PROJECT = "review_project"
OUTCOME = "review_outcome"
COMMENTS_SHOWN = 5
NEEDS_SHOWN = 5


# --- Texts -----------------------------------------------------------------------------------


def _screen_text(screen: review.Screen, settings: Settings) -> SafeHTML:
    project = screen.project
    lines = [
        t(
            "projects-review-title",
            number=project.id,
            title=project.title,
            status=plain(f"projects-status-{slug(project.status)}"),
            version=project.version,
        ),
        t("projects-review-organization", name=clip(screen.organization, 200)),
    ]
    if screen.committee is not None:
        lines.append(t("projects-review-committee-line", name=body_title(screen.committee)))
    lines.append(t("projects-review-summary", text=clip(project.summary, 400)))
    lines.append(t("projects-review-goals", text=clip(project.goals, 400)))
    lines.append(
        t(
            "projects-review-budget",
            budget=roubles(project.budget),
            sources=clip(project.budget_sources or "—", 200),
        )
    )
    if project.starts_on and project.ends_on:
        lines.append(
            t(
                "projects-review-dates",
                starts=dates.shown_date(project.starts_on, settings.timezone),
                ends=dates.shown_date(project.ends_on, settings.timezone),
            )
        )
    if screen.needs:
        lines.append(t("projects-review-needs"))
        for need in screen.needs[:NEEDS_SHOWN]:
            lines.append(t("projects-review-need", number=need.id, text=clip(need.description, 60)))
    if screen.comments:
        lines.append(tn("projects-review-comments", len(screen.comments)))
        for item in screen.comments[-COMMENTS_SHOWN:]:
            lines.append(
                t(
                    "projects-review-comment",
                    author=clip(item.author, 40),
                    version=item.version,
                    text=clip(item.text, 150),
                )
            )
    else:
        lines.append(t("projects-review-no-comments"))
    if screen.proposal is not None and project.proposed_outcome:
        lines.append(
            t(
                "projects-review-proposal",
                outcome=plain(f"projects-review-outcome-{project.proposed_outcome}"),
                text=clip(screen.proposal.text or "—", 300),
            )
        )
    if screen.vote is not None and project.status == ProjectStatus.IN_REVIEW:
        lines.append(
            t(
                "projects-review-vote-line",
                vote=screen.vote.id,
                status=plain(f"votes-status-{screen.vote.status.value}"),
            )
        )
    return SafeHTML("\n".join(lines))


async def _screen(
    session: AsyncSession, user: User | None, project_id: int, settings: Settings
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    screen = await review.screen(session, user, project_id)
    return _screen_text(screen, settings), screen_keyboard(screen)


async def _show(
    message: Message,
    session: AsyncSession,
    user: User | None,
    project_id: int,
    settings: Settings,
    *,
    edit: bool = False,
) -> None:
    """The screen as a new message, or in place of the one pressed."""
    text, markup = await _screen(session, user, project_id, settings)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)


SHELF_TITLES = {
    Shelf.ASSIGN: "projects-review-shelf-assign",
    Shelf.COMMITTEE: "projects-review-shelf-committee",
    Shelf.COUNCIL: "projects-review-shelf-council",
}


async def _shelf(
    session: AsyncSession, user: User | None, which: Shelf, page: int
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    found = await review.shelf(session, user, which, page)
    if not found.items:
        return t(f"{SHELF_TITLES[which]}-empty"), None
    count = tn("projects-review-projects", found.total)
    return t(SHELF_TITLES[which], count=count), shelf_keyboard(which, found)


# --- The lists and the screen ----------------------------------------------------------------


async def cmd_review(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    """/projects_review: each list the person's part gives them; /projects_review N: project N."""
    mine = await review.shelves(session, user)
    argument = (command.args or "").strip().lstrip("№#")
    if argument:
        if not argument.isdigit() or len(argument) > 9:
            raise InvalidInput("projects-review-number")
        await _show(message, session, user, int(argument), settings)
        return
    for which in mine:
        text, shelf_markup = await _shelf(session, user, which, 0)
        await message.answer(text, reply_markup=shelf_markup)


async def on_list(
    query: CallbackQuery, callback_data: CDRevList, session: AsyncSession, user: User | None
) -> None:
    if callback_data.shelf not in {s.value for s in Shelf}:
        raise StaleButton()
    text, markup = await _shelf(session, user, Shelf(callback_data.shelf), callback_data.page)
    await callback_message(query).edit_text(text, reply_markup=markup)


async def on_show(
    query: CallbackQuery,
    callback_data: CDRev | CDProjectPanel,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    """Also the "review" panel of a project's card: the same screen, for those with a part in it."""
    await _show(callback_message(query), session, user, callback_data.id, settings)


async def on_refresh(
    query: CallbackQuery,
    callback_data: CDRev,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    """The screen again, in place (its buttons follow what changed meanwhile)."""
    await _show(callback_message(query), session, user, callback_data.id, settings, edit=True)


# --- Assigning -------------------------------------------------------------------------------


async def on_assign(
    query: CallbackQuery, callback_data: CDRev, session: AsyncSession, user: User | None
) -> None:
    """The committees to choose from (the one that reviewed it before first)."""
    project, found = await review.committees(session, user, callback_data.id, callback_data.page)
    titles = {body.id: body_title(body) for body in found.items}
    lines = [t("projects-review-ask-committee", number=project.id, title=project.title)]
    for body in found.items:
        if body.direction:
            lines.append(
                t("projects-review-direction", name=titles[body.id], text=clip(body.direction, 150))
            )
    await callback_message(query).edit_text(
        SafeHTML("\n".join(lines)), reply_markup=committees_keyboard(project, found, titles)
    )


async def on_assigned(
    query: CallbackQuery,
    callback_data: CDRevAssign,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    project = await review.assign(session, user, callback_data.id, callback_data.body)
    toast(callback_answer, "projects-review-assigned", number=project.id)
    await _show(callback_message(query), session, user, project.id, settings, edit=True)


# --- Texts asked for: a comment, the chair's reasons, the addressee --------------------------


MayAsk = Literal["may_comment", "may_propose", "may_put_to_vote"]


async def _ask_text(
    session: AsyncSession,
    user: User | None,
    project_id: int,
    state: FSMContext,
    step: State,
    may: MayAsk,
) -> review.Screen:
    """The text step begins only if the screen offers this part to the user right now."""
    screen = await review.screen(session, user, project_id)
    if not getattr(screen, may):
        raise review.refusal(screen.project)
    await state.set_state(step)
    await state.update_data({PROJECT: screen.project.id})
    return screen


async def on_comment(
    query: CallbackQuery,
    callback_data: CDRev,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    screen = await _ask_text(session, user, callback_data.id, state, Review.comment, "may_comment")
    await callback_message(query).answer(
        t("projects-review-ask-comment", number=screen.project.id, max=COMMENT_MAX)
    )


async def on_outcome(
    query: CallbackQuery,
    callback_data: CDRev,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    screen = await _ask_text(session, user, callback_data.id, state, Review.reasons, "may_propose")
    await state.update_data({OUTCOME: callback_data.action})
    await callback_message(query).answer(
        t(f"projects-review-ask-{callback_data.action}", number=screen.project.id)
    )


async def on_vote(
    query: CallbackQuery,
    callback_data: CDRev,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
) -> None:
    screen = await _ask_text(
        session, user, callback_data.id, state, Review.addressee, "may_put_to_vote"
    )
    await callback_message(query).answer(
        t("projects-review-ask-addressee", number=screen.project.id),
        reply_markup=addressee_keyboard(screen.project.id),
    )


async def on_text(
    message: Message,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    data = await state.get_data()
    project_id = int(data.get(PROJECT) or 0)
    step = await state.get_state()
    text = message.text or ""
    try:
        if step == Review.comment.state:
            await review.comment(session, user, project_id, text)
            done = t("projects-review-commented", number=project_id)
        elif step == Review.reasons.state:
            outcome = Outcome(data.get(OUTCOME) or Outcome.RECOMMEND.value)
            await review.propose(session, user, project_id, outcome, text)
            done = t(f"projects-review-done-{outcome.value}", number=project_id)
        else:
            await _to_vote(message, session, user, state, settings, project_id, text)
            return
    except DomainError as exc:
        if exc.key in RETYPE:
            raise
        # The project moved on, or the part is no longer theirs: typing again cannot help.
        # (Each service checks before it writes, so there is nothing to undo.)
        await state.clear()
        await message.answer(t(exc.key, **exc.params))
        return
    await state.clear()
    await message.answer(done)
    await _show(message, session, user, project_id, settings)


async def on_addressee(
    query: CallbackQuery,
    callback_data: CDRev,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
) -> None:
    if not 0 <= callback_data.page < len(ADDRESSEES):
        raise StaleButton()
    message = callback_message(query)
    addressee = plain(ADDRESSEES[callback_data.page])
    await _to_vote(message, session, user, state, settings, callback_data.id, addressee)
    await message.edit_reply_markup(reply_markup=None)


async def _to_vote(
    message: Message,
    session: AsyncSession,
    user: User | None,
    state: FSMContext,
    settings: Settings,
    project_id: int,
    addressee: str,
) -> None:
    vote = await review.put_to_vote(session, user, project_id, addressee=addressee)
    await state.clear()
    await message.answer(t("projects-review-drafted", number=project_id, vote=vote.id))
    await send_card(message, session, user, vote.id, settings)


# --- Wiring ----------------------------------------------------------------------------------


def setup() -> Router:
    router = Router(name="projects_review")
    router.message.register(cmd_review, Command("projects_review"))
    router.callback_query.register(on_list, CDRevList.filter())
    router.callback_query.register(on_show, CDRev.filter(F.action == "show"))
    router.callback_query.register(on_refresh, CDRev.filter(F.action == "refresh"))
    router.callback_query.register(on_show, CDProjectPanel.filter(F.panel == PANEL_REVIEW))
    router.callback_query.register(on_assign, CDRev.filter(F.action == "assign"))
    router.callback_query.register(on_assigned, CDRevAssign.filter())
    router.callback_query.register(on_comment, CDRev.filter(F.action == "comment"))
    router.callback_query.register(
        on_outcome, CDRev.filter(F.action.in_({o.value for o in Outcome}))
    )
    router.callback_query.register(on_vote, CDRev.filter(F.action == "vote"))
    router.callback_query.register(on_addressee, CDRev.filter(F.action == "addressee"))
    for step in (Review.comment, Review.reasons, Review.addressee):
        router.message.register(on_text, step, TEXT_INPUT)
        router.message.register(expect_text, step, NOT_TEXT)
    return router


capability = Capability(
    name="projects_review",
    setup=setup,
    commands=(
        CommandSpec(
            "projects_review",
            frozenset({Role.EXECUTIVE, Role.COMMITTEE, Role.PRESIDIUM, Role.SECRETARIAT}),
            HomeGroup.COUNCIL,
        ),
    ),
    keys=lambda: {
        *(f"projects-review-done-{outcome.value}" for outcome in Outcome),
        *(f"projects-review-ask-{outcome.value}" for outcome in Outcome),
        *(f"projects-review-outcome-{outcome.value}" for outcome in Outcome),
        *(f"{key}-empty" for key in SHELF_TITLES.values()),
        *(f"projects-status-{slug(status)}" for status in ProjectStatus),
        # The status notices lifecycle.move sends for the moves made here and by the council.
        *(f"projects-notice-status-{slug(status)}" for status in NOTIFIED),
    },
)
