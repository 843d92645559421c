"""Command line: `python -m bot run | migrate | sandbox | check | import-districts FILE`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import ValidationError

from bot.app import StartupError, create_app, prepare_database
from bot.config import Settings


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]).upper()
        raise StartupError(f"{field} is invalid: {error['msg']}") from exc


async def cmd_run(_args: argparse.Namespace) -> None:
    from bot.runners import run_polling, run_webhook

    settings = load_settings()
    app = await create_app(settings)
    try:
        if settings.webhook_url:
            await run_webhook(app)
        else:
            await run_polling(app)
    finally:
        await app.close()


async def cmd_migrate(_args: argparse.Namespace) -> None:
    engine = await prepare_database(load_settings())
    await engine.dispose()
    print("database is up to date")


async def cmd_check(_args: argparse.Namespace) -> None:
    """For health checks: settings parse and the database answers."""
    settings = load_settings()
    if settings.bot_token is None:
        raise StartupError("BOT_TOKEN is not set")
    engine = await prepare_database(settings)
    await engine.dispose()
    print("ok")


async def cmd_import_districts(args: argparse.Namespace) -> None:
    from bot import db
    from bot.services.districts import seed_csv

    engine = await prepare_database(load_settings())
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


async def cmd_sandbox(args: argparse.Namespace) -> None:
    from bot.sandbox import run_sandbox

    await run_sandbox(database_url=args.database_url, language=args.language)


COMMANDS: dict[str, Callable[[argparse.Namespace], Awaitable[None]]] = {
    "run": cmd_run,
    "migrate": cmd_migrate,
    "check": cmd_check,
    "import-districts": cmd_import_districts,
    "sandbox": cmd_sandbox,
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="assembly-bot", description=__doc__)
    sub = root.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (long polling, or a webhook if WEBHOOK_URL is set)")
    sub.add_parser("migrate", help="apply database migrations and exit")
    sub.add_parser("check", help="check settings and the database (for health checks)")
    imp = sub.add_parser("import-districts", help="import districts from a CSV file")
    imp.add_argument("file", help="CSV with columns: number,name[,description]")
    sandbox = sub.add_parser("sandbox", help="chat with the bot in this terminal, no token needed")
    sandbox.add_argument(
        "--database-url",
        default="sqlite+aiosqlite:///./data/sandbox.sqlite3",
        help="database for the sandbox (default: ./data/sandbox.sqlite3)",
    )
    sandbox.add_argument("--language", default="ru", choices=["ru", "en"])
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
    command = COMMANDS[args.command]
    logging.basicConfig(
        level=logging.WARNING if args.command == "sandbox" else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(command(args))
    except StartupError as exc:
        print(f"assembly-bot: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
