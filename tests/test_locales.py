"""Every text the code asks for exists, translated, in both languages, with Russian plurals."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from bot.i18n import create_i18n, read_catalogue
from bot.languages import LANGUAGES
from handlers import CAPABILITIES

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "handlers", "scheduler")


def catalogue(language: str):
    return read_catalogue(language)


KEY_SHAPE = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")


def catalogue_prefixes() -> set[str]:
    """First words of keys: those in the catalogues, and every capability's name (so a new
    capability's keys are checked before its catalogue exists)."""
    prefixes = {
        (m.id if isinstance(m.id, str) else m.id[0]).split("-")[0]
        for language in LANGUAGES
        for m in catalogue(language)
        if m.id
    }
    for directory in ("handlers", "bot/services"):
        prefixes |= {path.stem for path in (ROOT / directory).glob("*.py")}
    return prefixes - {"__init__", "errors"}


def key_families() -> set[str]:
    """Keys the code builds at run time (`t(f"role-{role.value}")`), as each capability declares."""
    return CAPABILITIES.key_families()


def used_keys() -> dict[str, bool]:
    """Keys the code names, mapped to whether they are plural.

    A key is any string literal shaped like one whose first word is a catalogue prefix
    (`onboarding-…`): that catches keys held in dicts and defaults, not only in t() calls.
    """
    prefixes = catalogue_prefixes()
    keys: dict[str, bool] = dict.fromkeys(key_families(), False)
    plural: set[str] = set()
    for directory in SOURCE_DIRS:
        for path in (ROOT / directory).rglob("*.py"):
            if "fake_telegram" in path.parts:
                continue  # a developer tool, in English by design
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    value = node.value
                    if KEY_SHAPE.match(value) and value.split("-")[0] in prefixes:
                        keys.setdefault(value, False)
                if isinstance(node, ast.Call) and node.args:
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    first = node.args[0]
                    if name == "tn" and isinstance(first, ast.Constant):
                        plural.add(str(first.value))
    return {key: key in plural for key in keys}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def test_code_uses_keys():
    # Guards the scanner itself: if it found nothing, the tests below would pass vacuously.
    keys = used_keys()
    assert "start-welcome" in keys
    assert keys["districts-import-added"] is True


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_is_translated(language):
    messages = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalogue(language) if m.id}
    problems = []
    for key, plural in used_keys().items():
        message = messages.get(key)
        if message is None:
            problems.append(f"{key}: missing")
        elif plural != message.pluralizable:
            problems.append(f"{key}: plural mismatch")
        elif not all(message.string if plural else [message.string]):
            problems.append(f"{key}: empty translation")
    assert not problems, f"{language}: " + "; ".join(problems)


def test_catalogues_have_the_same_keys_and_placeholders():
    ru = {m.id: m for m in catalogue("ru") if m.id}
    en = {m.id: m for m in catalogue("en") if m.id}
    assert ru.keys() == en.keys()
    for key in ru:
        ru_strings = ru[key].string if ru[key].pluralizable else [ru[key].string]
        en_strings = en[key].string if en[key].pluralizable else [en[key].string]
        expected = placeholders(en_strings[0])
        for text in (*ru_strings, *en_strings):
            assert placeholders(text) == expected, f"{key}: {text!r} has other placeholders"


def test_no_unused_keys():
    used = set(used_keys())
    unused = [
        m.id for m in catalogue("ru") if m.id and (m.id[0] if m.pluralizable else m.id) not in used
    ]
    assert not unused, f"catalogue keys no code uses: {unused}"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "1 округ:"),
        (2, "2 округа:"),
        (4, "4 округа:"),
        (5, "5 округов:"),
        (11, "11 округов:"),
        (21, "21 округ:"),
        (22, "22 округа:"),
        (25, "25 округов:"),
        (111, "111 округов:"),
        (0, "0 округов:"),
    ],
)
def test_russian_plurals(n, expected):
    i18n = create_i18n("ru")
    assert (
        i18n.gettext("districts-count", "districts-count-plural", n, locale="ru").format(n=n)
        == expected
    )


def test_english_plurals():
    i18n = create_i18n("ru")
    text = i18n.gettext("districts-count", "districts-count-plural", 1, locale="en")
    assert text.format(n=1) == "1 district:"
    assert (
        i18n.gettext("districts-count", "districts-count-plural", 3, locale="en").format(n=3)
        == "3 districts:"
    )


def test_catalogues_load_without_a_build_step():
    i18n = create_i18n("ru")
    assert set(i18n.available_locales) == set(LANGUAGES)
    assert i18n.gettext("cmd-help", locale="en") == "see what the bot can do"
