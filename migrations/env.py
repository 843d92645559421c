"""Alembic environment: runs on the connection the bot hands over, or on DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

import models

target_metadata = models.Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_settings() -> None:
    from bot.config import Settings
    from bot.db import create_engine

    engine = create_engine(Settings().async_database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


connection = context.config.attributes.get("connection")
if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_from_settings())
