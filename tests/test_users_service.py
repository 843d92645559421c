"""Rules about people, tested without Telegram."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.services import districts, users
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.permissions import require_registered, require_role
from models import Role, User, UserRole


async def test_consent_creates_one_user_and_is_idempotent(session):
    first = await users.give_consent(session, 111, language="en", username="anna")
    again = await users.give_consent(session, 111, language="ru", username="anna")
    assert first.id == again.id
    assert again.consent_version == users.CONSENT_VERSION
    assert again.language == "ru"
    assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_registration_grants_citizen_once(session):
    user = await users.give_consent(session, 5, language="ru", username=None)
    await users.set_name(session, user, "  Мария   Иванова ", max_length=100)
    assert user.name == "Мария Иванова"
    assert await users.complete_registration(session, user) is True
    assert await users.complete_registration(session, user) is False
    count = await session.scalar(select(func.count()).select_from(UserRole))
    assert count == 1 and user.role_set == {Role.CITIZEN}


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("", "onboarding-name-empty"),
        ("   ", "onboarding-name-empty"),
        ("x" * 101, "onboarding-name-too-long"),
        ("🙂🙂🙂", "onboarding-name-no-letters"),
        ("12345", "onboarding-name-no-letters"),
        ("Ann\u200bа", "onboarding-name-invalid"),
    ],
)
def test_bad_names_are_refused_with_a_reason(raw, key):
    with pytest.raises(InvalidInput) as info:
        users.clean_name(raw, 100)
    assert info.value.key == key


def test_unusual_but_valid_names_pass():
    assert users.clean_name("Анна 🌸", 100) == "Анна 🌸"
    assert users.clean_name("<b>Bob</b>", 100) == "<b>Bob</b>"  # escaped when shown, kept as typed


async def test_unknown_district_is_refused(session):
    user = await users.give_consent(session, 7, language="ru", username=None)
    with pytest.raises(NotFound):
        await users.set_district(session, user, 999)
    district = await districts.seed_district(session, 1, "Центральный")
    await users.set_district(session, user, district.id)
    assert user.district.name == "Центральный"


async def test_erase_keeps_an_anonymous_row_and_frees_the_telegram_id(session):
    user = await users.give_consent(session, 9, language="ru", username="x")
    await users.set_name(session, user, "Пётр", max_length=100)
    await users.complete_registration(session, user)
    await users.erase_user(session, user)
    await session.commit()
    row = await session.get(User, user.id)
    assert row.telegram_id is None and row.name is None and row.username is None
    assert row.consent_at is None and row.deleted_at is not None
    assert await session.scalar(select(func.count()).select_from(UserRole)) == 0
    assert await users.get_user(session, 9) is None
    fresh = await users.give_consent(session, 9, language="ru", username=None)
    assert fresh.id != user.id


async def test_admins_from_settings_hold_the_admin_role_only(session):
    await users.ensure_admins(session, [42, 42])
    await users.ensure_admins(session, [42])
    admin = await users.get_user(session, 42)
    assert admin.role_set == {Role.ADMIN}
    assert admin.name is None and admin.consent_at is None
    assert require_role(admin, Role.SECRETARIAT) is admin  # admins hold every role


async def test_role_checks(session):
    citizen = await users.give_consent(session, 1, language="ru", username=None)
    with pytest.raises(NotAllowed):
        require_registered(citizen)
    citizen.name = "A"
    await users.complete_registration(session, citizen)
    assert require_registered(citizen) is citizen
    with pytest.raises(NotAllowed):
        require_role(citizen, Role.SECRETARIAT)
    with pytest.raises(NotAllowed):
        require_role(None, Role.CITIZEN)
    await users.grant_role(session, citizen, Role.SECRETARIAT)
    assert require_role(citizen, Role.SECRETARIAT) is citizen
    assert await users.revoke_role(session, citizen, Role.SECRETARIAT) is True
    with pytest.raises(NotAllowed):
        require_role(citizen, Role.SECRETARIAT)


async def test_writing_to_the_bot_again_clears_the_blocked_mark(fake, running):
    from models.base import utcnow

    async with running.sessionmaker.begin() as session:
        user = await users.give_consent(session, 4040, language="ru", username=None)
        user.blocked_at = utcnow()
    await fake.user(4040, "Вера").say("/help")
    async with running.sessionmaker() as session:
        assert (await users.get_user(session, 4040)).blocked_at is None
