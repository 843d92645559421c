"""LOG_LEVEL and LOG_FORMAT: JSON lines for log collectors, text for people."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.log import configure_logging


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def configured(**env: str) -> io.StringIO:
    settings = Settings(_env_file=None, **env)
    stream = io.StringIO()
    configure_logging(settings.log_level, settings.log_format, stream=stream)
    return stream


def test_json_gives_one_object_per_line(restore_logging, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    stream = configured()
    logger = logging.getLogger("bot.test")
    logger.info("hello %s", "Анна", extra={"update_id": 42})
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        logger.exception("update failed")
    logger.warning("an object", extra={"when": object()})

    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    entries = [json.loads(line) for line in lines]
    first, failure, odd = entries
    assert first["level"] == "INFO"
    assert first["logger"] == "bot.test"
    assert first["message"] == "hello Анна"
    assert first["update_id"] == 42
    assert first["timestamp"].endswith("+00:00")
    assert "exception" not in first
    assert failure["level"] == "ERROR"
    assert failure["message"] == "update failed"
    assert "Traceback" in failure["exception"]
    assert "ValueError: bad\nthing" in failure["exception"]
    assert odd["when"].startswith("<object object")


def test_level_is_honoured(restore_logging, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", "warning")
    stream = configured()
    logging.getLogger("bot.test").info("not shown")
    logging.getLogger("bot.test").warning("shown")
    assert stream.getvalue().splitlines()[0].endswith("WARNING bot.test: shown")
    assert "not shown" not in stream.getvalue()


def test_text_is_the_default(restore_logging):
    stream = configured()
    logging.getLogger("bot.test").info("plain")
    assert stream.getvalue().rstrip().endswith("INFO bot.test: plain")


@pytest.mark.parametrize(("name", "value"), [("LOG_LEVEL", "LOUD"), ("LOG_FORMAT", "xml")])
def test_a_wrong_value_is_a_settings_error(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name.lower()):
        Settings(_env_file=None)
