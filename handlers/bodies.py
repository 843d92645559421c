"""Bodies for the Secretariat (/bodies, /new_body, members) and the Secretariat role for admins
(/secretariat)."""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InaccessibleMessage, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.callbacks import callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.dialogs import expect_buttons, expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.bodies import (
    CDBodies,
    CDBody,
    CDCategory,
    CDMemberAdd,
    CDMemberRemove,
    CDMemberRole,
    CDNewBody,
    CDPerson,
    CDSecretariat,
    CDSecretariatGrant,
    CDSecretariatRevoke,
    CDSkipDirection,
    bodies_keyboard,
    body_card_keyboard,
    body_title,
    category_keyboard,
    confirm_keyboard,
    member_role_keyboard,
    new_body_keyboard,
    people_keyboard,
    secretariat_keyboard,
    skip_direction_keyboard,
)
from bot.keyboards.council import seat_offices_keyboard, seat_organizations_keyboard
from bot.services import bodies, council, notices
from bot.services.bodies import MEMBERS_PER_PAGE, BodyCard
from bot.services.paging import Page
from bot.services.permissions import ADMINS, SECRETARIAT
from bot.texts import SafeHTML, clip, plain, t, tn
from models import BodyKind, CouncilCategory, MemberRole, Membership, User
from models.base import utcnow
from scheduler.kinds import changes_state

logger = logging.getLogger("bot.bodies")


class NewBody(StatesGroup):
    kind = State()
    name = State()
    direction = State()


class AddMember(StatesGroup):
    person = State()
    role = State()
    category = State()
    # What the council's category rests on (handlers/council.py takes these steps' answers):
    # the organization, the office, the election's or the council decision's vote number.
    organization = State()
    office = State()
    vote = State()
    term = State()


class GrantSecretariat(StatesGroup):
    person = State()


# --- rendering ----------------------------------------------------------------------------------


def member_line(number: int, membership: Membership, timezone: str) -> SafeHTML:
    details = [t(f"member-role-{membership.role.value}")]
    if membership.council_category is not None:
        details.append(t(f"council-category-{membership.council_category.value}"))
    if membership.until is not None:
        expired = membership.until <= utcnow()
        key = "bodies-member-expired" if expired else "bodies-member-until"
        details.append(t(key, date=dates.shown_date(membership.until, timezone)))
    return t(
        "bodies-member-line",
        number=number,
        name=clip(membership.user.name or "—", 120),
        details=SafeHTML(", ".join(details)),
    )


def card_text(card: BodyCard, timezone: str) -> SafeHTML:
    body, members = card.body, card.members
    lines: list[str] = [t("bodies-card-title", title=clip(body_title(body), 400))]
    if body.direction:
        lines.append(t("bodies-card-direction", direction=clip(body.direction, 800)))
    lines.append("")
    if members.total:
        lines.append(tn("bodies-card-members", members.total))
        first = members.page * MEMBERS_PER_PAGE + 1
        lines += [member_line(first + i, m, timezone) for i, m in enumerate(members.items)]
    else:
        lines.append(t("bodies-card-no-members"))
    return SafeHTML("\n".join(lines))


def secretariat_text(page: Page[Membership]) -> SafeHTML:
    lines = [t("bodies-secretariat-title")]
    if not page.total:
        lines.append(t("bodies-secretariat-empty"))
    else:
        lines.append(tn("bodies-secretariat-count", page.total))
        first = page.page * MEMBERS_PER_PAGE + 1
        lines += [
            t("bodies-secretariat-line", number=first + i, name=clip(m.user.name or "—", 120))
            for i, m in enumerate(page.items)
        ]
    return SafeHTML("\n".join(lines))


async def show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Put `text` in place of the message the button was on; an unchanged one stays as it is."""
    message = callback_message(query)
    if not isinstance(message, Message):
        # Too old to edit (Telegram hides it from the bot): a fresh message instead.
        await query.bot.send_message(query.from_user.id, text, reply_markup=markup)
        return
    if message.html_text == text and message.reply_markup == markup:
        return
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            raise


# --- the list and the cards ---------------------------------------------------------------------


async def cmd_bodies(message: Message, session: AsyncSession, user: User | None) -> None:
    page = await bodies.overview(session, user)
    await message.answer(t("bodies-list-title"), reply_markup=bodies_keyboard(page))


async def on_bodies_page(
    query: CallbackQuery, callback_data: CDBodies, session: AsyncSession, user: User | None
) -> None:
    page = await bodies.overview(session, user, callback_data.page)
    await show(query, t("bodies-list-title"), bodies_keyboard(page))


async def on_body(
    query: CallbackQuery,
    callback_data: CDBody,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    card = await bodies.card(session, user, callback_data.id, callback_data.page)
    await show(query, card_text(card, settings.timezone), body_card_keyboard(card))


async def on_remove_ask(
    query: CallbackQuery, callback_data: CDMemberRemove, session: AsyncSession, user: User | None
) -> None:
    seat = await bodies.membership(session, user, callback_data.body, callback_data.user)
    text = t(
        "bodies-remove-ask",
        name=clip(seat.user.name or "—", 120),
        body=clip(body_title(seat.body), 400),
    )
    yes = CDMemberRemove(
        body=callback_data.body, user=callback_data.user, page=callback_data.page, confirm=True
    )
    no = CDBody(id=callback_data.body, page=callback_data.page)
    await show(query, text, confirm_keyboard("bodies-btn-remove-yes", yes, no))


async def on_remove(
    query: CallbackQuery,
    callback_data: CDMemberRemove,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    person = await bodies.remove_member(session, user, callback_data.body, callback_data.user)
    card = await bodies.card(session, user, callback_data.body, callback_data.page)
    toast(callback_answer, "bodies-removed", name=person.name or "—")
    await show(query, card_text(card, settings.timezone), body_card_keyboard(card))


# --- creating a committee, working group or commission -------------------------------------------


async def cmd_new_body(message: Message, state: FSMContext, user: User | None) -> None:
    bodies.require_manager(user)
    await state.set_state(NewBody.kind)
    await state.set_data({})
    await message.answer(t("bodies-new-ask-kind"), reply_markup=new_body_keyboard())


async def on_new_kind(
    query: CallbackQuery, callback_data: CDNewBody, state: FSMContext, user: User | None
) -> None:
    kind = bodies.creatable_kind(user, callback_data.kind)
    await state.update_data(kind=kind.value)
    await state.set_state(NewBody.name)
    await show(
        query,
        t("bodies-new-ask-name", kind=plain(f"body-kind-{kind.value}"), max=bodies.NAME_MAX),
        None,
    )


async def on_new_name(message: Message, state: FSMContext, user: User | None) -> None:
    bodies.require_manager(user)
    name = bodies.clean_name(message.text or "")
    await state.update_data(name=name)
    await state.set_state(NewBody.direction)
    await message.answer(
        t("bodies-new-ask-direction", max=bodies.DIRECTION_MAX),
        reply_markup=skip_direction_keyboard(),
    )


async def create_body(
    message: Message | InaccessibleMessage | None,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    direction: str,
) -> None:
    assert message is not None  # a callback from an inline message never reaches a dialog
    data = await state.get_data()
    # A refused direction (too long) leaves the dialog on this step, with the name kept.
    created = await bodies.create(
        session, user, BodyKind(data["kind"]), str(data["name"]), direction
    )
    await state.clear()
    card = await bodies.card(session, user, created.id)
    await message.answer(t("bodies-created", title=clip(body_title(created), 400)))
    await message.answer(card_text(card, settings.timezone), reply_markup=body_card_keyboard(card))


async def on_new_direction(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    await create_body(message, state, session, user, settings, message.text or "")


async def on_new_no_direction(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    await create_body(callback_message(query), state, session, user, settings, "")
    await show(query, t("bodies-new-ask-direction", max=bodies.DIRECTION_MAX), None)


async def on_new_not_text(message: Message) -> None:
    await expect_text(message)


async def on_buttons_expected(message: Message) -> None:
    await expect_buttons(message)


# --- adding a member ----------------------------------------------------------------------------


async def on_add_member(
    query: CallbackQuery,
    callback_data: CDMemberAdd,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    body = await bodies.body_to_change(session, user, callback_data.body)
    await state.set_state(AddMember.person)
    await state.set_data({"body_id": body.id})
    await callback_message(query).answer(
        t("bodies-add-ask-person", body=clip(body_title(body), 400))
    )


async def search(
    message: Message, session: AsyncSession, user: User | None, purpose: bodies.Picking
) -> None:
    people = await bodies.find_people(session, user, message.text or "", purpose)
    if not people:
        await message.answer(t("bodies-person-none"))
        return
    await message.answer(t("bodies-person-choose"), reply_markup=people_keyboard(people))


async def on_add_search(message: Message, session: AsyncSession, user: User | None) -> None:
    await search(message, session, user, "seat")


async def on_search_not_text(message: Message) -> None:
    await message.answer(t("bodies-person-text-only"))


async def on_add_person(
    query: CallbackQuery,
    callback_data: CDPerson,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    body = await bodies.body_to_change(session, user, int((await state.get_data())["body_id"]))
    person = await bodies.person(session, user, callback_data.id, "seat")
    await state.update_data(person_id=person.id)
    await state.set_state(AddMember.role)
    text = t(
        "bodies-add-ask-role",
        name=clip(person.name or "—", 120),
        body=clip(body_title(body), 400),
    )
    await show(query, text, member_role_keyboard())


async def on_add_role(
    query: CallbackQuery,
    callback_data: CDMemberRole,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    data = await state.get_data()
    body = await bodies.body_to_change(session, user, int(data["body_id"]))
    await state.update_data(role=callback_data.role.value)
    if body.kind == BodyKind.COUNCIL:
        await state.set_state(AddMember.category)
        await show(query, t("bodies-add-ask-category"), category_keyboard())
        return
    if body.kind == BodyKind.PRESIDIUM:
        # The council appoints the presidium: the seat needs its decision on record.
        await state.set_state(AddMember.vote)
        await show(query, t("council-ask-decision"), None)
        return
    # The callback is answered after the change: a refusal is shown as its alert.
    await finish_add(callback_message(query), state, session, user, settings)
    await show(
        query, t("bodies-chosen", choice=plain(f"member-role-{callback_data.role.value}")), None
    )


async def on_add_category(
    query: CallbackQuery,
    callback_data: CDCategory,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    bodies.require_manager(user)
    category = callback_data.category
    person_id = int((await state.get_data())["person_id"])
    # Each category's next step offers only what its rule allows; none at all is refused here,
    # with the reason, and the category can be chosen again.
    if category in council.ORGANIZATION_SEATS:
        found = await council.eligible_organizations(session, user, category, person_id)
        await state.update_data(category=category.value)
        await state.set_state(AddMember.organization)
        key = f"council-ask-organization-{category.value}"
        await show(query, t(key), seat_organizations_keyboard(found))
        return
    if category == CouncilCategory.CO_CHAIR:
        held = await council.eligible_offices(session, user, person_id)
        await state.update_data(category=category.value)
        await state.set_state(AddMember.office)
        await show(query, t("council-ask-office"), seat_offices_keyboard(held))
        return
    await state.update_data(category=category.value)
    if category == CouncilCategory.ELECTED:
        await state.set_state(AddMember.vote)
        await show(query, t("council-ask-election"), None)
        return
    await finish_add(callback_message(query), state, session, user, settings)
    label = plain(f"council-category-{category.value}")
    await show(query, t("bodies-chosen", choice=label), None)


async def on_add_term(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
) -> None:
    bodies.require_manager(user)
    until = bodies.parse_term_end(message.text or "", settings.timezone)
    await finish_add(message, state, session, user, settings, until)


async def on_add_term_not_text(message: Message) -> None:
    await message.answer(t("bodies-bad-date"))


async def finish_add(
    message: Message | InaccessibleMessage | None,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    until: datetime | None = None,
) -> None:
    assert message is not None  # a callback from an inline message never reaches a dialog
    data = await state.get_data()
    category = data.get("category")
    seat = await bodies.add_member(
        session,
        user,
        int(data["body_id"]),
        int(data["person_id"]),
        MemberRole(data["role"]),
        CouncilCategory(category) if category else None,
        until,
        organization_id=data.get("organization_id"),
        office=data.get("office"),
        basis_vote_id=data.get("vote_id"),
    )
    await state.clear()
    person, body = seat.user, seat.body
    card = await bodies.card(session, user, body.id)
    await message.answer(
        t(
            "bodies-member-added",
            name=clip(person.name or "—", 120),
            body=clip(body_title(body), 400),
        )
    )
    await message.answer(card_text(card, settings.timezone), reply_markup=body_card_keyboard(card))
    if user is not None and person.id != user.id:
        await notices.notify(
            session,
            [person],
            "bodies-you-were-added",
            body=body_title(body)[:400],
            role_key=f"member-role-{seat.role.value}",
        )


# --- the Secretariat role -----------------------------------------------------------------------


async def cmd_secretariat(message: Message, session: AsyncSession, user: User | None) -> None:
    page = await bodies.secretariat(session, user)
    await message.answer(secretariat_text(page), reply_markup=secretariat_keyboard(page))


async def on_secretariat_page(
    query: CallbackQuery, callback_data: CDSecretariat, session: AsyncSession, user: User | None
) -> None:
    page = await bodies.secretariat(session, user, callback_data.page)
    await show(query, secretariat_text(page), secretariat_keyboard(page))


async def on_grant(query: CallbackQuery, state: FSMContext, user: User | None) -> None:
    bodies.require_appointer(user)
    await state.set_state(GrantSecretariat.person)
    await state.set_data({})
    await callback_message(query).answer(t("bodies-grant-ask-person"))


async def on_grant_search(message: Message, session: AsyncSession, user: User | None) -> None:
    await search(message, session, user, "secretariat")


async def on_grant_person(
    query: CallbackQuery,
    callback_data: CDPerson,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    person = await bodies.person(session, user, callback_data.id, "secretariat")
    person = await bodies.set_secretariat(session, user, person.id, grant=True)
    await state.clear()
    page = await bodies.secretariat(session, user)
    await show(query, t("bodies-granted", name=clip(person.name or "—", 120)), None)
    await callback_message(query).answer(
        secretariat_text(page), reply_markup=secretariat_keyboard(page)
    )
    if user is not None and person.id != user.id:
        await notices.notify(session, [person], "bodies-you-got-secretariat")


async def on_revoke_ask(
    query: CallbackQuery,
    callback_data: CDSecretariatRevoke,
    session: AsyncSession,
    user: User | None,
) -> None:
    person = await bodies.secretariat_member(session, user, callback_data.user)
    yes = CDSecretariatRevoke(user=callback_data.user, page=callback_data.page, confirm=True)
    no = CDSecretariat(page=callback_data.page)
    await show(
        query,
        t("bodies-revoke-ask", name=clip(person.name or "—", 120)),
        confirm_keyboard("bodies-btn-revoke-yes", yes, no),
    )


async def on_revoke(
    query: CallbackQuery,
    callback_data: CDSecretariatRevoke,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    person = await bodies.secretariat_member(session, user, callback_data.user)
    person = await bodies.set_secretariat(session, user, person.id, grant=False)
    page = await bodies.secretariat(session, user, callback_data.page)
    toast(callback_answer, "bodies-revoked", name=person.name or "—")
    await show(query, secretariat_text(page), secretariat_keyboard(page))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="bodies")
    router.message.register(cmd_bodies, Command("bodies"))
    router.callback_query.register(on_bodies_page, CDBodies.filter())
    router.callback_query.register(on_body, CDBody.filter())
    router.callback_query.register(on_remove_ask, CDMemberRemove.filter(~F.confirm))
    router.callback_query.register(on_remove, CDMemberRemove.filter(F.confirm))
    router.message.register(cmd_new_body, Command("new_body"))
    router.callback_query.register(on_new_kind, NewBody.kind, CDNewBody.filter())
    router.message.register(on_new_name, NewBody.name, TEXT_INPUT)
    router.message.register(on_new_direction, NewBody.direction, TEXT_INPUT)
    router.callback_query.register(on_new_no_direction, NewBody.direction, CDSkipDirection.filter())
    router.message.register(on_new_not_text, NewBody.direction, NOT_TEXT)
    router.message.register(on_new_not_text, NewBody.name, NOT_TEXT)
    router.message.register(on_buttons_expected, AddMember.category, TEXT_INPUT)
    router.message.register(on_buttons_expected, AddMember.organization, TEXT_INPUT)
    router.message.register(on_buttons_expected, AddMember.office, TEXT_INPUT)
    router.message.register(on_buttons_expected, AddMember.role, TEXT_INPUT)
    router.message.register(on_buttons_expected, NewBody.kind, TEXT_INPUT)
    router.callback_query.register(on_add_member, CDMemberAdd.filter())
    router.message.register(on_add_search, AddMember.person, TEXT_INPUT)
    router.message.register(on_search_not_text, GrantSecretariat.person, NOT_TEXT)
    router.message.register(on_search_not_text, AddMember.person, NOT_TEXT)
    router.callback_query.register(on_add_person, AddMember.person, CDPerson.filter())
    router.callback_query.register(on_add_role, AddMember.role, CDMemberRole.filter())
    router.callback_query.register(on_add_category, AddMember.category, CDCategory.filter())
    router.message.register(on_add_term, AddMember.term, TEXT_INPUT)
    router.message.register(on_add_term_not_text, AddMember.term, NOT_TEXT)
    router.message.register(cmd_secretariat, Command("secretariat"))
    router.callback_query.register(on_secretariat_page, CDSecretariat.filter())
    router.callback_query.register(on_grant, CDSecretariatGrant.filter())
    router.message.register(on_grant_search, GrantSecretariat.person, TEXT_INPUT)
    router.callback_query.register(on_grant_person, GrantSecretariat.person, CDPerson.filter())
    router.callback_query.register(on_revoke_ask, CDSecretariatRevoke.filter(~F.confirm))
    router.callback_query.register(on_revoke, CDSecretariatRevoke.filter(F.confirm))
    return router


def _keys() -> set[str]:
    keys = {f"body-kind-{kind.value}" for kind in BodyKind}
    keys |= {f"member-role-{role.value}" for role in MemberRole}
    keys |= {f"council-category-{category.value}" for category in CouncilCategory}
    return keys


capability = Capability(
    name="bodies",
    setup=setup,
    commands=(
        CommandSpec("bodies", SECRETARIAT, HomeGroup.SECRETARIAT),
        CommandSpec("new_body", SECRETARIAT, HomeGroup.SECRETARIAT),
        CommandSpec("secretariat", ADMINS, HomeGroup.ADMIN),
    ),
    jobs=lambda context: {bodies.EXPIRE_KIND: changes_state(bodies.expire_term)},
    keys=_keys,
)
