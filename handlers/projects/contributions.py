"""A participant's contributions, from its row in the consortium panel: a dialog (kind, value
in roubles, description, a pledged resource), and changing or deleting one. A value the
district-majority rule refuses is refused at its step, so the person can type another."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, callback_message
from bot.dialogs import expect_text, step_done
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.projects_team import (
    CDTeamContribution,
    CDTeamKind,
    CDTeamMember,
    CDTeamResource,
    confirm_keyboard,
    contribution_keyboard,
    resources_keyboard,
)
from bot.services.projects import consortium, contributions
from bot.services.projects.rules import clean
from bot.texts import t
from handlers.projects.consortium import contribution_line, member_view, warn
from models import User
from models.projects import ContributionKind


class ContributionDialog(StatesGroup):
    value = State()  # a new contribution's value
    description = State()
    edit_value = State()
    edit_text = State()


async def on_kind(
    query: CallbackQuery,
    callback_data: CDTeamKind,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    if callback_data.kind not in {k.value for k in ContributionKind}:
        raise StaleButton()
    _, _, participant = await contributions.contributor(session, user, callback_data.id)
    await state.set_state(ContributionDialog.value)
    await state.update_data({"pt_participant": participant.id, "pt_kind": callback_data.kind})
    await step_done(message, t("projects-team-ask-value"))


async def on_value(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    value = contributions.parse_value(message.text or "")
    participant_id = int((await state.get_data()).get("pt_participant") or 0)
    # A value the rule refuses is refused now, while the person can type another.
    await contributions.check_value(session, user, participant_id, value)
    await state.update_data({"pt_value": value})
    await state.set_state(ContributionDialog.description)
    await message.answer(t("projects-team-ask-description"))


async def _save_contribution(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    resource_id: int | None,
) -> None:
    data = await state.get_data()
    participant_id = int(data.get("pt_participant") or 0)
    _, warning = await contributions.add_contribution(
        session,
        user,
        participant_id,
        ContributionKind(str(data.get("pt_kind") or ContributionKind.OTHER.value)),
        int(data.get("pt_value") or 0),
        str(data.get("pt_description") or ""),
        resource_id,
    )
    await state.set_state(None)
    # A resource button of this dialog pressed again finds nothing to save.
    await state.update_data({"pt_description": "", "pt_value": 0})
    await message.answer(
        t("projects-team-minority-warning") if warning else t("projects-team-contribution-saved")
    )
    text, markup = await member_view(session, user, participant_id)
    await message.answer(text, reply_markup=markup)


async def on_description(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    text = clean(message.text, limit=contributions.DESCRIPTION_MAX)
    data = await state.get_data()
    participant = await consortium.get_participant(session, int(data.get("pt_participant") or 0))
    await state.update_data({"pt_description": text})
    if user is not None:
        offers = await contributions.pledgeable(session, user, participant)
        if offers:
            await state.set_state(None)
            await message.answer(
                t("projects-team-ask-resource"), reply_markup=resources_keyboard(offers)
            )
            return
    await _save_contribution(message, state, session, user, None)


async def on_resource(
    query: CallbackQuery,
    callback_data: CDTeamResource,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
) -> None:
    message = callback_message(query)
    data = await state.get_data()
    if not data.get("pt_description") or not data.get("pt_participant"):
        raise StaleButton()
    # Saved first: a refused resource leaves the buttons for another choice.
    await _save_contribution(message, state, session, user, callback_data.id or None)
    await message.edit_reply_markup(reply_markup=None)


async def on_contribution(
    query: CallbackQuery,
    callback_data: CDTeamContribution,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    contribution = await contributions.get_contribution(session, callback_data.id)
    _, _, participant = await contributions.contributor(session, user, contribution.participant_id)
    act = callback_data.act
    if act == "open":
        await message.answer(
            contribution_line(contribution),
            reply_markup=contribution_keyboard(contribution.id, participant.id),
        )
        return
    if act in ("value", "text"):
        await state.set_state(
            ContributionDialog.edit_value if act == "value" else ContributionDialog.edit_text
        )
        await state.update_data({"pt_contribution": contribution.id})
        await message.answer(
            t("projects-team-ask-value" if act == "value" else "projects-team-ask-description")
        )
        return
    if act == "delete":
        await message.answer(
            t("projects-team-confirm-delete"),
            reply_markup=confirm_keyboard(
                CDTeamContribution(id=contribution.id, act="delete!"),
                CDTeamMember(id=participant.id),
            ),
        )
        return
    if act != "delete!":
        raise StaleButton()
    _, warning = await contributions.delete_contribution(session, user, contribution.id)
    warn(callback_answer, warning, "projects-team-contribution-deleted")
    await message.edit_reply_markup(reply_markup=None)
    text, markup = await member_view(session, user, participant.id)
    await message.answer(text, reply_markup=markup)


async def on_edit(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    contribution_id = int((await state.get_data()).get("pt_contribution") or 0)
    if await state.get_state() == ContributionDialog.edit_value.state:
        value = contributions.parse_value(message.text or "")
        contribution, warning = await contributions.edit_contribution(
            session, user, contribution_id, value=value
        )
    else:
        contribution, warning = await contributions.edit_contribution(
            session, user, contribution_id, description=message.text or ""
        )
    await state.set_state(None)
    await message.answer(
        t("projects-team-minority-warning") if warning else t("projects-team-contribution-saved")
    )
    text, markup = await member_view(session, user, contribution.participant_id)
    await message.answer(text, reply_markup=markup)


async def on_not_text(message: Message) -> None:
    await expect_text(message)


def setup() -> Router:
    router = Router(name="projects_contributions")
    router.callback_query.register(on_kind, CDTeamKind.filter())
    router.callback_query.register(on_resource, CDTeamResource.filter())
    router.callback_query.register(on_contribution, CDTeamContribution.filter())
    router.message.register(on_value, ContributionDialog.value, TEXT_INPUT)
    router.message.register(on_description, ContributionDialog.description, TEXT_INPUT)
    router.message.register(on_edit, ContributionDialog.edit_value, TEXT_INPUT)
    router.message.register(on_edit, ContributionDialog.edit_text, TEXT_INPUT)
    for step in ContributionDialog.__all_states__:
        router.message.register(on_not_text, step, NOT_TEXT)
    return router
