"""The worker's renderers: notices and button labels stored as catalogue keys are written in each
recipient's own language when they are sent, not in the author's when they are queued; the public
channel's posts in the default language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot import dates
from bot.i18n import PoI18n
from bot.languages import language_of
from bot.texts import plain, t
from models import Outbox, User


def _text(
    i18n: PoI18n,
    language: str,
    key: str | None,
    stored: Mapping[str, Any],
    timezone: str | None = None,
) -> str:
    """A stored key written out: parameters named `*_key` are keys themselves, `*_at` moments
    (on the clock they were stored with, or on `timezone`'s)."""
    with i18n.context(), i18n.use_locale(language):
        params = {}
        for name, value in stored.items():
            if name.endswith("_key"):
                params[name.removesuffix("_key")] = plain(value)
            elif name.endswith("_at") and timezone is not None:
                moment = datetime.fromisoformat(value)
                params[name.removesuffix("_at")] = dates.format_datetime(moment, language, timezone)
            elif name.endswith("_at"):
                params[name.removesuffix("_at")] = dates.format_moment_param(value, language)
            else:
                params[name] = value
        return t(key or "error-generic", **params)


def make_renderer(i18n: PoI18n, default_language: str) -> Callable[[Outbox, User], str]:
    """Notices stored as a catalogue key are written in each recipient's own language."""

    def render(outbox: Outbox, user: User) -> str:
        language = language_of(user.language, default_language)
        return _text(i18n, language, outbox.text_key, outbox.text_params or {})

    return render


def make_post_renderer(
    i18n: PoI18n, default_language: str, timezone: str
) -> Callable[[str, Mapping[str, Any]], str]:
    """The public channel's posts, stored as a key, in the default language (a channel has
    readers, not recipients with a language of their own), moments on the Assembly's clock (so
    a service that knows no time zone stores them in UTC)."""

    def render(key: str, params: Mapping[str, Any]) -> str:
        return _text(i18n, default_language, key, params, timezone)

    return render


def make_label_renderer(i18n: PoI18n, default_language: str) -> Callable[[str, User | None], str]:
    """Button labels stored as catalogue keys, in each recipient's language."""

    def render(key: str, user: User | None) -> str:
        language = language_of(user.language if user else None, default_language)
        with i18n.context(), i18n.use_locale(language):
            return plain(key)

    return render
