"""Gettext catalogues compiled from the .po files in memory at start-up, so no build step exists."""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import locales

LOCALES_DIR = Path(locales.__file__).parent
DOMAIN = "messages"


def compile_catalogue(po_path: Path) -> gettext.GNUTranslations:
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class PoI18n(I18n):
    """aiogram's I18n reading `.po` catalogues directly (it would otherwise require `.mo` files)."""

    def find_locales(self) -> dict[str, gettext.GNUTranslations]:
        translations: dict[str, gettext.GNUTranslations] = {}
        for lang_dir in sorted(self.path.iterdir()):
            po_path = lang_dir / "LC_MESSAGES" / f"{self.domain}.po"
            if po_path.is_file():
                translations[lang_dir.name] = compile_catalogue(po_path)
        return translations

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
