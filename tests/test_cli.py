"""The command line: bad settings end with one clear line and a non-zero exit, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def run_bot(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL", "REDIS_URL"}
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN is malformed"),
        ({"BOT_TOKEN": "1:abc", "DATABASE_URL": "nonsense"}, "DATABASE_URL is invalid"),
        ({"BOT_TOKEN": "1:abc", "DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL is invalid"),
        (
            {"BOT_TOKEN": "1:abc", "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"},
            "cannot use the database",
        ),
        ({"BOT_TOKEN": "1:abc", "BOT_API_URL": "not a url"}, "BOT_API_URL is invalid"),
        ({"BOT_TOKEN": "1:abc", "ADMIN_IDS": "12,abc"}, "ADMIN_IDS is invalid"),
    ],
)
def test_bad_settings_end_with_one_line(tmp_path, env, expected):
    result = run_bot("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_creates_the_database(tmp_path):
    result = run_bot("migrate", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "assembly.sqlite3").is_file()


def test_import_districts_from_csv(tmp_path):
    (tmp_path / "d.csv").write_text("номер;название\n1;Центральный\n2;Заречный\n", encoding="utf-8")
    result = run_bot("import-districts", "d.csv", env={}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "added 2, updated 0, errors 0" in result.stdout


def test_sandbox_chats_in_the_terminal(tmp_path):
    script = "/start\n:press 1\n:press 1\nАнна\n:press 1\n/me\n:quit\n"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "sandbox",
            "--database-url",
            f"sqlite+aiosqlite:///{tmp_path}/s.db",
        ],
        input=script,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Серпуховской ассамблеи" in out
    assert "Приятно познакомиться, Анна" in out
    assert "Центральный (демо)" in out
