"""Localized texts with parameters; every str parameter is HTML-escaped unless marked safe.

Messages go out in HTML parse mode, so escaping by default makes it impossible to forget it for
a name or a title a user typed.
"""

from __future__ import annotations

import html
import re

from aiogram.utils.i18n import gettext


class SafeHTML(str):
    """HTML the bot built itself from escaped parts; passed through unescaped."""

    __slots__ = ()


# A placeholder a text puts in quotes, and the quotes its value's own quotes become:
# «АНО „Развитие“» in Russian, “the ‘Future’ club” in English.
_QUOTED = re.compile(r"([«“])\{(\w+)\}[»”]")
_INNER = {"«": ("„", "“"), "“": ("‘", "’")}
_OPENING = "«„"
_CLOSING = "»”"
_EITHER = '“"'  # closes „…“ and opens “…”; a straight quote both opens and closes


def nest_quotes(value: str, outer: str, *, straight: bool = True) -> str:
    """`value` as it reads inside the `outer` quote: its own quotes become the inner kind, and a
    value wholly in quotes loses them («„Развитие“» would double them). Straight quotes are left
    alone in HTML (`straight=False`), where they may belong to markup."""
    opening, closing = _INNER[outer]
    chars: list[str] = []
    depth = 0
    for char in value:
        if char == '"' and not straight:
            chars.append(char)
        elif char in _OPENING or (char in _EITHER and depth == 0):
            chars.append(opening)
            depth += 1
        elif char in _CLOSING or char in _EITHER:
            chars.append(closing)
            depth = max(depth - 1, 0)
        else:
            chars.append(char)
    text = "".join(chars)
    if _wholly_quoted(text, opening, closing):
        text = text[1:-1]
    return text


def _wholly_quoted(text: str, opening: str, closing: str) -> bool:
    if len(text) < 2 or text[0] != opening or text[-1] != closing:
        return False
    depth = 0
    for index, char in enumerate(text):
        depth += (char == opening) - (char == closing)
        if depth == 0:
            return index == len(text) - 1
    return False


def _nest(text: str, params: dict[str, object]) -> dict[str, object]:
    quoted = {name: outer for outer, name in _QUOTED.findall(text)}
    if not quoted:
        return params
    result = dict(params)
    for name, outer in quoted.items():
        value = result.get(name)
        if isinstance(value, SafeHTML):
            result[name] = SafeHTML(nest_quotes(value, outer, straight=False))
        elif isinstance(value, str):
            result[name] = nest_quotes(value, outer)
    return result


def _prepare(text: str, params: dict[str, object]) -> dict[str, object]:
    return {
        key: value
        if isinstance(value, SafeHTML) or not isinstance(value, str)
        else html.escape(value)
        for key, value in _nest(text, params).items()
    }


def t(key: str, /, **params: object) -> SafeHTML:
    """The text for `key` in the current language, with escaped parameters."""
    text = gettext(key)
    return SafeHTML(text.format(**_prepare(text, params)) if params else text)


def tn(key: str, n: int, /, **params: object) -> SafeHTML:
    """A plural text (`key`, `key-plural` in the catalogue); Russian has three forms."""
    text = gettext(key, f"{key}-plural", n)
    return SafeHTML(text.format(n=n, **_prepare(text, params)))


def plain(key: str, /, **params: object) -> str:
    """A text for a place without parse mode (button labels, callback answers): nothing escaped."""
    text = gettext(key)
    return text.format(**_nest(text, params)) if params else text


def roubles(value: int | None) -> str:
    """A sum as people read it: 150 000 ₽ (no-break spaces, so a phone never wraps it); a dash
    when there is none."""
    if value is None:
        return "—"
    return f"{value:,}".replace(",", "\u00a0") + "\u00a0₽"


def utf16_len(text: str) -> int:
    """A text's length as Telegram counts it: in UTF-16 code units (an emoji outside the BMP
    takes two)."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> SafeHTML:
    """User text escaped for HTML and cut to `limit` UTF-16 code units of visible text, so that
    a message built from several such parts stays within Telegram's 4096 (counted after entity
    parsing, in UTF-16). The cut falls between characters, before escaping: it never splits a
    surrogate pair or an entity."""
    if utf16_len(text) > limit:
        room = max(limit - 1, 0)  # the "…" takes one
        kept = 0
        for index, char in enumerate(text):
            kept += 2 if ord(char) > 0xFFFF else 1
            if kept > room:
                text = text[:index]
                break
        text += "…"
    return SafeHTML(html.escape(text))
