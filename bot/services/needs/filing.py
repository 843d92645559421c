"""Filing a need: the checks of each field of the dialog, the similar open needs shown before it
is saved, supporting one of them instead, and saving it (with its photos, its first history
event, its search terms and an audit entry)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, users
from bot.services.errors import InvalidInput, NotFound
from bot.services.needs import support, terms
from bot.services.permissions import require_registered
from models import District, User
from models.needs import (
    Need,
    NeedCategory,
    NeedEvent,
    NeedEventKind,
    NeedPhoto,
    NeedStatus,
)

# A description a pensioner types on a phone fits easily; a pasted article does not, and the
# need's card (with its history) must stay within one Telegram message.
DESCRIPTION_LIMITS = (10, 2000)
ADDRESS_LIMITS = (3, 300)
# Telegram sends at most ten photos in one album; a need's card shows them as one.
MAX_PHOTOS = 10
FILE_ID_LENGTH = 200
SIMILAR_SHOWN = 5


@dataclass
class NeedDraft:
    category_id: int
    district_id: int
    description: str
    photos: list[str] = field(default_factory=list)  # Telegram file_ids, in the order sent
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    show_name: bool = False


def clean_description(raw: str) -> str:
    """The description as typed, trimmed; too short or too long is refused with its length."""
    value = raw.strip()
    low, high = DESCRIPTION_LIMITS
    if len(value) < low:
        raise InvalidInput("needs-file-description-too-short", min=low, length=len(value))
    if len(value) > high:
        raise InvalidInput("needs-file-description-too-long", max=high, length=len(value))
    return value


def clean_address(raw: str) -> str:
    value = " ".join(raw.split())
    low, high = ADDRESS_LIMITS
    if len(value) < low:
        raise InvalidInput("needs-file-address-too-short", min=low)
    if len(value) > high:
        raise InvalidInput("needs-file-address-too-long", max=high, length=len(value))
    return value


def check_location(latitude: float, longitude: float) -> tuple[float, float]:
    if not (
        math.isfinite(latitude)
        and math.isfinite(longitude)
        and -90 <= latitude <= 90
        and -180 <= longitude <= 180
    ):
        raise InvalidInput("needs-file-location-invalid")
    return latitude, longitude


async def category(session: AsyncSession, category_id: int) -> NeedCategory | None:
    """An active category by id (None for an unknown or retired one)."""
    found = await session.get(NeedCategory, category_id)
    return found if found is not None and found.active else None


async def similar(session: AsyncSession, district_id: int, text: str) -> list[tuple[Need, int]]:
    """The district's open needs like this text, best first, for "support this one instead"."""
    return await terms.similar(session, district_id, text, SIMILAR_SHOWN)


async def support_instead(
    session: AsyncSession, supporter: User, need_id: int, *, entered_by: User | None = None
) -> tuple[Need, bool]:
    """`supporter` supports a similar open need rather than filing their own (the general rule
    is `support.support`: once per person, counted in the same transaction). Returns the need and
    whether this was a new support. A secretary may do it for a citizen on the phone; the
    answers speak of the need the dialog offered."""
    if entered_by is not None:
        users.require_registrar(entered_by)
    try:
        return await support.support(session, supporter, need_id)
    except (NotFound, support.NeedClosed):
        raise NotFound("needs-file-similar-gone") from None
    except support.OwnNeed:
        raise InvalidInput("needs-file-support-own", number=need_id) from None


async def file_need(
    session: AsyncSession, author: User, draft: NeedDraft, entered_by: User | None = None
) -> Need:
    """Save a need: its photos, its first event (filed), its search terms and an audit entry.
    `entered_by` is a secretary filing it for a citizen who phoned or wrote on paper."""
    if entered_by is None:
        require_registered(author)
    else:
        users.require_registrar(entered_by)
        if not author.is_registered:
            raise NotFound("error-not-found")
    if await category(session, draft.category_id) is None:
        raise NotFound("needs-file-category-gone")
    if await session.get(District, draft.district_id) is None:
        raise NotFound("districts-not-found")
    description = clean_description(draft.description)
    address = clean_address(draft.address) if draft.address else None
    latitude = longitude = None
    if draft.latitude is not None and draft.longitude is not None:
        latitude, longitude = check_location(draft.latitude, draft.longitude)
    photos = [p for p in draft.photos if p and len(p) <= FILE_ID_LENGTH][:MAX_PHOTOS]
    need = Need(
        district_id=draft.district_id,
        category_id=draft.category_id,
        author_id=author.id,
        entered_by_id=entered_by.id if entered_by else None,
        description=description,
        address=address,
        latitude=latitude,
        longitude=longitude,
        show_name=draft.show_name,
        status=NeedStatus.NEW,
        photos=[NeedPhoto(file_id=file_id, position=n) for n, file_id in enumerate(photos)],
    )
    session.add(need)
    await session.flush()
    actor = entered_by or author
    session.add(
        NeedEvent(
            need_id=need.id,
            kind=NeedEventKind.FILED,
            status_to=NeedStatus.NEW,
            public=True,
            actor_id=actor.id,
        )
    )
    await terms.index(session, need)
    await audit.record(
        session,
        actor,
        "need.file",
        "need",
        need.id,
        district=need.district_id,
        category=need.category_id,
        author=author.id,
        entered_by_secretariat=entered_by is not None,
    )
    return need
