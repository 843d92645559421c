"""Ways to receive updates: long polling, or a webhook served by aiohttp."""

from __future__ import annotations

import asyncio
import logging

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.app import App

logger = logging.getLogger("bot")


async def run_polling(app: App) -> None:
    await app.bot.delete_webhook(drop_pending_updates=False)
    await app.dp.start_polling(app.bot, allowed_updates=app.dp.resolve_used_update_types())


def webhook_app(app: App, *, handle_in_background: bool = True) -> web.Application:
    """The aiohttp application that receives updates at the webhook path, plus a health check.

    Telegram waits for the answer to a webhook call, so updates are handled in the background by
    default; tests handle them in the request to know when an update is done.
    """
    settings = app.settings
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    web_app = web.Application()

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", health)
    SimpleRequestHandler(
        dispatcher=app.dp,
        bot=app.bot,
        secret_token=secret,
        handle_in_background=handle_in_background,
    ).register(web_app, path=settings.webhook_path)
    setup_application(web_app, app.dp, bot=app.bot)

    async def register_webhook(_web_app: web.Application) -> None:
        await app.bot.set_webhook(
            str(settings.webhook_url),
            secret_token=secret,
            allowed_updates=app.dp.resolve_used_update_types(),
        )

    web_app.on_startup.append(register_webhook)
    return web_app


async def run_webhook(app: App) -> None:
    runner = web.AppRunner(webhook_app(app))
    await runner.setup()
    site = web.TCPSite(runner, app.settings.webhook_host, app.settings.webhook_port)
    await site.start()
    logger.info("webhook listening on %s:%s", app.settings.webhook_host, app.settings.webhook_port)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
