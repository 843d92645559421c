"""The proposing dialog's core: its steps, what the conversation state keeps (which project
and which step; the answers are in the database), the question of each step, the move to the
next step, and the summary of the draft."""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton
from bot.dates import shown_date
from bot.keyboards.projects_propose import (
    FIELDS,
    STEPS,
    district_keyboard,
    files_keyboard,
    next_keyboard,
    summary_keyboard,
    summary_text,
)
from bot.services import districts
from bot.services.projects import drafts
from bot.services.projects.rules import TITLE_MAX
from bot.texts import clip, plain, t
from models import User

DATA = "propose"


class Propose(StatesGroup):
    title = State()
    summary = State()
    district = State()
    needs = State()
    goals = State()
    budget = State()
    sources = State()
    wanted = State()
    partners = State()
    starts = State()
    ends = State()
    files = State()
    review = State()


ORDER = STEPS
# A field of the summary opens its first step.
FIRST_STEP = {name: name for name in FIELDS} | {"dates": "starts"}
TEXT_STEPS = {
    "title": "title",
    "summary": "summary",
    "goals": "goals",
    "sources": "budget_sources",
    "wanted": "wanted",
}
SKIPPABLE = {"budget": "budget", "sources": "budget_sources", "wanted": "wanted"}


async def load(state: FSMContext) -> dict[str, Any]:
    return dict((await state.get_data()).get(DATA) or {})


async def save(state: FSMContext, data: dict[str, Any]) -> None:
    await state.update_data({DATA: data})


async def step_of(state: FSMContext) -> str | None:
    current = await state.get_state()
    if current is None or current not in Propose.__all_states_names__:
        return None
    return current.split(":", 1)[1]


async def project_in_dialog(state: FSMContext, project_id: int) -> dict[str, Any]:
    """The dialog's data, if the press belongs to the project this dialog is about."""
    data = await load(state)
    if await step_of(state) is None or data.get("project") != project_id:
        raise StaleButton()
    return data


# --- asking and moving on ---------------------------------------------------------------------


async def ask(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None, step: str
) -> None:
    """Put the question of one step, saying what to do next."""
    data = await load(state)
    project = await drafts.editable(session, user, data["project"])
    await state.set_state(getattr(Propose, step))
    pid = project.id
    # An optional field opened from the summary may be emptied; on the first pass it is skipped.
    skip = "projects-propose-leave-empty" if data.get("editing") else "projects-propose-skip"
    if step == "title":
        await message.answer(t("projects-propose-ask-title", max=TITLE_MAX))
    elif step == "summary":
        await message.answer(t("projects-propose-ask-summary"))
    elif step == "district":
        own = await drafts.home_district(session, project)
        page = await districts.list_districts(session)
        await message.answer(
            t("projects-propose-ask-district"), reply_markup=district_keyboard(pid, page, own)
        )
    elif step == "needs":
        linked = await drafts.linked_needs(session, pid)
        key = "projects-propose-needs-done" if linked else "projects-propose-needs-skip"
        await message.answer(
            t("projects-propose-ask-needs", linked=", ".join(f"№{n.id}" for n in linked) or "—"),
            reply_markup=next_keyboard(pid, "needs", key),
        )
    elif step == "goals":
        await message.answer(t("projects-propose-ask-goals"))
    elif step == "budget":
        await message.answer(
            t("projects-propose-ask-budget"),
            reply_markup=next_keyboard(pid, "budget", skip),
        )
    elif step == "sources":
        await message.answer(
            t("projects-propose-ask-sources"),
            reply_markup=next_keyboard(pid, "sources", skip),
        )
    elif step == "wanted":
        await message.answer(
            t("projects-propose-ask-wanted"),
            reply_markup=next_keyboard(pid, "wanted", skip),
        )
    elif step == "partners":
        named = await drafts.partners(session, pid)
        key = "projects-propose-partners-done" if named else "projects-propose-partners-skip"
        names = ", ".join(o.name for o, _ in named) or "—"
        await message.answer(
            t("projects-propose-ask-partners", named=clip(names, 500)),
            reply_markup=next_keyboard(pid, "partners", key),
        )
    elif step == "starts":
        await message.answer(t("projects-propose-ask-starts"))
    elif step == "ends":
        await message.answer(t("projects-propose-ask-ends"))
    else:
        count = await drafts.files_count(session, pid)
        await message.answer(
            t("projects-propose-ask-files", count=count), reply_markup=files_keyboard(pid, count)
        )


async def advance(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None, after: str
) -> None:
    """The next step; when a field was opened from the summary, back to the summary (the
    start date is followed by the end date either way)."""
    data = await load(state)
    if data.get("editing") and after != "starts":
        await show_summary(message, state, session, user, data["project"])
        return
    following = ORDER.index(after) + 1
    if following >= len(ORDER):
        await show_summary(message, state, session, user, data["project"])
        return
    await ask(message, state, session, user, ORDER[following])


async def show_summary(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None, project_id: int
) -> None:
    summary = await drafts.summary(session, user, project_id)
    await state.set_state(Propose.review)
    await save(state, {"project": project_id})
    project = summary.project
    if project.starts_on and project.ends_on:
        dates = plain(
            "projects-propose-dates",
            start=shown_date(project.starts_on, "UTC"),
            end=shown_date(project.ends_on, "UTC"),
        )
    elif project.starts_on:
        dates = plain("projects-propose-dates-from", start=shown_date(project.starts_on, "UTC"))
    else:
        dates = plain("projects-propose-empty")
    budget = (
        plain("projects-propose-roubles", amount=f"{project.budget:,}".replace(",", " "))
        if project.budget
        else plain("projects-propose-empty")
    )
    await message.answer(
        summary_text(summary, dates, budget), reply_markup=summary_keyboard(project)
    )
