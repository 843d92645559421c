"""A delivery worker in a process of its own, for tests that kill it with SIGKILL:
python -m tests.delivery_child DATABASE_URL BOT_API_URL TOKEN CONCURRENCY BATCH.
It imports only the delivery engine, so that it starts quickly."""

from __future__ import annotations

import asyncio
import sys

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot import db
from bot.delivery import DeliveryWorker
from bot.delivery.telegram import AiogramSender


async def main(database_url: str, api_url: str, token: str, concurrency: int, batch: int) -> None:
    engine = db.create_engine(database_url)
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)))
    worker = DeliveryWorker(
        db.create_sessionmaker(engine),
        AiogramSender(bot),
        rate=1000.0,
        per_chat_interval=0.0,
        concurrency=concurrency,
        batch=batch,
    )
    await worker.run(asyncio.Event(), idle_sleep=0.05)  # until killed


if __name__ == "__main__":
    url, api, token, concurrency, batch = sys.argv[1:6]
    asyncio.run(main(url, api, token, int(concurrency), int(batch)))
