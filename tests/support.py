"""Shared by the end-to-end tests: people made directly through the services, as if they had
done /start."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import func, select

from bot.services import bodies, users
from bot.services.errors import DomainError
from models import Role, User
from tests.conftest import ADMIN_ID, USE_POSTGRES

T = TypeVar("T")


async def register(
    running,
    telegram_id: int,
    name: str,
    *roles: Role,
    username: str | None = None,
    quiet_hours: bool = False,
) -> int:
    """A registered person (as if they had done /start); returns their internal id."""
    async with running.sessionmaker.begin() as session:
        user = await users.give_consent(session, telegram_id, language="ru", username=username)
        await users.set_name(session, user, name, max_length=100)
        await users.complete_registration(session, user)
        if not quiet_hours:
            # Notices must not depend on the hour the test runs at.
            user.quiet_from = user.quiet_to = None
        for role in roles:
            await users.grant_role(session, user, role)
        return user.id


async def make_secretary(running, telegram_id: int, name: str) -> int:
    """A registered person an admin seated in the Secretariat."""
    user_id = await register(running, telegram_id, name)
    async with running.sessionmaker.begin() as session:
        admin = await users.get_user(session, ADMIN_ID)
        await bodies.set_secretariat(session, admin, user_id, grant=True)
    return user_id


async def db_user(running, user_id: int) -> User:
    async with running.sessionmaker() as session:
        found = await session.get(User, user_id)
        assert found is not None
        return found


async def count(running, model) -> int:
    async with running.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def eventually(check, timeout: float = 30.0) -> None:
    """Wait for background work (the delivery worker, the scheduler); fails if it never comes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the expected state never came")
        await asyncio.sleep(0.05)


async def offered_commands(person) -> str:
    """Every section of the person's home screen (/help), one after another: what they are
    offered in all."""
    shown = (await person.say("/help"))[0]
    texts = [shown.text]
    tabs = [label for label in person.button_texts(shown) if label.startswith("» ")]
    for tab in tabs:
        texts.append((await person.click(tab, shown.message_id))[0].text)
    return "\n".join(texts)


async def as_a_new_update_would(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` (a transaction of its own) racing others: on SQLite a writer that lost the
    race gets an error and tries again, as a new update would; a rule's refusal is final."""
    for _attempt in range(20):
        try:
            return await work()
        except DomainError:
            raise
        except Exception:
            if USE_POSTGRES:
                raise
            await asyncio.sleep(0)
    raise AssertionError("never got through")
