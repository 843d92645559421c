"""Callback data, keyboards and the longer texts of proposing a project: the organization to
propose for, the district, found needs and partner organizations, the steps' "skip"/"done", the
summary with "edit a field", and /my_projects."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.keyboards.projects import CDProject
from bot.services.paging import Page
from bot.services.projects.drafts import Summary
from bot.services.projects.rules import EDITABLE, slug
from bot.texts import SafeHTML, clip, plain, t
from models import District, Organization
from models.needs import Need
from models.projects import Project, ProjectStatus

# The fields the summary offers to change, in the dialog's order; each is one step.
FIELDS = (
    "title",
    "summary",
    "district",
    "needs",
    "goals",
    "budget",
    "sources",
    "wanted",
    "partners",
    "dates",
    "files",
)
# The steps of the dialog, in order; a "skip"/"done" button names its step (`arg`), so an old
# one pressed at a later step is stale instead of skipping that step.
STEPS = (
    "title",
    "summary",
    "district",
    "needs",
    "goals",
    "budget",
    "sources",
    "wanted",
    "partners",
    "starts",
    "ends",
    "files",
)
# The lifecycle's names of required fields, as the summary's fields call them.
LIFECYCLE_FIELDS = {
    "title": "title",
    "summary": "summary",
    "goals": "goals",
    "starts_on": "dates",
    "ends_on": "dates",
}
SHORT_TEXT = 80
LONG_TEXT = 600


class CDPropose(BotCallback, prefix="ppd"):
    """A button of a project's draft (or returned project); the server checks the presser owns
    the project and that it is still editable, whatever the button says."""

    # open | next | dist | distp | need | org | clear | edit | submit | later | wd | wd!
    action: str
    id: int  # the project
    arg: int = 0  # the district, the page, the need, the organization, the field's index


class CDProposeFor(BotCallback, prefix="ppf"):
    """The organization a new project is proposed for (of those the presser represents)."""

    id: int


class CDMyProjects(BotCallback, prefix="ppn"):
    """A page of /my_projects."""

    page: int


def field_label(name: str) -> str:
    return plain(f"projects-propose-field-{name}")


def organizations_keyboard(organizations: list[Organization]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for organization in organizations:
        builder.button(text=organization.name[:60], callback_data=CDProposeFor(id=organization.id))
    builder.adjust(1)
    return builder.as_markup()


def next_data(project_id: int, step: str) -> CDPropose:
    return CDPropose(action="next", id=project_id, arg=STEPS.index(step))


def next_keyboard(project_id: int, step: str, key: str) -> InlineKeyboardMarkup:
    """One button under a step: skip it, or finish it ("done")."""
    data = next_data(project_id, step).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=plain(key), callback_data=data)]]
    )


def files_keyboard(project_id: int, count: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    key = "projects-propose-files-done" if count else "projects-propose-files-none"
    builder.button(text=plain(key), callback_data=next_data(project_id, "files"))
    if count:
        builder.button(
            text=plain("projects-propose-files-clear"),
            callback_data=CDPropose(action="clear", id=project_id),
        )
    builder.adjust(1)
    return builder.as_markup()


def district_keyboard(
    project_id: int, page: Page[District], own: District | None
) -> InlineKeyboardMarkup:
    """The organization's district first, the districts page by page, and "city-wide"."""
    builder = InlineKeyboardBuilder()
    if own is not None:
        label = f"✅ №{own.number} · {own.name}"[:60]
        builder.row(
            InlineKeyboardButton(
                text=label, callback_data=CDPropose(action="dist", id=project_id, arg=own.id).pack()
            )
        )
    for district in page.items:
        if own is not None and district.id == own.id:
            continue
        builder.row(
            InlineKeyboardButton(
                text=f"№{district.number} · {district.name}"[:60],
                callback_data=CDPropose(action="dist", id=project_id, arg=district.id).pack(),
            )
        )
    nav = pager(
        page.page,
        page.pages,
        lambda p: CDPropose(action="distp", id=project_id, arg=p).pack(),
    )
    if nav:
        builder.row(*nav)
    builder.row(
        InlineKeyboardButton(
            text=plain("projects-propose-city-wide"),
            callback_data=CDPropose(action="dist", id=project_id, arg=0).pack(),
        )
    )
    return builder.as_markup()


def found_keyboard(
    project_id: int, action: str, found: list[tuple[int, str]], chosen: set[int], done_key: str
) -> InlineKeyboardMarkup:
    """Found needs or organizations, each pressed to pick or unpick (✅ when picked)."""
    builder = InlineKeyboardBuilder()
    for item_id, label in found:
        mark = "✅ " if item_id in chosen else "➕ "
        builder.button(
            text=(mark + label)[:60],
            callback_data=CDPropose(action=action, id=project_id, arg=item_id),
        )
    step = "needs" if action == "need" else "partners"
    builder.button(text=plain(done_key), callback_data=next_data(project_id, step))
    builder.adjust(1)
    return builder.as_markup()


def need_label(need: Need) -> str:
    return f"№{need.id} · {need.description[:40]}"


def needs_text(needs: list[Need], chosen: set[int]) -> SafeHTML:
    lines = [
        t(
            "projects-propose-need-line",
            mark="✅" if need.id in chosen else "▫️",
            number=need.id,
            text=clip(need.description, SHORT_TEXT),
        )
        for need in needs
    ]
    return t("projects-propose-needs-found", needs=SafeHTML("\n".join(lines)))


def summary_keyboard(project: Project) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, name in enumerate(FIELDS):
        builder.button(
            text=plain("projects-propose-edit", field=field_label(name)),
            callback_data=CDPropose(action="edit", id=project.id, arg=index),
        )
    key = (
        "projects-propose-resubmit"
        if project.status == ProjectStatus.RETURNED
        else "projects-propose-submit"
    )
    builder.button(text=plain(key), callback_data=CDPropose(action="submit", id=project.id))
    builder.button(
        text=plain("projects-propose-later"), callback_data=CDPropose(action="later", id=project.id)
    )
    builder.button(
        text=plain("projects-propose-withdraw"), callback_data=CDPropose(action="wd", id=project.id)
    )
    builder.adjust(2, 2, 2, 2, 2, 1, 1, 1, 1)
    return builder.as_markup()


def withdraw_keyboard(project_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=plain("projects-propose-withdraw-yes"),
        callback_data=CDPropose(action="wd!", id=project_id),
    )
    builder.button(
        text=plain("projects-propose-withdraw-no"),
        callback_data=CDPropose(action="open", id=project_id),
    )
    builder.adjust(1)
    return builder.as_markup()


def _or_dash(text: str | None, limit: int) -> SafeHTML:
    return clip(text, limit) if text else SafeHTML(plain("projects-propose-empty"))


def summary_text(summary: Summary, dates: str, budget: str) -> SafeHTML:
    """The draft as its owner checks it (their text escaped), within one message."""
    project = summary.project
    district = (
        plain(
            "projects-propose-district-line",
            number=summary.district.number,
            name=summary.district.name,
        )
        if summary.district
        else plain("projects-propose-city-wide")
    )
    needs = ", ".join(f"№{need.id}" for need in summary.needs) or plain("projects-propose-empty")
    partners = ", ".join(
        organization.name
        + ("" if status == "active" else " (" + plain("projects-propose-invited") + ")")
        for organization, status in summary.partners
    ) or plain("projects-propose-empty")
    parts: list[str] = []
    if summary.returned is not None:
        parts.append(
            t("projects-propose-returned", reason=clip(summary.returned or "—", LONG_TEXT))
        )
        for comment in summary.comments:
            parts.append(t("projects-propose-comment", text=clip(comment, 300)))
        parts.append("")
    parts.append(
        t(
            "projects-propose-card",
            number=project.id,
            status=plain(f"projects-status-{slug(project.status)}"),
            organization=summary.organization.name,
            title=_or_dash(project.title, 200),
            summary=_or_dash(project.summary, LONG_TEXT),
            district=district,
            needs=clip(needs, 300),
            goals=_or_dash(project.goals, LONG_TEXT),
            budget=budget,
            sources=_or_dash(project.budget_sources, 300),
            wanted=_or_dash(project.wanted, 300),
            partners=clip(partners, 400),
            dates=dates,
            files=summary.files,
        )
    )
    return SafeHTML("\n".join(parts))


def my_projects_keyboard(projects: list[Project], page: int, pages: int) -> InlineKeyboardMarkup:
    """Drafts and returned projects continue in the summary; the others open their card."""
    builder = InlineKeyboardBuilder()
    for project in projects:
        title = project.title or plain("projects-propose-untitled")
        if project.status in EDITABLE:
            builder.row(
                InlineKeyboardButton(
                    text=f"✏️ №{project.id} · {title}"[:60],
                    callback_data=CDPropose(action="open", id=project.id).pack(),
                )
            )
        else:
            builder.row(
                InlineKeyboardButton(
                    text=f"№{project.id} · {title}"[:60],
                    callback_data=CDProject(id=project.id).pack(),
                )
            )
    nav = pager(page, pages, lambda p: CDMyProjects(page=p).pack())
    if nav:
        builder.row(*nav)
    return builder.as_markup()


def my_projects_text(projects: list[Project]) -> SafeHTML:
    waiting = [p for p in projects if p.status in EDITABLE]
    others = [p for p in projects if p.status not in EDITABLE]
    parts: list[str] = [t("projects-propose-mine-title")]

    def line(project: Project) -> SafeHTML:
        return t(
            "projects-propose-mine-line",
            number=project.id,
            title=clip(project.title or plain("projects-propose-untitled"), SHORT_TEXT),
            status=plain(f"projects-status-{slug(project.status)}"),
        )

    if waiting:
        parts += ["", t("projects-propose-mine-waiting"), *map(line, waiting)]
    if others:
        parts += ["", t("projects-propose-mine-others"), *map(line, others)]
    return SafeHTML("\n".join(parts))
