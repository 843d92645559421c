"""The command line: bad settings end with one clear line and a non-zero exit, no traceback.

The commands run in this process through `main(argv)`; one smoke test starts `python -m bot` for
real, so the module entry point is covered too."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from bot.__main__ import main


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_bot(
    *args: str,
    env: dict[str, str],
    cwd,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Result:
    """`python -m bot ARGS` in this process, with exactly `env` for the bot's settings."""
    for name in ("BOT_TOKEN", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return Result(code, out, err)


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
def test_bad_settings_end_with_one_line(tmp_path, env, expected, monkeypatch, capsys):
    result = run_bot("run", env=env, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_creates_the_database(tmp_path, monkeypatch, capsys):
    result = run_bot("migrate", env={}, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "assembly.sqlite3").is_file()


def test_import_districts_from_csv(tmp_path, monkeypatch, capsys):
    (tmp_path / "d.csv").write_text("номер;название\n1;Центральный\n2;Заречный\n", encoding="utf-8")
    result = run_bot(
        "import-districts", "d.csv", env={}, cwd=tmp_path, monkeypatch=monkeypatch, capsys=capsys
    )
    assert result.returncode == 0, result.stderr
    assert "added 2, updated 0, errors 0" in result.stdout


def test_sandbox_chats_in_the_terminal(tmp_path):
    """The smoke test: `python -m bot` in a process of its own, driven through stdin."""
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
