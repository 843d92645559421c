"""A project's consortium panel ("team" on the card): participants with roles and
contributions and the district's share; volunteering and leaving; owners invite organizations,
name roles and remove participants. Invitations are answered from the notice or from
/project_invites. The contributions' own dialog is in `contributions.py`."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import StaleButton, alert, callback_message, toast
from bot.dialogs import expect_text
from bot.filters import NOT_TEXT, TEXT_INPUT
from bot.keyboards.projects import PANEL_TEAM, CDProjectPanel
from bot.keyboards.projects_team import (
    CDTeam,
    CDTeamInvite,
    CDTeamMember,
    CDTeamOrg,
    confirm_keyboard,
    invite_answer_buttons,
    invites_keyboard,
    kinds_keyboard,
    member_keyboard,
    organizations_keyboard,
    team_keyboard,
    without_invitation,
)
from bot.services.errors import NotAllowed
from bot.services.projects import access, consortium, contributions, stakes
from bot.services.projects.consortium import NOT_FOR_VOLUNTEERS, VOLUNTEER, Member
from bot.texts import SafeHTML, clip, plain, roubles, t, utf16_len
from models import User
from models.projects import ParticipantStatus, ProjectContribution

P = ParticipantStatus
# The panel's text (its HTML, longer than what Telegram counts) stays under this.
BUDGET = 3800
CONTRIBUTIONS_SHOWN = 5
MEMBER_BUTTONS = 40


class TeamDialog(StatesGroup):
    search = State()  # part of an organization's name
    role = State()


def _name(member: Member) -> str:
    return member.name or plain("projects-team-erased")


def _role(role: str) -> str:
    return plain("projects-team-role-volunteer") if role == VOLUNTEER else role


def contribution_line(contribution: ProjectContribution) -> SafeHTML:
    return t(
        "projects-team-contribution",
        kind=plain(f"projects-team-kind-{contribution.kind.value}"),
        value=roubles(contribution.value),
        text=clip(contribution.description, 120),
    )


# --- The panel --------------------------------------------------------------------------------


async def team_view(
    session: AsyncSession, user: User | None, project_id: int
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    team = await consortium.team(session, user, project_id)
    project = team.project
    lines: list[str] = [
        t("projects-team-panel-title", number=project.id, title=clip(project.title, 150)),
        t("projects-team-panel-total", total=roubles(team.stakes.total)),
    ]
    if team.stakes.applies:
        if team.stakes.share is None:
            key = "projects-team-panel-nothing-valued"
        elif team.stakes.controlling:
            key = "projects-team-panel-controlling"
        else:
            key = "projects-team-panel-not-controlling"
        lines.append(t(key, share=stakes.percent(team.stakes.share)))
    else:
        lines.append(t("projects-team-panel-no-rule"))
    buttons: list[tuple[int, str]] = []
    used = sum(utf16_len(line) + 1 for line in lines)
    cut = False
    for index, member in enumerate(team.members, start=1):
        participant = member.participant
        if (team.owner or participant.id in team.mine) and len(buttons) < MEMBER_BUTTONS:
            buttons.append((participant.id, f"{index}. {_name(member)}"))
        if cut:
            continue
        value = team.stakes.values.get(participant.id)
        block = [
            "",
            t(
                "projects-team-member",
                index=index,
                name=clip(_name(member), 100),
                role=clip(_role(participant.role), 100)
                if participant.role
                else plain("projects-team-no-role"),
                status=plain(f"projects-team-participant-{participant.status.value}"),
                value=roubles(sum(c.value for c in member.contributions)),
                share=stakes.percent(team.stakes.participant_share(participant.id))
                if value is not None
                else "—",
            ),
            *(contribution_line(c) for c in member.contributions[:CONTRIBUTIONS_SHOWN]),
        ]
        size = sum(utf16_len(line) + 1 for line in block)
        # A long consortium is cut so the message stays within Telegram's 4096 characters.
        if used + size > BUDGET:
            cut = True
            continue
        lines += block
        used += size
    if cut:
        lines += ["", t("projects-team-panel-more")]
    may_volunteer = (
        user is not None
        and user.is_registered
        and not team.volunteering
        and project.status not in NOT_FOR_VOLUNTEERS
    )
    markup = team_keyboard(
        project.id,
        buttons,
        may_volunteer=may_volunteer,
        owner=team.owner and project.status not in consortium.CLOSED,
    )
    return SafeHTML("\n".join(lines)), markup


async def _show_team(message: Message, session: AsyncSession, user: User | None, pid: int) -> None:
    text, markup = await team_view(session, user, pid)
    await message.answer(text, reply_markup=markup)


async def on_panel(
    query: CallbackQuery, callback_data: CDProjectPanel, session: AsyncSession, user: User | None
) -> None:
    await _show_team(callback_message(query), session, user, callback_data.id)


def warn(callback_answer: CallbackAnswer, warning: bool, key: str) -> None:
    """A confirmation, or the warning that only the council's allowance let the change in."""
    if warning:
        alert(callback_answer, "projects-team-minority-warning")
    else:
        toast(callback_answer, key)


async def on_team(
    query: CallbackQuery,
    callback_data: CDTeam,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    if callback_data.act == "join":
        outcome = await consortium.volunteer(session, user, callback_data.id)
        warn(
            callback_answer,
            outcome.warning,
            "projects-team-joined" if outcome.changed else "projects-team-already-in",
        )
    elif callback_data.act == "invite":
        project = await consortium.require_inviter(session, user, callback_data.id)
        await state.set_state(TeamDialog.search)
        await state.update_data({"pt_project": project.id})
        await message.answer(t("projects-team-ask-search"))
        return
    elif callback_data.act != "show":
        raise StaleButton()
    await _show_team(message, session, user, callback_data.id)


# --- A participant ----------------------------------------------------------------------------


async def member_view(
    session: AsyncSession, user: User | None, participant_id: int
) -> tuple[SafeHTML, InlineKeyboardMarkup]:
    participant = await consortium.get_participant(session, participant_id)
    team = await consortium.team(session, user, participant.project_id)
    member = next((m for m in team.members if m.participant.id == participant_id), None)
    speaks = participant_id in team.mine
    if member is None or not (team.owner or speaks):
        raise NotAllowed()
    lines = [
        t(
            "projects-team-member-title",
            number=team.project.id,
            name=clip(_name(member), 100),
        ),
        t(
            "projects-team-member-role",
            role=clip(_role(participant.role), 100)
            if participant.role
            else plain("projects-team-no-role"),
        ),
        t(
            "projects-team-member-status",
            status=plain(f"projects-team-participant-{participant.status.value}"),
        ),
    ]
    lines += [contribution_line(c) for c in member.contributions[:15]]
    if not member.contributions:
        lines.append(t("projects-team-member-no-contributions"))
    open_ = team.project.status not in consortium.CLOSED
    contributions = (
        [
            (c.id, f"{plain(f'projects-team-kind-{c.kind.value}')} · {roubles(c.value)}")
            for c in member.contributions[:15]
        ]
        if speaks and open_
        else []
    )
    markup = member_keyboard(
        participant.id,
        team.project.id,
        contributions,
        may_contribute=speaks and open_,
        may_leave=speaks and open_ and not participant.lead and participant.status == P.ACTIVE,
        owner=team.owner and open_,
        removable=not participant.lead,
    )
    return SafeHTML("\n".join(lines)), markup


async def on_member(
    query: CallbackQuery,
    callback_data: CDTeamMember,
    state: FSMContext,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    act, participant_id = callback_data.act, callback_data.id
    if act == "open":
        text, markup = await member_view(session, user, participant_id)
        await message.answer(text, reply_markup=markup)
        return
    participant = await consortium.get_participant(session, participant_id)
    if act == "add":
        await contributions.contributor(session, user, participant.id)
        await message.answer(
            t("projects-team-ask-kind"), reply_markup=kinds_keyboard(participant.id)
        )
        return
    if act == "role":
        project = await access.get(session, participant.project_id)
        await access.require_owner(session, user, project)
        await state.set_state(TeamDialog.role)
        await state.update_data({"pt_participant": participant.id})
        await message.answer(t("projects-team-ask-role"))
        return
    if act in ("leave", "remove"):
        if act == "leave" and not await consortium.speaks_for(session, user, participant):
            raise NotAllowed()
        if act == "remove":
            await access.require_owner(
                session, user, await access.get(session, participant.project_id)
            )
        await message.answer(
            t(f"projects-team-confirm-{act}"),
            reply_markup=confirm_keyboard(
                CDTeamMember(id=participant.id, act=f"{act}!"), CDTeamMember(id=participant.id)
            ),
        )
        return
    if act == "leave!":
        outcome = await consortium.leave(session, user, participant_id)
        warn(callback_answer, outcome.warning, "projects-team-left")
    elif act == "remove!":
        outcome = await consortium.remove(session, user, participant_id)
        warn(callback_answer, outcome.warning, "projects-team-removed")
    else:
        raise StaleButton()
    await message.edit_reply_markup(reply_markup=None)
    await _show_team(message, session, user, participant.project_id)


async def on_role(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    participant_id = int((await state.get_data()).get("pt_participant") or 0)
    participant = await consortium.set_role(session, user, participant_id, message.text or "")
    await state.set_state(None)
    await message.answer(t("projects-team-role-saved"))
    await _show_team(message, session, user, participant.project_id)


# --- Invitations ------------------------------------------------------------------------------


async def on_search(
    message: Message, state: FSMContext, session: AsyncSession, user: User | None
) -> None:
    project_id = int((await state.get_data()).get("pt_project") or 0)
    found = await consortium.search_organizations(session, user, project_id, message.text or "")
    if not found:
        await message.answer(t("projects-team-search-none"))
        return
    await state.set_state(None)
    await message.answer(
        t("projects-team-search-found"), reply_markup=organizations_keyboard(project_id, found)
    )


async def on_pick_org(
    query: CallbackQuery,
    callback_data: CDTeamOrg,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    outcome = await consortium.invite(
        session,
        user,
        callback_data.id,
        callback_data.org,
        lambda row: invite_answer_buttons(row.id),
    )
    toast(
        callback_answer,
        "projects-team-invited" if outcome.changed else "projects-team-already-invited",
    )
    await message.edit_reply_markup(reply_markup=None)
    await _show_team(message, session, user, callback_data.id)


async def on_invite_answer(
    query: CallbackQuery,
    callback_data: CDTeamInvite,
    session: AsyncSession,
    user: User | None,
    callback_answer: CallbackAnswer,
) -> None:
    message = callback_message(query)
    outcome = await consortium.answer_invite(session, user, callback_data.id, callback_data.accept)
    if callback_data.accept:
        warn(callback_answer, outcome.warning, "projects-team-accepted")
    else:
        toast(callback_answer, "projects-team-declined")
    # The answered invitation's buttons go; the others of a /project_invites list stay.
    await message.edit_reply_markup(
        reply_markup=without_invitation(message.reply_markup, callback_data.id)
    )
    key = "projects-team-accepted-text" if callback_data.accept else "projects-team-declined-text"
    await message.answer(t(key, number=outcome.participant.project_id))


async def cmd_invites(message: Message, session: AsyncSession, user: User | None) -> None:
    invitations = await consortium.pending_invites(session, user)
    if not invitations:
        await message.answer(t("projects-team-invites-none"))
        return
    lines = [t("projects-team-invites-title")]
    items = []
    for invitation in invitations:
        lines.append(
            t(
                "projects-team-invites-item",
                number=invitation.project.id,
                title=clip(invitation.project.title, 120),
                organization=clip(invitation.organization.name, 100),
            )
        )
        items.append(
            (
                invitation.participant.id,
                plain(
                    "projects-team-btn-accept-for",
                    number=invitation.project.id,
                    organization=invitation.organization.name[:30],
                ),
            )
        )
    await message.answer(SafeHTML("\n\n".join(lines)), reply_markup=invites_keyboard(items))


async def on_not_text(message: Message) -> None:
    await expect_text(message)


def setup() -> Router:
    router = Router(name="projects_consortium")
    router.callback_query.register(on_panel, CDProjectPanel.filter(F.panel == PANEL_TEAM))
    router.callback_query.register(on_team, CDTeam.filter())
    router.callback_query.register(on_member, CDTeamMember.filter())
    router.callback_query.register(on_pick_org, CDTeamOrg.filter())
    router.callback_query.register(on_invite_answer, CDTeamInvite.filter())
    router.message.register(cmd_invites, Command("project_invites"))
    router.message.register(on_search, TeamDialog.search, TEXT_INPUT)
    router.message.register(on_role, TeamDialog.role, TEXT_INPUT)
    router.message.register(on_not_text, TeamDialog.search, NOT_TEXT)
    router.message.register(on_not_text, TeamDialog.role, NOT_TEXT)
    return router
