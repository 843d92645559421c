"""The directory of member organizations for everyone, and the registry export for the
Secretariat."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import alert, callback_message
from bot.capabilities import ANYONE, Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.dialogs import expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.organizations import CDApp, CDReg, CDRegCard
from bot.keyboards.paging import pager
from bot.services import districts, export, organizations, users
from bot.services.permissions import SECRETARIAT
from bot.texts import SafeHTML, plain, t, tn
from handlers.organizations import organization_card
from models import OrganizationKind, OrganizationStatus, User

QUERY_KEY = "registry_query"
PER_PAGE = 8


class RegistrySearch(StatesGroup):
    query = State()


def _kind(value: str) -> OrganizationKind | None:
    try:
        return OrganizationKind(value)
    except ValueError:
        return None  # "" (any kind) or a forged value


async def directory_view(
    session: AsyncSession, query: str, filters: CDReg
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    district_id = filters.district if filters.district > 0 else None
    kind = _kind(filters.kind)
    page = await organizations.directory(
        session,
        query=query,
        district_id=district_id,
        kind=kind,
        page=filters.page,
        per_page=PER_PAGE,
    )
    district = await districts.find(session, district_id)
    lines: list[str] = [tn("registry-found", page.total)]
    conditions = []
    if query:
        conditions.append(t("registry-filter-query", query=query))
    if district:
        conditions.append(t("registry-filter-district", district=district.name))
    if kind:
        conditions.append(t("registry-filter-kind", kind=plain(f"organizations-kind-{kind.value}")))
    if conditions:
        lines.append(" · ".join(conditions))
    if not page.items:
        lines.append(t("registry-nothing"))
    builder = InlineKeyboardBuilder()
    for organization in page.items:
        builder.row(
            InlineKeyboardButton(
                text=organization.name[:60], callback_data=CDRegCard(id=organization.id).pack()
            )
        )
    nav = pager(
        page.page,
        page.pages,
        lambda p: CDReg(page=p, district=filters.district, kind=filters.kind).pack(),
    )
    if nav:
        builder.row(*nav)
    builder.row(
        InlineKeyboardButton(
            text=plain("registry-by-district"),
            callback_data=CDReg(district=filters.district, kind=filters.kind, view="d").pack(),
        ),
        InlineKeyboardButton(
            text=plain("registry-by-kind"),
            callback_data=CDReg(district=filters.district, kind=filters.kind, view="k").pack(),
        ),
    )
    builder.row(
        InlineKeyboardButton(text=plain("registry-search"), callback_data=CDReg(view="s").pack()),
        InlineKeyboardButton(text=plain("registry-reset"), callback_data=CDReg(view="r").pack()),
    )
    return SafeHTML("\n".join(lines)), builder.as_markup()


async def choice_view(session: AsyncSession, filters: CDReg) -> InlineKeyboardMarkup:
    """Buttons to pick a district or a kind; the other filter is kept."""
    builder = InlineKeyboardBuilder()
    if filters.view == "d":
        builder.button(
            text=plain("registry-any"), callback_data=CDReg(district=-1, kind=filters.kind)
        )
        for district in (await districts.list_districts(session, per_page=50)).items:
            builder.button(
                text=f"№{district.number} · {district.name}"[:60],
                callback_data=CDReg(district=district.id, kind=filters.kind),
            )
    else:
        builder.button(
            text=plain("registry-any"), callback_data=CDReg(district=filters.district, kind="")
        )
        for kind in OrganizationKind:
            builder.button(
                text=plain(f"organizations-kind-{kind.value}"),
                callback_data=CDReg(district=filters.district, kind=kind.value),
            )
    builder.adjust(1)
    return builder.as_markup()


async def cmd_registry(message: Message, state: FSMContext, session: AsyncSession) -> None:
    await state.update_data({QUERY_KEY: ""})
    text, markup = await directory_view(session, "", CDReg())
    await message.answer(text, reply_markup=markup)


async def on_directory(
    query: CallbackQuery, callback_data: CDReg, state: FSMContext, session: AsyncSession
) -> None:
    message = callback_message(query)
    if callback_data.view == "s":
        await state.set_state(RegistrySearch.query)
        await message.answer(t("registry-search-ask"))
        return
    if callback_data.view in ("d", "k"):
        await message.edit_reply_markup(reply_markup=await choice_view(session, callback_data))
        return
    if callback_data.view == "r":
        await state.update_data({QUERY_KEY: ""})
        callback_data = CDReg()
    text, markup = await directory_view(
        session, str((await state.get_data()).get(QUERY_KEY) or ""), callback_data
    )
    if message.html_text != text or message.reply_markup != markup:
        await message.edit_text(text, reply_markup=markup)


async def on_search(message: Message, state: FSMContext, session: AsyncSession) -> None:
    text = (message.text or "").strip()[:100]
    await state.set_state(None)
    await state.update_data({QUERY_KEY: text})
    view, markup = await directory_view(session, text, CDReg())
    await message.answer(view, reply_markup=markup)


async def on_search_not_text(message: Message) -> None:
    await expect_text(message)


async def on_card(
    query: CallbackQuery,
    callback_data: CDRegCard,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    organization = await organizations.get(session, callback_data.id)
    secretary = users.is_registrar(user)
    # The public sees members only; the Secretariat sees every card.
    if organization.status != OrganizationStatus.APPROVED and not secretary:
        alert(callback_answer, "organizations-not-found")
        return
    markup = None
    if secretary:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=plain("registry-manage"),
                        callback_data=CDApp(id=organization.id, action="open").pack(),
                    )
                ]
            ]
        )
    await callback_message(query).answer(organization_card(organization), reply_markup=markup)


async def cmd_export(
    message: Message, session: AsyncSession, user: User | None, settings: Settings
) -> None:
    header, rows = await export.registry_table(session, user, plain, settings.timezone)
    stamp = dates.local_day(message.date, settings.timezone).isoformat()
    await message.answer_document(
        BufferedInputFile(export.to_csv(header, rows), filename=f"registry-{stamp}.csv"),
        caption=tn("registry-export-caption", len(rows)),
    )
    await message.answer_document(
        BufferedInputFile(
            export.to_xlsx(header, rows, plain("registry-sheet-title")),
            filename=f"registry-{stamp}.xlsx",
        )
    )


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="registry")
    router.message.register(cmd_registry, Command("registry"))
    router.callback_query.register(on_directory, CDReg.filter())
    router.message.register(on_search, RegistrySearch.query, TEXT_INPUT)
    router.message.register(on_search_not_text, RegistrySearch.query, NOT_TEXT)
    router.callback_query.register(on_card, CDRegCard.filter())
    router.message.register(cmd_export, Command("export"))
    return router


capability = Capability(
    name="registry",
    setup=setup,
    commands=(
        CommandSpec("registry", ANYONE),
        CommandSpec("export", SECRETARIAT, HomeGroup.SECRETARIAT),
    ),
    keys=lambda: {f"export-column-{column}" for column in export.COLUMNS},
    public_callbacks=(CDReg, CDRegCard),
)
