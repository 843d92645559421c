"""`python -m bot sandbox`: the real bot against the built-in fake Telegram, chatted with in the
terminal. For trying the bot without a token; the tests drive the same server."""

from __future__ import annotations

import asyncio
import contextlib
import sys

from bot import db
from bot.app import create_app
from bot.config import Settings
from bot.fake_telegram import FakeTelegram
from bot.fake_telegram.console import run_console, stdin_reader
from bot.services import districts

SANDBOX_TOKEN = "1000000001:sandbox"
SANDBOX_ADMIN = 1001
# Demonstration districts so that onboarding can be tried end to end on an empty database.
DEMO_DISTRICTS = "1,Центральный (демо)\n2,Северный (демо)\n3,Южный (демо)\n"


async def seed_demo(settings: Settings) -> None:
    engine = db.create_engine(settings.async_database_url)
    try:
        async with db.create_sessionmaker(engine).begin() as session:
            if await districts.count_districts(session) == 0:
                await districts.seed_csv(session, DEMO_DISTRICTS)
    finally:
        await engine.dispose()


async def run_sandbox(database_url: str, language: str = "ru") -> None:
    async with FakeTelegram() as server:
        settings = Settings(
            _env_file=None,
            bot_token=SANDBOX_TOKEN,
            bot_api_url=server.url,
            database_url=database_url,
            admin_ids=[SANDBOX_ADMIN],
            default_language=language,
        )
        app = await create_app(settings)
        await seed_demo(settings)
        polling = asyncio.create_task(
            app.dp.start_polling(
                app.bot, handle_as_tasks=False, polling_timeout=1, handle_signals=False
            )
        )
        print(
            f"Sandbox: the bot runs against a fake Telegram at {server.url}. "
            f"You are user {SANDBOX_ADMIN} (an admin). Type :help for commands.",
            file=sys.stderr,
        )
        try:
            await run_console(
                server,
                read_line=stdin_reader,
                write=print,
                first_user_id=SANDBOX_ADMIN,
                language_code=language,
            )
        finally:
            # Cancelling start_polling would leave aiogram's inner poller running.
            with contextlib.suppress(RuntimeError):
                await app.dp.stop_polling()
            await polling
            await app.close()
