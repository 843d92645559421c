"""`python -m bot check`, the container's health check: read-only, fast, one line when unwell."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot import db
from bot.__main__ import check, main
from bot.config import Settings, StartupError

TOKEN = "1:abc"
HEAVY = ("aiogram", "handlers", "matplotlib", "openpyxl", "docx")


def settings_for(url: str) -> Settings:
    return Settings(_env_file=None, bot_token=TOKEN, database_url=url)


async def alembic_version(url: str) -> list[str]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            return list(
                (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            )
    finally:
        await engine.dispose()


async def test_a_migrated_database_is_healthy(database_url):
    before = await alembic_version(database_url)
    await check(settings_for(database_url))
    assert await alembic_version(database_url) == before


async def test_a_schema_behind_head_is_reported_and_not_migrated(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine, "003")
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    with pytest.raises(StartupError, match=f"at revision 003, behind the migrations' head {head}"):
        await check(settings_for(url))
    assert await alembic_version(url) == ["003"]


async def test_an_empty_database_is_not_migrated_by_the_check(tmp_path):
    path = tmp_path / "empty.sqlite3"
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect():
            pass  # creates the file, and nothing in it
    finally:
        await engine.dispose()
    with pytest.raises(StartupError, match="none \\(not migrated yet\\)"):
        await check(settings_for(f"sqlite+aiosqlite:///{path}"))
    with pytest.raises(Exception, match="no such table"):
        await alembic_version(f"sqlite+aiosqlite:///{path}")


async def test_a_missing_sqlite_file_is_not_created(tmp_path):
    path = tmp_path / "data" / "none.sqlite3"
    with pytest.raises(StartupError, match="does not exist yet"):
        await check(settings_for(f"sqlite+aiosqlite:///{path}"))
    assert not path.exists()


async def test_an_unreachable_database_is_reported():
    with pytest.raises(StartupError, match="cannot use the database"):
        await check(settings_for("postgresql+asyncpg://nobody@127.0.0.1:9/none"))


async def test_a_missing_token_is_reported(database_url):
    with pytest.raises(StartupError, match="BOT_TOKEN is not set"):
        await check(Settings(_env_file=None, database_url=database_url))


@pytest.fixture
def environment(monkeypatch, tmp_path):
    for name in ("BOT_TOKEN", "DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_the_command_exits_0_and_says_ok(environment, database_url, capsys):
    environment.setenv("BOT_TOKEN", TOKEN)
    environment.setenv("DATABASE_URL", database_url)
    main(["check"])
    out, err = capsys.readouterr()
    assert out == "ok\n"
    assert err == ""


def test_the_command_exits_1_with_one_line(environment, capsys):
    environment.setenv("BOT_TOKEN", TOKEN)
    environment.setenv("DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:9/none")
    with pytest.raises(SystemExit) as exit_info:
        main(["check"])
    # Docker reads 1 as unhealthy (2 is reserved).
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "cannot use the database" in lines[0], err


def test_the_check_loads_neither_aiogram_nor_the_handlers(tmp_path, database_url):
    # A process of its own: this one has imported everything already.
    probe = (
        "import json, sys\n"
        "from bot.__main__ import main\n"
        "main(['check'])\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "print(json.dumps(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"BOT_TOKEN": TOKEN, "DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ok, loaded = result.stdout.splitlines()
    assert ok == "ok"
    assert json.loads(loaded) == []
    assert Path(tmp_path / "data").exists() is False
