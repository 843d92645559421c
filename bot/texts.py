"""Localized texts with parameters; every str parameter is HTML-escaped unless marked safe.

Messages go out in HTML parse mode, so escaping by default makes it impossible to forget it for
a name or a title a user typed.
"""

from __future__ import annotations

import html

from aiogram.utils.i18n import gettext


class SafeHTML(str):
    """HTML the bot built itself from escaped parts; passed through unescaped."""

    __slots__ = ()


def _prepare(params: dict[str, object]) -> dict[str, object]:
    return {
        key: value
        if isinstance(value, SafeHTML) or not isinstance(value, str)
        else html.escape(value)
        for key, value in params.items()
    }


def t(key: str, /, **params: object) -> SafeHTML:
    """The text for `key` in the current language, with escaped parameters."""
    text = gettext(key)
    return SafeHTML(text.format(**_prepare(params)) if params else text)


def tn(key: str, n: int, /, **params: object) -> SafeHTML:
    """A plural text (`key`, `key-plural` in the catalogue); Russian has three forms."""
    text = gettext(key, f"{key}-plural", n)
    return SafeHTML(text.format(n=n, **_prepare(params)))


def plain(key: str, /, **params: object) -> str:
    """A text for a place without parse mode (button labels, callback answers): nothing escaped."""
    text = gettext(key)
    return text.format(**params) if params else text


def clip(text: str, limit: int) -> SafeHTML:
    """User text escaped for HTML and cut to `limit` visible characters, so that a message built
    from several such parts stays within Telegram's 4096 (counted after entity parsing)."""
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return SafeHTML(html.escape(text))
