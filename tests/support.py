"""Shared by the end-to-end tests: people made directly through the services, as if they had
done /start."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.services import bodies, users
from models import Role, User
from tests.conftest import ADMIN_ID


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
