"""The projects' files: a document (the passport) as DOCX and as PDF, the portfolio chart (PNG)
and the list of projects as CSV and XLSX. Callers pass the words already in the reader's
language; these functions only lay them out, and run in a worker thread.

python-docx, fpdf2 and matplotlib are imported when a file is made, never at start-up
(tests/test_check.py). fpdf2 writes the PDF in pure Python with the DejaVu Sans font that
matplotlib ships, so Cyrillic needs no system fonts or packages.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bot.services import export

# A table cell in the PDF is kept short: a row of fpdf2's table cannot break across pages.
PDF_CELL_MAX = 400
CHART_LABEL_WIDTH = 30
# One colour per status, in the lifecycle's order: a status keeps its colour in every chart.
CHART_COLORS = (
    "#9e9e9e",
    "#1565c0",
    "#ef6c00",
    "#2e7d32",
    "#c62828",
    "#6a1b9a",
    "#00838f",
    "#558b2f",
    "#5d4037",
)

Cell = str | int


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    widths: tuple[int, ...] = ()  # relative column widths


@dataclass
class Block:
    """A section: a heading, then facts (label, value), a table and paragraphs, each optional."""

    heading: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    table: Table | None = None
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list[Block]
    footer: str = ""


# --- DOCX --------------------------------------------------------------------------------------


def to_docx(document: Document) -> bytes:
    from docx import Document as Docx
    from docx.shared import Pt

    docx = Docx()
    docx.styles["Normal"].font.name = "Times New Roman"
    docx.styles["Normal"].font.size = Pt(12)
    docx.add_heading(document.title, level=1)
    if document.subtitle:
        docx.add_heading(document.subtitle, level=2)
    for block in document.blocks:
        docx.add_heading(block.heading, level=2)
        if block.facts:
            facts = docx.add_table(rows=0, cols=2)
            facts.style = "Table Grid"
            for label, value in block.facts:
                cells = facts.add_row().cells
                cells[0].text, cells[1].text = label, value
        if block.table is not None:
            table = docx.add_table(rows=1, cols=len(block.table.header))
            table.style = "Table Grid"
            for cell, title in zip(table.rows[0].cells, block.table.header, strict=True):
                cell.text = title
                for run in cell.paragraphs[0].runs:
                    run.bold = True
            for row in block.table.rows:
                for cell, value in zip(table.add_row().cells, row, strict=True):
                    cell.text = value
        for paragraph in block.paragraphs:
            for line in paragraph.split("\n"):
                docx.add_paragraph(line)
    if document.footer:
        docx.add_paragraph(document.footer)
    buffer = io.BytesIO()
    docx.save(buffer)
    return buffer.getvalue()


# --- PDF ---------------------------------------------------------------------------------------


@cache
def _fonts() -> tuple[Path, Path]:
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"


def _pdf_text(text: str) -> str:
    # Tabs and carriage returns are not glyphs; a PDF line is broken by "\n" only.
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")


def _clip(text: str, limit: int = PDF_CELL_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_pdf(document: Document) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    regular, bold = _fonts()
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(regular))
    pdf.add_font("DejaVu", "B", str(bold))
    pdf.set_title(document.title)
    pdf.add_page()

    def line(text: str, size: int, style: str = "", gap: float = 1.5) -> None:
        pdf.set_font("DejaVu", style, size)
        pdf.multi_cell(0, size * 0.5, _pdf_text(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    def table(rows: list[list[str]], widths: Sequence[int], heading: bool) -> None:
        pdf.set_font("DejaVu", "", 9)
        with pdf.table(
            col_widths=tuple(widths) or None,
            first_row_as_headings=heading,
            text_align="LEFT",
            headings_style=_headings_style(),
        ) as grid:
            for values in rows:
                row = grid.row()
                for value in values:
                    row.cell(_clip(_pdf_text(value)))
        pdf.ln(3)

    line(document.title, 16, "B")
    if document.subtitle:
        line(document.subtitle, 13, "B", gap=3)
    for block in document.blocks:
        line(block.heading, 12, "B")
        if block.facts:
            table([[label, value] for label, value in block.facts], (35, 65), heading=False)
        if block.table is not None:
            body = [block.table.header, *block.table.rows]
            table(body, block.table.widths, heading=True)
        for paragraph in block.paragraphs:
            line(paragraph, 10, gap=2)
    if document.footer:
        line(document.footer, 8)
    return bytes(pdf.output())


def _headings_style() -> Any:
    from fpdf.fonts import FontFace

    return FontFace(family="DejaVu", emphasis="BOLD", fill_color=(230, 230, 230))


# --- The list of projects ------------------------------------------------------------------------


def _safe(value: Cell) -> Cell:
    # A cell starting with = + - @ is a formula to a spreadsheet: never run user text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(header: list[str], rows: Sequence[Sequence[Cell]]) -> bytes:
    return export.to_csv(header, [[_safe(v) for v in row] for row in rows])


def to_xlsx(header: list[str], rows: Sequence[Sequence[Cell]], title: str) -> bytes:
    return export.to_xlsx(header, [[_safe(v) for v in row] for row in rows], title)


# --- The portfolio chart -----------------------------------------------------------------------


def portfolio_chart(
    title: str,
    rows: Sequence[tuple[str, Sequence[int]]],
    series: Sequence[tuple[str, str]],
) -> bytes:
    """Horizontal stacked bars, one per district (the first on top), one segment per status
    (its name and colour), the total at each bar's end."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels = [textwrap.shorten(label, CHART_LABEL_WIDTH, placeholder="…") for label, _ in rows]
    figure = Figure(figsize=(8, 2.2 + 0.45 * max(len(rows), 1)), dpi=110)
    axes = figure.add_subplot()
    positions = list(range(len(rows)))[::-1]
    left = [0] * len(rows)
    for index, (name, color) in enumerate(series):
        values = [counts[index] for _, counts in rows]
        axes.barh(positions, values, left=left, label=name, color=color)
        left = [a + b for a, b in zip(left, values, strict=True)]
    top = max(left, default=0)
    for position, total in zip(positions, left, strict=True):
        axes.text(total + max(top, 1) * 0.01, position, str(total), va="center")
    axes.set_yticks(positions, labels)
    axes.set_xlim(0, max(top * 1.15, 1))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if series:
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, fontsize="small")
    axes.set_title(textwrap.shorten(title, 70, placeholder="…"))
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
