"""Browsing projects (/projects with filters), a project's card (/project_N or a button) with
its follow, volunteer and panel buttons, and the projects one follows or takes part in
(/followed_projects). The capability also carries the consortium panel (`consortium.py`)."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import DB_INT_MAX, callback_message, redraw, redraw_markup, toast
from bot.capabilities import REGISTERED, Capability, CommandSpec
from bot.config import Settings
from bot.dates import shown_date
from bot.keyboards.projects import CDProject
from bot.keyboards.projects_team import (
    CDFollowed,
    CDProjectFollow,
    CDProjects,
    card_keyboard,
    committee_choice,
    district_choice,
    followed_keyboard,
    list_keyboard,
    programme_choice,
    status_choice,
)
from bot.services import districts
from bot.services.permissions import require_registered
from bot.services.projects import browse
from bot.services.projects.browse import CITY_WIDE, OPEN_FILTER, STATUS_FILTERS, Filters
from bot.services.projects.rules import slug
from bot.services.projects.stakes import percent
from bot.texts import SafeHTML, clip, plain, roubles, t, tn
from handlers.projects import consortium, contributions
from models import User
from models.projects import ContributionKind, ParticipantStatus, Project, ProjectStatus

PER_PAGE = 8
DISTRICTS_PER_PAGE = 20
NEEDS_SHOWN = 20
PROJECT_COMMAND = re.compile(r"^/project_(\d{1,10})(?:@\w+)?$")


def status_text(project: Project) -> str:
    return plain(f"projects-status-{slug(project.status)}")


# --- The list ---------------------------------------------------------------------------------


def _filters(data: CDProjects) -> Filters:
    return Filters(
        status=data.status if data.status in STATUS_FILTERS else OPEN_FILTER,
        district_id=data.district if data.district > 0 or data.district == CITY_WIDE else None,
        programme_id=data.programme if data.programme > 0 else None,
        committee_id=data.committee if data.committee > 0 else None,
    )


async def list_view(
    session: AsyncSession, data: CDProjects
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    filters = _filters(data)
    district = (
        await districts.find(session, filters.district_id)
        if filters.district_id and filters.district_id > 0
        else None
    )
    programme = await browse.find_programme(session, filters.programme_id)
    committee = await browse.find_committee(session, filters.committee_id)
    # A forged or deleted filter value: no filter.
    data = data.model_copy(
        update={
            "status": filters.status,
            "district": CITY_WIDE
            if filters.district_id == CITY_WIDE
            else (district.id if district else 0),
            "programme": programme.id if programme else 0,
            "committee": committee.id if committee else 0,
            "view": "",
        }
    )
    filters = _filters(data)
    page = await browse.browse(session, filters, data.page, PER_PAGE)
    data = data.model_copy(update={"page": page.page})
    if filters.district_id == CITY_WIDE:
        place = plain("projects-team-city-wide")
    else:
        place = district.name if district else plain("projects-team-anywhere")
    conditions = [plain(f"projects-team-filter-{filters.status.replace('_', '-')}"), place]
    if programme is not None:
        conditions.append(programme.title)
    if committee is not None:
        conditions.append(committee.name or committee.direction or "")
    found = (
        t("projects-team-found-many", n=browse.COUNT_CAP)
        if page.total > browse.COUNT_CAP
        else tn("projects-team-found", page.total)
    )
    lines: list[str] = [found, t("projects-team-conditions", conditions=" · ".join(conditions))]
    if not page.items:
        lines.append(t("projects-team-nothing"))
    for project in page.items:
        lines.append(
            t(
                "projects-team-item",
                number=project.id,
                title=clip(project.title, 120),
                status=status_text(project),
                summary=clip(" ".join(project.summary.split()), 150),
            )
        )
    return SafeHTML("\n\n".join(lines)), list_keyboard(data, page.items, page.page, page.pages)


async def cmd_projects(message: Message, session: AsyncSession, user: User | None) -> None:
    require_registered(user)
    text, markup = await list_view(session, CDProjects())
    await message.answer(text, reply_markup=markup)


async def on_list(
    query: CallbackQuery, callback_data: CDProjects, session: AsyncSession, user: User | None
) -> None:
    require_registered(user)
    message = callback_message(query)
    markup: InlineKeyboardMarkup
    if callback_data.view == "s":
        markup = status_choice(callback_data)
    elif callback_data.view == "d":
        found = await districts.list_districts(session, callback_data.page, DISTRICTS_PER_PAGE)
        markup = district_choice(callback_data, found)
    elif callback_data.view == "p":
        markup = programme_choice(callback_data, await browse.programmes(session))
    elif callback_data.view == "c":
        markup = committee_choice(callback_data, await browse.committees(session))
    else:
        text, markup = await list_view(session, callback_data)
        await redraw(message, text, markup)
        return
    await redraw_markup(message, markup)


# --- The card ---------------------------------------------------------------------------------


def render_card(card: browse.Card, timezone: str) -> SafeHTML:
    project = card.project
    lines: list[str] = [
        t("projects-team-card-title", number=project.id, title=clip(project.title, 200)),
        t("projects-team-card-status", status=status_text(project)),
    ]
    if card.organization is not None:
        lines.append(t("projects-team-card-organization", name=clip(card.organization.name, 200)))
    if card.district is not None:
        lines.append(t("projects-team-card-district", district=card.district.name))
    else:
        lines.append(t("projects-team-card-city-wide"))
    if card.programme is not None:
        lines.append(
            t(
                "projects-team-card-programme",
                number=card.programme.id,
                title=clip(card.programme.title, 150),
            )
        )
    if card.committee is not None:
        lines.append(
            t(
                "projects-team-card-committee",
                name=clip(card.committee.name or card.committee.direction or "", 150),
            )
        )
    if project.summary:
        lines += ["", clip(project.summary, 800)]
    if project.goals:
        lines += ["", t("projects-team-card-goals", text=clip(project.goals, 700))]
    if project.budget is not None:
        lines.append(t("projects-team-card-budget", budget=roubles(project.budget)))
    if project.budget_sources:
        lines.append(t("projects-team-card-sources", text=clip(project.budget_sources, 300)))
    if project.wanted:
        lines.append(t("projects-team-card-wanted", text=clip(project.wanted, 400)))
    if project.starts_on and project.ends_on:
        lines.append(
            t(
                "projects-team-card-dates",
                start=shown_date(project.starts_on, timezone),
                end=shown_date(project.ends_on, timezone),
            )
        )
    if card.need_ids:
        shown = " ".join(f"/need_{n}" for n in card.need_ids[:NEEDS_SHOWN])
        if len(card.need_ids) > NEEDS_SHOWN:
            shown += " …"
        lines.append(t("projects-team-card-needs", needs=shown))
    lines.append("")
    lines.append(
        tn("projects-team-card-consortium", card.participants, total=roubles(card.stakes.total))
    )
    if card.stakes.applies:
        lines.append(t("projects-team-card-share", share=percent(card.stakes.share)))
    lines.append(tn("projects-team-card-followers", card.followers))
    if card.volunteering:
        lines.append(t("projects-team-card-you-volunteer"))
    return SafeHTML("\n".join(lines))


async def card_view(
    session: AsyncSession, user: User | None, project_id: int, timezone: str
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    card = await browse.card(session, user, project_id)
    markup = card_keyboard(
        card.project.id,
        registered=user is not None and user.is_registered,
        following=card.following,
        may_volunteer=card.may_volunteer,
        panels=card.panels,
    )
    return render_card(card, timezone), markup


async def on_project_command(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    match = PROJECT_COMMAND.match(message.text or "")
    number = int(match.group(1)) if match else 0
    if not 0 < number <= DB_INT_MAX:
        await message.answer(t("projects-not-found", number=number))
        return
    text, markup = await card_view(session, user, number, settings.timezone)
    await message.answer(text, reply_markup=markup)


async def on_card(
    query: CallbackQuery,
    callback_data: CDProject,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    message = callback_message(query)
    text, markup = await card_view(session, user, callback_data.id, settings.timezone)
    await message.answer(text, reply_markup=markup)


async def on_follow(
    query: CallbackQuery,
    callback_data: CDProjectFollow,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    changed = await browse.follow(session, user, callback_data.id, callback_data.on)
    if callback_data.on:
        toast(
            callback_answer,
            "projects-team-followed" if changed else "projects-team-already-followed",
        )
    else:
        toast(
            callback_answer, "projects-team-unfollowed" if changed else "projects-team-not-followed"
        )
    text, markup = await card_view(session, user, callback_data.id, settings.timezone)
    await redraw(message, text, markup)


# --- Followed ---------------------------------------------------------------------------------


async def followed_view(
    session: AsyncSession, user: User | None, page_number: int
) -> tuple[SafeHTML, InlineKeyboardMarkup | None]:
    page = await browse.followed(session, user, page_number, PER_PAGE)
    if not page.items:
        return t("projects-team-followed-none"), None
    lines = [tn("projects-team-followed-title", page.total)]
    for project in page.items:
        lines.append(
            t(
                "projects-team-item",
                number=project.id,
                title=clip(project.title, 120),
                status=status_text(project),
                summary=clip(" ".join(project.summary.split()), 150),
            )
        )
    return SafeHTML("\n\n".join(lines)), followed_keyboard(page.items, page.page, page.pages)


async def cmd_followed(message: Message, session: AsyncSession, user: User | None) -> None:
    text, markup = await followed_view(session, user, 0)
    await message.answer(text, reply_markup=markup)


async def on_followed(
    query: CallbackQuery, callback_data: CDFollowed, session: AsyncSession, user: User | None
) -> None:
    message = callback_message(query)
    text, markup = await followed_view(session, user, callback_data.page)
    await redraw(message, text, markup)


def setup() -> Router:
    """A fresh router with this capability's handlers (the consortium's included)."""
    router = Router(name="projects_team")
    router.message.register(cmd_projects, Command("projects"))
    router.callback_query.register(on_list, CDProjects.filter())
    router.message.register(on_project_command, F.text.regexp(PROJECT_COMMAND))
    router.callback_query.register(on_card, CDProject.filter())
    router.callback_query.register(on_follow, CDProjectFollow.filter())
    router.message.register(cmd_followed, Command("followed_projects"))
    router.callback_query.register(on_followed, CDFollowed.filter())
    router.include_router(consortium.setup())
    router.include_router(contributions.setup())
    return router


def _keys() -> set[str]:
    keys = {f"projects-status-{slug(status)}" for status in ProjectStatus}
    # What lifecycle.move() tells the followers this capability signs people up for.
    keys |= {f"projects-notice-status-{slug(s)}" for s in ProjectStatus if s != ProjectStatus.DRAFT}
    keys |= {f"projects-team-filter-{status.replace('_', '-')}" for status in STATUS_FILTERS}
    keys |= {
        f"projects-team-btn-panel-{panel}" for panel in ("edit", "review", "plan", "team", "docs")
    }
    keys |= {f"projects-team-kind-{kind.value}" for kind in ContributionKind}
    keys |= {f"projects-team-participant-{status.value}" for status in ParticipantStatus}
    keys |= {"projects-team-confirm-leave", "projects-team-confirm-remove"}
    return keys


capability = Capability(
    name="projects_team",
    setup=setup,
    commands=(
        CommandSpec("projects", REGISTERED),
        CommandSpec("followed_projects", REGISTERED),
        CommandSpec("project_invites", REGISTERED, on_home=False),
    ),
    keys=_keys,
    public_callbacks=(CDProjects, CDProject, CDProjectFollow, CDFollowed),
)
