"""Resources people and organizations offer to meet the needs (time and skills, premises,
equipment, transport, money), the offers that match a need, and asking an offer's owner through
the bot: contacts are exchanged only after the owner agrees."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.db import affected
from bot.services import audit
from bot.services.errors import DomainError, InvalidInput, NotAllowed, NotFound
from bot.services.needs.access import require_moderator
from bot.services.paging import Page, page_bounds
from bot.services.permissions import require_registered
from models import District, Organization, OrganizationStatus, Outbox, Representative, Topic, User
from models.base import utcnow
from models.needs import (
    OPEN_STATUSES,
    ContactRequestStatus,
    Need,
    NeedCategory,
    ResourceContact,
    ResourceKind,
    ResourceOffer,
)

# Field limits keep a list of offers and the owner's request under Telegram's 4096 characters.
LIMITS: dict[str, tuple[int, int]] = {
    "description": (10, 1000),
    "available": (2, 300),
}
PER_PAGE = 5

# Builds the buttons of the owner's request (rows of {"text_key", "data"}); the keyboards module
# knows the callback format, so the service stays free of aiogram.
RequestButtons = Callable[[ResourceContact], list[list[dict[str, str]]]]


class OfferWithdrawn(DomainError):
    key = "resources-offer-withdrawn"


class AlreadyAnswered(DomainError):
    key = "resources-already-answered"


def clean_field(field: str, raw: str) -> str:
    """A text field of an offer, trimmed and checked against its length limits."""
    low, high = LIMITS[field]
    value = raw.strip()
    if len(value) < low:
        raise InvalidInput(f"resources-{field}-too-short", min=low, length=len(value))
    if len(value) > high:
        raise InvalidInput(f"resources-{field}-too-long", max=high, length=len(value))
    return value


async def categories(session: AsyncSession) -> list[NeedCategory]:
    """The active categories of needs, in their order."""
    rows = await session.scalars(
        select(NeedCategory)
        .where(NeedCategory.active.is_(True))
        .order_by(NeedCategory.position, NeedCategory.id)
    )
    return list(rows)


async def category(session: AsyncSession, category_id: int | None) -> NeedCategory | None:
    return None if category_id is None else await session.get(NeedCategory, category_id)


async def organizations_of(session: AsyncSession, user: User) -> list[Organization]:
    """The approved organizations the person represents: they may offer on their behalf."""
    rows = await session.scalars(
        select(Organization)
        .join(Representative, Representative.organization_id == Organization.id)
        .where(
            Representative.user_id == user.id,
            Organization.status == OrganizationStatus.APPROVED,
        )
        .order_by(Organization.name, Organization.id)
    )
    return list(rows)


async def organization_of(
    session: AsyncSession, user: User, organization_id: int | None
) -> Organization | None:
    """One of the approved organizations the person represents, by id; None for any other."""
    if not organization_id:
        return None
    return next((o for o in await organizations_of(session, user) if o.id == organization_id), None)


@dataclass
class Draft:
    kind: ResourceKind
    district_id: int | None
    category_id: int | None
    description: str
    available: str
    organization_id: int | None = None


async def create_offer(session: AsyncSession, user: User | None, draft: Draft) -> ResourceOffer:
    """A registered person offers a resource, for themselves or for an approved organization
    they represent."""
    user = require_registered(user)
    description = clean_field("description", draft.description)
    available = clean_field("available", draft.available)
    if draft.district_id is not None and await session.get(District, draft.district_id) is None:
        raise NotFound("districts-not-found")
    if draft.category_id is not None:
        found = await session.get(NeedCategory, draft.category_id)
        if found is None or not found.active:
            raise NotFound("resources-category-not-found")
    organization = await organization_of(session, user, draft.organization_id)
    if draft.organization_id and organization is None:
        raise NotAllowed()
    offer = ResourceOffer(
        owner_id=user.id,
        organization_id=draft.organization_id,
        kind=ResourceKind(draft.kind),
        district_id=draft.district_id,
        category_id=draft.category_id,
        description=description,
        available=available,
    )
    session.add(offer)
    await session.flush()
    await audit.record(
        session,
        user,
        "resource.offer",
        "resource_offer",
        offer.id,
        kind=offer.kind.value,
        organization_id=offer.organization_id,
    )
    return offer


async def _paged(
    session: AsyncSession, conditions: list[ColumnElement[bool]], page: int, per_page: int
) -> Page[ResourceOffer]:
    total = (
        await session.scalar(select(func.count()).select_from(ResourceOffer).where(*conditions))
        or 0
    )
    page, pages = page_bounds(page, total, per_page)
    rows = await session.scalars(
        select(ResourceOffer)
        .where(*conditions)
        .order_by(ResourceOffer.created_at.desc(), ResourceOffer.id.desc())
        .offset(page * per_page)
        .limit(per_page)
    )
    return Page(list(rows), page, pages, total)


async def my_offers(
    session: AsyncSession, user: User | None, page: int = 0, per_page: int = PER_PAGE
) -> Page[ResourceOffer]:
    """The person's active offers, newest first."""
    user = require_registered(user)
    conditions: list[ColumnElement[bool]] = [
        ResourceOffer.owner_id == user.id,
        ResourceOffer.active.is_(True),
    ]
    return await _paged(session, conditions, page, per_page)


async def withdraw(session: AsyncSession, user: User | None, offer_id: int) -> ResourceOffer:
    """The owner withdraws their offer: it no longer matches any need nor can be asked for."""
    user = require_registered(user)
    offer = await session.get(ResourceOffer, offer_id)
    if offer is None or offer.owner_id != user.id:
        raise NotAllowed()
    result = await session.execute(
        update(ResourceOffer)
        .where(ResourceOffer.id == offer_id, ResourceOffer.active.is_(True))
        .values(active=False, withdrawn_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.refresh(offer)
    if affected(result) == 0:
        raise OfferWithdrawn()
    await audit.record(session, user, "resource.withdraw", "resource_offer", offer.id)
    return offer


async def get_need(session: AsyncSession, need_id: int) -> Need:
    need = await session.get(Need, need_id)
    if need is None:
        raise NotFound("resources-need-not-found", number=need_id)
    return need


def _matching(need: Need) -> list[ColumnElement[bool]]:
    """An active offer of a living owner, in the need's district or the whole city, for its
    category or any."""
    living = select(User.id).where(User.deleted_at.is_(None))
    return [
        ResourceOffer.active.is_(True),
        ResourceOffer.owner_id.in_(living),
        or_(ResourceOffer.district_id == need.district_id, ResourceOffer.district_id.is_(None)),
        or_(ResourceOffer.category_id == need.category_id, ResourceOffer.category_id.is_(None)),
    ]


async def matching_offers(
    session: AsyncSession,
    user: User | None,
    need_id: int,
    page: int = 0,
    per_page: int = PER_PAGE,
) -> tuple[Need, Page[ResourceOffer]]:
    """The active offers that suit a need, for those who may work it."""
    need = await get_need(session, need_id)
    await require_moderator(session, user, need)
    return need, await _paged(session, _matching(need), page, per_page)


async def ask(
    session: AsyncSession,
    user: User | None,
    offer_id: int,
    need_id: int,
    buttons: RequestButtons,
) -> ResourceContact:
    """A need's handler asks an offer's owner, through the bot, whether they will share contacts;
    the owner gets the need's number and text with Agree / Decline."""
    need = await get_need(session, need_id)
    asker = await require_moderator(session, user, need)
    if need.status not in OPEN_STATUSES:
        raise InvalidInput("resources-need-closed", number=need.id)
    offer = await session.get(ResourceOffer, offer_id)
    if offer is None:
        raise NotFound()
    matches = await session.scalar(
        select(ResourceOffer.id).where(ResourceOffer.id == offer_id, *_matching(need))
    )
    if not offer.active:
        raise OfferWithdrawn()
    if matches is None:
        raise InvalidInput("resources-offer-does-not-match", number=need.id)
    if offer.owner_id == asker.id:
        raise InvalidInput("resources-own-offer")
    earlier = await session.scalar(
        select(ResourceContact).where(
            ResourceContact.offer_id == offer.id,
            ResourceContact.need_id == need.id,
            ResourceContact.status != ContactRequestStatus.DECLINED,
        )
    )
    if earlier is not None:
        key = (
            "resources-already-asked"
            if earlier.status == ContactRequestStatus.ASKED
            else "resources-already-shared"
        )
        raise InvalidInput(key)
    contact = ResourceContact(offer_id=offer.id, need_id=need.id, asker_id=asker.id)
    session.add(contact)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        # The same press twice at once: the other one asked (uq_resource_contacts_open).
        raise InvalidInput("resources-already-asked") from None
    outbox = Outbox(
        kind="resource_request",
        topic=Topic.DUTY,
        text_key="resources-request",
        text_params={
            "offer": offer.id,
            "need": need.id,
            "district": need.district.name,
            "description": need.description[:1500],
            "offer_description": offer.description[:300],
        },
        buttons=buttons(contact),
        author_id=asker.id,
    )
    assert offer.owner_id is not None  # a living owner: `_matching` checked it
    await delivery.enqueue(session, outbox, {"users": [offer.owner_id]})
    await audit.record(
        session, asker, "resource.ask", "resource_contact", contact.id, offer_id=offer.id
    )
    return contact


@dataclass(frozen=True)
class Answered:
    contact: ResourceContact
    offer: ResourceOffer
    need: Need
    # None when the asker has since erased themselves.
    asker: User | None
    owner: User


async def answer(
    session: AsyncSession, user: User | None, contact_id: int, agree: bool
) -> Answered:
    """The offer's owner agrees to share contacts or declines; only the first answer counts, and
    contacts are shared only while the asker may still work the need and the offer stands."""
    owner = require_registered(user)
    contact = await session.get(ResourceContact, contact_id)
    if contact is None:
        raise NotFound()
    offer = await session.get(ResourceOffer, contact.offer_id)
    if offer is None or offer.owner_id != owner.id:
        raise NotAllowed()
    if contact.status != ContactRequestStatus.ASKED:
        raise AlreadyAnswered()
    need = await get_need(session, contact.need_id)
    asker = await session.get(User, contact.asker_id) if contact.asker_id else None
    if agree:
        if not offer.active:
            raise OfferWithdrawn()
        if asker is None:
            raise InvalidInput("resources-asker-gone")
        try:
            await require_moderator(session, asker, need)
        except NotAllowed:
            raise InvalidInput("resources-asker-gone") from None
    status = ContactRequestStatus.ACCEPTED if agree else ContactRequestStatus.DECLINED
    # The conditional update is the arbiter of two racing presses.
    result = await session.execute(
        update(ResourceContact)
        .where(
            ResourceContact.id == contact.id,
            ResourceContact.status == ContactRequestStatus.ASKED,
        )
        .values(status=status, answered_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if affected(result) == 0:
        raise AlreadyAnswered()
    await session.refresh(contact)
    await audit.record(
        session,
        owner,
        "resource.agree" if agree else "resource.decline",
        "resource_contact",
        contact.id,
    )
    return Answered(contact, offer, need, asker, owner)


async def _card_params(
    session: AsyncSession, person: User, offer: ResourceOffer | None
) -> dict[str, str | int]:
    """A person's contacts as the other side reads them; a missing @username or phone is named
    by a catalogue key, rendered in the reader's language."""
    name = person.name or "—"
    if offer is not None and offer.organization_id is not None:
        organization = await session.get(Organization, offer.organization_id)
        if organization is not None:
            name = f"{name}, {organization.name}"
    # A string, so that erasure's scrubber finds it in the stored notice like any other trace.
    params: dict[str, str | int] = {"name": name, "telegram_id": str(person.telegram_id or 0)}
    if person.username:
        params["username"] = f"@{person.username}"
    else:
        params["username_key"] = "resources-contact-none"
    if person.phone:
        params["phone"] = person.phone
    else:
        params["phone_key"] = "resources-contact-none"
    return params


async def exchange_contacts(session: AsyncSession, answered: Answered) -> None:
    """Both sides get the other's contacts (name, @username or a link, phone if known)."""
    offer, need = answered.offer, answered.need
    if answered.asker is None:
        return
    about = {"offer": offer.id, "need": need.id}
    for reader, other, key, other_offer in (
        (answered.asker, answered.owner, "resources-contacts-of-owner", offer),
        (answered.owner, answered.asker, "resources-contacts-of-asker", None),
    ):
        params = {**about, **await _card_params(session, other, other_offer)}
        outbox = Outbox(kind="notice", topic=Topic.DUTY, text_key=key, text_params=params)
        await delivery.enqueue(session, outbox, {"users": [reader.id]})


async def tell_declined(session: AsyncSession, answered: Answered) -> None:
    """The asker is told, politely, that the owner declined."""
    if answered.asker is None:
        return
    outbox = Outbox(
        kind="notice",
        topic=Topic.DUTY,
        text_key="resources-declined-notice",
        text_params={"offer": answered.offer.id, "need": answered.need.id},
    )
    await delivery.enqueue(session, outbox, {"users": [answered.asker.id]})
