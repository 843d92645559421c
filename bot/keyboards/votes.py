"""Callback data and keyboards of votes: the ballot, the organizer's card, the draft settings,
and the recommendations registry."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import BotCallback
from bot.keyboards.builder import InlineKeyboardBuilder
from bot.keyboards.paging import pager
from bot.services import votes
from bot.texts import plain
from models import Body, FollowUp, Majority, Quorum, Recommendation, Vote, VoteStatus


class CDBallot(BotCallback, prefix="vb"):
    # pick (one option) · tick (multiple choice) · cast (send the choice) · back · shown
    vote: int
    act: str
    mask: int = 0  # the chosen options, one bit per position


class CDConfirm(BotCallback, prefix="vc"):
    # A final ballot's "Confirm": the choice and the one-time code of the screen that showed it.
    vote: int
    mask: int
    code: str


class CDVote(BotCallback, prefix="vt"):
    # card · open · delete · close · cancel · waiting · protocol · announce · list
    action: str
    id: int = 0


class CDDraft(BotCallback, prefix="vd"):
    # body · kind · secret · changeable · quorum · majority · days · save · abort · addressee
    field: str
    value: str = ""


class CDRec(BotCallback, prefix="rec"):
    # page · show · answer · done
    action: str
    id: int = 0
    page: int = 0


def bits(mask: int) -> list[int]:
    return [position for position in range(32) if mask >> position & 1]


def option_label(vote: Vote, position: int) -> str:
    return votes.option_label(vote, position, plain)


def ballot_rows(vote: Vote) -> list[list[dict[str, str]]]:
    """The ballot's buttons as the delivery engine stores them, labels rendered per recipient."""
    rows = []
    act = "tick" if vote.max_choices > 1 else "pick"
    for option in vote.options:
        label: dict[str, str] = (
            {"text": option.label[:60]}
            if option.label
            else {"text_key": f"votes-option-{option.kind.value}"}
        )
        data = CDBallot(vote=vote.id, act=act, mask=1 << option.position).pack()
        rows.append([{**label, "data": data}])
    if vote.max_choices > 1:
        rows.append([{"text_key": "votes-send", "data": CDBallot(vote=vote.id, act="cast").pack()}])
    return rows


def ballot_keyboard(vote: Vote, mask: int = 0, voted: tuple[int, ...] = ()) -> InlineKeyboardMarkup:
    """The ballot again: ticks for a multiple choice in progress, ✅ at a counted choice."""
    builder = InlineKeyboardBuilder()
    many = vote.max_choices > 1
    for option in vote.options:
        label = option_label(vote, option.position)[:60]
        if many:
            ticked = mask >> option.position & 1
            label = f"{'☑️' if ticked else '⬜'} {label}"
            target = mask ^ (1 << option.position)
            data = CDBallot(vote=vote.id, act="tick", mask=target)
        else:
            data = CDBallot(vote=vote.id, act="pick", mask=1 << option.position)
        if option.position in voted:
            label = f"✅ {label}"
        builder.button(text=label, callback_data=data)
    if many:
        builder.button(
            text=plain("votes-send-n", n=len(bits(mask))),
            callback_data=CDBallot(vote=vote.id, act="cast", mask=mask),
        )
    builder.adjust(1)
    return builder.as_markup()


def confirm_keyboard(vote: Vote, mask: int, code: str) -> InlineKeyboardMarkup:
    """A final ballot asks once more: at night, on a phone, a thumb slips."""
    chosen = ", ".join(option_label(vote, position) for position in bits(mask))
    builder = InlineKeyboardBuilder()
    builder.button(
        text=plain("votes-confirm", choice=chosen[:50]),
        callback_data=CDConfirm(vote=vote.id, mask=mask, code=code),
    )
    builder.button(text=plain("votes-back"), callback_data=CDBallot(vote=vote.id, act="back"))
    builder.adjust(1)
    return builder.as_markup()


def counted_keyboard(vote: Vote, positions: tuple[int, ...]) -> InlineKeyboardMarkup:
    """A final ballot once cast; a secret one no longer shows the choice to whoever looks at the
    phone later."""
    chosen = ", ".join(option_label(vote, position) for position in positions)
    if vote.secret:
        text = plain("votes-counted-button-secret")
    else:
        text = plain("votes-counted-button", choice=chosen[:50])
    builder = InlineKeyboardBuilder()
    builder.button(text=text, callback_data=CDBallot(vote=vote.id, act="shown"))
    return builder.as_markup()


def card_keyboard(vote: Vote, *, organizer: bool, presidium: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()

    def add(key: str, action: str) -> None:
        builder.button(text=plain(key), callback_data=CDVote(action=action, id=vote.id))

    if organizer and vote.status == VoteStatus.DRAFT:
        add("votes-btn-open", "open")
        add("votes-btn-delete", "delete")
    if organizer and vote.status == VoteStatus.OPEN:
        add("votes-btn-waiting", "waiting")
        add("votes-btn-close", "close")
        add("votes-btn-cancel", "cancel")
    if vote.status == VoteStatus.CLOSED:
        add("votes-btn-protocol", "protocol")
        if presidium:
            add("votes-btn-announce", "announce")
    add("votes-btn-refresh", "card")
    builder.adjust(1)
    return builder.as_markup()


def confirm_action_keyboard(vote: Vote, action: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=plain(f"votes-sure-{action}"), callback_data=CDVote(action=f"{action}!", id=vote.id)
    )
    builder.button(text=plain("votes-back"), callback_data=CDVote(action="card", id=vote.id))
    builder.adjust(1)
    return builder.as_markup()


def list_keyboard(votes: list[Vote]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for vote in votes:
        status = plain(f"votes-status-{vote.status.value}")
        builder.button(
            text=f"№{vote.id} · {status} · {vote.question}"[:60],
            callback_data=CDVote(action="card", id=vote.id),
        )
    builder.adjust(1)
    return builder.as_markup()


def bodies_keyboard(bodies: list[Body], title: dict[int, str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for body in bodies:
        builder.button(
            text=title[body.id][:60], callback_data=CDDraft(field="body", value=str(body.id))
        )
    builder.button(text=plain("votes-btn-abort"), callback_data=CDDraft(field="abort"))
    builder.adjust(1)
    return builder.as_markup()


def kind_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in ("recommendation", "question", "election"):
        builder.button(
            text=plain(f"votes-kind-{kind}"), callback_data=CDDraft(field="kind", value=kind)
        )
    builder.button(text=plain("votes-btn-abort"), callback_data=CDDraft(field="abort"))
    builder.adjust(1)
    return builder.as_markup()


ADDRESSEES = ("votes-addressee-head", "votes-addressee-council", "votes-addressee-admin")


def addressee_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for index, key in enumerate(ADDRESSEES):
        builder.button(text=plain(key), callback_data=CDDraft(field="addressee", value=str(index)))
    builder.adjust(1)
    return builder.as_markup()


DURATIONS = (1, 3, 7)


def settings_keyboard(draft: dict) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    secret = bool(draft.get("secret"))
    builder.button(
        text=plain("votes-set-secret-on" if secret else "votes-set-secret-off"),
        callback_data=CDDraft(field="secret"),
    )
    if not secret:
        changeable = draft.get("changeable", True)
        builder.button(
            text=plain("votes-set-changeable-on" if changeable else "votes-set-changeable-off"),
            callback_data=CDDraft(field="changeable"),
        )
    quorum = draft.get("quorum", Quorum.MORE_THAN_HALF.value)
    builder.button(
        text=plain("votes-set-quorum", rule=plain(f"votes-quorum-{quorum}")),
        callback_data=CDDraft(field="quorum"),
    )
    majority = draft.get("majority", Majority.OF_CAST.value)
    builder.button(
        text=plain("votes-set-majority", rule=plain(f"votes-majority-{majority}")),
        callback_data=CDDraft(field="majority"),
    )
    days = [
        InlineKeyboardButton(
            text=plain("votes-set-days", n=n),
            callback_data=CDDraft(field="days", value=str(n)).pack(),
        )
        for n in DURATIONS
    ]
    builder.button(text=plain("votes-btn-save"), callback_data=CDDraft(field="save"))
    builder.button(text=plain("votes-btn-abort"), callback_data=CDDraft(field="abort"))
    builder.adjust(1)
    markup = builder.as_markup()
    markup.inline_keyboard.insert(len(markup.inline_keyboard) - 2, days)
    return markup


def registry_keyboard(items: list[Recommendation], page: int, pages: int) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                text=f"№{item.number} · {plain(f'recommendations-status-{item.status.value}')}"
                f"{' ⚠️' if item.overdue else ''} · {item.title}"[:60],
                callback_data=CDRec(action="show", id=item.id, page=page).pack(),
            )
        ]
        for item in items
    ]
    nav = pager(page, pages, lambda p: CDRec(action="page", page=p).pack())
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def recommendation_keyboard(
    item: Recommendation, page: int, secretariat: bool
) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if secretariat and item.status != FollowUp.IMPLEMENTED:
        builder.button(
            text=plain("recommendations-btn-answer"),
            callback_data=CDRec(action="answer", id=item.id, page=page),
        )
    if secretariat and item.status == FollowUp.ANSWERED:
        builder.button(
            text=plain("recommendations-btn-done"),
            callback_data=CDRec(action="done", id=item.id, page=page),
        )
    builder.button(
        text=plain("recommendations-btn-back"), callback_data=CDRec(action="page", page=page)
    )
    builder.adjust(1)
    return builder.as_markup()
