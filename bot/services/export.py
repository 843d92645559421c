"""The registry as files for the Secretariat: CSV (for any program) and XLSX (for Excel)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.services import organizations, users
from models import Organization, User

COLUMNS = (
    "number",
    "name",
    "kind",
    "district",
    "status",
    "applied",
    "decided",
    "representatives",
    "contacts",
    "description",
    "proposals",
)


def _row(organization: Organization, label: Callable[[str], str], timezone: str) -> list[str | int]:
    # ISO days (a spreadsheet sorts them), dated on the Assembly's clock like everything shown.
    return [
        organization.id,
        organization.name,
        label(f"organizations-kind-{organization.kind.value}"),
        organization.district.name if organization.district else "",
        label(f"organizations-status-{organization.status.value}"),
        dates.local_day(organization.created_at, timezone).isoformat(),
        dates.local_day(organization.decided_at, timezone).isoformat()
        if organization.decided_at
        else "",
        "; ".join(r.user.name or "—" for r in organization.representatives),
        organization.contacts,
        organization.description,
        organization.proposals,
    ]


def _safe(value: str | int) -> str | int:
    # A cell starting with = + - @ is a formula to a spreadsheet: never run user text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


async def registry_table(
    session: AsyncSession, actor: User | None, label: Callable[[str], str], timezone: str
) -> tuple[list[str], list[list[str | int]]]:
    """Header and rows of the registry, labels in the reader's language."""
    users.require_registrar(actor)
    header = [label(f"export-column-{column}") for column in COLUMNS]
    rows = [
        [_safe(v) for v in _row(o, label, timezone)]
        for o in await organizations.registry_rows(session)
    ]
    return header, rows


def to_csv(header: list[str], rows: list[list[str | int]]) -> bytes:
    buffer = io.StringIO()
    # ';' and a BOM: Excel in a Russian locale opens it straight away with the right columns.
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], rows: list[list[str | int]], title: str) -> bytes:
    # openpyxl is imported here, not at start-up: few people ever ask for the spreadsheet.
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for index, column in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, len(column) + 4))
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
