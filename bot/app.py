"""Builds the bot, the dispatcher and the database from settings (construction, not running)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.utils.callback_answer import CallbackAnswerMiddleware
from aiogram.utils.token import TokenValidationError
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import db, metrics
from bot.cache import listener
from bot.cache.people import PeopleCache
from bot.capabilities import JobContext, Registry
from bot.config import Settings, StartupError
from bot.delivery import DeliveryWorker
from bot.delivery.quota import DatabaseQuota, RedisQuota, SharedQuota
from bot.delivery.render import make_label_renderer, make_post_renderer, make_renderer
from bot.delivery.status import ProgressReporter
from bot.delivery.telegram import AiogramSender
from bot.filters import run_sync_filters_inline
from bot.i18n import PoI18n, create_i18n
from bot.isolation import RenewingRedisEventIsolation
from bot.languages import language_of
from bot.menu import set_default_menu, set_personal_menu
from bot.middlewares import (
    DbSessionMiddleware,
    DomainErrorMiddleware,
    PrivateChatsOnly,
    ThrottlingMiddleware,
    UserI18nMiddleware,
    UserMiddleware,
    make_error_handler,
)
from bot.middlewares.flood import FloodGuardMiddleware, ReplyRetryMiddleware
from bot.middlewares.menu import MenuMiddleware
from bot.services import users
from bot.services.audit import keys as audit_keys
from bot.storage import DatabaseStorage
from handlers import CAPABILITIES
from scheduler.runner import JobSpec, Scheduler

logger = logging.getLogger("bot")

# Connections to Redis per process, and the seconds a command waits for one of them.
REDIS_CONNECTIONS = 50
REDIS_WAIT = 20


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bot: Bot
    dp: Dispatcher
    i18n: PoI18n
    worker: DeliveryWorker
    scheduler: Scheduler
    cache: PeopleCache | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _worker_task: asyncio.Task[None] | None = None
    _listener_task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """The delivery worker (and with it the scheduler) runs in this process."""
        return self._worker_task is not None and not self._worker_task.done()

    async def start_background(self) -> None:
        """The delivery worker and the scheduler run beside the updates, in every process; the
        database decides which rows each one takes."""
        if self._worker_task is None:
            self._stop.clear()
            self._worker_task = asyncio.create_task(self.worker.run(self._stop))
            if self.cache is not None and self.engine.dialect.name == "postgresql":
                self._listener_task = asyncio.create_task(
                    listener.listen(self.cache, self.engine.url, self._stop)
                )
            await self.scheduler.start()

    async def stop_background(self) -> None:
        if self._worker_task is not None:
            self._stop.set()
            # A delivery in flight finishes and is recorded before the worker stops.
            await self._worker_task
            self._worker_task = None
            if self._listener_task is not None:
                await self._listener_task
                self._listener_task = None
            await self.scheduler.stop()

    async def close(self) -> None:
        await self.stop_background()
        CAPABILITIES.give_back(self.dp)
        await self.dp.fsm.close()
        await self.bot.session.close()
        await self.engine.dispose()


class BotSession(AiohttpSession):
    """aiogram's session, closed without its 250 ms pause when the API is plain HTTP: the pause
    lets TLS connections shut down gracefully, and a local Bot API server (or the sandbox's fake
    one) has none, so every restart and every test would wait for nothing."""

    async def close(self) -> None:
        if self.api.base.startswith("https://"):
            await super().close()
        elif self._session is not None and not self._session.closed:
            await self._session.close()


def create_bot(settings: Settings) -> Bot:
    if settings.bot_token is None:
        raise StartupError(
            "BOT_TOKEN is not set; get one from @BotFather or run `python -m bot sandbox`"
        )
    session = BotSession(api=TelegramAPIServer.from_base(str(settings.bot_api_url).rstrip("/")))
    try:
        return Bot(
            settings.bot_token.get_secret_value(),
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
    except TokenValidationError as exc:
        raise StartupError("BOT_TOKEN is malformed; it looks like 123456789:ABC-def…") from exc


def create_storage(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> tuple[BaseStorage, BaseEventIsolation]:
    if settings.redis_url:
        # A pool that waits for a free connection: redis-py's default one refuses the 101st
        # command in flight (MaxConnectionsError), and 500 people pressing at once are 500.
        pool = BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT
        )
        storage = RedisStorage(
            Redis(connection_pool=pool),
            key_builder=DefaultKeyBuilder(prefix=settings.redis_prefix, with_destiny=True),
        )
        return storage, RenewingRedisEventIsolation(storage.redis, key_builder=storage.key_builder)
    return DatabaseStorage(sessionmaker), SimpleEventIsolation()


def create_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: PoI18n,
    registry: Registry = CAPABILITIES,
) -> Dispatcher:
    storage, isolation = create_storage(settings, sessionmaker)
    # The FSM middleware is registered below, inside the session's: the state is then read in
    # the update's own transaction instead of one of its own.
    dp = Dispatcher(storage=storage, events_isolation=isolation, disable_fsm=True)
    dp["settings"] = settings
    dp["capabilities"] = registry
    # Order matters: updates from anywhere but a person's private chat are dropped first, before
    # they cost a session; menus are refreshed after the commit, so their middleware wraps the
    # session's; then the conversation state and the user (both read through the session), then
    # the language (needs the user).
    dp.update.outer_middleware(metrics.UpdateTimer())
    dp.update.outer_middleware(PrivateChatsOnly())
    dp.update.outer_middleware(
        MenuMiddleware(sessionmaker, i18n, registry, settings.default_language)
    )
    dp.update.outer_middleware(DbSessionMiddleware(sessionmaker))
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(UserMiddleware())
    dp.update.outer_middleware(UserI18nMiddleware(i18n))
    # Inside the session's (to roll it back) and the language's (to say so in the person's).
    dp.update.outer_middleware(FloodGuardMiddleware())
    throttling = ThrottlingMiddleware(settings.throttle_burst, settings.throttle_rate)
    for observer in (dp.message, dp.callback_query):
        observer.outer_middleware(throttling)
    # Every press is answered exactly once, after its handler, with what the handler (or a
    # refused rule) set; so the answer must wrap the domain errors' middleware.
    dp.callback_query.middleware(CallbackAnswerMiddleware())
    for observer in (dp.message, dp.callback_query):
        observer.middleware(DomainErrorMiddleware())
    # Innermost, so that it sees the handler the update reached.
    for name, observer in dp.observers.items():
        if name not in ("update", "error"):
            observer.middleware(metrics.HandlerNamer())
    dp.errors.register(make_error_handler(i18n, settings.default_language))
    dp.include_routers(*registry.routers())
    run_sync_filters_inline(dp)
    return dp


async def on_startup(bot: Bot, app: App) -> None:
    """Register the command menus; a failure here must not stop the bot from answering."""
    try:
        await set_default_menu(bot, app.i18n, CAPABILITIES, app.settings.default_language)
        async with app.sessionmaker() as session:
            for telegram_id in app.settings.admin_ids:
                user = await users.get_user(session, telegram_id)
                if user is None:
                    continue
                language = language_of(user.language, app.settings.default_language)
                await set_personal_menu(
                    bot, app.i18n, CAPABILITIES, telegram_id, user.role_set, language
                )
    except Exception:  # menus are a convenience: log it and go on answering
        logger.exception("could not set the command menus")


async def create_app(settings: Settings, bot: Bot | None = None) -> App:
    """Everything the bot needs, with the database migrated and the admins in place."""
    bot = bot or create_bot(settings)
    bot.session.middleware(ReplyRetryMiddleware())
    try:
        engine = await db.prepare_database(settings)
    except StartupError:
        await bot.session.close()
        raise
    keys = audit_keys.from_settings(settings)
    audit_keys.warn_if_derived(keys)
    # On PostgreSQL other processes may change people too: the cache keeps nothing until the
    # listener (started with the background work) hears their changes.
    cache = PeopleCache(settings.people_cache_ttl, live=engine.dialect.name != "postgresql")
    sessionmaker = db.create_sessionmaker(
        engine, audit=keys, channel=settings.public_channel_id, cache=cache
    )
    async with db.startup_lock(engine), sessionmaker.begin() as session:
        await users.ensure_admins(session, settings.admin_ids)
        await CAPABILITIES.startup(session, settings)
    i18n = create_i18n(settings.default_language)
    dp = create_dispatcher(settings, sessionmaker, i18n)
    worker = DeliveryWorker(
        sessionmaker,
        AiogramSender(bot),
        rate=settings.broadcast_rate,
        per_chat_interval=settings.chat_interval,
        render=make_renderer(i18n, settings.default_language),
        render_label=make_label_renderer(i18n, settings.default_language),
        on_progress=ProgressReporter(bot, sessionmaker, i18n, settings.default_language),
        quiet_timezone=settings.timezone,
        channel_id=settings.public_channel_id,
        render_post=make_post_renderer(i18n, settings.default_language, settings.timezone),
        quota=create_quota(settings, engine, dp),
    )
    scheduler = Scheduler(sessionmaker, job_specs(settings, i18n), timezone=settings.timezone)
    app = App(settings, engine, sessionmaker, bot, dp, i18n, worker, scheduler, cache)
    dp["app"] = app
    dp.startup.register(on_startup)
    dp.startup.register(app.start_background)
    dp.shutdown.register(app.stop_background)
    return app


def create_quota(settings: Settings, engine: AsyncEngine, dp: Dispatcher) -> SharedQuota | None:
    """The sending quota the replicas share: in Redis when there is one, else in PostgreSQL;
    SQLite serves one process, whose own limiter is exact."""
    if engine.dialect.name != "postgresql":
        return None
    redis = getattr(dp.storage, "redis", None)
    if isinstance(redis, Redis):
        return RedisQuota(redis, settings.redis_prefix, settings.broadcast_rate)
    return DatabaseQuota(engine, settings.broadcast_rate)


def job_specs(settings: Settings, i18n: PoI18n | None = None) -> dict[str, JobSpec]:
    """What each kind of scheduled job does, and whether it changes state or only reminds, as
    the capabilities declare it."""
    context = JobContext(settings, i18n or create_i18n(settings.default_language))
    return CAPABILITIES.job_specs(context)
