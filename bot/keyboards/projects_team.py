"""Callback data and keyboards of browsing projects, a project's card, following, and the
consortium panel (participants, invitations, contributions)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.keyboards.projects import CDProject, CDProjectPanel
from bot.services.paging import Page
from bot.services.projects.browse import CITY_WIDE, STATUS_FILTERS
from bot.texts import plain
from models import Body, District, Organization
from models.needs import ResourceOffer
from models.projects import ContributionKind, Programme, Project

LABEL = 60


class CDProjects(BotCallback, prefix="pbl"):
    """A page of /projects; the filters travel in the button."""

    page: int = 0
    status: str = "open"
    district: int = 0  # 0: anywhere; -1: city-wide
    programme: int = 0
    committee: int = 0
    # "" the list | "s" status | "d" district | "p" programme | "c" direction (committee)
    view: str = ""


class CDProjectFollow(BotCallback, prefix="pbf"):
    id: int
    on: bool


class CDFollowed(BotCallback, prefix="pbm"):
    page: int = 0


class CDTeam(BotCallback, prefix="ptm"):
    """An action on a project's consortium: show | join (volunteer) | invite."""

    id: int
    act: str = "show"


class CDTeamMember(BotCallback, prefix="ptp"):
    """An action on a participant: open | add (a contribution) | role | leave | leave! |
    remove | remove!."""

    id: int
    act: str = "open"


class CDTeamInvite(BotCallback, prefix="pti"):
    """The invited organization's answer."""

    id: int
    accept: bool


class CDTeamOrg(BotCallback, prefix="pto"):
    """An owner picks the organization to invite."""

    id: int  # the project
    org: int


class CDTeamKind(BotCallback, prefix="ptk"):
    """The kind of a new contribution."""

    id: int  # the participant
    kind: str


class CDTeamContribution(BotCallback, prefix="ptc"):
    """open | value | text | delete | delete!"""

    id: int
    act: str = "open"


class CDTeamResource(BotCallback, prefix="ptr"):
    """The resource a new contribution pledges (0: none)."""

    id: int


def _row(text: str, data: BotCallback) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=text[:LABEL], callback_data=data.pack())]


def _markup(builder: InlineKeyboardBuilder) -> InlineKeyboardMarkup | None:
    markup = builder.as_markup()
    return markup if markup.inline_keyboard else None


def project_label(project: Project) -> str:
    return plain(
        "projects-team-item-button",
        number=project.id,
        title=" ".join(project.title.split())[:45],
    )


def list_keyboard(
    filters: CDProjects, projects: list[Project], page: int, pages: int
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for project in projects:
        builder.row(*_row(project_label(project), CDProject(id=project.id)))
    nav = pager(page, pages, lambda p: filters.model_copy(update={"page": p, "view": ""}).pack())
    if nav:
        builder.row(*nav)
    choose = {"page": 0}
    builder.row(
        InlineKeyboardButton(
            text=plain("projects-team-by-status"),
            callback_data=filters.model_copy(update={**choose, "view": "s"}).pack(),
        ),
        InlineKeyboardButton(
            text=plain("projects-team-by-district"),
            callback_data=filters.model_copy(update={**choose, "view": "d"}).pack(),
        ),
    )
    builder.row(
        InlineKeyboardButton(
            text=plain("projects-team-by-programme"),
            callback_data=filters.model_copy(update={**choose, "view": "p"}).pack(),
        ),
        InlineKeyboardButton(
            text=plain("projects-team-by-committee"),
            callback_data=filters.model_copy(update={**choose, "view": "c"}).pack(),
        ),
    )
    return builder.as_markup()


def status_choice(filters: CDProjects) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for status in STATUS_FILTERS:
        builder.row(
            *_row(
                plain(f"projects-team-filter-{status.replace('_', '-')}"),
                filters.model_copy(update={"status": status, "view": "", "page": 0}),
            )
        )
    return builder.as_markup()


def district_choice(filters: CDProjects, districts: Page[District]) -> InlineKeyboardMarkup:
    """A page of districts (`filters.page` is the page of districts here)."""
    builder = InlineKeyboardBuilder()
    back = {"page": 0, "view": ""}
    builder.row(
        *_row(plain("projects-team-anywhere"), filters.model_copy(update={**back, "district": 0}))
    )
    builder.row(
        *_row(
            plain("projects-team-city-wide"),
            filters.model_copy(update={**back, "district": CITY_WIDE}),
        )
    )
    for district in districts.items:
        label = f"№{district.number} · {district.name}"
        builder.row(*_row(label, filters.model_copy(update={**back, "district": district.id})))
    nav = pager(
        districts.page,
        districts.pages,
        lambda p: filters.model_copy(update={"page": p, "view": "d"}).pack(),
    )
    if nav:
        builder.row(*nav)
    return builder.as_markup()


def _choice(
    filters: CDProjects, field: str, any_key: str, options: list[tuple[int, str]]
) -> InlineKeyboardMarkup:
    """ "Any" first, then each option; a choice returns to the first page of the list."""
    builder = InlineKeyboardBuilder()
    back = {"page": 0, "view": ""}
    builder.row(*_row(plain(any_key), filters.model_copy(update={**back, field: 0})))
    for option_id, label in options:
        builder.row(*_row(label, filters.model_copy(update={**back, field: option_id})))
    return builder.as_markup()


def programme_choice(filters: CDProjects, programmes: list[Programme]) -> InlineKeyboardMarkup:
    options = [(programme.id, f"№{programme.id} · {programme.title}") for programme in programmes]
    return _choice(filters, "programme", "projects-team-any-programme", options)


def committee_choice(filters: CDProjects, committees: list[Body]) -> InlineKeyboardMarkup:
    options = [(body.id, body.name or body.direction or f"№{body.id}") for body in committees]
    return _choice(filters, "committee", "projects-team-any-committee", options)


def card_keyboard(
    project_id: int,
    *,
    registered: bool,
    following: bool,
    may_volunteer: bool,
    panels: list[str],
) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    first = []
    if registered:
        first.append(
            InlineKeyboardButton(
                text=plain(
                    "projects-team-btn-unfollow" if following else "projects-team-btn-follow"
                ),
                callback_data=CDProjectFollow(id=project_id, on=not following).pack(),
            )
        )
    if may_volunteer:
        first.append(
            InlineKeyboardButton(
                text=plain("projects-team-btn-volunteer"),
                callback_data=CDTeam(id=project_id, act="join").pack(),
            )
        )
    if first:
        builder.row(*first)
    buttons = [
        InlineKeyboardButton(
            text=plain(f"projects-team-btn-panel-{panel}"),
            callback_data=CDProjectPanel(id=project_id, panel=panel).pack(),
        )
        for panel in panels
    ]
    for start in range(0, len(buttons), 3):
        builder.row(*buttons[start : start + 3])
    return _markup(builder)


def followed_keyboard(
    projects: list[Project], page: int, pages: int
) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for project in projects:
        builder.row(*_row(project_label(project), CDProject(id=project.id)))
    nav = pager(page, pages, lambda p: CDFollowed(page=p).pack())
    if nav:
        builder.row(*nav)
    return _markup(builder)


# --- The consortium ---------------------------------------------------------------------------


def team_keyboard(
    project_id: int,
    members: list[tuple[int, str]],
    *,
    may_volunteer: bool,
    owner: bool,
) -> InlineKeyboardMarkup:
    """`members`: (participant id, label) of the participants the viewer may open."""
    builder = InlineKeyboardBuilder()
    for participant_id, label in members:
        builder.row(*_row(label, CDTeamMember(id=participant_id)))
    if may_volunteer:
        builder.row(*_row(plain("projects-team-btn-volunteer"), CDTeam(id=project_id, act="join")))
    if owner:
        builder.row(*_row(plain("projects-team-btn-invite"), CDTeam(id=project_id, act="invite")))
    builder.row(*_row(plain("projects-team-btn-card"), CDProject(id=project_id)))
    return builder.as_markup()


def member_keyboard(
    participant_id: int,
    project_id: int,
    contributions: list[tuple[int, str]],
    *,
    may_contribute: bool,
    may_leave: bool,
    owner: bool,
    removable: bool,
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for contribution_id, label in contributions:
        builder.row(*_row(label, CDTeamContribution(id=contribution_id)))
    if may_contribute:
        builder.row(
            *_row(plain("projects-team-btn-contribute"), CDTeamMember(id=participant_id, act="add"))
        )
    if owner:
        builder.row(
            *_row(plain("projects-team-btn-role"), CDTeamMember(id=participant_id, act="role"))
        )
    if may_leave:
        builder.row(
            *_row(plain("projects-team-btn-leave"), CDTeamMember(id=participant_id, act="leave"))
        )
    if owner and removable:
        builder.row(
            *_row(plain("projects-team-btn-remove"), CDTeamMember(id=participant_id, act="remove"))
        )
    builder.row(*_row(plain("projects-team-btn-team"), CDTeam(id=project_id)))
    return builder.as_markup()


def confirm_keyboard(yes: BotCallback, no: BotCallback) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(text=plain("projects-team-btn-yes"), callback_data=yes.pack()),
        InlineKeyboardButton(text=plain("projects-team-btn-no"), callback_data=no.pack()),
    )
    return builder.as_markup()


def kinds_keyboard(participant_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in ContributionKind:
        builder.row(
            *_row(
                plain(f"projects-team-kind-{kind.value}"),
                CDTeamKind(id=participant_id, kind=kind.value),
            )
        )
    return builder.as_markup()


def resources_keyboard(offers: list[ResourceOffer]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for offer in offers:
        label = f"№{offer.id} · {' '.join(offer.description.split())[:40]}"
        builder.row(*_row(label, CDTeamResource(id=offer.id)))
    builder.row(*_row(plain("projects-team-btn-no-resource"), CDTeamResource(id=0)))
    return builder.as_markup()


def contribution_keyboard(contribution_id: int, participant_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.row(
        InlineKeyboardButton(
            text=plain("projects-team-btn-value"),
            callback_data=CDTeamContribution(id=contribution_id, act="value").pack(),
        ),
        InlineKeyboardButton(
            text=plain("projects-team-btn-text"),
            callback_data=CDTeamContribution(id=contribution_id, act="text").pack(),
        ),
    )
    builder.row(
        *_row(
            plain("projects-team-btn-delete"), CDTeamContribution(id=contribution_id, act="delete")
        )
    )
    builder.row(*_row(plain("projects-team-btn-back"), CDTeamMember(id=participant_id)))
    return builder.as_markup()


def organizations_keyboard(project_id: int, found: list[Organization]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for organization in found:
        builder.row(*_row(organization.name, CDTeamOrg(id=project_id, org=organization.id)))
    builder.row(*_row(plain("projects-team-btn-team"), CDTeam(id=project_id)))
    return builder.as_markup()


def invite_answer_buttons(participant_id: int) -> list[list[dict[str, str]]]:
    """The accept/decline buttons of an invitation notice (labels rendered per recipient)."""
    return [
        [
            {
                "text_key": "projects-team-btn-accept",
                "data": CDTeamInvite(id=participant_id, accept=True).pack(),
            },
            {
                "text_key": "projects-team-btn-decline",
                "data": CDTeamInvite(id=participant_id, accept=False).pack(),
            },
        ]
    ]


def invites_keyboard(items: list[tuple[int, str]]) -> InlineKeyboardMarkup | None:
    builder = InlineKeyboardBuilder()
    for participant_id, label in items:
        builder.row(*_row(label, CDTeamInvite(id=participant_id, accept=True)))
        builder.row(
            InlineKeyboardButton(
                text=plain("projects-team-btn-decline"),
                callback_data=CDTeamInvite(id=participant_id, accept=False).pack(),
            )
        )
    return _markup(builder)


def without_invitation(
    markup: InlineKeyboardMarkup | None, participant_id: int
) -> InlineKeyboardMarkup | None:
    """The keyboard of a notice or of /project_invites without one invitation's buttons."""
    if markup is None:
        return None
    prefix = f"{CDTeamInvite.__prefix__}{CDTeamInvite.__separator__}{participant_id}"
    rows = [
        [
            button
            for button in row
            if not (button.callback_data or "").startswith(prefix + CDTeamInvite.__separator__)
        ]
        for row in markup.inline_keyboard
    ]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
