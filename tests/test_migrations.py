"""The models and the migrations never drift, and every migration goes up, down and up again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bot import db
from models import Base


async def test_models_match_migrations(engine):
    def diff(sync_conn):
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], f"models and migrations differ; write a migration: {changes}"


async def test_stairway(engine):
    revisions = list(
        ScriptDirectory.from_config(db.alembic_config()).walk_revisions("base", "heads")
    )
    revisions.reverse()
    await db.downgrade(engine, "base")
    for revision in revisions:
        await db.upgrade(engine, revision.revision)
        await db.downgrade(engine, revision.down_revision or "base")
        await db.upgrade(engine, revision.revision)

    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert set(Base.metadata.tables) <= tables


async def test_migrations_are_numbered_in_order():
    script = ScriptDirectory.from_config(db.alembic_config())
    revisions = [r.revision for r in script.walk_revisions("base", "heads")][::-1]
    assert revisions == [f"{n:03d}" for n in range(1, len(revisions) + 1)]
