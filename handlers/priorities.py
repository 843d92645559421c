"""/priority_poll: the presidium (or a committee's chair or secretary) asks the citizens of a
district, or of the city, to choose among the most supported open needs. District, the needs
ticked, the duration and secrecy, a summary with the number of voters, and the poll opens
through the vote engine (see bot/services/priorities.py)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import alert, callback_message
from bot.capabilities import Capability, CommandSpec, HomeGroup
from bot.config import Settings
from bot.drafts import StoredDraft
from bot.keyboards.common import CDDistrict, CDDistrictPage
from bot.keyboards.priorities import CDPriority, needs_keyboard, settings_keyboard
from bot.keyboards.votes import ballot_rows
from bot.services import priorities
from bot.services.permissions import ORGANIZERS
from bot.texts import SafeHTML, plain, t, tn
from handlers.common import district_picker, turn_district_page
from models import District, User
from models.needs import Need

DRAFT = StoredDraft("priority_poll")
CITY = "priorities-city"


class PollDialog(StatesGroup):
    district = State()
    needs = State()
    settings = State()


async def cmd_priority_poll(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    await priorities.organizing_body(session, user)
    await state.set_state(PollDialog.district)
    await DRAFT.save(state, {})
    await message.answer(
        t("priorities-ask-district"), reply_markup=await district_picker(session, CITY)
    )


async def on_district_page(
    query: CallbackQuery, callback_data: CDDistrictPage, session: AsyncSession
) -> None:
    await turn_district_page(query, session, callback_data.page, CITY)


def _place(district: District | None) -> str:
    if district is None:
        return plain("priorities-place-city")
    return plain("priorities-place-district", number=district.number, name=district.name)


async def on_district(
    query: CallbackQuery,
    callback_data: CDDistrict,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    await priorities.organizing_body(session, user)
    message = callback_message(query)
    district_id = callback_data.id or None
    district = await priorities.district_or_city(session, district_id)
    offered = await priorities.candidates(session, district_id)
    await message.edit_reply_markup(reply_markup=None)
    if len(offered) < priorities.MIN_NEEDS:
        await state.clear()
        await message.answer(t("priorities-too-few", place=_place(district)))
        return
    picked = [need.id for need in offered[:3]]
    draft = {"district": district_id, "offered": [need.id for need in offered], "picked": picked}
    await DRAFT.save(state, draft)
    await state.set_state(PollDialog.needs)
    await message.answer(
        t("priorities-ask-needs", place=_place(district), max=priorities.MAX_NEEDS),
        reply_markup=needs_keyboard(offered, picked),
    )


async def _offered(session: AsyncSession, draft: dict) -> list[Need]:
    found = [await session.get(Need, need_id) for need_id in draft.get("offered", [])]
    return [need for need in found if need is not None]


async def on_tick(
    query: CallbackQuery,
    callback_data: CDPriority,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    await priorities.organizing_body(session, user)
    draft = await DRAFT.load(state)
    if callback_data.value not in draft.get("offered", []):
        alert(callback_answer, "error-stale-button")
        return
    picked: list[int] = draft.get("picked", [])
    if callback_data.value in picked:
        picked.remove(callback_data.value)
    else:
        picked.append(callback_data.value)
    draft["picked"] = picked
    await DRAFT.save(state, draft)
    await callback_message(query).edit_reply_markup(
        reply_markup=needs_keyboard(await _offered(session, draft), picked)
    )


async def on_next(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    callback_answer: CallbackAnswer,
) -> None:
    await priorities.organizing_body(session, user)
    draft = await DRAFT.load(state)
    count = len(draft.get("picked", []))
    if not priorities.MIN_NEEDS <= count <= priorities.MAX_NEEDS:
        alert(
            callback_answer,
            "priorities-pick-count",
            min=priorities.MIN_NEEDS,
            max=priorities.MAX_NEEDS,
        )
        return
    draft.setdefault("days", 7)
    draft.setdefault("secret", False)
    await DRAFT.save(state, draft)
    await state.set_state(PollDialog.settings)
    message = callback_message(query)
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(
        await _summary(session, draft),
        reply_markup=settings_keyboard(draft["days"], draft["secret"]),
    )


async def _summary(session: AsyncSession, draft: dict) -> SafeHTML:
    district = await priorities.district_or_city(session, draft.get("district"))
    by_id = {need.id: need for need in await _offered(session, draft)}
    lines = [
        f"{index}. {priorities.option_label(by_id[need_id])}"
        for index, need_id in enumerate(draft.get("picked", []), start=1)
        if need_id in by_id
    ]
    return t(
        "priorities-summary",
        place=_place(district),
        needs="\n".join(lines),
        days=plain("priorities-days", n=draft["days"]),
        secrecy=plain("priorities-secret-yes" if draft["secret"] else "priorities-secret-no"),
        voters=await priorities.roll_size(session, draft.get("district")),
    )


async def on_setting(
    query: CallbackQuery,
    callback_data: CDPriority,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    await priorities.organizing_body(session, user)
    draft = await DRAFT.load(state)
    if callback_data.act == "secret":
        draft["secret"] = not draft.get("secret", False)
    elif callback_data.value in priorities.DURATIONS:
        draft["days"] = callback_data.value
    else:
        alert(callback_answer, "error-stale-button")
        return
    await DRAFT.save(state, draft)
    await callback_message(query).edit_text(
        await _summary(session, draft),
        reply_markup=settings_keyboard(draft["days"], draft["secret"]),
    )


async def on_open(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    settings: Settings,
    i18n: I18n,
) -> None:
    draft = await DRAFT.load(state)
    district = await priorities.district_or_city(session, draft.get("district"))
    # The question stays as written: in the Assembly's own language, the same for everyone.
    with i18n.use_locale(settings.default_language):
        question = plain("priorities-question", place=_place(district))
        explained = plain("priorities-ballot-text")
    vote = await priorities.create(
        session,
        user,
        priorities.PollInput(
            district_id=draft.get("district"),
            need_ids=draft.get("picked", []),
            days=draft.get("days", 7),
            question=question,
            secret=draft.get("secret", False),
            text=explained,
        ),
        timezone=settings.timezone,
        buttons=ballot_rows,
    )
    await state.clear()
    message = callback_message(query)
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(tn("priorities-opened", vote.eligible_count, number=vote.id))


async def on_abort(
    query: CallbackQuery, state: FSMContext, callback_answer: CallbackAnswer
) -> None:
    if not (await state.get_state() or "").startswith("PollDialog:"):
        alert(callback_answer, "error-stale-button")
        return
    await state.clear()
    message = callback_message(query)
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(t("priorities-aborted"))


async def on_typed(message: Message) -> None:
    """Text, a photo or anything else sent mid-dialog: every step here is a button."""
    await message.answer(t("priorities-use-buttons"))


async def on_stale(
    callback_answer: CallbackAnswer, user: User | None, session: AsyncSession
) -> None:
    """A button of this dialog pressed outside it (an old message, a forged press)."""
    await priorities.organizing_body(session, user)
    alert(callback_answer, "error-stale-button")


def setup() -> Router:
    router = Router(name="priorities")
    router.message.register(cmd_priority_poll, Command("priority_poll"))
    router.callback_query.register(on_district_page, PollDialog.district, CDDistrictPage.filter())
    router.callback_query.register(on_district, PollDialog.district, CDDistrict.filter())
    router.callback_query.register(on_tick, PollDialog.needs, CDPriority.filter(F.act == "tick"))
    router.callback_query.register(on_next, PollDialog.needs, CDPriority.filter(F.act == "next"))
    router.callback_query.register(
        on_setting, PollDialog.settings, CDPriority.filter(F.act.in_({"days", "secret"}))
    )
    router.callback_query.register(on_open, PollDialog.settings, CDPriority.filter(F.act == "open"))
    router.callback_query.register(on_abort, CDPriority.filter(F.act == "abort"))
    router.message.register(
        on_typed,
        StateFilter(PollDialog.district, PollDialog.needs, PollDialog.settings),
        ~F.text.startswith("/"),
    )
    router.callback_query.register(on_stale, CDPriority.filter())
    return router


def _keys() -> set[str]:
    return {"priorities-secret-on", "priorities-secret-off"}


capability = Capability(
    name="priorities",
    setup=setup,
    commands=(CommandSpec("priority_poll", ORGANIZERS, HomeGroup.COUNCIL),),
    keys=_keys,
)
