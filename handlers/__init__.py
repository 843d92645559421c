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
    districts,
    fallback,
    home,
    monitoring,
    onboarding,
    organizations,
    preferences,
    profile,
    recommendations,
    registry,
    secretariat,
    votes,
)

CAPABILITIES = Registry(
    (
        onboarding.capability,
        home.capability,
        common.capability,
        profile.capability,
        preferences.capability,
        # The Secretariat's daily work (the queue) comes first in its section of the home screen.
        secretariat.capability,
        districts.capability,
        organizations.capability,
        registry.capability,
        announcements.capability,
        bodies.capability,
        votes.capability,
        recommendations.capability,
        monitoring.capability,
        audit.capability,
        fallback.capability,
    )
)


def get_routers() -> list[Router]:
    return CAPABILITIES.routers()
