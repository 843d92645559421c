"""Webhook mode: Telegram (the fake) posts updates to the bot's aiohttp server with the secret;
anyone else is refused, and a body that is not an update is a 400, not a failure."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import ValidationError

from bot.app import App, create_app
from bot.runners import SECRET_HEADER, serve_status, webhook_app, webhook_secret
from tests.conftest import ADMIN_ID, TOKEN, make_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def webhook_bot(fake, database_url, redis_prefix, **overrides: Any) -> AsyncIterator[str]:
    """The bot serving its webhook on a free port; yields the webhook's URL."""
    async with serving(fake, database_url, redis_prefix, **overrides) as (url, _app, _runner):
        yield url


@contextlib.asynccontextmanager
async def serving(
    fake, database_url, redis_prefix, **overrides: Any
) -> AsyncIterator[tuple[str, App, web.AppRunner]]:
    """The bot serving its webhook on a free port; yields the webhook's URL, the app and the
    server (whose cleanup() makes the port refuse connections, as a dead replica's would)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings = make_settings(
        database_url,
        redis_prefix,
        fake,
        webhook_url=url,
        webhook_host="127.0.0.1",
        webhook_port=port,
        **overrides,
    )
    app = await create_app(settings)
    runner = web.AppRunner(webhook_app(app))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield url, app, runner
    finally:
        await runner.cleanup()
        await app.close()


def forged_help(update_id: int) -> dict[str, Any]:
    """/help as if the admin had sent it."""
    person = {"id": ADMIN_ID, "is_bot": False, "first_name": "Admin", "language_code": "ru"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "from": person,
            "chat": {"id": ADMIN_ID, "type": "private", "first_name": "Admin"},
            "date": 1_700_000_000,
            "text": "/help",
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


async def test_webhook_receives_updates_and_checks_the_secret(fake, database_url, redis_prefix):
    async with webhook_bot(fake, database_url, redis_prefix, webhook_secret="s3cret-token") as url:
        assert fake.webhook_url == url
        assert fake.webhook_secret == "s3cret-token"
        user = fake.user(7001, "Вера")
        replies = await user.say("/start")
        assert "Серпуховской ассамблеи" in replies[0].text

        async with aiohttp.ClientSession() as client:
            forged = await client.post(url, json=forged_help(99))
            assert forged.status == 401  # no secret: not from Telegram
            health = await client.get(url.replace("/telegram/webhook", "/healthz"))
            assert (await health.json()) == {"ok": True}
        assert fake.chat(ADMIN_ID) == []


@pytest.mark.parametrize(
    "headers",
    [{}, {SECRET_HEADER: ""}, {SECRET_HEADER: "guess"}, {SECRET_HEADER: "sécret-ünïcode"}],
    ids=["none", "empty", "wrong", "non-ascii"],
)
async def test_without_a_configured_secret_forged_updates_are_refused(
    fake, database_url, redis_prefix, headers, caplog
):
    """No WEBHOOK_SECRET: the bot registers a secret of its own all the same."""
    async with webhook_bot(fake, database_url, redis_prefix, webhook_secret=None) as url:
        secret = fake.webhook_secret
        assert secret and len(secret) >= 32
        with caplog.at_level(logging.ERROR):
            async with aiohttp.ClientSession() as client:
                forged = await client.post(url, json=forged_help(99), headers=headers)
        assert forged.status == 401
        assert fake.chat(ADMIN_ID) == []  # the forged /help was not handled
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        # Telegram, which knows the secret, still gets through.
        replies = await fake.user(7002, "Олег").say("/start")
        assert "Серпуховской ассамблеи" in replies[0].text


async def test_the_generated_secret_is_the_same_in_every_process(fake, database_url, redis_prefix):
    settings = make_settings(database_url, redis_prefix, fake)
    again = make_settings(database_url, redis_prefix, fake)
    other_bot = make_settings(database_url, redis_prefix, fake, bot_token="4343:OTHER-token")
    assert webhook_secret(settings) == webhook_secret(again) != webhook_secret(other_bot)
    assert TOKEN.split(":")[1] not in webhook_secret(settings)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[1, 2]", b'"text"', b'{"update_id": "x"}', b'{"message": {}}'],
    ids=["broken", "empty", "list", "string", "bad-id", "no-id"],
)
async def test_a_body_that_is_no_update_is_a_400(fake, database_url, redis_prefix, body, caplog):
    async with webhook_bot(fake, database_url, redis_prefix) as url:
        headers = {SECRET_HEADER: fake.webhook_secret, "Content-Type": "application/json"}
        with caplog.at_level(logging.ERROR):
            async with aiohttp.ClientSession() as client:
                response = await client.post(url, data=body, headers=headers)
                text = await response.text()
        assert response.status == 400
        assert "Traceback" not in text
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_secret_telegram_would_refuse_is_a_settings_error(fake, database_url):
    with pytest.raises(ValidationError, match="webhook_secret"):
        make_settings(database_url, None, fake, webhook_secret="with spaces!")


async def test_an_update_is_answered_only_once_it_has_been_handled(
    fake, database_url, redis_prefix
):
    """Telegram re-sends an update it got no answer for: answering before handling would lose
    the update when a replica dies in between."""
    admin = fake.user(ADMIN_ID, "Admin")
    async with webhook_bot(fake, database_url, redis_prefix) as url:
        headers = {SECRET_HEADER: fake.webhook_secret}
        async with aiohttp.ClientSession() as client:
            response = await client.post(url, json=forged_help(1), headers=headers)
            assert response.status == 200
            # The reply went out before the answer came back.
            assert admin.bot_messages


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus's text format (0 when it is not there)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    head = f"{name}{{{wanted}}}" if wanted else name
    for line in text.splitlines():
        if line.startswith(head + " "):
            return float(line.split()[-1])
    return 0.0


async def test_health_readiness_and_metrics(fake, database_url, redis_prefix):
    async with serving(fake, database_url, redis_prefix) as (url, app, _runner):
        base = url.removesuffix("/telegram/webhook")
        async with aiohttp.ClientSession() as client:
            ready = await client.get(f"{base}/readyz")
            assert ready.status == 200 and (await ready.json()) == {"ready": True}
            # Not ready while the deliveries and the scheduler do not run.
            await app.stop_background()
            ready = await client.get(f"{base}/readyz")
            assert ready.status == 503
            assert (await ready.json()) == {"ready": False, "background": "not running"}
            await app.start_background()

            before = await (await client.get(f"{base}/metrics")).text()
            await fake.user(7003, "Инна").say("/help")
            await fake.user(7003, "Инна").say("/help")
            scraped = await client.get(f"{base}/metrics")
            assert scraped.headers["Content-Type"].startswith("text/plain")
            after = await scraped.text()
        count = "assembly_update_seconds_count"
        assert (
            sample(after, count, handler="home.cmd_help")
            - sample(before, count, handler="home.cmd_help")
            == 2
        )
        assert sample(after, "assembly_scheduler_leader") == 1
        assert "assembly_delivery_queue_depth" in after
        assert "assembly_delivery_oldest_pending_seconds" in after
        hits = sample(after, "assembly_people_cache_total", result="hit")
        assert hits > sample(before, "assembly_people_cache_total", result="hit")


async def test_a_bot_that_polls_serves_its_status_on_metrics_port(fake, database_url, redis_prefix):
    port = free_port()
    settings = make_settings(
        database_url, redis_prefix, fake, webhook_host="127.0.0.1", metrics_port=port
    )
    app = await create_app(settings)
    status = await serve_status(app)
    try:
        async with aiohttp.ClientSession() as client:
            health = await client.get(f"http://127.0.0.1:{port}/healthz")
            assert (await health.json()) == {"ok": True}
            scraped = await client.get(f"http://127.0.0.1:{port}/metrics")
            assert "assembly_update_seconds" in await scraped.text()
    finally:
        await status.cleanup()
        await app.close()
