"""Routers, one per capability; the order is the order in which they are asked."""

from __future__ import annotations

from aiogram import Router


def _fresh_copy(template: Router) -> Router:
    """A new router with the template's handlers.

    aiogram lets a router belong to one dispatcher only, but tests, the sandbox and a restart
    build several dispatchers in one process; the handlers themselves are safe to share.
    """
    router = Router(name=template.name)
    for name, observer in template.observers.items():
        if observer.outer_middleware or observer.middleware or observer._handler.filters:
            raise ValueError(f"{template.name}.{name}: register middlewares on the dispatcher")
        router.observers[name].handlers.extend(observer.handlers)
    return router


def get_routers() -> list[Router]:
    from handlers import (
        announcements,
        audit,
        bodies,
        common,
        districts,
        fallback,
        onboarding,
        organizations,
        preferences,
        profile,
        recommendations,
        registry,
        secretariat,
        votes,
    )

    # Dialog steps take only non-command text, so a command typed mid-dialog reaches its router.
    modules = (
        common,
        profile,
        preferences,
        onboarding,
        districts,
        organizations,
        secretariat,
        registry,
        announcements,
        bodies,
        votes,
        recommendations,
        audit,
        fallback,
    )
    return [_fresh_copy(module.router) for module in modules]
