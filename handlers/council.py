"""The council as the Regulations compose it, for the Secretariat (/council_composition): the
members by category with the rule each seat rests on, the city-wide designations, the co-chairs'
offices; and the answers to the council steps of the seating dialog in handlers/bodies.py (the
organization, the office, the vote a seat rests on)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import alert, callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.dialogs import expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.bodies import CDPerson, people_keyboard
from bot.keyboards.council import (
    CDCitywide,
    CDCitywideAdd,
    CDCitywidePick,
    CDCitywideRevoke,
    CDCouncil,
    CDCouncilSeats,
    CDOfficeClear,
    CDOfficeSet,
    CDSeatOffice,
    CDSeatOrganization,
    candidates_keyboard,
    citywide_keyboard,
    composition_keyboard,
    confirm_keyboard,
    seats_keyboard,
)
from bot.services import bodies, council
from bot.services.council import CitywideLine, Composition, OfficeLine, SeatLine
from bot.services.paging import Page
from bot.services.permissions import SECRETARIAT
from bot.texts import SafeHTML, clip, plain, t
from handlers.bodies import AddMember, finish_add, show
from models import BodyKind, CouncilCategory, User
from models.council import Office

NAME_MAX = 120
# A page of seats or designations stays well within Telegram's 4096 characters: each line's
# parts are clipped (names, organizations, the basis) and a page holds `council.PER_PAGE` lines.


class CitywideDesignate(StatesGroup):
    basis = State()


class OfficeHolder(StatesGroup):
    person = State()
    basis = State()


# --- rendering ----------------------------------------------------------------------------------


def _office(office: Office) -> str:
    return plain(f"council-office-{office.value}")


def office_line(line: OfficeLine) -> SafeHTML:
    if line.designation is None or line.holder is None:
        return t("council-office-vacant-line", office=_office(line.office))
    key = "council-office-line" if line.seated else "council-office-line-not-seated"
    return t(
        key,
        office=_office(line.office),
        name=clip(line.holder.name or "—", NAME_MAX),
        basis=clip(line.designation.basis, 300),
    )


def composition_text(composition: Composition) -> SafeHTML:
    lines = [t("council-title"), "", t("council-offices-title")]
    lines += [office_line(line) for line in composition.offices]
    for category in council.CATEGORY_ORDER:
        lines += [
            "",
            t(
                "council-group-line",
                group=plain(f"council-group-{category.value}"),
                n=composition.counts[category],
                rule=plain(f"council-rule-{category.value}"),
            ),
        ]
        if category == CouncilCategory.BASE_ORGANIZATION:
            lines.append(t("council-base-designated", n=composition.base_designated))
        if category == CouncilCategory.CITYWIDE:
            lines.append(t("council-citywide-designated", n=composition.citywide_designated))
    return SafeHTML("\n".join(lines))


def seat_line(number: int, line: SeatLine, timezone: str) -> SafeHTML:
    seat = line.membership
    details: list[str] = []
    if seat.office:
        details.append(plain(f"council-office-{seat.office}"))
    if line.organization is not None:
        details.append(t("council-detail-organization", name=clip(line.organization.name, 100)))
    if line.district is not None and seat.council_category == CouncilCategory.BASE_ORGANIZATION:
        details.append(
            t(
                "council-detail-district",
                number=line.district.number,
                name=clip(line.district.name, 60),
            )
        )
    if seat.until is not None:
        details.append(t("council-detail-until", date=dates.shown_date(seat.until, timezone)))
    if seat.basis_vote_id is not None:
        details.append(t("council-detail-vote", number=seat.basis_vote_id))
    if seat.basis_text:
        details.append(t("council-detail-basis", basis=clip(seat.basis_text, 150)))
    name = clip(seat.user.name or "—", NAME_MAX)
    if not details:
        return t("council-seat-line-bare", number=number, name=name)
    return t("council-seat-line", number=number, name=name, details=SafeHTML("; ".join(details)))


def seats_text(category: CouncilCategory, page: Page[SeatLine], timezone: str) -> SafeHTML:
    lines = [
        t(
            "council-group-line",
            group=plain(f"council-group-{category.value}"),
            n=page.total,
            rule=plain(f"council-rule-{category.value}"),
        )
    ]
    if not page.total:
        lines.append(t("council-seats-empty"))
    first = page.page * council.PER_PAGE + 1
    lines += [seat_line(first + i, line, timezone) for i, line in enumerate(page.items)]
    return SafeHTML("\n".join(lines))


def citywide_text(page: Page[CitywideLine]) -> SafeHTML:
    lines = [t("council-citywide-title")]
    if not page.total:
        lines.append(t("council-citywide-empty"))
    first = page.page * council.PER_PAGE + 1
    for i, line in enumerate(page.items):
        holders = ", ".join(clip(holder.name or "—", 80) for holder in line.holders[:2])
        lines.append(
            t(
                "council-citywide-line",
                number=first + i,
                name=clip(line.organization.name, 120),
                basis=clip(line.designation.basis, 200),
                holder=SafeHTML(holders) if holders else t("council-seat-vacant"),
            )
        )
    return SafeHTML("\n".join(lines))


def pressed_label(query: CallbackQuery) -> str:
    """The text of the button that was pressed, as the person saw it."""
    markup = callback_message(query).reply_markup
    rows = markup.inline_keyboard if markup is not None else []
    return next((b.text for row in rows for b in row if b.callback_data == query.data), "")


async def _composition(
    session: AsyncSession, user: User | None
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    found = await council.composition(session, user)
    return composition_text(found), composition_keyboard(found)


async def _citywide(
    session: AsyncSession, user: User | None, page: int = 0
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    found = await council.citywide_page(session, user, page)
    return citywide_text(found), citywide_keyboard(found)


# --- the composition screen ---------------------------------------------------------------------


async def cmd_council_composition(
    message: Message, session: AsyncSession, user: User | None
) -> None:
    text, markup = await _composition(session, user)
    await message.answer(text, reply_markup=markup)


async def on_home(query: CallbackQuery, session: AsyncSession, user: User | None) -> None:
    await show(query, *await _composition(session, user))


async def on_seats(
    query: CallbackQuery,
    callback_data: CDCouncilSeats,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    category = callback_data.category
    page = await council.members(session, user, category, callback_data.page)
    text = seats_text(category, page, settings.timezone)
    await show(query, text, seats_keyboard(category, page))


# --- city-wide structures -----------------------------------------------------------------------


async def on_citywide(
    query: CallbackQuery, callback_data: CDCitywide, session: AsyncSession, user: User | None
) -> None:
    await show(query, *await _citywide(session, user, callback_data.page))


async def on_citywide_add(
    query: CallbackQuery,
    callback_data: CDCitywideAdd,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    page = await council.citywide_candidates(session, user, callback_data.page)
    if not page.total:
        alert(callback_answer, "council-no-candidates")
        return
    await show(query, t("council-citywide-choose"), candidates_keyboard(page))


async def on_citywide_pick(
    query: CallbackQuery,
    callback_data: CDCitywidePick,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    organization = await council.citywide_candidate(session, user, callback_data.org)
    await state.set_state(CitywideDesignate.basis)
    await state.set_data({"organization_id": organization.id})
    text = t(
        "council-citywide-ask-basis",
        name=clip(organization.name, 200),
        max=council.BASIS_MAX,
    )
    await show(query, text, None)


async def on_citywide_basis(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    organization_id = int((await state.get_data())["organization_id"])
    # A refused basis (too long) keeps the dialog on this step.
    designation = await council.designate_citywide(
        session, user, organization_id, message.text or ""
    )
    await state.clear()
    line = await council.citywide_record(session, user, designation.id)
    await message.answer(t("council-citywide-done", name=clip(line.organization.name, 200)))
    text, markup = await _citywide(session, user)
    await message.answer(text, reply_markup=markup)


async def on_revoke_ask(
    query: CallbackQuery, callback_data: CDCitywideRevoke, session: AsyncSession, user: User | None
) -> None:
    line = await council.citywide_record(session, user, callback_data.id)
    yes = CDCitywideRevoke(id=line.designation.id, page=callback_data.page, confirm=True)
    no = CDCitywide(page=callback_data.page)
    text = t("council-revoke-ask", name=clip(line.organization.name, 200))
    await show(query, text, confirm_keyboard("council-btn-revoke-yes", yes, no))


async def on_revoke(
    query: CallbackQuery,
    callback_data: CDCitywideRevoke,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    organization = await council.revoke_citywide(session, user, callback_data.id)
    toast(callback_answer, "council-revoked", name=organization.name)
    await show(query, *await _citywide(session, user, callback_data.page))


# --- the co-chairs' offices ---------------------------------------------------------------------


async def on_office_set(
    query: CallbackQuery, callback_data: CDOfficeSet, state: FSMContext, user: User | None
) -> None:
    bodies.require_manager(user)
    await state.set_state(OfficeHolder.person)
    await state.set_data({"office": callback_data.office.value})
    await callback_message(query).answer(
        t("council-office-ask-person", office=_office(callback_data.office))
    )


async def on_office_search(message: Message, session: AsyncSession, user: User | None) -> None:
    people = await bodies.find_people(session, user, message.text or "", "seat")
    if not people:
        await message.answer(t("bodies-person-none"))
        return
    await message.answer(t("bodies-person-choose"), reply_markup=people_keyboard(people))


async def on_office_person(
    query: CallbackQuery,
    callback_data: CDPerson,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    person = await bodies.person(session, user, callback_data.id, "seat")
    office = Office((await state.get_data())["office"])
    await state.update_data(person_id=person.id)
    await state.set_state(OfficeHolder.basis)
    text = t(
        "council-office-ask-basis",
        name=clip(person.name or "—", NAME_MAX),
        office=_office(office),
        max=council.BASIS_MAX,
    )
    await show(query, text, None)


async def on_office_basis(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    data = await state.get_data()
    office = Office(data["office"])
    seat = await council.set_office_holder(
        session, user, office, int(data["person_id"]), message.text or ""
    )
    await state.clear()
    await message.answer(
        t("council-office-done", name=clip(seat.user.name or "—", NAME_MAX), office=_office(office))
    )
    text, markup = await _composition(session, user)
    await message.answer(text, reply_markup=markup)


async def on_office_clear_ask(
    query: CallbackQuery, callback_data: CDOfficeClear, session: AsyncSession, user: User | None
) -> None:
    line = await council.office_to_clear(session, user, callback_data.office)
    yes = CDOfficeClear(office=callback_data.office, confirm=True)
    name = line.holder.name if line.holder is not None else None
    text = t(
        "council-office-clear-ask",
        office=_office(callback_data.office),
        name=clip(name or "—", NAME_MAX),
    )
    await show(query, text, confirm_keyboard("council-btn-clear-yes", yes, CDCouncil()))


async def on_office_clear(
    query: CallbackQuery,
    callback_data: CDOfficeClear,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    await council.clear_office(session, user, callback_data.office)
    toast(callback_answer, "council-office-cleared", office=_office(callback_data.office))
    await show(query, *await _composition(session, user))


# --- the council steps of the seating dialog (handlers/bodies.py) ------------------------------


async def on_seat_organization(
    query: CallbackQuery,
    callback_data: CDSeatOrganization,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    bodies.require_manager(user)
    await state.update_data(organization_id=callback_data.org)
    # The callback is answered after the change: a refusal is shown as its alert.
    await finish_add(callback_message(query), state, session, user, settings)
    await show(query, t("bodies-chosen", choice=pressed_label(query)), None)


async def on_seat_office(
    query: CallbackQuery,
    callback_data: CDSeatOffice,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    bodies.require_manager(user)
    await state.update_data(office=callback_data.office.value)
    await finish_add(callback_message(query), state, session, user, settings)
    await show(query, t("bodies-chosen", choice=_office(callback_data.office)), None)


async def on_seat_vote(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    data = await state.get_data()
    body = await bodies.body_to_change(session, user, int(data["body_id"]))
    person = await bodies.person(session, user, int(data["person_id"]), "seat")
    number = council.parse_vote_number(message.text or "")
    if body.kind == BodyKind.PRESIDIUM:
        decision = await council.council_decision(session, number)
        await state.update_data(vote_id=decision.id)
        await finish_add(message, state, session, user, settings)
        return
    elected = await council.election(session, number, person)
    await state.update_data(vote_id=elected.id)
    await state.set_state(AddMember.term)
    await message.answer(t("bodies-add-ask-term"))


async def on_seat_vote_not_text(message: Message) -> None:
    await message.answer(t("council-bad-vote-number"))


async def on_basis_not_text(message: Message) -> None:
    await expect_text(message)


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="council")
    router.message.register(cmd_council_composition, Command("council_composition"))
    router.callback_query.register(on_home, CDCouncil.filter())
    router.callback_query.register(on_seats, CDCouncilSeats.filter())
    router.callback_query.register(on_citywide, CDCitywide.filter())
    router.callback_query.register(on_citywide_add, CDCitywideAdd.filter())
    router.callback_query.register(on_citywide_pick, CDCitywidePick.filter())
    router.message.register(on_citywide_basis, CitywideDesignate.basis, TEXT_INPUT)
    router.message.register(on_basis_not_text, CitywideDesignate.basis, NOT_TEXT)
    router.callback_query.register(on_revoke_ask, CDCitywideRevoke.filter(~F.confirm))
    router.callback_query.register(on_revoke, CDCitywideRevoke.filter(F.confirm))
    router.callback_query.register(on_office_set, CDOfficeSet.filter())
    router.message.register(on_office_search, OfficeHolder.person, TEXT_INPUT)
    router.message.register(on_basis_not_text, OfficeHolder.person, NOT_TEXT)
    router.callback_query.register(on_office_person, OfficeHolder.person, CDPerson.filter())
    router.message.register(on_office_basis, OfficeHolder.basis, TEXT_INPUT)
    router.message.register(on_basis_not_text, OfficeHolder.basis, NOT_TEXT)
    router.callback_query.register(on_office_clear_ask, CDOfficeClear.filter(~F.confirm))
    router.callback_query.register(on_office_clear, CDOfficeClear.filter(F.confirm))
    router.callback_query.register(
        on_seat_organization, AddMember.organization, CDSeatOrganization.filter()
    )
    router.callback_query.register(on_seat_office, AddMember.office, CDSeatOffice.filter())
    router.message.register(on_seat_vote, AddMember.vote, TEXT_INPUT)
    router.message.register(on_seat_vote_not_text, AddMember.vote, NOT_TEXT)
    return router


def _keys() -> set[str]:
    keys = {f"council-office-{office.value}" for office in Office}
    keys |= {f"council-not-holder-{office.value}" for office in Office}
    keys |= {f"council-group-{category.value}" for category in CouncilCategory}
    keys |= {f"council-rule-{category.value}" for category in CouncilCategory}
    keys |= {
        f"council-ask-organization-{category.value}" for category in council.ORGANIZATION_SEATS
    }
    return keys


capability = Capability(
    name="council",
    setup=setup,
    commands=(CommandSpec("council_composition", SECRETARIAT, HomeGroup.SECRETARIAT),),
    keys=_keys,
)
