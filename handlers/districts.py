"""Districts for the Secretariat and admins: list, add one, import a CSV file."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import districts
from bot.services.permissions import require_role
from bot.texts import SafeHTML, t, tn
from models import Role, User

router = Router(name="districts")

DISTRICT_MANAGERS = (Role.SECRETARIAT,)
CSV_MAX_BYTES = 256 * 1024


class DistrictImport(StatesGroup):
    file = State()


@router.message(Command("districts"))
async def cmd_districts(message: Message, session: AsyncSession, user: User | None) -> None:
    require_role(user, *DISTRICT_MANAGERS)
    page = await districts.list_districts(session, per_page=200)
    if not page.items:
        await message.answer(t("districts-empty"))
        return
    lines = [tn("districts-count", await districts.count_districts(session))]
    lines += [t("districts-line", number=d.number, name=d.name) for d in page.items]
    await message.answer(SafeHTML("\n".join(lines)))


@router.message(Command("add_district"))
async def cmd_add_district(
    message: Message, command: CommandObject, session: AsyncSession, user: User | None
) -> None:
    require_role(user, *DISTRICT_MANAGERS)
    number, _, name = (command.args or "").strip().partition(" ")
    if not number or not name.strip():
        await message.answer(t("districts-add-usage"))
        return
    district = await districts.add_district(session, number, name)
    await message.answer(t("districts-added", number=district.number, name=district.name))


@router.message(Command("import_districts"))
async def cmd_import_districts(message: Message, state: FSMContext, user: User | None) -> None:
    require_role(user, *DISTRICT_MANAGERS)
    await state.set_state(DistrictImport.file)
    await message.answer(t("districts-import-ask"))


@router.message(DistrictImport.file, F.document)
async def on_import_file(
    message: Message, bot: Bot, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    require_role(user, *DISTRICT_MANAGERS)
    document = message.document
    if document.file_size and document.file_size > CSV_MAX_BYTES:
        await message.answer(t("districts-import-too-big", max_kb=CSV_MAX_BYTES // 1024))
        return
    data = await bot.download(document)
    raw = data.read() if data else b""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1251", errors="replace")  # Excel in Russian saves CSV in cp1251
    result = await districts.import_csv(session, text)
    await state.clear()
    lines = [
        tn("districts-import-added", result.added),
        tn("districts-import-updated", result.updated),
    ]
    lines += [
        t("districts-import-error", line=line, reason=t(error.key, **error.params))
        for line, error in result.errors[:20]
    ]
    await message.answer(SafeHTML("\n".join(lines)))


@router.message(DistrictImport.file)
async def on_import_not_file(message: Message) -> None:
    await message.answer(t("districts-import-ask"))
