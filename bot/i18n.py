"""Gettext catalogues compiled from the .po files in memory at start-up, so no build step exists.

Each capability keeps its texts in its own catalogue (`locales/ru/LC_MESSAGES/registry.po`, …);
a language's catalogues are merged into one translation.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import locales

LOCALES_DIR = Path(locales.__file__).parent
DOMAIN = "messages"


def catalogue_files(language: str) -> list[Path]:
    return sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po"))


def read_catalogue(language: str) -> Catalog:
    """All of a language's .po files as one catalogue; a key defined twice is an error."""
    merged: Catalog | None = None
    for path in catalogue_files(language):
        with path.open("rb") as po_file:
            catalog = read_po(po_file, locale=language)
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if not message.id:
                continue
            if message.id in merged:
                raise ValueError(f"{path}: {message.id!r} is already defined in another catalogue")
            merged[message.id] = message
    if merged is None:
        raise FileNotFoundError(f"no catalogues for {language!r} in {LOCALES_DIR}")
    return merged


def _signature(language: str) -> tuple[tuple[str, int, int], ...]:
    stats = [(path.name, path.stat()) for path in catalogue_files(language)]
    return tuple((name, stat.st_mtime_ns, stat.st_size) for name, stat in stats)


@lru_cache(maxsize=8)
def _compiled(language: str, signature: tuple[tuple[str, int, int], ...]) -> bytes:
    buffer = BytesIO()
    write_mo(buffer, read_catalogue(language))
    return buffer.getvalue()


def load_translations(language: str) -> gettext.GNUTranslations:
    """A language's translation, parsed from the .po files once per process while they stay as
    they are: parsing them takes a fifth of a second, and a process that rebuilds its app (a
    restart in the sandbox, every test) would pay it each time."""
    return gettext.GNUTranslations(BytesIO(_compiled(language, _signature(language))))


class PoI18n(I18n):
    """aiogram's I18n reading `.po` catalogues directly (it would otherwise require `.mo` files)."""

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        return {
            lang_dir.name: load_translations(lang_dir.name)
            for lang_dir in sorted(self.path.iterdir())
            if lang_dir.is_dir() and catalogue_files(lang_dir.name)
        }

    @contextmanager
    def context(self) -> Iterator[I18n]:
        # aiogram keeps the current instance per class; gettext() looks it up on I18n itself.
        token = I18n.set_current(self)
        try:
            yield self
        finally:
            I18n.reset_current(token)


def create_i18n(default_locale: str = "ru") -> PoI18n:
    return PoI18n(path=LOCALES_DIR, default_locale=default_locale, domain=DOMAIN)
