"""Routers, one per capability; the order is the order in which they are asked."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    from handlers import common, districts, fallback, onboarding, profile

    return [common.router, profile.router, districts.router, onboarding.router, fallback.router]
