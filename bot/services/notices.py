"""Notices to named people (a decision on their application, a seat in a body), written in each
recipient's language and sent through the delivery engine like every other message."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from models import Outbox, Topic, User


async def notify(
    session: AsyncSession,
    people: Iterable[User],
    key: str,
    *,
    topic: Topic = Topic.DUTY,
    urgent: bool = False,
    **params: str | int,
) -> Outbox | None:
    """Queue the text `key` for these people; it goes out once the transaction commits.

    A parameter named `<name>_key` is a catalogue key, rendered as `<name>` in the recipient's
    language; one named `<name>_at` is a moment (`bot.dates.moment_param`), rendered as `<name>`
    in the recipient's language. Notices about one's own business are duty: they cannot be muted,
    but they do wait for the end of quiet hours unless `urgent`.
    """
    ids = sorted({person.id for person in people})
    if not ids:
        return None
    outbox = Outbox(kind="notice", topic=topic, urgent=urgent, text_key=key, text_params=params)
    await delivery.enqueue(session, outbox, {"users": ids})
    return outbox
