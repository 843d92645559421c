"""An organization joins the Assembly: the application dialog, its status, invitations of
colleagues, answering the Secretariat, leaving."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.deep_linking import create_start_link
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, alert, callback_message, toast
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.dialogs import abort, expect_text
from bot.drafts import StoredDraft
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.common import CDDistrict, CDDistrictPage
from bot.keyboards.organizations import (
    EDITABLE_FIELDS,
    CDJoin,
    CDKind,
    CDOrg,
    CDOrgRep,
    agree_keyboard,
    kind_keyboard,
    leave_confirm_keyboard,
    my_organization_keyboard,
    representatives_keyboard,
    summary_keyboard,
)
from bot.services import districts, notices, organizations, roles, users
from bot.services.errors import DomainError, NotAllowed
from bot.services.organizations import LIMITS, Draft
from bot.services.permissions import REPRESENTATIVES, SECRETARIAT, require_registered
from bot.texts import SafeHTML, plain, t
from handlers.common import district_picker, turn_district_page
from models import (
    Organization,
    OrganizationKind,
    OrganizationStatus,
    RepresentativeRole,
    Role,
    User,
)

DRAFT = StoredDraft("join")
# Deep-link payloads: `/start inv_<token>` joins an organization as a co-representative.
INVITE_PREFIX = "inv_"


class Join(StatesGroup):
    name = State()
    kind = State()
    district = State()
    description = State()
    contacts = State()
    proposals = State()
    agree = State()
    summary = State()


class AnswerInfo(StatesGroup):
    text = State()


TEXT_FIELDS = ("name", "description", "contacts", "proposals")
ORDER = ("name", "kind", "district", "description", "contacts", "proposals", "agree")
ASK_KEYS = {
    "name": "join-ask-name",
    "description": "join-ask-description",
    "contacts": "join-ask-contacts",
    "proposals": "join-ask-proposals",
}


def card(
    *,
    name: str,
    kind: str,
    district: str | None,
    description: str,
    contacts: str,
    proposals: str,
) -> SafeHTML:
    """An application as the applicant and the Secretariat read it (user text escaped)."""
    return t(
        "organizations-card",
        name=name,
        kind=plain(f"organizations-kind-{kind}"),
        district=district or plain("join-district-none"),
        description=description,
        contacts=contacts,
        proposals=proposals,
    )


def organization_card(organization: Organization) -> SafeHTML:
    return card(
        name=organization.name,
        kind=organization.kind.value,
        district=organization.district.name if organization.district else None,
        description=organization.description,
        # Empty when the representative who wrote them erased their data.
        contacts=organization.contacts or plain("organizations-contacts-erased"),
        proposals=organization.proposals,
    )


async def ask(message: Message, state: FSMContext, session: AsyncSession, field: str) -> None:
    await state.set_state(getattr(Join, field))
    if field in TEXT_FIELDS:
        low, high = LIMITS[field]
        await message.answer(t(ASK_KEYS[field], min=low, max=high))
    elif field == "kind":
        await message.answer(t("join-ask-kind"), reply_markup=kind_keyboard())
    elif field == "district":
        picker = await district_picker(session, "join-district-none")
        await message.answer(t("join-ask-district"), reply_markup=picker)
    else:
        await message.answer(t("join-ask-agree"), reply_markup=agree_keyboard())


async def advance(message: Message, state: FSMContext, session: AsyncSession) -> None:
    """Ask the first missing field, or show the summary when all are there (or one was edited)."""
    draft = await DRAFT.load(state)
    missing = [field for field in ORDER if field not in draft]
    if missing and not draft.get("editing"):
        await ask(message, state, session, missing[0])
        return
    draft.pop("editing", None)
    await DRAFT.save(state, draft)
    await state.set_state(Join.summary)
    district = await districts.find(session, draft["district"])
    text = card(
        name=draft["name"],
        kind=draft["kind"],
        district=district.name if district else None,
        description=draft["description"],
        contacts=draft["contacts"],
        proposals=draft["proposals"],
    )
    await message.answer(
        SafeHTML(t("join-summary-title") + "\n\n" + text), reply_markup=summary_keyboard()
    )


async def cmd_join(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    require_registered(user)
    await state.set_state(None)
    await DRAFT.save(state, {})
    await message.answer(t("join-intro"))
    await advance(message, state, session)


async def _take_text(
    message: Message, state: FSMContext, session: AsyncSession, field: str
) -> None:
    value = organizations.clean_field(field, message.text or "")
    if field == "name":
        await organizations.check_name_free(session, value)
    draft = await DRAFT.load(state)
    draft[field] = value
    await DRAFT.save(state, draft)
    await advance(message, state, session)


async def on_name(message: Message, state: FSMContext, session: AsyncSession) -> None:
    await _take_text(message, state, session, "name")


async def on_description(message: Message, state: FSMContext, session: AsyncSession) -> None:
    await _take_text(message, state, session, "description")


async def on_contacts(message: Message, state: FSMContext, session: AsyncSession) -> None:
    await _take_text(message, state, session, "contacts")


async def on_proposals(message: Message, state: FSMContext, session: AsyncSession) -> None:
    await _take_text(message, state, session, "proposals")


async def on_not_text(message: Message) -> None:
    await expect_text(message)


async def on_kind(
    query: CallbackQuery, callback_data: CDKind, state: FSMContext, session: AsyncSession
) -> None:
    message = callback_message(query)
    draft = await DRAFT.load(state)
    draft["kind"] = callback_data.kind
    await DRAFT.save(state, draft)
    await message.edit_text(
        t("join-chosen", value=plain(f"organizations-kind-{callback_data.kind}"))
    )
    await advance(message, state, session)


async def on_district_page(
    query: CallbackQuery, callback_data: CDDistrictPage, session: AsyncSession
) -> None:
    await turn_district_page(query, session, callback_data.page, "join-district-none")


async def on_district(
    query: CallbackQuery,
    callback_data: CDDistrict,
    state: FSMContext,
    session: AsyncSession,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    district = await districts.find(session, callback_data.id)
    if callback_data.id and district is None:
        alert(callback_answer, "districts-not-found")
        return
    draft = await DRAFT.load(state)
    draft["district"] = district.id if district else None
    await DRAFT.save(state, draft)
    label = district.name if district else plain("join-district-none")
    await message.edit_text(t("join-chosen", value=label))
    await advance(message, state, session)


async def on_agree(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
    message = callback_message(query)
    draft = await DRAFT.load(state)
    draft["agree"] = True
    await DRAFT.save(state, draft)
    await message.edit_text(t("join-agreed"))
    await advance(message, state, session)


async def on_edit(
    query: CallbackQuery,
    callback_data: CDJoin,
    state: FSMContext,
    session: AsyncSession,
) -> None:
    message = callback_message(query)
    if callback_data.field not in ORDER:
        raise StaleButton()
    draft = await DRAFT.load(state)
    draft["editing"] = True
    await DRAFT.save(state, draft)
    await message.edit_reply_markup(reply_markup=None)
    await ask(message, state, session, callback_data.field)


async def on_cancel(query: CallbackQuery, state: FSMContext) -> None:
    await abort(state, Join, callback_message(query), "join-cancelled")


async def on_send(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    draft = await DRAFT.load(state)
    if not all(field in draft for field in ORDER):
        raise StaleButton()
    on_behalf = draft.get("on_behalf")
    applicant = (
        await users.find_registered(session, on_behalf) if on_behalf else require_registered(user)
    )
    if applicant is None:
        alert(callback_answer, "error-not-found")
        return
    organization = await organizations.submit(
        session,
        applicant,
        Draft(
            name=draft["name"],
            kind=OrganizationKind(draft["kind"]),
            district_id=draft["district"],
            description=draft["description"],
            contacts=draft["contacts"],
            proposals=draft["proposals"],
        ),
        entered_by=user if on_behalf else None,
    )
    await state.clear()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(t("join-sent", number=organization.id, name=organization.name))
    await notices.notify(
        session,
        await roles.holders(session, Role.SECRETARIAT),
        "organizations-new-application",
        number=organization.id,
        name=organization.name,
    )


async def cmd_register_org(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    """The Secretariat files an application for a person (from paper or a phone call)."""
    users.require_registrar(user)
    number = (command.args or "").strip().lstrip("#")
    person = (
        await users.find_registered(session, int(number))
        if number.isdigit() and len(number) < 10
        else None
    )
    if person is None:
        await message.answer(t("secretariat-org-usage"))
        return
    await state.set_state(None)
    await DRAFT.save(state, {"on_behalf": person.id})
    await message.answer(t("secretariat-org-intro", name=person.name or ""))
    await advance(message, state, session)


# --- the representative's side --------------------------------------------------------------


def status_line(organization: Organization) -> SafeHTML:
    line = t(
        "organizations-status-line",
        number=organization.id,
        name=organization.name,
        status=plain(f"organizations-status-{organization.status.value}"),
    )
    if organization.decision_reason:
        line = SafeHTML(
            line + "\n" + t("organizations-reason", reason=organization.decision_reason)
        )
    if organization.info_requested_at:
        line = SafeHTML(line + "\n" + t("organizations-info-requested"))
    return line


async def cmd_my_orgs(message: Message, session: AsyncSession, user: User | None) -> None:
    user = require_registered(user)
    mine = await organizations.of_user(session, user)
    if not mine:
        await message.answer(t("organizations-none-yet"))
        return
    for organization in mine[:10]:
        await message.answer(
            status_line(organization),
            reply_markup=my_organization_keyboard(
                organization, is_head=organizations.is_representative(organization, user, head=True)
            ),
        )


async def _own(
    session: AsyncSession, user: User | None, organization_id: int
) -> tuple[User, Organization]:
    """The organization, if this person represents it; otherwise a refusal."""
    user = require_registered(user)
    organization = await organizations.get(session, organization_id)
    if not organizations.is_representative(organization, user):
        raise NotAllowed()
    return user, organization


async def on_answer(
    query: CallbackQuery,
    callback_data: CDOrg,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    _, organization = await _own(session, user, callback_data.id)
    talk = await organizations.conversation(session, organization.id)
    question = next((m.text for m in reversed(talk) if m.from_secretariat), "")
    await state.set_state(AnswerInfo.text)
    await state.update_data({"answer_org": organization.id})
    await callback_message(query).answer(t("organizations-answer-ask", question=question))


async def on_answer_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    organization_id = int((await state.get_data()).get("answer_org") or 0)
    organization = await organizations.answer_info(
        session, user, organization_id, message.text or ""
    )
    await state.clear()
    await message.answer(t("organizations-answer-sent"))
    await notices.notify(
        session,
        await roles.holders(session, Role.SECRETARIAT),
        "organizations-answer-arrived",
        number=organization.id,
        name=organization.name,
    )


async def on_answer_not_text(message: Message) -> None:
    await expect_text(message)


async def invite_text(
    bot: Bot, session: AsyncSession, user: User | None, organization_id: int
) -> SafeHTML:
    invite = await organizations.create_invite(session, user, organization_id)
    organization = await organizations.get(session, organization_id)
    link = await create_start_link(bot, INVITE_PREFIX + invite.token)
    return t(
        "organizations-invite-link",
        name=organization.name,
        link=link,
        days=organizations.INVITE_TTL.days,
    )


async def cmd_invite(message: Message, bot: Bot, session: AsyncSession, user: User | None) -> None:
    user = organizations.require_representative(user)
    mine = [
        o
        for o in await organizations.of_user(session, user)
        if o.status == OrganizationStatus.APPROVED
    ]
    for organization in mine[:5]:
        await message.answer(await invite_text(bot, session, user, organization.id))


async def on_invite(
    query: CallbackQuery, callback_data: CDOrg, bot: Bot, session: AsyncSession, user: User | None
) -> None:
    text = await invite_text(bot, session, user, callback_data.id)
    await callback_message(query).answer(text)


async def on_representatives(
    query: CallbackQuery, callback_data: CDOrg, session: AsyncSession, user: User | None
) -> None:
    organization = await organizations.get(session, callback_data.id)
    user = require_registered(user)
    is_head = organizations.is_representative(organization, user, head=True)
    if not organizations.may_see_representatives(organization, user):
        raise NotAllowed()
    lines = [t("organizations-reps-title", name=organization.name)]
    lines += [
        t(
            "organizations-rep-line",
            name=r.user.name or plain("profile-none"),
            role=plain(f"organizations-rep-role-{r.role.value}"),
        )
        for r in organization.representatives
    ]
    await callback_message(query).answer(
        SafeHTML("\n".join(lines)),
        reply_markup=representatives_keyboard(organization, can_remove=is_head),
    )


async def on_remove_representative(
    query: CallbackQuery,
    callback_data: CDOrgRep,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    organization = await organizations.remove_representative(
        session, user, callback_data.id, callback_data.user_id
    )
    toast(callback_answer, "organizations-rep-removed")
    await callback_message(query).edit_reply_markup(
        reply_markup=representatives_keyboard(organization, can_remove=True)
    )


async def on_leave(
    query: CallbackQuery, callback_data: CDOrg, session: AsyncSession, user: User | None
) -> None:
    user, organization = await _own(session, user, callback_data.id)
    if not organizations.is_representative(organization, user, head=True):
        raise NotAllowed()
    await callback_message(query).answer(
        t("organizations-leave-ask", name=organization.name),
        reply_markup=leave_confirm_keyboard(organization.id),
    )


async def on_leave_confirmed(
    query: CallbackQuery, callback_data: CDOrg, session: AsyncSession, user: User | None
) -> None:
    organization = await organizations.leave(session, user, callback_data.id)
    await callback_message(query).edit_text(t("organizations-left", name=organization.name))


async def accept_invite(message: Message, session: AsyncSession, user: User, token: str) -> None:
    """Called from /start with an invitation payload, once the person is registered."""
    try:
        organization = await organizations.accept_invite(session, user, token)
    except DomainError as exc:
        await message.answer(t(exc.key, **exc.params))
        return
    await message.answer(t("organizations-invite-accepted", name=organization.name))


def setup() -> Router:
    """A fresh router with this capability's handlers, in the order they are asked."""
    router = Router(name="organizations")
    router.message.register(cmd_join, Command("join"))
    router.message.register(on_name, Join.name, TEXT_INPUT)
    router.message.register(on_description, Join.description, TEXT_INPUT)
    router.message.register(on_contacts, Join.contacts, TEXT_INPUT)
    router.message.register(on_proposals, Join.proposals, TEXT_INPUT)
    router.message.register(on_not_text, Join.proposals, NOT_TEXT)
    router.message.register(on_not_text, Join.contacts, NOT_TEXT)
    router.message.register(on_not_text, Join.description, NOT_TEXT)
    router.message.register(on_not_text, Join.name, NOT_TEXT)
    router.callback_query.register(
        on_kind,
        Join.kind,
        CDKind.filter(F.kind.in_([k.value for k in OrganizationKind])),
    )
    router.callback_query.register(on_district_page, Join.district, CDDistrictPage.filter())
    router.callback_query.register(on_district, Join.district, CDDistrict.filter())
    router.callback_query.register(on_agree, Join.agree, CDJoin.filter(F.action == "agree"))
    router.callback_query.register(on_edit, Join.summary, CDJoin.filter(F.action == "edit"))
    router.callback_query.register(on_cancel, CDJoin.filter(F.action.in_({"cancel", "decline"})))
    router.callback_query.register(on_send, Join.summary, CDJoin.filter(F.action == "send"))
    router.message.register(cmd_register_org, Command("register_org"))
    router.message.register(cmd_my_orgs, Command("my_orgs"))
    router.callback_query.register(on_answer, CDOrg.filter(F.action == "answer"))
    router.message.register(on_answer_text, AnswerInfo.text, TEXT_INPUT)
    router.message.register(on_answer_not_text, AnswerInfo.text, NOT_TEXT)
    router.message.register(cmd_invite, Command("invite"))
    router.callback_query.register(on_invite, CDOrg.filter(F.action == "invite"))
    router.callback_query.register(on_representatives, CDOrg.filter(F.action == "reps"))
    router.callback_query.register(on_remove_representative, CDOrgRep.filter())
    router.callback_query.register(on_leave, CDOrg.filter(F.action == "leave"))
    router.callback_query.register(on_leave_confirmed, CDOrg.filter(F.action == "leave_yes"))
    return router


def _keys() -> set[str]:
    keys = {f"organizations-kind-{kind.value}" for kind in OrganizationKind}
    keys |= {f"organizations-status-{status.value}" for status in OrganizationStatus}
    keys |= {f"organizations-rep-role-{role.value}" for role in RepresentativeRole}
    keys |= {f"join-field-{field}" for field in EDITABLE_FIELDS}
    for field in LIMITS:
        keys |= {f"organizations-{field}-too-short", f"organizations-{field}-too-long"}
    return keys


capability = Capability(
    name="organizations",
    setup=setup,
    commands=(
        CommandSpec("join", group=HomeGroup.ORGANIZATION),
        CommandSpec("my_orgs", group=HomeGroup.ORGANIZATION),
        CommandSpec("invite", REPRESENTATIVES, HomeGroup.ORGANIZATION),
        CommandSpec("register_org", SECRETARIAT, HomeGroup.SECRETARIAT),
    ),
    keys=_keys,
    public_callbacks=(CDKind, CDJoin),
)
