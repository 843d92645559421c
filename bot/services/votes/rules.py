"""The rules of a vote's outcome: quorum, majority and who wins, from the count alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models import Majority, OptionKind, Outcome, Quorum, VoteKind


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    quorum_met: bool
    winners: tuple[int, ...]  # option positions


def quorum_met(quorum: Quorum, eligible: int, cast: int) -> bool:
    if eligible <= 0 or cast <= 0:
        return False
    if quorum == Quorum.MORE_THAN_HALF:
        return cast * 2 > eligible
    if quorum == Quorum.TWO_THIRDS:
        return cast * 3 >= eligible * 2
    if quorum == Quorum.ONE_THIRD:
        return cast * 3 >= eligible
    return True


def passes(majority: Majority, votes: int, eligible: int, cast: int) -> bool:
    """Whether `votes` for an option are enough under the majority rule."""
    if votes <= 0:
        return False
    if majority == Majority.OF_ELIGIBLE:
        return votes * 2 > eligible
    if majority == Majority.TWO_THIRDS:
        return votes * 3 >= cast * 2
    return votes * 2 > cast


def decide(
    kind: VoteKind,
    quorum: Quorum,
    majority: Majority,
    max_choices: int,
    options: Sequence[tuple[int, OptionKind]],
    counts: dict[int, int],
    eligible: int,
    cast: int,
) -> Decision:
    """The outcome from the count: `options` are (position, kind), `counts` votes per position,
    `cast` the number of ballots. Ties never win: a seat or a choice needs a clear lead."""
    if not quorum_met(quorum, eligible, cast):
        return Decision(Outcome.NO_QUORUM, False, ())
    if kind == VoteKind.RECOMMENDATION:
        for position, option_kind in options:
            if option_kind == OptionKind.FOR:
                if passes(majority, counts.get(position, 0), eligible, cast):
                    return Decision(Outcome.ADOPTED, True, (position,))
        return Decision(Outcome.REJECTED, True, ())
    ranked = sorted(
        (position for position, option_kind in options if option_kind == OptionKind.CHOICE),
        key=lambda position: -counts.get(position, 0),
    )
    seats = max(1, max_choices)
    winners: list[int] = []
    for position in ranked:
        if len(winners) == seats or not passes(majority, counts.get(position, 0), eligible, cast):
            break
        winners.append(position)
    if winners and len(ranked) > len(winners):
        # A tie across the last seat: nobody tied with the first one left out takes it.
        left_out = counts.get(ranked[len(winners)], 0)
        winners = [position for position in winners if counts.get(position, 0) != left_out]
    return Decision(Outcome.ADOPTED if winners else Outcome.REJECTED, True, tuple(winners))
