"""The audit key: its settings, the key derived from the token with a warning, fingerprints, and
entries from before the log was keyed, signed only by the operator's explicit seal."""

from __future__ import annotations

import argparse
import hashlib
import json
import logging

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from bot import db
from bot.app import create_app
from bot.config import Settings
from bot.services import audit
from bot.services.audit import keys as audit_keys
from bot.services.audit.chain import seal_legacy
from models import AuditEntry, AuditHead
from tests.conftest import AUDIT_KEYS, TOKEN, make_settings


def test_audit_settings(monkeypatch):
    monkeypatch.setenv("AUDIT_KEY", "short")
    with pytest.raises(ValidationError, match="at least 16"):
        Settings(_env_file=None)
    monkeypatch.setenv("AUDIT_KEY", "k" * 16)
    monkeypatch.setenv("AUDIT_OLD_KEYS", "first-old-key-0001, second-old-key-002")
    settings = Settings(_env_file=None)
    old = [key.get_secret_value() for key in settings.audit_old_keys]
    assert old == ["first-old-key-0001", "second-old-key-002"]
    assert settings.audit_witness_every == 100
    monkeypatch.setenv("AUDIT_OLD_KEYS", "too-short")
    with pytest.raises(ValidationError, match="at least 16"):
        Settings(_env_file=None)


def test_fingerprints_tell_keys_apart_and_hide_them():
    keys = audit_keys.AuditKeys(b"current-key-000000", (b"the-old-key-000000",))
    old_id = audit_keys.key_id(b"the-old-key-000000")
    assert keys.current_id != old_id
    assert set(keys.by_id) == {keys.current_id, old_id}
    assert "current" not in keys.current_id
    assert keys.sign(b"x", "unknown") is None


async def test_without_audit_key_one_is_derived_from_the_token_with_a_warning(
    database_url, redis_prefix, fake, caplog
):
    settings = make_settings(database_url, redis_prefix, fake, audit_key=None)
    with caplog.at_level(logging.WARNING, logger="bot.audit"):
        app = await create_app(settings)
    try:
        assert "AUDIT_KEY is not set" in caplog.text
        assert TOKEN not in caplog.text
        async with app.sessionmaker.begin() as session:
            keys = audit_keys.of(session)
            assert keys.derived
            assert keys.current == audit_keys.derive_from_token(TOKEN)
            await audit.record(session, None, "test.action", "thing", 1)
        async with app.sessionmaker() as session:
            assert (await audit.verify(session)).ok
    finally:
        await app.close()


async def test_a_session_without_keys_cannot_write_the_log(engine):
    async with db.create_sessionmaker(engine)() as session:
        with pytest.raises(RuntimeError, match="no audit key"):
            await audit.record(session, None, "test.action", "thing", 1)


async def _unkey(session, *, break_at: int | None = None) -> None:
    """Turn the log into what the unkeyed version wrote (SHA-256, no key fingerprint)."""
    prev = "0" * 64
    for entry in (await session.scalars(select(AuditEntry).order_by(AuditEntry.seq))).all():
        fields = [prev, entry.seq, entry.at.isoformat(), entry.actor_id, entry.action]
        fields += [entry.object_type, entry.object_id, entry.details]
        payload = json.dumps(
            fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
        )
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()
        action = "tampered" if entry.seq == break_at else entry.action
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.seq == entry.seq)
            .values(prev_hash=prev, hash=digest, key_id=None, action=action)
        )
        prev = digest
    await session.execute(update(AuditHead).where(AuditHead.id == 1).values(last_hash=prev))
    session.expire_all()


async def test_unkeyed_entries_are_reported_until_the_operator_seals_them(session):
    for n in range(3):
        await audit.record(session, None, "test.action", "thing", n)
    await _unkey(session)
    result = await audit.verify(session)
    assert (result.ok, result.broken_at, result.reason) == (False, 1, "audit-broken-unkeyed")

    assert await seal_legacy(session) == 3
    assert (await audit.verify(session)).ok
    await audit.record(session, None, "test.action", "thing", 3)
    assert (await audit.verify(session)).entries == 4
    assert await seal_legacy(session) == 0


async def test_a_broken_unkeyed_chain_is_not_sealed(session):
    for n in range(3):
        await audit.record(session, None, "test.action", "thing", n)
    await _unkey(session, break_at=2)
    assert await seal_legacy(session) is None
    result = await audit.verify(session)
    assert (result.ok, result.broken_at) == (False, 1)
    signed = await session.scalars(select(AuditEntry.key_id))
    assert set(signed) == {None}


async def test_the_operator_seals_from_the_command_line(
    database_url, redis_prefix, fake, engine, capsys
):
    from bot.__main__ import cmd_audit_seal

    async with db.create_sessionmaker(engine, audit=AUDIT_KEYS).begin() as session:
        for n in range(2):
            await audit.record(session, None, "test.action", "thing", n)
        await _unkey(session)
    await cmd_audit_seal(argparse.Namespace(), make_settings(database_url, redis_prefix, fake))
    assert "signed 2 audit entries" in capsys.readouterr().out
    async with db.create_sessionmaker(engine, audit=AUDIT_KEYS)() as session:
        assert (await audit.verify(session)).ok
