"""Webhook mode: Telegram (the fake) posts updates to the bot's aiohttp server with the secret."""

from __future__ import annotations

import socket

import aiohttp
from aiohttp import web

from bot.app import create_app
from bot.runners import webhook_app
from tests.conftest import make_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_receives_updates_and_checks_the_secret(fake, database_url, redis_prefix):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings = make_settings(
        database_url,
        redis_prefix,
        fake,
        webhook_url=url,
        webhook_secret="s3cret-token",
        webhook_host="127.0.0.1",
        webhook_port=port,
    )
    app = await create_app(settings)
    runner = web.AppRunner(webhook_app(app, handle_in_background=False))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        assert fake.webhook_url == url
        user = fake.user(7001, "Вера")
        replies = await user.say("/start")
        assert "Серпуховской ассамблеи" in replies[0].text

        async with aiohttp.ClientSession() as client:
            forged = await client.post(url, json={"update_id": 99, "message": None})
            assert forged.status == 401  # no secret: not from Telegram
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
            assert (await health.json()) == {"ok": True}
    finally:
        await runner.cleanup()
        await app.close()
