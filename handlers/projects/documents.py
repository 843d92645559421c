"""A project's documents and the council's views of all projects: the card's "docs" panel (the
passport as DOCX or PDF), /projects_export (the list as CSV and XLSX) and /projects_portfolio
(a chart of the projects by district and status, with its table). The data and who may read it
are in bot/services/projects/documents.py; the files are laid out in files.py."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import StaleButton, callback_message
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.keyboards.projects import PANEL_DOCS, CDProjectPanel
from bot.keyboards.projects_docs import CDPassport, docs_keyboard
from bot.services.projects import access, documents, files
from bot.services.projects.documents import ExportRow, Passport, Place, Portfolio
from bot.services.projects.files import Block, Document, Table
from bot.services.projects.rules import slug
from bot.texts import SafeHTML, plain, t, tn, utf16_len
from models import District, User
from models.base import utcnow
from models.projects import PUBLIC_STATUSES, ContributionKind, ProjectStatus

FORMATS = ("docx", "pdf")
# Telegram's limit is 4096; the rest is kept for the closing line.
MESSAGE_BUDGET = 3900


# --- Words -------------------------------------------------------------------------------------


def status_name(status: ProjectStatus) -> str:
    return plain(f"projects-status-{slug(status)}")


def district_name(district: District | Place | None) -> str:
    if district is None:
        return plain("projects-docs-city")
    return plain("projects-docs-district", number=district.number, name=district.name)


def money(amount: int | None) -> str:
    if amount is None:
        return plain("projects-docs-pp-none")
    # Thousands apart by a no-break space, as both languages' readers expect in roubles.
    return plain("projects-docs-roubles", amount=f"{amount:,}".replace(",", "\u00a0"))


class Words:
    """Dates in the reader's language on the Assembly's clock."""

    def __init__(self, timezone: str) -> None:
        self.language = dates.current_language()
        self.timezone = timezone

    def day(self, value: date | datetime | None) -> str:
        if value is None:
            return plain("projects-docs-pp-none")
        return dates.format_date(value, self.language, self.timezone)


# --- The passport ------------------------------------------------------------------------------


def passport_document(found: Passport, words: Words) -> Document:
    """The passport's content in the reader's language; citizens are never named."""
    project = found.project
    none = plain("projects-docs-pp-none")
    facts = [
        (plain("projects-docs-pp-number"), f"№{project.id}"),
        (plain("projects-docs-pp-name"), project.title or none),
        (plain("projects-docs-pp-status"), status_name(project.status)),
        (plain("projects-docs-pp-version"), str(project.version)),
        (plain("projects-docs-pp-organization"), found.organization),
        (plain("projects-docs-pp-district"), district_name(found.district)),
        (plain("projects-docs-pp-programme"), found.programme or none),
        (plain("projects-docs-pp-committee"), found.committee or none),
        (
            plain("projects-docs-pp-period"),
            plain(
                "projects-docs-pp-period-value",
                start=words.day(project.starts_on),
                end=words.day(project.ends_on),
            ),
        ),
    ]
    for key, moment in (
        ("projects-docs-pp-submitted", project.submitted_at),
        ("projects-docs-pp-decided", project.decided_at),
        ("projects-docs-pp-started", project.started_at),
        ("projects-docs-pp-completed", project.completed_at),
    ):
        if moment is not None:
            facts.append((plain(key), words.day(moment)))
    facts += [
        (plain("projects-docs-pp-budget"), money(project.budget)),
        (plain("projects-docs-pp-sources"), project.budget_sources or none),
    ]
    blocks = [
        Block(plain("projects-docs-pp-main"), facts=facts),
        Block(plain("projects-docs-pp-summary"), paragraphs=[project.summary or none]),
        Block(plain("projects-docs-pp-goals"), paragraphs=[project.goals or none]),
        Block(plain("projects-docs-pp-wanted"), paragraphs=[project.wanted or none]),
        Block(plain("projects-docs-pp-needs"), paragraphs=_needs(found, words) or [none]),
        _plan(found, words),
        _consortium(found),
        *_reports(found, words),
    ]
    return Document(
        title=plain("projects-docs-pp-title", number=project.id),
        subtitle=project.title,
        blocks=blocks,
        footer=plain("projects-docs-pp-footer", date=words.day(utcnow())),
    )


def _needs(found: Passport, words: Words) -> list[str]:
    return [
        plain(
            "projects-docs-pp-need-line",
            number=need.number,
            category=need.category_en if words.language == "en" else need.category_ru,
            text=need.text,
        )
        for need in found.needs
    ]


def _plan(found: Passport, words: Words) -> Block:
    heading = plain("projects-docs-pp-plan")
    if not found.milestones:
        return Block(heading, paragraphs=[plain("projects-docs-pp-none-yet")])
    rows = [
        [
            str(index),
            milestone.title,
            words.day(milestone.due_on),
            words.day(milestone.done_at) if milestone.done_at else plain("projects-docs-pp-open"),
        ]
        for index, milestone in enumerate(found.milestones, start=1)
    ]
    header = [
        "№",
        plain("projects-docs-pp-step"),
        plain("projects-docs-pp-due"),
        plain("projects-docs-pp-done"),
    ]
    return Block(heading, table=Table(header, rows, (8, 52, 20, 20)))


def _consortium(found: Passport) -> Block:
    heading = plain("projects-docs-pp-consortium")
    if not found.members:
        return Block(heading, paragraphs=[plain("projects-docs-pp-none-yet")])
    none = plain("projects-docs-pp-none")
    rows = []
    for member in found.members:
        name = member.organization or plain("projects-docs-pp-citizen")
        if member.lead:
            name = plain("projects-docs-pp-lead", name=name)
        shares = [
            plain(
                "projects-docs-pp-share",
                kind=plain(f"projects-docs-kind-{item.kind.value}"),
                value=money(item.value),
                text=item.description,
            ).strip(" —")
            for item in member.contributions
        ]
        rows.append(
            [
                name,
                district_name(member.district) if member.district else none,
                member.role or none,
                "\n".join(shares) or none,
            ]
        )
    header = [
        plain("projects-docs-pp-member"),
        plain("projects-docs-pp-district"),
        plain("projects-docs-pp-role"),
        plain("projects-docs-pp-shares"),
    ]
    return Block(heading, table=Table(header, rows, (30, 20, 18, 32)))


def _reports(found: Passport, words: Words) -> list[Block]:
    if not found.reports:
        nothing = plain("projects-docs-pp-none-yet")
        return [Block(plain("projects-docs-pp-reports"), paragraphs=[nothing])]
    blocks = []
    for report in found.reports:
        key = "projects-docs-pp-report-final" if report.final else "projects-docs-pp-report"
        heading = plain(key, start=words.day(report.period_start), end=words.day(report.period_end))
        facts = [
            (plain("projects-docs-pp-submitted"), words.day(report.submitted_at)),
            (
                plain("projects-docs-pp-progress"),
                plain("projects-docs-pp-percent", n=report.progress)
                if report.progress is not None
                else plain("projects-docs-pp-none"),
            ),
            (plain("projects-docs-pp-spent"), money(report.spent)),
        ]
        blocks.append(Block(heading, facts=facts, paragraphs=[report.text] if report.text else []))
    return blocks


async def on_docs_panel(
    query: CallbackQuery, callback_data: CDProjectPanel, session: AsyncSession, user: User | None
) -> None:
    """The card's "docs" panel: the passport in either format."""
    project = await access.visible(session, user, callback_data.id)
    await callback_message(query).answer(
        t("projects-docs-panel", number=project.id, title=project.title or "—"),
        reply_markup=docs_keyboard(project.id),
    )


async def on_passport(
    query: CallbackQuery,
    callback_data: CDPassport,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    bot: Bot,
) -> None:
    if callback_data.fmt not in FORMATS:
        raise StaleButton()
    found = await documents.passport(session, user, callback_data.id)
    message = callback_message(query)
    # A PDF takes a second or two: the chat shows that a file is on its way.
    await bot.send_chat_action(message.chat.id, "upload_document")
    content = passport_document(found, Words(settings.timezone))
    make = files.to_docx if callback_data.fmt == "docx" else files.to_pdf
    data = await asyncio.to_thread(make, content)
    name = f"project-{found.project.id}-passport.{callback_data.fmt}"
    await message.answer_document(
        BufferedInputFile(data, filename=name),
        caption=t("projects-docs-passport-caption", number=found.project.id),
    )


# --- The list of all projects ------------------------------------------------------------------


def export_table(rows: list[ExportRow], words: Words) -> tuple[list[str], list[list[str | int]]]:
    header = [
        plain("projects-docs-col-number"),
        plain("projects-docs-col-title"),
        plain("projects-docs-col-status"),
        plain("projects-docs-col-organization"),
        plain("projects-docs-col-district"),
        plain("projects-docs-col-programme"),
        plain("projects-docs-col-committee"),
        plain("projects-docs-col-budget"),
        plain("projects-docs-col-starts"),
        plain("projects-docs-col-ends"),
        plain("projects-docs-col-submitted"),
        plain("projects-docs-col-milestones-done"),
        plain("projects-docs-col-milestones-total"),
        plain("projects-docs-col-progress"),
    ]

    def day(value: date | datetime | None) -> str:
        # ISO days: a spreadsheet sorts them.
        if value is None:
            return ""
        return (
            dates.local_day(value, words.timezone) if isinstance(value, datetime) else value
        ).isoformat()

    table: list[list[str | int]] = [
        [
            row.number,
            row.title,
            status_name(row.status),
            row.organization,
            district_name(row.district),
            row.programme or "",
            row.committee or "",
            row.budget if row.budget is not None else "",
            day(row.starts_on),
            day(row.ends_on),
            day(row.submitted_at),
            row.milestones_done,
            row.milestones_total,
            row.progress if row.progress is not None else "",
        ]
        for row in rows
    ]
    return header, table


async def cmd_projects_export(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    documents.require_reader(user)
    # The status line of the work, edited when the files are out.
    status = await message.answer(t("projects-docs-export-working"))
    rows = await documents.export(session, user)
    header, table = export_table(rows, Words(settings.timezone))
    csv_data = await asyncio.to_thread(files.to_csv, header, table)
    xlsx_data = await asyncio.to_thread(
        files.to_xlsx, header, table, plain("projects-docs-sheet-title")
    )
    stamp = dates.local_day(message.date, settings.timezone).isoformat()
    await message.answer_document(
        BufferedInputFile(csv_data, filename=f"projects-{stamp}.csv"),
        caption=tn("projects-docs-export-caption", len(rows)),
    )
    await message.answer_document(BufferedInputFile(xlsx_data, filename=f"projects-{stamp}.xlsx"))
    await status.edit_text(tn("projects-docs-export-done", len(rows)))


# --- The portfolio -----------------------------------------------------------------------------


def portfolio_text(found: Portfolio) -> SafeHTML:
    """The chart's figures: each district's projects by status, then the totals."""
    if not found.rows:
        return t("projects-docs-portfolio-empty")
    lines: list[str] = [tn("projects-docs-portfolio-title", found.total())]
    for place, counts in found.rows:
        parts = [
            plain("projects-docs-count", status=status_name(status), n=counts[status])
            for status in PUBLIC_STATUSES
            if counts.get(status)
        ]
        line = t(
            "projects-docs-portfolio-row",
            place=district_name(place),
            total=sum(counts.values()),
            counts="; ".join(parts),
        )
        if utf16_len("\n".join([*lines, line])) > MESSAGE_BUDGET:
            lines.append(t("projects-docs-portfolio-more"))
            break
        lines.append(line)
    totals = "; ".join(
        plain("projects-docs-count", status=status_name(status), n=found.total(status))
        for status in found.statuses
    )
    lines += ["", t("projects-docs-portfolio-totals", counts=totals)]
    return SafeHTML("\n".join(lines))


def draw_portfolio(found: Portfolio) -> bytes:
    """The chart, its words in the reader's language (run in a worker thread, which carries
    the language of the update along with the rest of its context)."""
    statuses = found.statuses
    rows = [
        (district_name(place), [counts.get(status, 0) for status in statuses])
        for place, counts in found.rows
    ]
    series = [
        (status_name(s), files.CHART_COLORS[PUBLIC_STATUSES.index(s) % len(files.CHART_COLORS)])
        for s in statuses
    ]
    return files.portfolio_chart(plain("projects-docs-chart-title"), rows, series)


async def cmd_projects_portfolio(
    message: Message, session: AsyncSession, user: User | None, bot: Bot
) -> None:
    found = await documents.portfolio(session, user)
    if not found.rows:
        await message.answer(t("projects-docs-portfolio-empty"))
        return
    await bot.send_chat_action(message.chat.id, "upload_photo")
    image = await asyncio.to_thread(draw_portfolio, found)
    await message.answer_photo(BufferedInputFile(image, filename="projects-portfolio.png"))
    await message.answer(portfolio_text(found))


# --- Wiring ------------------------------------------------------------------------------------


def setup() -> Router:
    router = Router(name="projects_documents")
    router.callback_query.register(on_docs_panel, CDProjectPanel.filter(F.panel == PANEL_DOCS))
    router.callback_query.register(on_passport, CDPassport.filter())
    router.message.register(cmd_projects_export, Command("projects_export"))
    router.message.register(cmd_projects_portfolio, Command("projects_portfolio"))
    return router


capability = Capability(
    name="projects_documents",
    setup=setup,
    commands=(
        CommandSpec("projects_portfolio", documents.READERS, HomeGroup.COUNCIL),
        CommandSpec("projects_export", documents.READERS, HomeGroup.COUNCIL),
    ),
    keys=lambda: {
        *(f"projects-status-{slug(status)}" for status in ProjectStatus),
        *(f"projects-docs-kind-{kind.value}" for kind in ContributionKind),
    },
)
