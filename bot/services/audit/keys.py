"""The secrets that sign the audit log. They live in the settings, never in the database: whoever
can write the tables but does not hold the key cannot forge an entry the check accepts.

Services get the keys through the session (`session.info`, filled by the sessionmaker in
bot/db.py), so they stay free of aiogram and of the settings object.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from bot.config import Settings

logger = logging.getLogger("bot.audit")

INFO_KEY = "audit"
# A key derived from the bot token is marked so; the label keeps it apart from other uses.
DERIVATION_LABEL = b"assembly-bot audit key v1"


def key_id(secret: bytes) -> str:
    """A short public fingerprint of a key, stored with each entry so the right key checks it;
    it reveals nothing useful about the key itself."""
    return hashlib.sha256(b"audit-key-id\0" + secret).hexdigest()[:12]


@dataclass(frozen=True)
class AuditKeys:
    """The current signing key, the earlier ones by fingerprint, and the witness cadence."""

    current: bytes
    old: tuple[bytes, ...] = ()
    witness_every: int = 100
    derived: bool = False
    by_id: dict[str, bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = {key_id(secret): secret for secret in (*self.old, self.current)}
        object.__setattr__(self, "by_id", keys)

    @property
    def current_id(self) -> str:
        return key_id(self.current)

    def sign(self, payload: bytes, with_id: str | None = None) -> str | None:
        """HMAC-SHA256 of the payload with the key of that fingerprint (the current one by
        default); None when that key is not known."""
        secret = self.by_id.get(with_id or self.current_id)
        if secret is None:
            return None
        return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def derive_from_token(token: str) -> bytes:
    return hmac.new(token.encode("utf-8"), DERIVATION_LABEL, hashlib.sha256).digest()


def from_settings(settings: Settings) -> AuditKeys:
    """The keys the settings name; without AUDIT_KEY one is derived from BOT_TOKEN (a new token
    then means a new key, and entries signed with the old one need it in AUDIT_OLD_KEYS)."""
    old = tuple(key.get_secret_value().encode("utf-8") for key in settings.audit_old_keys)
    every = settings.audit_witness_every
    if settings.audit_key is not None:
        current = settings.audit_key.get_secret_value().encode("utf-8")
        return AuditKeys(current, old, every)
    if settings.bot_token is None:
        raise ValueError("AUDIT_KEY or BOT_TOKEN is needed to sign the audit log")
    return AuditKeys(derive_from_token(settings.bot_token.get_secret_value()), old, every, True)


def warn_if_derived(keys: AuditKeys) -> None:
    if keys.derived:
        logger.warning(
            "AUDIT_KEY is not set: the audit log is signed with a key derived from BOT_TOKEN. "
            "Set AUDIT_KEY (16+ characters, kept out of database backups) in production."
        )


def of(session: AsyncSession) -> AuditKeys:
    """The keys the session was made with (bot.db.create_sessionmaker)."""
    keys = session.info.get(INFO_KEY)
    if not isinstance(keys, AuditKeys):
        raise RuntimeError(
            "this session carries no audit key; make it with "
            "bot.db.create_sessionmaker(engine, audit=...)"
        )
    return keys
