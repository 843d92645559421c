"""Social monitoring for the council and the Secretariat: the needs report of a district or of
the city (a summary, two charts, the workbook), the city's top priorities in one message, and
the open-data export of the needs."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Sequence
from datetime import date, timedelta

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import alert, callback_message
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.dialogs import expect_buttons
from bot.filters import TEXT_INPUT
from bot.keyboards.common import CDDistrict, CDDistrictPage
from bot.services import districts, monitoring, monitoring_files, opendata
from bot.services.permissions import SECRETARIAT
from bot.texts import SafeHTML, plain, t, tn, utf16_len
from handlers.common import district_picker, turn_district_page
from models import User
from models.needs import OPEN_STATUSES, Need, NeedCategory, NeedStatus

CITY_LABEL = "monitoring-city"
TEXT_WIDTH = 70
# Telegram's limit is 4096; the rest is kept for the closing line.
MESSAGE_BUDGET = 3900
STEPS = 3


Cell = monitoring_files.Cell
Sheet = tuple[str, list[str], Sequence[Sequence[Cell]]]


class NeedsReport(StatesGroup):
    district = State()


def category_name(category: NeedCategory) -> str:
    return category.name_en if dates.current_language() == "en" else category.name_ru


def status_name(status: NeedStatus) -> str:
    return plain(f"monitoring-status-{status.value}")


def duration(value: timedelta | None) -> SafeHTML:
    if value is None:
        return t("monitoring-duration-none")
    hours = int(value.total_seconds() // 3600)
    return t("monitoring-duration", days=hours // 24, hours=hours % 24)


def need_line(need: Need) -> SafeHTML:
    text = textwrap.shorten(need.description, TEXT_WIDTH, placeholder="…")
    return tn(
        "monitoring-need-line",
        need.support_count,
        number=need.id,
        category=category_name(need.category),
        text=text,
    )


def place_name(report: monitoring.Report) -> str:
    if report.district is None:
        return plain("monitoring-city-name")
    return f"№{report.district.number} · {report.district.name}"


def summary(report: monitoring.Report) -> SafeHTML:
    by_status = report.by_status()
    lines = [
        t("monitoring-report-title", place=place_name(report)),
        tn("monitoring-total", report.total),
        " · ".join(f"{status_name(s)}: {n}" for s, n in by_status.items()),
        "",
        t("monitoring-by-category"),
    ]
    for category, row in report.by_category():
        lines.append(
            t(
                "monitoring-category-line",
                name=category_name(category),
                total=sum(row.values()),
                open=sum(row[s] for s in OPEN_STATUSES),
                resolved=row[NeedStatus.RESOLVED],
            )
        )
    lines += ["", t("monitoring-top")]
    lines += [need_line(need) for need in report.top] or [t("monitoring-top-none")]
    filed = sum(filed for _, filed, _ in report.months)
    resolved = sum(resolved for _, _, resolved in report.months)
    lines += [
        "",
        t("monitoring-year", filed=filed, resolved=resolved),
        t("monitoring-to-decision", value=duration(report.to_decision)),
        t("monitoring-to-resolution", value=duration(report.to_resolution)),
    ]
    return SafeHTML("\n".join(lines))


def month_label(day: date) -> str:
    return f"{day:%m.%Y}"


def draw_charts(report: monitoring.Report) -> list[bytes]:
    """Both charts, the words in the reader's language (run in a worker thread, which carries
    the language of the update along with the rest of its context)."""
    series = [
        plain("monitoring-series-open"),
        plain("monitoring-series-resolved"),
        plain("monitoring-series-closed"),
    ]
    rows = [
        (
            category_name(category),
            [
                sum(row[s] for s in OPEN_STATUSES),
                row[NeedStatus.RESOLVED],
                row[NeedStatus.REJECTED] + row[NeedStatus.MERGED],
            ],
        )
        for category, row in report.by_category()
    ]
    place = place_name(report)
    trend = [
        (plain("monitoring-series-filed"), [filed for _, filed, _ in report.months]),
        (plain("monitoring-series-resolved"), [res for _, _, res in report.months]),
    ]
    return [
        monitoring_files.category_chart(
            plain("monitoring-chart-categories", place=place), rows, series
        ),
        monitoring_files.trend_chart(
            plain("monitoring-chart-trend", place=place),
            [month_label(day) for day, _, _ in report.months],
            trend,
        ),
    ]


def sheets(report: monitoring.Report, timezone: str) -> list[Sheet]:
    statuses = list(NeedStatus)
    counts: list[list[Cell]] = [
        [category_name(c), *(row[s] for s in statuses), sum(row.values())]
        for c, row in report.by_category()
    ]
    top: list[list[Cell]] = [
        [
            need.id,
            need.district.name,
            category_name(need.category),
            status_name(need.status),
            need.support_count,
            dates.local_day(need.created_at, timezone).isoformat(),
            need.description,
        ]
        for need in report.top
    ]
    months: list[list[Cell]] = [
        [month_label(day), filed, resolved] for day, filed, resolved in report.months
    ]

    def days(value: timedelta | None) -> float | str:
        return round(value.total_seconds() / 86400, 2) if value is not None else ""

    times = [
        [plain("monitoring-xlsx-to-decision"), days(report.to_decision)],
        [plain("monitoring-xlsx-to-resolution"), days(report.to_resolution)],
    ]
    return [
        (
            plain("monitoring-xlsx-sheet-categories"),
            [
                plain("monitoring-xlsx-category"),
                *(status_name(s) for s in statuses),
                plain("monitoring-xlsx-total"),
            ],
            counts,
        ),
        (
            plain("monitoring-xlsx-sheet-top"),
            [
                plain("monitoring-xlsx-number"),
                plain("monitoring-xlsx-district"),
                plain("monitoring-xlsx-category"),
                plain("monitoring-xlsx-status"),
                plain("monitoring-xlsx-supports"),
                plain("monitoring-xlsx-filed"),
                plain("monitoring-xlsx-description"),
            ],
            top,
        ),
        (
            plain("monitoring-xlsx-sheet-months"),
            [
                plain("monitoring-xlsx-month"),
                plain("monitoring-series-filed"),
                plain("monitoring-series-resolved"),
            ],
            months,
        ),
        (
            plain("monitoring-xlsx-sheet-times"),
            [plain("monitoring-xlsx-measure"), plain("monitoring-xlsx-days")],
            times,
        ),
    ]


async def cmd_needs_report(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    monitoring.require_reader(user)
    await state.set_state(NeedsReport.district)
    picker = await district_picker(session, CITY_LABEL)
    await message.answer(t("monitoring-ask-district"), reply_markup=picker)


async def on_district_page(
    query: CallbackQuery, callback_data: CDDistrictPage, session: AsyncSession
) -> None:
    await turn_district_page(query, session, callback_data.page, CITY_LABEL)


async def on_typed(message: Message, session: AsyncSession) -> None:
    await expect_buttons(message, await district_picker(session, CITY_LABEL))


async def on_district(
    query: CallbackQuery,
    callback_data: CDDistrict,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    monitoring.require_reader(user)
    district = await districts.find(session, callback_data.id) if callback_data.id else None
    if callback_data.id and district is None:
        alert(callback_answer, "districts-not-found")
        return
    await state.clear()
    # The picker becomes the status line of the work, edited as it goes.
    await message.edit_text(t("monitoring-progress-figures", step=1, steps=STEPS))
    report = await monitoring.report(
        session, user, district.id if district else None, settings.timezone
    )
    await message.answer(summary(report))
    await message.edit_text(t("monitoring-progress-charts", step=2, steps=STEPS))
    images = await asyncio.to_thread(draw_charts, report)
    for name, image in zip(("categories", "trend"), images, strict=True):
        await message.answer_photo(BufferedInputFile(image, filename=f"needs-{name}.png"))
    await message.edit_text(t("monitoring-progress-table", step=3, steps=STEPS))
    data = await asyncio.to_thread(monitoring_files.workbook, sheets(report, settings.timezone))
    stamp = dates.local_day(report.made_at, settings.timezone).isoformat()
    scope = f"district-{district.number}" if district else "city"
    await message.answer_document(
        BufferedInputFile(data, filename=f"needs-report-{scope}-{stamp}.xlsx"),
        caption=t("monitoring-xlsx-caption", place=place_name(report)),
    )
    await message.edit_text(t("monitoring-progress-done", place=place_name(report)))


def priorities_text(found: monitoring.Priorities) -> SafeHTML:
    """The city's priorities in one message: the city's top first, then each district's, as
    many districts as fit (the rest counted)."""
    head = [t("monitoring-priorities-title"), "", t("monitoring-priorities-city")]
    head += [need_line(need) for need in found.city] or [t("monitoring-top-none")]
    text = "\n".join(head)
    left = len(found.districts)
    for district, needs in found.districts:
        block = "\n".join(
            [
                "",
                t("monitoring-priorities-district", number=district.number, name=district.name),
                *(need_line(need) for need in needs),
            ]
        )
        if utf16_len(text + "\n" + block) > MESSAGE_BUDGET:
            break
        text += "\n" + block
        left -= 1
    if left:
        text += "\n\n" + tn("monitoring-priorities-more", left)
    return SafeHTML(text)


async def cmd_top_needs(message: Message, session: AsyncSession, user: User | None) -> None:
    found = await monitoring.priorities(session, user)
    await message.answer(priorities_text(found))


async def cmd_needs_opendata(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    csv_data, geojson, count = await opendata.export(session, user, settings.timezone)
    stamp = dates.local_day(message.date, settings.timezone).isoformat()
    await message.answer_document(
        BufferedInputFile(csv_data, filename=f"needs-opendata-{stamp}.csv"),
        caption=tn("monitoring-opendata-caption", count),
    )
    await message.answer_document(
        BufferedInputFile(geojson, filename=f"needs-opendata-{stamp}.geojson")
    )


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="monitoring")
    router.message.register(cmd_needs_report, Command("needs_report"))
    router.message.register(cmd_top_needs, Command("top_needs"))
    router.message.register(cmd_needs_opendata, Command("needs_opendata"))
    router.callback_query.register(on_district_page, NeedsReport.district, CDDistrictPage.filter())
    router.callback_query.register(on_district, NeedsReport.district, CDDistrict.filter())
    router.message.register(on_typed, NeedsReport.district, TEXT_INPUT)
    return router


def _keys() -> set[str]:
    return {f"monitoring-status-{status.value}" for status in NeedStatus}


capability = Capability(
    name="monitoring",
    setup=setup,
    commands=(
        CommandSpec("needs_report", monitoring.READERS, HomeGroup.COUNCIL),
        CommandSpec("top_needs", monitoring.READERS, HomeGroup.COUNCIL),
        CommandSpec("needs_opendata", SECRETARIAT, HomeGroup.SECRETARIAT),
    ),
    keys=_keys,
)
