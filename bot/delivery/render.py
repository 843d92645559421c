"""The worker's renderers: notices and button labels stored as catalogue keys are written in each
recipient's own language when they are sent, not in the author's when they are queued."""

from __future__ import annotations

from collections.abc import Callable

from bot import dates
from bot.i18n import PoI18n
from bot.languages import language_of
from bot.texts import plain, t
from models import Outbox, User


def make_renderer(i18n: PoI18n, default_language: str) -> Callable[[Outbox, User], str]:
    """Notices stored as a catalogue key are written in each recipient's own language."""

    def render(outbox: Outbox, user: User) -> str:
        language = language_of(user.language, default_language)
        with i18n.context(), i18n.use_locale(language):
            params = {}
            for name, value in (outbox.text_params or {}).items():
                if name.endswith("_key"):
                    params[name.removesuffix("_key")] = plain(value)
                elif name.endswith("_at"):
                    params[name.removesuffix("_at")] = dates.format_moment_param(value, language)
                else:
                    params[name] = value
            return t(outbox.text_key or "error-generic", **params)

    return render


def make_label_renderer(i18n: PoI18n, default_language: str) -> Callable[[str, User | None], str]:
    """Button labels stored as catalogue keys, in each recipient's language."""

    def render(key: str, user: User | None) -> str:
        language = language_of(user.language if user else None, default_language)
        with i18n.context(), i18n.use_locale(language):
            return plain(key)

    return render
