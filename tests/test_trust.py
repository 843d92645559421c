"""Every privileged command and button, played by someone without the role and with forged
callback data: each is refused, and the database does not change."""

from __future__ import annotations

import ast
import enum
import functools
import importlib
import itertools
import pkgutil
from collections import Counter
from pathlib import Path

import pytest
from aiogram.filters.callback_data import CallbackData
from sqlalchemy import select, text

import bot.keyboards
from bot.services import districts, organizations, users
from bot.services.organizations import Draft
from handlers import CAPABILITIES
from models import Base, OrganizationKind, Role
from tests.conftest import ADMIN_ID

ROOT = Path(__file__).resolve().parent.parent
# Buttons anyone may press; they act on the presser's own data or show public information.
PUBLIC = {cls.__name__ for cls in CAPABILITIES.public_callbacks()}
# Tables the bot's own machinery changes while it runs (the scheduler renews its lease, the
# delivery worker draws from the shared sending quota).
OPERATIONAL = {"leases", "send_quota"}
PROPOSALS = "Конкретные предложения по благоустройству дворов и учёту потребностей жителей. " * 2


def callback_classes() -> dict[str, type[CallbackData]]:
    for module in pkgutil.iter_modules(bot.keyboards.__path__):
        importlib.import_module(f"bot.keyboards.{module.name}")
    found: dict[str, type[CallbackData]] = {}
    stack = list(CallbackData.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("bot.keyboards"):
            found[cls.__name__] = cls
    return found


def _literals(tree: ast.AST) -> set[str]:
    words = set()
    for node in ast.walk(tree):
        value = getattr(node, "value", None)
        if isinstance(node, ast.Constant) and isinstance(value, str):
            if value.replace("_", "").isalpha() and value.islower() and len(value) <= 16:
                words.add(value)
    return words


def _names(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


@functools.cache
def _definitions() -> list[tuple[str, frozenset[str], frozenset[str]]]:
    """Every function and class of the keyboards and handlers: (its name, the names it uses,
    its short literals), parsed once per process (parsing them for every class took 0.4 s a
    class)."""
    found = []
    for directory in ("bot/keyboards", "handlers"):
        for path in (ROOT / directory).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    found.append((node.name, frozenset(_names(node)), frozenset(_literals(node))))
    return found


def words_for(class_name: str) -> list[str]:
    """Short lowercase literals of every function (decorators included) in the keyboards and
    handlers that names the button class: the actions its buttons carry, its filters and its
    handlers' branches read. (Every literal of the code for every class made 4,000 presses, most
    of them words nothing of the class reads.)"""
    words: set[str] = set()
    for name, names, literals in _definitions():
        if class_name in names or name == class_name:
            words |= literals
    return sorted(words)


def combinations(choices: list[list[tuple[str, object]]], limit: int = 150) -> list[tuple]:
    """Every combination when there are few; otherwise each field through all its values while
    the others keep their first (two free-text fields would make tens of thousands)."""
    if not choices:
        return [()]
    total = 1
    for options in choices:
        total *= len(options)
    if total <= limit:
        return list(itertools.product(*choices))
    first = [options[0] for options in choices]
    combos = []
    for index, options in enumerate(choices):
        for option in options:
            combos.append(tuple(option if i == index else first[i] for i in range(len(choices))))
    return combos


async def snapshot(running) -> dict[str, list[tuple]]:
    async with running.sessionmaker() as session:
        result = {}
        for table in Base.metadata.sorted_tables:
            if table.name in OPERATIONAL:
                continue
            rows = (await session.execute(text(f'SELECT * FROM "{table.name}"'))).all()
            result[table.name] = sorted(tuple(map(str, row)) for row in rows)
        return result


async def setup(running) -> dict[str, int]:
    async with running.sessionmaker.begin() as session:
        head = await users.give_consent(session, 5001, language="ru", username=None)
        await users.set_name(session, head, "Глава", max_length=100)
        await users.complete_registration(session, head)
        intruder = await users.give_consent(session, 5002, language="ru", username=None)
        await users.set_name(session, intruder, "Чужой", max_length=100)
        await users.complete_registration(session, intruder)
        district = await districts.seed_district(session, 1, "Центр")
        secretary = await users.get_user(session, ADMIN_ID)
        pending = await organizations.submit(
            session,
            head,
            Draft(
                "Ожидающая",
                OrganizationKind.NGO,
                district.id,
                "Описание организации." * 2,
                "тел. 1",
                PROPOSALS,
            ),
        )
        approved = await organizations.submit(
            session,
            head,
            Draft(
                "Принятая",
                OrganizationKind.TOS,
                district.id,
                "Описание организации." * 2,
                "тел. 2",
                PROPOSALS,
            ),
        )
        await organizations.decide(session, secretary, approved.id, approve=True)
        return {
            "head": head.id,
            "intruder": intruder.id,
            "pending": pending.id,
            "approved": approved.id,
        }


async def test_privileged_commands_are_refused(fake, running):
    await setup(running)
    intruder = fake.user(5002, "Чужой")
    before = await snapshot(running)
    privileged = [spec for spec in CAPABILITIES.commands if spec.roles]
    assert len(privileged) >= 8
    for spec in privileged:
        replies = await intruder.say(f"/{spec.name} 1 Forged")
        assert replies, f"/{spec.name} got no answer"
        assert "нет прав" in replies[0].text, f"/{spec.name}: {replies[0].text!r}"
    assert await snapshot(running) == before


# The button classes are forged in shards, so that the shards run side by side (pytest -n).
SHARDS = 6


def test_the_shards_cover_every_button_class():
    unclassified = sorted(name for name in callback_classes() if name not in PUBLIC)
    assert "CDApp" in unclassified and "CDOrgRep" in unclassified
    shards = [unclassified[shard::SHARDS] for shard in range(SHARDS)]
    assert sorted(name for shard in shards for name in shard) == unclassified


@pytest.mark.parametrize("shard", range(SHARDS))
async def test_forged_buttons_are_refused_and_change_nothing(fake, running, shard):
    ids = await setup(running)
    intruder = fake.user(5002, "Чужой")
    anchor = (await intruder.say("/help"))[0]  # a real message to hang forged buttons on
    classes = callback_classes()
    unclassified = sorted(name for name in classes if name not in PUBLIC)[shard::SHARDS]
    numbers = sorted(set(ids.values()) | {1, 2, 999})

    before = await snapshot(running)
    forged: list[str] = []
    for name in unclassified:
        cls = classes[name]
        words = words_for(name)
        fields = cls.model_fields
        choices = []
        for field_name, field in fields.items():
            if field.annotation in (int, "int"):
                choices.append([(field_name, n) for n in numbers])
            elif field.annotation in (bool, "bool"):
                choices.append([(field_name, b) for b in (True, False)])
            elif isinstance(field.annotation, type) and issubclass(field.annotation, enum.Enum):
                choices.append([(field_name, member) for member in field.annotation])
            else:
                choices.append([(field_name, w) for w in words])
        for combo in combinations(choices):
            data = cls(**dict(combo)).pack()
            if len(data.encode()) > 64:
                continue
            forged.append(data)
        # And data no button ever carried: a stale or hand-made string with the right prefix.
        forged.append(f"{cls.__prefix__}:💥:-1:x")
    assert len(forged) > 50
    # Pressed a batch at a time (the bot takes up to 100 updates per getUpdates), each batch
    # waited for until the bot has handled all of it: a press costs its handling only.
    for start in range(0, len(forged), 100):
        batch = forged[start : start + 100]
        answers = len(intruder.callback_answers)
        for data in batch:
            last = await intruder.press_data(anchor.message_id, data)
        await fake.wait_processed(last, timeout=60)
        answered = Counter(a.data for a in intruder.callback_answers[answers:])
        unanswered = Counter(batch) - answered
        assert answered == Counter(batch), f"no answer or several: {unanswered or answered}"
    after = await snapshot(running)
    changed = [table for table in before if before[table] != after[table]]
    assert not changed, f"forged buttons changed {changed}"
    # Nothing the intruder got reveals a pending application.
    assert not any("Ожидающая" in m.text for m in intruder.bot_messages)


async def test_someone_elses_organization_cannot_be_managed(fake, running):
    ids = await setup(running)
    intruder = fake.user(5002, "Чужой")
    anchor = (await intruder.say("/help"))[0]
    before = await snapshot(running)
    for action in ("invite", "reps", "leave", "leave_yes", "answer"):
        await intruder.click_data(anchor.message_id, f"org:{ids['approved']}:{action}")
        assert intruder.callback_answers[-1].show_alert
    await intruder.click_data(anchor.message_id, f"orep:{ids['approved']}:{ids['head']}")
    assert await snapshot(running) == before
    async with running.sessionmaker() as session:
        assert Role.REPRESENTATIVE not in (await users.get_user(session, 5002)).role_set
        assert (await session.execute(select(text("1")))).scalar() == 1
