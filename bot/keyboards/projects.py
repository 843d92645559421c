"""The buttons every projects capability shares: a project's card, and the panels the card
opens. Each panel belongs to one capability (`handlers/projects/…`), which takes the presses
of its panel name and checks on the server that the presser may use it."""

from __future__ import annotations

from bot.callbacks import BotCallback

# The panels a card opens, and the capability that answers each.
PANEL_EDIT = "edit"  # proposing: the owner edits a draft or a returned project, submits
PANEL_REVIEW = "review"  # review: assign, comment, propose the outcome, put to the council
PANEL_PLAN = "plan"  # work: milestones and reports, start, complete
PANEL_TEAM = "team"  # consortium: participants, contributions, the district's share
PANEL_DOCS = "docs"  # documents: the passport as DOCX and PDF
PANELS = (PANEL_EDIT, PANEL_REVIEW, PANEL_PLAN, PANEL_TEAM, PANEL_DOCS)


class CDProject(BotCallback, prefix="pj"):
    """Open a project's card (from any list)."""

    id: int


class CDProjectPanel(BotCallback, prefix="pjp"):
    """Open one of a project's panels from its card."""

    id: int
    panel: str
