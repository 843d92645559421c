"""A vote's chart and protocol as files, in the words of `say`.

`say` is the caller's translator (bot.texts.plain, under the i18n context the caller sets: the
reader's language in a handler, the Assembly's own in a scheduled close); it is passed in so that
the service knows nothing of aiogram's i18n.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol as TypingProtocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.services.votes.documents import Protocol, bar_chart, protocol_docx
from bot.services.votes.queries import roll_call
from models import Body, Vote, VoterUnit


class Say(TypingProtocol):
    def __call__(self, key: str, /, **params: object) -> str: ...


def option_label(vote: Vote, position: int, say: Say) -> str:
    option = next((o for o in vote.options if o.position == position), None)
    if option is None:
        return "?"
    return option.label or say(f"votes-option-{option.kind.value}")


def tally_bars(vote: Vote, say: Say) -> list[tuple[str, int]]:
    counts = (vote.result or {}).get("counts", {})
    return [
        (option_label(vote, option.position, say), int(counts.get(str(option.position), 0)))
        for option in vote.options
    ]


def chart(vote: Vote, say: Say) -> bytes:
    winners = set((vote.result or {}).get("winners", []))
    highlight = [index for index, option in enumerate(vote.options) if option.position in winners]
    title = say("votes-chart-title", number=vote.id, question=vote.question)
    return bar_chart(title, tally_bars(vote, say), highlight)


async def protocol(
    session: AsyncSession,
    vote: Vote,
    timezone: str,
    say: Say,
    body_title: Callable[[Body], str],
) -> bytes:
    """The protocol (DOCX): the facts, the tally, the text and, for an open vote, the roll call;
    `body_title` names the body the way the bot names it everywhere."""
    result = vote.result or {}
    body = await session.get(Body, vote.body_id) if vote.body_id else None
    facts = [
        (say("votes-p-question"), vote.question),
        (say("votes-p-body"), body_title(body) if body else say("votes-conference")),
        (say("votes-p-kind"), say(f"votes-kind-{vote.kind.value}")),
        (say("votes-p-secret"), say("votes-yes" if vote.secret else "votes-no")),
        (say("votes-p-opened"), dates.shown_datetime(vote.opened_at, timezone))
        if vote.opened_at
        else (say("votes-p-opened"), "—"),
        (
            say("votes-p-closed"),
            dates.shown_datetime(vote.closed_at, timezone) if vote.closed_at else "—",
        ),
        (say("votes-p-eligible"), str(result.get("eligible", vote.eligible_count))),
        (say("votes-p-turnout"), str(result.get("cast", 0))),
        (say("votes-p-quorum"), say(f"votes-quorum-{vote.quorum.value}")),
        (say("votes-p-majority"), say(f"votes-majority-{vote.majority.value}")),
        (
            say("votes-p-outcome"),
            say(f"votes-outcome-{vote.outcome.value}") if vote.outcome else "—",
        ),
    ]
    if vote.addressee:
        facts.insert(1, (say("votes-p-addressee"), vote.addressee))
    winners = [option_label(vote, position, say) for position in result.get("winners", [])]
    if winners and vote.max_choices > 1:
        facts.append((say("votes-p-winners"), ", ".join(winners)))
    document = Protocol(
        title=say("votes-p-title", number=vote.id),
        facts=facts,
        text_heading=say("votes-p-text"),
        text=vote.text,
        tally_heading=say("votes-p-tally"),
        tally=tally_bars(vote, say),
        footer=say("votes-p-footer"),
    )
    if not vote.secret and vote.unit != VoterUnit.CITIZEN:
        document.roll_heading = say("votes-p-roll")
        for entry in await roll_call(session, vote):
            choice = (
                ", ".join(option_label(vote, position, say) for position in entry.positions)
                if entry.positions is not None
                else say("votes-p-did-not-vote")
            )
            document.roll.append((entry.name, choice))
    return protocol_docx(document)
