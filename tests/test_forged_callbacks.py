"""Buttons whose numbers are outside the database's integer range were forged: every prefix
answers them as a stale button, on both backends, and nothing fails."""

from __future__ import annotations

import enum
import itertools
import logging
from typing import Any, get_args

import pytest
from aiogram.filters.callback_data import CallbackData

import handlers  # noqa: F401 (every capability's buttons are defined once imported)
from bot.callbacks import DB_INT_MAX, DB_INT_MIN, BotCallback
from bot.services import districts
from tests.conftest import ADMIN_ID

# Beyond SQLite's INTEGER, beyond PostgreSQL's INTEGER, and below both.
HUGE = (2**63, DB_INT_MAX + 1, DB_INT_MIN - 1, -(2**63) - 1)
# The actions each prefix's handlers take (a forged press names one to get past the filter).
ACTIONS = {
    "org": ("answer", "invite", "reps", "leave", "leave_yes"),
    "app": ("open", "approve", "reject", "ask", "suspend", "restore"),
    "ann": ("now", "later", "send", "cancel", "stop"),
    "vt": (
        *("card", "open", "close", "cancel", "delete", "open!", "close!", "cancel!", "delete!"),
        *("waiting", "protocol", "announce", "announce!"),
    ),
    "rec": ("page", "show", "answer", "done"),
    "vb": ("shown", "pick", "tick", "back", "cast"),
}


def subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *subclasses(sub)]
    return found


def callback_classes() -> list[type[BotCallback]]:
    return [c for c in subclasses(BotCallback) if c.__module__.startswith(("bot.", "handlers."))]


def test_every_button_of_the_bot_checks_its_numbers():
    ours = [c for c in subclasses(CallbackData) if c.__module__.startswith(("bot.", "handlers."))]
    assert ours and all(issubclass(c, BotCallback) for c in ours if c is not BotCallback)


def _encode(value: Any) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _choices(prefix: str, name: str, annotation: Any, default: Any) -> list[Any]:
    """Plausible values for a field that is not a number."""
    kinds = get_args(annotation) or (annotation,)
    if bool in kinds:
        return [False, True]
    enums = [k for k in kinds if isinstance(k, type) and issubclass(k, enum.Enum)]
    if enums:
        return list(enums[0])[:1]
    if name in ("action", "act") and prefix in ACTIONS:
        return list(ACTIONS[prefix])
    return [default if isinstance(default, str) else "x"]


def forged(cls: type[BotCallback]) -> list[str]:
    """Data for every combination of its other fields, with numbers out of range: all of them
    at once, and each alone (the others 1, an id that exists)."""
    numbers = [n for n, f in cls.model_fields.items() if f.annotation in (int, "int")]
    others = {
        n: _choices(cls.__prefix__, n, f.annotation, f.default)
        for n, f in cls.model_fields.items()
        if n not in numbers
    }
    if not numbers:
        return []
    shapes = [dict.fromkeys(numbers, huge) for huge in HUGE]
    for name in numbers:
        shapes += [{**dict.fromkeys(numbers, 1), name: huge} for huge in HUGE[:2]]
    result = []
    for combo in itertools.product(*others.values()):
        for shape in shapes:
            values = {**dict(zip(others, combo, strict=True)), **shape}
            parts = [_encode(values[n]) for n in cls.model_fields]
            result.append(cls.__separator__.join([cls.__prefix__, *parts]))
    return result


def test_forged_data_does_not_parse():
    for cls in callback_classes():
        for data in forged(cls):
            with pytest.raises(ValueError):
                cls.unpack(data)


# The presses are many (every class, every shape): split so that parallel workers share them.
HUGE_SHARDS = 4


def test_every_class_with_a_number_is_forged():
    presses = [data for cls in callback_classes() for data in forged(cls)]
    assert len({data.split(":")[0] for data in presses}) >= 25  # every prefix with a number


@pytest.mark.parametrize("shard", range(HUGE_SHARDS))
async def test_forged_buttons_with_huge_numbers_are_stale(fake, running, caplog, shard):
    async with running.sessionmaker.begin() as session:
        await districts.seed_district(session, 1, "Заречье")
    admin = fake.user(ADMIN_ID, "Админ")
    home = (await admin.say("/help"))[0]
    await admin.click_data(home.message_id, "nothing:1")
    stale = admin.callback_answers[-1]
    assert stale.show_alert and stale.text
    classes = sorted(callback_classes(), key=lambda cls: cls.__prefix__)[shard::HUGE_SHARDS]
    presses = [data for cls in classes for data in forged(cls)]
    wrong: list[tuple[str, str | None]] = []
    with caplog.at_level(logging.ERROR):
        # A batch at a time (the bot takes up to 100 updates per getUpdates), each waited for
        # until the bot has handled all of it.
        for start in range(0, len(presses), 100):
            batch = presses[start : start + 100]
            seen = len(admin.callback_answers)
            for data in batch:
                last = await admin.press_data(home.message_id, data)
            await fake.wait_processed(last, timeout=60)
            answers = {a.data: a.text for a in admin.callback_answers[seen:]}
            assert len(admin.callback_answers) - seen == len(batch), "a press unanswered or twice"
            wrong += [(d, answers.get(d)) for d in batch if answers.get(d) != stale.text]
    assert wrong == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
