"""Settings from the environment and `.env`, split per area."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.languages import LANGUAGES

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/assembly.sqlite3"
AUDIT_KEY_MIN = 16
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class StartupError(Exception):
    """A problem the operator fixes in the settings; printed as one line, without a traceback."""


class Settings(BaseSettings):
    """Everything the bot reads from its environment; see README for each variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    # Keys in Redis start with this, so several bots (or test runs) can share one server.
    redis_prefix: str = "assembly-fsm"
    # Comma-separated in the environment: ADMIN_IDS=123,456
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    bot_api_url: AnyHttpUrl = AnyHttpUrl("https://api.telegram.org")
    webhook_url: AnyHttpUrl | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    webhook_path: str = "/telegram/webhook"
    # A bot that polls serves /healthz, /readyz and /metrics on this port (WEBHOOK_HOST) when set;
    # with a webhook they are on the webhook's port.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    default_language: str = "ru"
    timezone: str = "Europe/Moscow"
    broadcast_rate: float = 25.0
    # Seconds between two messages to one chat: Telegram allows about one a second.
    chat_interval: float = Field(default=1.0, ge=0.0)
    # Seconds a person and their conversation state stay in a process's memory between updates
    # (0: always read from the database). Changes are dropped from it when committed, in every
    # process on PostgreSQL; the ttl bounds what a change made without the bot's code could cost.
    people_cache_ttl: float = Field(default=60.0, ge=0.0)
    # Per-user throttling: a burst of this many updates, refilled at this rate per second.
    throttle_burst: int = 8
    throttle_rate: float = 2.0
    name_max_length: int = 100
    # Days local government has to answer an adopted recommendation.
    recommendation_reply_days: int = Field(default=30, ge=1, le=365)
    # Days a new need may wait for a decision before its district's base organization is
    # reminded, and before it is escalated to the Secretariat.
    need_remind_base_days: int = Field(default=3, ge=1, le=365)
    need_escalate_days: int = Field(default=7, ge=1, le=365)
    log_level: str = "INFO"
    # `json`: one JSON object per line, for log collectors; `text` is for people.
    log_format: Literal["text", "json"] = "text"
    # The secret that signs the audit log (HMAC); kept outside the database and its backups.
    # Unset: derived from BOT_TOKEN, with a warning at start.
    audit_key: SecretStr | None = None
    # Earlier audit keys, comma-separated, so entries signed before a rotation still verify.
    audit_old_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # Every this many entries the chain's head is sent to the admins (0: only daily and at start).
    audit_witness_every: int = Field(default=100, ge=0)
    # The Assembly's public channel (the bot one of its admins): conference notices, adopted
    # recommendations, public announcements and the audit log's head are also posted there.
    public_channel_id: int | None = None

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("public_channel_id", mode="before")
    @classmethod
    def _check_channel_id(cls, value: object) -> object:
        if value in (None, ""):
            return None
        number = int(str(value).strip()) if isinstance(value, str | int) else value
        if isinstance(number, int) and number >= 0:
            # A person's id would turn the channel's posts into private messages.
            raise ValueError("a channel's id is negative, like -1001234567890")
        return number

    @field_validator("audit_old_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("audit_key", "audit_old_keys")
    @classmethod
    def _check_audit_keys(cls, value: SecretStr | list[SecretStr] | None) -> object:
        keys = value if isinstance(value, list) else [value] if value is not None else []
        if any(len(key.get_secret_value()) < AUDIT_KEY_MIN for key in keys):
            raise ValueError(f"an audit key must have at least {AUDIT_KEY_MIN} characters")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("only sqlite+aiosqlite:// and postgresql+asyncpg:// are supported")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _check_webhook_secret(cls, value: object) -> object:
        if value in (None, ""):
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        # Telegram's own rule for secret_token; setWebhook refuses anything else.
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", text):
            raise ValueError("1-256 characters, only A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("default_language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def async_database_url(self) -> str:
        """The URL with an async driver, whatever the user wrote (postgres:// is common)."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite":
            url = url.set(drivername="sqlite+aiosqlite")
            if url.database and url.database != ":memory:":
                Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            url = url.set(drivername="postgresql+asyncpg")
        return url.render_as_string(hide_password=False)


def load_settings() -> Settings:
    """The settings, or a StartupError naming the first variable that is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]).upper()
        raise StartupError(f"{field} is invalid: {error['msg']}") from exc
