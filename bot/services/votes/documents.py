"""Files made from a vote: the bar chart of its tally (PNG), its protocol and the full text of a
long recommendation (DOCX). Callers pass the words already in the reader's language.

matplotlib draws the chart because it ships a font with Cyrillic (DejaVu Sans) and needs no
display; python-docx writes the documents, which open in Word, LibreOffice and on phones.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

CHART_LABEL_WIDTH = 28


def bar_chart(title: str, bars: Sequence[tuple[str, int]], highlight: Sequence[int] = ()) -> bytes:
    """A horizontal bar chart of the tally, the first option on top, counts at the bars' ends;
    bars at the `highlight` indexes (the winners) are drawn in green."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    labels = [textwrap.shorten(label, CHART_LABEL_WIDTH, placeholder="…") for label, _ in bars]
    values = [value for _, value in bars]
    height = 1.2 + 0.6 * max(len(bars), 1)
    figure = Figure(figsize=(7, height), dpi=110)
    axes = figure.add_subplot()
    positions = list(range(len(bars)))[::-1]
    colors = ["#2e7d32" if index in highlight else "#1565c0" for index in range(len(bars))]
    axes.barh(positions, values, color=colors)
    axes.set_yticks(positions, labels)
    top = max(values, default=0)
    axes.set_xlim(0, max(top * 1.15, 1))
    for position, value in zip(positions, values, strict=True):
        axes.text(value + max(top, 1) * 0.01, position, str(value), va="center")
    axes.set_title(textwrap.shorten(title, 70, placeholder="…"))
    locator = axes.xaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # the default AutoLocator is one
        locator.set_params(integer=True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


@dataclass
class Protocol:
    """The protocol's content, every string already written in the reader's language."""

    title: str
    facts: list[tuple[str, str]]  # (what, value): question, eligible, turnout, rule, outcome…
    text_heading: str
    text: str
    tally_heading: str
    tally: list[tuple[str, int]]
    roll_heading: str | None = None
    roll: list[tuple[str, str]] = field(default_factory=list)  # (voter, choice)
    footer: str = ""


def protocol_docx(protocol: Protocol) -> bytes:
    # python-docx is heavy to import: only when a document is made, not at start-up.
    from docx import Document
    from docx.shared import Pt

    document = Document()
    document.styles["Normal"].font.name = "Times New Roman"
    document.styles["Normal"].font.size = Pt(12)
    document.add_heading(protocol.title, level=1)
    facts = document.add_table(rows=0, cols=2)
    facts.style = "Table Grid"
    for what, value in protocol.facts:
        cells = facts.add_row().cells
        cells[0].text, cells[1].text = what, value
    document.add_heading(protocol.tally_heading, level=2)
    tally = document.add_table(rows=0, cols=2)
    tally.style = "Table Grid"
    for label, count in protocol.tally:
        cells = tally.add_row().cells
        cells[0].text, cells[1].text = label, str(count)
    if protocol.text:
        document.add_heading(protocol.text_heading, level=2)
        for paragraph in protocol.text.split("\n"):
            document.add_paragraph(paragraph)
    if protocol.roll_heading is not None:
        document.add_heading(protocol.roll_heading, level=2)
        roll = document.add_table(rows=0, cols=2)
        roll.style = "Table Grid"
        for voter, choice in protocol.roll:
            cells = roll.add_row().cells
            cells[0].text, cells[1].text = voter, choice
    if protocol.footer:
        document.add_paragraph(protocol.footer)
    return _save(document)


def text_docx(title: str, text: str) -> bytes:
    """A long recommendation's full text, attached to its ballot."""
    from docx import Document

    document = Document()
    document.add_heading(title, level=1)
    for paragraph in text.split("\n"):
        document.add_paragraph(paragraph)
    return _save(document)


def _save(document: Any) -> bytes:  # python-docx ships no types
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
