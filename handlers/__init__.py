"""The capabilities of the bot, in the order their routers are asked.

Adding a capability is one line here: its handler module declares the rest next to its router
(see `bot.capabilities.Capability`). Dialog steps take only non-command text, so a command typed
mid-dialog reaches its own router whatever the order; the fallback stays last.
"""

from __future__ import annotations

from aiogram import Router

from bot.capabilities import Registry
from handlers import (
    announcements,
    audit,
    bodies,
    common,
    council,
    districts,
    fallback,
    home,
    monitoring,
    onboarding,
    organizations,
    preferences,
    priorities,
    profile,
    recommendations,
    registry,
    resources,
    secretariat,
    votes,
)
from handlers.meetings import agenda as meetings_agenda
from handlers.meetings import answers as meetings_answers
from handlers.meetings import convene as meetings_convene
from handlers.meetings import minutes as meetings_minutes
from handlers.meetings import schedule as meetings_schedule
from handlers.meetings import voting as meetings_votes
from handlers.needs import browse as needs_browse
from handlers.needs import filing as needs_filing
from handlers.needs import moderation as needs_moderation
from handlers.projects import browse as projects_browse
from handlers.projects import documents as projects_documents
from handlers.projects import programmes as projects_programmes
from handlers.projects import propose as projects_propose
from handlers.projects import review as projects_review
from handlers.projects import work as projects_work

CAPABILITIES = Registry(
    (
        onboarding.capability,
        home.capability,
        common.capability,
        needs_filing.capability,
        profile.capability,
        preferences.capability,
        # The Secretariat's daily work (the queue) comes first in its section of the home screen.
        secretariat.capability,
        districts.capability,
        organizations.capability,
        registry.capability,
        announcements.capability,
        bodies.capability,
        council.capability,
        votes.capability,
        priorities.capability,
        recommendations.capability,
        needs_browse.capability,
        resources.capability,
        needs_moderation.capability,
        projects_propose.capability,
        projects_work.capability,
        monitoring.capability,
        audit.capability,
        projects_programmes.capability,
        projects_documents.capability,
        projects_review.capability,
        projects_browse.capability,
        meetings_convene.capability,
        meetings_answers.capability,
        meetings_agenda.capability,
        meetings_minutes.capability,
        meetings_votes.capability,
        meetings_schedule.capability,
        fallback.capability,
    )
)


def get_routers() -> list[Router]:
    return CAPABILITIES.routers()
