"""The cache of people and their conversation state: what a process keeps between updates is
dropped when a change to it commits (in this process, in another, after a restart), and a load
that raced a change is not kept."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from bot.app import create_app
from bot.cache.people import Changes, PeopleCache
from bot.services import users
from models import Role, User
from tests.conftest import make_settings
from tests.support import eventually, register


def secretariat_shown(text: str) -> bool:
    return "Секретариат" in text


@pytest.fixture
async def running(running):
    """The running bot once its cache keeps people: on PostgreSQL, from when its listener hears
    other processes' changes, a moment after the start (before that it keeps nobody)."""
    cache = running.app.cache
    assert cache is not None

    async def live() -> bool:
        return cache.live

    await eventually(live, timeout=10)
    return running


async def test_a_role_granted_by_another_process_is_seen(fake, running, database_url, redis_prefix):
    """A second application on the same database stands for another process (a webhook
    replica, a CLI): it shares nothing with the running bot but the database."""
    cache = running.app.cache
    assert cache is not None
    # On PostgreSQL the change is told at once (NOTIFY); on SQLite only the ttl bounds it.
    if running.app.engine.dialect.name != "postgresql":
        cache.ttl = 0.3
    user_id = await register(running, 7101, "Анна")
    anna = fake.user(7101, "Анна")
    home = (await anna.say("/help"))[0]
    assert not any(secretariat_shown(label) for label in anna.button_texts(home))
    assert cache.person(7101) is not None  # kept after the first update
    other = await create_app(make_settings(database_url, redis_prefix, fake))
    try:
        async with other.sessionmaker.begin() as session:
            person = await session.get(User, user_id)
            assert person is not None
            await users.grant_role(session, person, Role.SECRETARIAT)
    finally:
        await other.close()

    await eventually(lambda: _forgotten(cache, 7101), timeout=10)
    home = (await anna.say("/help"))[0]
    assert any(secretariat_shown(label) for label in anna.button_texts(home))


async def _forgotten(cache: PeopleCache, telegram_id: int) -> bool:
    return cache.person(telegram_id) is None


async def test_a_change_in_this_process_is_seen_at_once(fake, running):
    user_id = await register(running, 7102, "Борис")
    boris = fake.user(7102, "Борис")
    await boris.say("/help")
    assert running.app.cache.person(7102) is not None
    async with running.sessionmaker.begin() as session:
        person = await session.get(User, user_id)
        await users.grant_role(session, person, Role.SECRETARIAT)
    # Replaced at the commit (or dropped): the next update has the new roles, no waiting.
    kept = running.app.cache.person(7102)
    assert kept is None or {"role": Role.SECRETARIAT} in [
        {"role": role["role"]} for role in kept.roles
    ]
    home = (await boris.say("/help"))[0]
    assert any(secretariat_shown(label) for label in boris.button_texts(home))


async def test_a_bulk_update_drops_the_people_it_names_or_everyone(fake, running):
    await register(running, 7103, "Вера")
    other_id = await register(running, 7104, "Глеб")
    for telegram_id in (7103, 7104):
        await fake.user(telegram_id, "x").say("/help")
    cache = running.app.cache
    async with running.sessionmaker.begin() as session:
        await session.execute(
            update(User)
            .where(User.id == other_id)
            .values(language="en")
            .execution_options(people=(other_id,))
        )
    assert cache.person(7104) is None and cache.person(7103) is not None
    async with running.sessionmaker.begin() as session:
        await session.execute(update(User).where(User.id == other_id).values(language="ru"))
    assert cache.person(7103) is None  # a statement that names nobody drops everyone


async def test_nothing_kept_survives_a_restart(fake, running):
    user_id = await register(running, 7105, "Дина")
    dina = fake.user(7105, "Дина")
    russian = (await dina.say("/help"))[0].text
    # A change made past the bot's code (SQL typed by hand): the running process is not told,
    # so it answers from what it kept (for at most the ttl)...
    async with running.app.engine.begin() as conn:
        await conn.execute(update(User).where(User.id == user_id).values(language="en"))
    assert (await dina.say("/help"))[0].text == russian
    # ...and a restarted one starts with nothing kept.
    await running.restart()
    assert (await dina.say("/help"))[0].text != russian


def test_a_load_that_raced_a_change_is_not_kept():
    cache = PeopleCache(ttl=60)
    epoch = cache.epoch
    cache.forget(Changes(telegram_ids={1}))  # a change heard while the load was in flight
    cache.keep(1, None, epoch)
    assert cache.person(1) is None
    cache.keep(1, None, cache.epoch)
    assert cache.person(1) is not None


def test_while_changes_cannot_be_heard_nothing_is_kept():
    cache = PeopleCache(ttl=60, live=False)
    cache.keep(1, None, cache.epoch)
    assert cache.person(1) is None
    cache.resume()
    cache.keep(1, None, cache.epoch)
    assert cache.person(1) is not None
    cache.pause()
    assert cache.person(1) is None


@pytest.mark.parametrize("ttl", [0.0])
def test_a_ttl_of_zero_turns_the_cache_off(ttl):
    cache = PeopleCache(ttl=ttl)
    cache.keep(1, None, cache.epoch)
    assert cache.person(1) is None


async def test_an_erased_person_leaves_nothing_in_any_process_cache(fake, running):
    user_id = await register(running, 7107, "Жанна")
    await fake.user(7107, "Жанна").say("/help")
    cache = running.app.cache
    assert cache.person(7107) is not None
    async with running.sessionmaker.begin() as session:
        person = await session.get(User, user_id)
        await users.erase_user(session, person)
    assert cache.person(7107) is None
    assert not any(row and row.get("id") == user_id for row in _kept_rows(cache))


def _kept_rows(cache: PeopleCache) -> list[dict | None]:
    return [person.row for person in cache.people.values()]


async def test_a_person_changed_by_their_own_tap_stays_kept_as_committed(fake, running):
    await register(running, 7108, "Зоя")
    zoya = fake.user(7108, "Зоя")
    replies = await zoya.say("/settings")
    await zoya.click("✅ Объявления Ассамблеи", message_id=replies[0].message_id)
    kept = running.app.cache.person(7108)
    assert kept is not None and "announcements" in kept.row["muted_topics"]
    # What the next tap is served from is what the database holds.
    async with running.sessionmaker() as session:
        assert "announcements" in (await users.get_user(session, 7108)).muted_topics
    replies = await zoya.say("/settings")
    assert "⬜ Объявления Ассамблеи" in zoya.button_texts(replies[0])


def test_a_process_skips_its_own_notices_and_hears_the_others():
    from bot.cache.listener import _Hearing
    from bot.cache.tracking import CHANNEL, encode

    cache = PeopleCache(ttl=60)
    hear = _Hearing(cache)
    cache.keep(1, None, cache.epoch)
    hear(None, 0, CHANNEL, encode(Changes(telegram_ids={1}), cache.origin))
    assert cache.person(1) is not None  # its own commit already dropped what it had to
    hear(None, 0, CHANNEL, encode(Changes(telegram_ids={1}), "another process"))
    assert cache.person(1) is None
    cache.keep(2, None, cache.epoch)
    hear(None, 0, CHANNEL, "not json")
    assert cache.person(2) is None  # a notice it cannot read drops everything


async def test_a_commit_racing_another_change_does_not_keep_what_it_read_before(fake, running):
    """An update took the person from the cache; another changed their roles and committed;
    the first then commits its own change. It must not put back the roles it had read."""
    from bot.cache.people import load_person

    user_id = await register(running, 7109, "Ирина")
    await fake.user(7109, "Ирина").say("/help")
    cache = running.app.cache
    async with running.sessionmaker() as first:
        person = await load_person(first, 7109)
        assert person is not None and Role.SECRETARIAT not in person.role_set
        person.muted_topics = [*person.muted_topics, "projects"]
        async with running.sessionmaker.begin() as other:
            await users.grant_role(other, await other.get(User, user_id), Role.SECRETARIAT)
        await first.commit()
    kept = cache.person(7109)
    assert kept is None or Role.SECRETARIAT in [role["role"] for role in kept.roles]
    home = (await fake.user(7109, "Ирина").say("/help"))[0]
    assert any(secretariat_shown(label) for label in fake.user(7109).button_texts(home))
