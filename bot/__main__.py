"""Command line: `python -m bot run | migrate | sandbox | check | import-districts FILE |
seal-audit | publish-needs DIR`.

Each command imports what it needs when it runs: `check` (the container's health check, every
30 seconds) must stay fast and so never loads aiogram, the handlers or alembic's migrations.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.config import Settings, StartupError, load_settings
from bot.languages import LANGUAGES
from bot.log import configure_logging

# Docker reads a health check's exit code 1 as unhealthy and reserves 2.
CHECK_FAILED = 1
SETTINGS_FAILED = 2


async def cmd_run(_args: argparse.Namespace, settings: Settings) -> None:
    from bot.app import create_app
    from bot.runners import run_polling, run_webhook

    app = await create_app(settings)
    try:
        if settings.webhook_url:
            await run_webhook(app)
        else:
            await run_polling(app)
    finally:
        await app.close()


async def cmd_migrate(_args: argparse.Namespace, settings: Settings) -> None:
    from bot import db

    engine = await db.prepare_database(settings)
    await engine.dispose()
    print("database is up to date")


async def check(settings: Settings) -> None:
    """For health checks, read-only: a token is set, the database answers and its schema is at
    the migrations' head. Raises StartupError with the reason otherwise."""
    from bot import db

    if settings.bot_token is None:
        raise StartupError("BOT_TOKEN is not set")
    await db.check_database(settings)


async def cmd_check(_args: argparse.Namespace, settings: Settings) -> None:
    await check(settings)
    print("ok")


async def cmd_import_districts(args: argparse.Namespace, settings: Settings) -> None:
    from bot import db
    from bot.services.districts import seed_csv

    engine = await db.prepare_database(settings)
    try:
        text = await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8-sig")
    except OSError as exc:
        raise StartupError(f"cannot read {args.file}: {exc.strerror}") from exc
    try:
        async with db.create_sessionmaker(engine).begin() as session:
            result = await seed_csv(session, text)
    finally:
        await engine.dispose()
    print(f"added {result.added}, updated {result.updated}, errors {len(result.errors)}")
    for line, error in result.errors:
        print(f"  line {line}: {error.key} {error.params or ''}")


async def cmd_export_needs(args: argparse.Namespace, settings: Settings) -> None:
    from bot import db
    from bot.services import opendata

    engine = await db.prepare_database(settings)
    try:
        async with db.create_sessionmaker(engine)() as session:
            found = await opendata.rows(session, settings.timezone)
    finally:
        await engine.dispose()
    directory = Path(args.directory)

    def write() -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "needs.csv").write_bytes(opendata.to_csv(found))
        (directory / "needs.geojson").write_bytes(opendata.to_geojson(found))

    try:
        await asyncio.to_thread(write)
    except OSError as exc:
        raise StartupError(f"cannot write to {directory}: {exc.strerror}") from exc
    print(f"wrote {len(found)} needs to {directory / 'needs.csv'} and needs.geojson")


async def cmd_audit_seal(_args: argparse.Namespace, settings: Settings) -> None:
    from bot import db
    from bot.services.audit import keys as audit_keys
    from bot.services.audit.chain import seal_legacy

    try:
        keys = audit_keys.from_settings(settings)
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
    engine = await db.prepare_database(settings)
    try:
        async with db.create_sessionmaker(engine, audit=keys).begin() as session:
            sealed = await seal_legacy(session)
    finally:
        await engine.dispose()
    if sealed is None:
        raise StartupError("the unkeyed audit log is broken; it was left as it is (see /audit)")
    print(f"signed {sealed} audit entries written before the log was keyed")


async def cmd_sandbox(args: argparse.Namespace) -> None:
    from bot.sandbox import run_sandbox

    await run_sandbox(database_url=args.database_url, language=args.language)


# The sandbox is not here: it makes its own settings and ignores `.env`.
COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, None]]] = {
    "run": cmd_run,
    "migrate": cmd_migrate,
    "check": cmd_check,
    "import-districts": cmd_import_districts,
    "seal-audit": cmd_audit_seal,
    "publish-needs": cmd_export_needs,
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="assembly-bot", description=__doc__.splitlines()[0])
    sub = root.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (long polling, or a webhook if WEBHOOK_URL is set)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    sub.add_parser(
        "check", help="read-only health check: settings, the database, the schema at head"
    )
    imp = sub.add_parser("import-districts", help="import districts from a CSV file")
    imp.add_argument("file", help="CSV with columns: number,name[,description]")
    sub.add_parser(
        "seal-audit",
        help="once, after upgrading: sign the audit entries written before AUDIT_KEY existed",
    )
    needs = sub.add_parser(
        "publish-needs", help="write the needs as open data (no personal data): CSV and GeoJSON"
    )
    needs.add_argument("directory", help="where to write needs.csv and needs.geojson")
    sandbox = sub.add_parser("sandbox", help="chat with the bot in this terminal, no token needed")
    sandbox.add_argument(
        "--database-url",
        default="sqlite+aiosqlite:///./data/sandbox.sqlite3",
        help="database for the sandbox (default: ./data/sandbox.sqlite3)",
    )
    sandbox.add_argument("--language", default="ru", choices=LANGUAGES)
    return root


def _dotenv_has_token() -> bool:
    env = Path(".env")
    return env.is_file() and any(
        line.strip().startswith("BOT_TOKEN=") and line.split("=", 1)[1].strip()
        for line in env.read_text(encoding="utf-8").splitlines()
    )


def main(argv: list[str] | None = None) -> None:
    root = parser()
    args = root.parse_args(argv)
    if args.command is None:
        # Bare `python -m bot`: run with a token, otherwise let the person try the sandbox.
        has_token = os.environ.get("BOT_TOKEN") or _dotenv_has_token()
        args = root.parse_args(["run" if has_token else "sandbox"])
    try:
        if args.command == "sandbox":
            # The terminal is the chat: only problems are logged there, as text.
            configure_logging("WARNING")
            asyncio.run(cmd_sandbox(args))
        else:
            settings = load_settings()
            level = settings.log_level
            if args.command == "check" and logging.getLevelName(level) < logging.WARNING:
                # A health check answers in one line; alembic's notes would bury it.
                level = "WARNING"
            configure_logging(level, settings.log_format)
            asyncio.run(COMMANDS[args.command](args, settings))
    except StartupError as exc:
        print(f"assembly-bot: {exc}", file=sys.stderr)
        sys.exit(CHECK_FAILED if args.command == "check" else SETTINGS_FAILED)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
