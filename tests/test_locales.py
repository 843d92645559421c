"""Every text the code asks for exists, translated, in both languages, with Russian plurals."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from bot.commands import COMMANDS
from bot.i18n import create_i18n, read_catalogue
from models import Role

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "handlers", "scheduler")
TEXT_FUNCTIONS = {"t", "tn", "plain"}
ERROR_CLASSES = {"DomainError", "InvalidInput", "NotAllowed", "NotFound"}
LANGUAGES = ("ru", "en")


def catalogue(language: str):
    return read_catalogue(language)


def _text_key(node: ast.AST) -> tuple[str, bool] | None:
    """(key, plural) if the node asks for a text: t("k"), InvalidInput("k"), key = "k"."""
    if isinstance(node, ast.Call) and node.args:
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        first = node.args[0]
        if name in TEXT_FUNCTIONS | ERROR_CLASSES and isinstance(first, ast.Constant):
            return str(first.value), name == "tn"
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
        if any(isinstance(target, ast.Name) and target.id == "key" for target in node.targets):
            return str(node.value.value), False
    return None


def used_keys() -> dict[str, bool]:
    """Keys the code asks for, mapped to whether they are plural."""
    keys: dict[str, bool] = {f"role-{role.value}": False for role in Role}
    keys.update({spec.description_key: False for spec in COMMANDS})
    for directory in SOURCE_DIRS:
        for path in (ROOT / directory).rglob("*.py"):
            if "fake_telegram" in path.parts:
                continue  # a developer tool, in English by design
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                key = _text_key(node)
                if key is not None:
                    keys[key[0]] = key[1]
    return keys


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
    assert i18n.gettext("cmd-help", locale="en") == "what the bot can do"
