"""Open data: the needs without personal data, as CSV and GeoJSON the Assembly can publish.

What is left out: the filer and whoever entered it (no names, no user or Telegram ids), photos
(faces, car plates), the typed address, moderators' free texts (who handles it, why rejected,
questions and answers), exact moments (days only). Coordinates are rounded to 3 decimals (about
100 m). The description is the need itself, but a citizen wrote it: it is published only once
the district's moderators accepted the need (accepted, in work, resolved).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.services.permissions import require_role
from models import District, Role, User
from models.needs import Need, NeedCategory, NeedStatus

# 3 decimals: 111 m of latitude, about 64 m of longitude at Moscow's latitude.
COORDINATE_DECIMALS = 3
# Statuses a moderator gave: the description was read before it is published.
MODERATED = frozenset({NeedStatus.ACCEPTED, NeedStatus.IN_WORK, NeedStatus.RESOLVED})
COLUMNS = (
    "number",
    "district_number",
    "district",
    "category",
    "category_name",
    "status",
    "filed",
    "decided",
    "resolved",
    "supports",
    "merged_into",
    "priority_rank",
    "latitude",
    "longitude",
    "description",
)


@dataclass(frozen=True)
class OpenNeed:
    number: int
    district_number: int
    district: str
    category: str
    category_name: str
    status: str
    filed: str
    decided: str
    resolved: str
    supports: int
    merged_into: int | None
    priority_rank: int | None
    latitude: float | None
    longitude: float | None
    description: str

    def row(self) -> list[Any]:
        return [getattr(self, column) for column in COLUMNS]


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, COORDINATE_DECIMALS)


async def rows(session: AsyncSession, timezone: str) -> list[OpenNeed]:
    """Every need, oldest first, with only the columns that may be published."""
    districts = {d.id: d for d in await session.scalars(select(District))}
    categories = {c.id: c for c in await session.scalars(select(NeedCategory))}
    # Only the columns published are read: nothing personal is ever in memory here.
    statement = select(
        Need.id,
        Need.district_id,
        Need.category_id,
        Need.status,
        Need.created_at,
        Need.decided_at,
        Need.resolved_at,
        Need.support_count,
        Need.merged_into_id,
        Need.priority_rank,
        Need.latitude,
        Need.longitude,
        Need.description,
    ).order_by(Need.id)
    found = []
    for row in (await session.execute(statement)).all():
        district, category = districts[row.district_id], categories[row.category_id]
        status = NeedStatus(row.status)
        has_place = row.latitude is not None and row.longitude is not None
        found.append(
            OpenNeed(
                number=row.id,
                district_number=district.number,
                district=district.name,
                category=category.code,
                category_name=category.name_ru,
                status=status.value,
                filed=dates.local_day(row.created_at, timezone).isoformat(),
                decided=dates.local_day(row.decided_at, timezone).isoformat()
                if row.decided_at
                else "",
                resolved=dates.local_day(row.resolved_at, timezone).isoformat()
                if row.resolved_at
                else "",
                supports=row.support_count,
                merged_into=row.merged_into_id,
                priority_rank=row.priority_rank,
                latitude=rounded(row.latitude) if has_place else None,
                longitude=rounded(row.longitude) if has_place else None,
                description=row.description if status in MODERATED else "",
            )
        )
    return found


async def export(
    session: AsyncSession, user: User | None, timezone: str
) -> tuple[bytes, bytes, int]:
    """The Secretariat's export: (CSV, GeoJSON, number of needs)."""
    require_role(user, Role.SECRETARIAT)
    found = await rows(session, timezone)
    return to_csv(found), to_geojson(found), len(found)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    # A cell starting with = + - @ is a formula to a spreadsheet: never run a citizen's text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(found: Sequence[OpenNeed]) -> bytes:
    buffer = io.StringIO()
    # ';' and a BOM, as the registry export: Excel in a Russian locale opens it as it is.
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(COLUMNS)
    writer.writerows([_cell(value) for value in need.row()] for need in found)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_geojson(found: Sequence[OpenNeed]) -> bytes:
    """A FeatureCollection of Points (longitude, latitude) for the needs that have a place."""
    features = [
        {
            "type": "Feature",
            "id": need.number,
            "geometry": {"type": "Point", "coordinates": [need.longitude, need.latitude]},
            "properties": {
                column: getattr(need, column)
                for column in COLUMNS
                if column not in ("latitude", "longitude")
            },
        }
        for need in found
        if need.latitude is not None and need.longitude is not None
    ]
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, ensure_ascii=False, indent=1).encode("utf-8")
