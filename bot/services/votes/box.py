"""The ballot box of a secret vote, and the lock that keeps one vote's writes in a queue.

A row's place tells its story: on PostgreSQL every row carries the transaction that wrote it
(`xmin`) and sits where it was appended (`ctid`); on any database the order of ids and pages
follows the order of writes. A voter's roll row and their ballot would share a transaction, and
the ballots would sit in the order of the casts. So a secret vote's box is rewritten whole at
every cast and once more at the close: all its ballots are deleted and inserted again under new
random keys, in the order of those keys. Every ballot then belongs to the latest rewrite (one
`xmin` for all, at the close one that no roll row has) and its place says nothing of when it was
cast. The cost is a write of every ballot per cast: n²/2 rows for n voters, a few thousand for
a council, fine for the few hundred organizations of a conference vote.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.errors import NotFound
from models import Ballot, BallotChoice, Vote


async def lock_vote(session: AsyncSession, vote_id: int) -> Vote:
    """The vote, read again under a lock held to the end of the transaction: casts and the close
    of one vote queue here, so a rewrite never misses a ballot and no cast lands after the count.
    """
    if session.get_bind().dialect.name == "postgresql":
        query = select(Vote).where(Vote.id == vote_id).with_for_update(of=Vote)
    else:
        # SQLite has no row locks: the transaction's first write takes the database's lock,
        # and the reads after it see every commit before it.
        await session.execute(
            update(Vote)
            .where(Vote.id == vote_id)
            .values(status=Vote.status)
            .execution_options(synchronize_session=False)
        )
        query = select(Vote).where(Vote.id == vote_id)
    vote = await session.scalar(query.execution_options(populate_existing=True))
    if vote is None:
        raise NotFound("votes-not-found")
    return vote


async def rewrite(session: AsyncSession, vote_id: int, added: Sequence[int] | None = None) -> None:
    """Write the vote's ballot box anew, with one more ballot (its option ids) when given.
    Call it under `lock_vote`."""
    rows = await session.execute(
        select(Ballot.id, BallotChoice.option_id)
        .outerjoin(BallotChoice, BallotChoice.ballot_id == Ballot.id)
        .where(Ballot.vote_id == vote_id)
    )
    contents: dict[str, list[int]] = {}
    for ballot_id, option_id in rows:
        chosen = contents.setdefault(ballot_id, [])
        if option_id is not None:
            chosen.append(option_id)
    ballots = [sorted(chosen) for chosen in contents.values()]
    if added is not None:
        ballots.append(sorted(added))
    await session.execute(delete(BallotChoice).where(BallotChoice.vote_id == vote_id))
    await session.execute(delete(Ballot).where(Ballot.vote_id == vote_id))
    if not ballots:
        return
    # Fresh keys, and the rows written in the order of the keys: a sort by a random key is a
    # shuffle, and the order of the pages is the order of the keys that anyone can see anyway.
    fresh = sorted((secrets.token_hex(16), chosen) for chosen in ballots)
    await session.execute(
        insert(Ballot),
        [{"id": key, "vote_id": vote_id, "voter_id": None} for key, _ in fresh],
    )
    choices = [
        {"ballot_id": key, "option_id": option_id, "vote_id": vote_id}
        for key, chosen in fresh
        for option_id in chosen
    ]
    if choices:
        await session.execute(insert(BallotChoice), choices)
