"""The files of a needs report: two chart images (PNG) and the workbook of its figures (XLSX).
Callers pass the words already in the reader's language.

matplotlib and openpyxl are imported when a file is made, never at start-up (tests/test_check.py),
the same way as the vote charts (bot/services/votes/documents.py).
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from typing import Any

CHART_LABEL_WIDTH = 28
# Open, resolved, closed otherwise (rejected or merged).
STACK_COLORS = ("#1565c0", "#2e7d32", "#9e9e9e")
TREND_COLORS = ("#1565c0", "#2e7d32")


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110)


def _png(figure: Any) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _integer_ticks(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def category_chart(
    title: str, rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[str]
) -> bytes:
    """Horizontal stacked bars, one per category (the first on top), one segment per series."""
    labels = [textwrap.shorten(label, CHART_LABEL_WIDTH, placeholder="…") for label, _ in rows]
    figure = _figure(7, 1.6 + 0.45 * max(len(rows), 1))
    axes = figure.add_subplot()
    positions = list(range(len(rows)))[::-1]
    left = [0] * len(rows)
    for index, name in enumerate(series):
        values = [values[index] for _, values in rows]
        axes.barh(positions, values, left=left, label=name, color=STACK_COLORS[index % 3])
        left = [a + b for a, b in zip(left, values, strict=True)]
    top = max(left, default=0)
    for position, total in zip(positions, left, strict=True):
        axes.text(total + max(top, 1) * 0.01, position, str(total), va="center")
    axes.set_yticks(positions, labels)
    axes.set_xlim(0, max(top * 1.15, 1))
    _integer_ticks(axes.xaxis)
    axes.legend(loc="best", fontsize="small")
    axes.set_title(textwrap.shorten(title, 70, placeholder="…"))
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _png(figure)


def trend_chart(
    title: str, months: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> bytes:
    """Side-by-side bars per month (filed, resolved), the oldest month on the left."""
    figure = _figure(8, 3.8)
    axes = figure.add_subplot()
    width = 0.8 / max(len(series), 1)
    for index, (name, values) in enumerate(series):
        positions = [m + (index - (len(series) - 1) / 2) * width for m in range(len(months))]
        axes.bar(positions, values, width=width, label=name, color=TREND_COLORS[index % 2])
    axes.set_xticks(range(len(months)), months, rotation=45, ha="right")
    _integer_ticks(axes.yaxis)
    axes.legend(fontsize="small")
    axes.set_title(textwrap.shorten(title, 70, placeholder="…"))
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _png(figure)


Cell = str | int | float | None


def _safe(value: Cell) -> Cell:
    # A cell starting with = + - @ is a formula to a spreadsheet: never run a citizen's text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def workbook(sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Cell]]]]) -> bytes:
    """An XLSX with one sheet per (title, header, rows)."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    for title, header, rows in sheets:
        sheet = book.create_sheet(title[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append([_safe(value) for value in row])
        for index, column in enumerate(header, start=1):
            width = min(60, max(10, len(column) + 4))
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
