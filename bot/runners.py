"""Ways to receive updates: long polling, or a webhook served by aiohttp."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import secrets

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from pydantic import ValidationError

from bot import metrics
from bot.app import App
from bot.config import Settings

logger = logging.getLogger("bot")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def run_polling(app: App) -> None:
    await app.bot.delete_webhook(drop_pending_updates=False)
    status = await serve_status(app) if app.settings.metrics_port else None
    try:
        await app.dp.start_polling(app.bot, allowed_updates=app.dp.resolve_used_update_types())
    finally:
        if status is not None:
            await status.cleanup()


async def serve_status(app: App) -> web.AppRunner:
    """The status routes on METRICS_PORT, for a bot that polls (a webhook serves them itself)."""
    web_app = web.Application()
    add_status_routes(web_app, app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, app.settings.webhook_host, app.settings.metrics_port).start()
    logger.info("status and metrics on %s:%s", app.settings.webhook_host, app.settings.metrics_port)
    return runner


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
    forged request gets 401, a body that is not an update 400, never a traceback. An update is
    answered once it has been handled, however long that takes (aiogram's own handler answers
    after 55 s and goes on in the background, where a dying replica would lose it)."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, *, secret_token: str) -> None:
        if not secret_token:
            raise ValueError("a webhook without a secret would take updates from anyone")
        super().__init__(dispatcher=dispatcher, bot=bot, secret_token=secret_token)

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
        result = await self.dispatcher.feed_update(bot, update, **self.data)
        if isinstance(result, TelegramMethod):
            await self.dispatcher.silent_call_request(bot=bot, result=result)
        return web.json_response({}, dumps=bot.session.json_dumps)


def add_status_routes(web_app: web.Application, app: App) -> None:
    """`/healthz` (the process answers), `/readyz` (it can do its work: 503 with the reasons
    when it cannot) and `/metrics` (Prometheus's text format, bot.metrics)."""

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def ready(_request: web.Request) -> web.Response:
        problems = await metrics.readiness(app)
        return web.json_response(
            {"ready": not problems, **problems}, status=503 if problems else 200
        )

    async def scrape(_request: web.Request) -> web.Response:
        body = await metrics.exposition(app)
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    web_app.router.add_get("/healthz", health)
    web_app.router.add_get("/readyz", ready)
    web_app.router.add_get("/metrics", scrape)


def webhook_app(app: App) -> web.Application:
    """The aiohttp application that receives updates at the webhook path, plus the status routes.

    An update is answered only once it has been handled: a replica that dies mid-update leaves
    it unanswered, and Telegram sends it again (to another replica).
    """
    settings = app.settings
    secret = webhook_secret(settings)
    web_app = web.Application()
    add_status_routes(web_app, app)
    WebhookHandler(app.dp, app.bot, secret_token=secret).register(
        web_app, path=settings.webhook_path
    )
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
