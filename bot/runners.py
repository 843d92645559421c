"""Ways to receive updates: long polling, or a webhook served by aiohttp."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from pydantic import ValidationError

from bot.app import App
from bot.config import Settings

logger = logging.getLogger("bot")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def run_polling(app: App) -> None:
    await app.bot.delete_webhook(drop_pending_updates=False)
    await app.dp.start_polling(app.bot, allowed_updates=app.dp.resolve_used_update_types())


def webhook_secret(settings: Settings) -> str:
    """The secret Telegram sends with every update: WEBHOOK_SECRET, or else one derived from
    the bot token. Derived, not random, so that every process of the bot (and a restarted one)
    agrees on it without being told; whoever knows the token controls the webhook anyway."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    if settings.bot_token is None:
        raise ValueError("a webhook needs BOT_TOKEN")
    token = settings.bot_token.get_secret_value().encode()
    digest = hmac.new(token, b"assembly-bot webhook secret", hashlib.sha256).digest()
    # URL-safe base64 is exactly the alphabet Telegram allows in a secret token.
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class WebhookHandler(SimpleRequestHandler):
    """Updates only from whoever knows the secret (Telegram), and only well-formed ones: a
    forged request gets 401, a body that is not an update 400, never a traceback."""

    def __init__(
        self, dispatcher: Dispatcher, bot: Bot, *, secret_token: str, handle_in_background: bool
    ) -> None:
        if not secret_token:
            raise ValueError("a webhook without a secret would take updates from anyone")
        super().__init__(
            dispatcher=dispatcher,
            bot=bot,
            secret_token=secret_token,
            handle_in_background=handle_in_background,
        )

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        # Bytes, because compare_digest refuses non-ASCII text, and a forged header may hold some.
        given = telegram_secret_token.encode("utf-8", "surrogateescape")
        return secrets.compare_digest(given, (self.secret_token or "").encode())

    async def handle(self, request: web.Request) -> web.Response:
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), bot):
            logger.warning("webhook request without the right secret from %s", request.remote)
            return web.Response(text="Unauthorized", status=401)
        try:
            payload = await request.json(loads=bot.session.json_loads)
            update = Update.model_validate(payload, context={"bot": bot})
        except (ValueError, ValidationError) as exc:  # malformed JSON, or JSON that is no update
            logger.warning("webhook request that is not an update: %s", type(exc).__name__)
            return web.Response(text="Bad Request: not an update", status=400)
        if self.handle_in_background:
            task = asyncio.create_task(self._feed(bot, update))
            self._background_feed_update_tasks.add(task)
            task.add_done_callback(self._background_feed_update_tasks.discard)
            return web.json_response({}, dumps=bot.session.json_dumps)
        result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(
            bot, update, **self.data
        )
        return web.Response(body=self._build_response_writer(bot=bot, result=result))

    async def _feed(self, bot: Bot, update: Update) -> None:
        result = await self.dispatcher.feed_update(bot, update, **self.data)
        if isinstance(result, TelegramMethod):
            await self.dispatcher.silent_call_request(bot=bot, result=result)


def webhook_app(app: App, *, handle_in_background: bool = True) -> web.Application:
    """The aiohttp application that receives updates at the webhook path, plus a health check.

    Telegram waits for the answer to a webhook call, so updates are handled in the background by
    default; tests handle them in the request to know when an update is done.
    """
    settings = app.settings
    secret = webhook_secret(settings)
    web_app = web.Application()

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", health)
    WebhookHandler(
        app.dp, app.bot, secret_token=secret, handle_in_background=handle_in_background
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
