"""A vote's chart and protocol as files, written in the current language (the caller
sets the i18n context: the reader's in a handler, the default one in a scheduled close)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.keyboards.bodies import body_title
from bot.keyboards.votes import option_label
from bot.services import votes
from bot.services.vote_documents import Protocol, bar_chart, protocol_docx
from bot.texts import plain
from models import Body, Vote


def tally_bars(vote: Vote) -> list[tuple[str, int]]:
    counts = (vote.result or {}).get("counts", {})
    return [
        (option_label(vote, option.position), int(counts.get(str(option.position), 0)))
        for option in vote.options
    ]


def chart(vote: Vote) -> bytes:
    winners = set((vote.result or {}).get("winners", []))
    highlight = [index for index, option in enumerate(vote.options) if option.position in winners]
    title = plain("votes-chart-title", number=vote.id, question=vote.question)
    return bar_chart(title, tally_bars(vote), highlight)


async def protocol(session: AsyncSession, vote: Vote, timezone: str) -> bytes:
    result = vote.result or {}
    body = await session.get(Body, vote.body_id) if vote.body_id else None
    facts = [
        (plain("votes-p-question"), vote.question),
        (plain("votes-p-body"), body_title(body) if body else plain("votes-conference")),
        (plain("votes-p-kind"), plain(f"votes-kind-{vote.kind.value}")),
        (plain("votes-p-secret"), plain("votes-yes" if vote.secret else "votes-no")),
        (plain("votes-p-opened"), dates.shown_datetime(vote.opened_at, timezone))
        if vote.opened_at
        else (plain("votes-p-opened"), "—"),
        (
            plain("votes-p-closed"),
            dates.shown_datetime(vote.closed_at, timezone) if vote.closed_at else "—",
        ),
        (plain("votes-p-eligible"), str(result.get("eligible", vote.eligible_count))),
        (plain("votes-p-turnout"), str(result.get("cast", 0))),
        (plain("votes-p-quorum"), plain(f"votes-quorum-{vote.quorum.value}")),
        (plain("votes-p-majority"), plain(f"votes-majority-{vote.majority.value}")),
        (
            plain("votes-p-outcome"),
            plain(f"votes-outcome-{vote.outcome.value}") if vote.outcome else "—",
        ),
    ]
    if vote.addressee:
        facts.insert(1, (plain("votes-p-addressee"), vote.addressee))
    winners = [option_label(vote, position) for position in result.get("winners", [])]
    if winners and vote.max_choices > 1:
        facts.append((plain("votes-p-winners"), ", ".join(winners)))
    document = Protocol(
        title=plain("votes-p-title", number=vote.id),
        facts=facts,
        text_heading=plain("votes-p-text"),
        text=vote.text,
        tally_heading=plain("votes-p-tally"),
        tally=tally_bars(vote),
        footer=plain("votes-p-footer"),
    )
    if not vote.secret:
        document.roll_heading = plain("votes-p-roll")
        for entry in await votes.roll_call(session, vote):
            choice = (
                ", ".join(option_label(vote, position) for position in entry.positions)
                if entry.positions is not None
                else plain("votes-p-did-not-vote")
            )
            document.roll.append((entry.name, choice))
    return protocol_docx(document)
