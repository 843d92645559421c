"""/audit speaks the reader's language: every action code and object type the code base writes
has words in both catalogues, and an unknown code is shown as it is."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.i18n import create_i18n, read_catalogue
from bot.languages import LANGUAGES
from bot.services import audit
from bot.services.audit import Verification
from handlers.audit import report_text

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "handlers", "scheduler", "models")


def _strings(node: ast.expr) -> set[str]:
    """Every string a positional argument may be (`"a" if x else "b"` gives both)."""
    return {
        child.value
        for child in ast.walk(node)
        if isinstance(child, ast.Constant) and isinstance(child.value, str)
    }


def written() -> tuple[set[str], set[str]]:
    """The action codes and object types of every `audit.record(...)` call in the code base."""
    actions: set[str] = set()
    objects: set[str] = set()
    for directory in SOURCE_DIRS:
        for path in (ROOT / directory).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "record"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"
                ):
                    continue
                assert len(node.args) >= 4, f"{path}:{node.lineno}: action and object by position"
                actions |= _strings(node.args[2])
                objects |= _strings(node.args[3])
    return actions, objects


def test_the_scanner_finds_the_calls():
    actions, objects = written()
    assert {"district.set_base", "vote.cast", "organization.approve"} <= actions
    assert {"district", "vote", "organization"} <= objects


def test_every_code_written_has_words_and_no_words_are_left_over():
    actions, objects = written()
    assert set(audit.ACTION_KEYS) == actions
    assert set(audit.OBJECT_KEYS) == objects


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_words_are_in_both_catalogues(language):
    messages = {m.id: m.string for m in read_catalogue(language) if m.id}
    keys = [*audit.ACTION_KEYS.values(), *audit.OBJECT_KEYS.values()]
    missing = [key for key in keys if not messages.get(key)]
    assert not missing, f"{language}: {missing}"


def _line(action: str, object_type: str, object_id: int | None) -> audit.Line:
    at = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    return audit.Line(1, at, "Ирина", action, object_type, object_id)


def test_words_in_english_and_unknown_codes_as_they_are():
    i18n = create_i18n("ru")
    report = audit.Report(
        Verification(ok=True, entries=2),
        [_line("district.set_base", "district", 3), _line("district.merge", "galaxy", None)],
    )
    with i18n.context(), i18n.use_locale("en"):
        text = report_text(report, "Europe/Moscow")
    lines = text.splitlines()
    prefix = "#1 · 12/1/2026 10:00\u202fAM · Ирина · "  # Babel: a narrow space before AM
    assert lines[-2] == prefix + "district's base organization set · district #3"
    assert lines[-1] == prefix + "district.merge · galaxy"
