"""The languages the bot speaks, and the rule for which one a person is written to in: both
written once (tests/test_locales.py checks that each has its catalogues)."""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("ru", "en")
# Each language's name in itself: the language picker shows them so.
NAMES: dict[str, str] = {"ru": "Русский", "en": "English"}


def language_of(chosen: str | None, default: str) -> str:
    """The person's own language when they chose one the bot speaks, else the Assembly's."""
    return chosen if chosen in LANGUAGES else default
