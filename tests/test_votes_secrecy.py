"""Ballot secrecy against someone who reads the database: no row of a secret ballot is tied to
its voter by a system column (PostgreSQL's `xmin`, `ctid`), by the order of rows or pages, or by
its key; receipts prove a ballot is counted only to its owner and never the secret choice; a
final ballot is cast only through its confirmation screen, whatever callback is forged."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url

from bot.keyboards.votes import CDBallot, CDConfirm
from bot.services import users, votes
from bot.services.errors import InvalidInput
from models import Ballot, BallotChoice, Quorum, Vote, VoteKind, VoteVoter
from models.base import utcnow
from tests.test_votes import (
    answers,
    ballot_of,
    council_member,
    load_vote,
    open_vote,
    presidium_member,
)

NAMES = ["Анна", "Борис", "Вера", "Глеб", "Дарья", "Егор"]


async def test_secret_vote_keeps_no_link_between_person_and_choice(fake, running):
    await presidium_member(running, 7201, "Президиум")
    for index in range(3):
        await council_member(running, 7210 + index, f"Член {index}")
    people = [fake.user(7210 + index, f"Член {index}") for index in range(3)]

    statements: list[str] = []

    def remember(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement.lower())

    engine = running.app.engine.sync_engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        vote_id = await open_vote(running, 7201, secret=True, changeable=True)
        await running.delivered()
        ballot = ballot_of(people[0], vote_id)
        assert "тайное" in ballot.text and "изменить его после отправки нельзя" in ballot.text
        # A final ballot is confirmed before it is cast.
        replies = await people[0].click("Против", message_id=ballot.message_id)
        assert people[0].button_texts(people[0].message(ballot.message_id)) == [
            "✔ Подтвердить: Против",
            "← Назад",
        ]
        replies = await people[0].click("✔ Подтвердить: Против")
        assert "Код квитанции" in replies[-1].text and "Против" not in replies[-1].text
        receipt = replies[-1].text.split("Код квитанции: ")[1].split()[0]
        # Once cast, the ballot no longer shows the choice to whoever looks at the phone.
        assert people[0].button_texts(people[0].message(ballot.message_id)) == [
            "✅ Тайный бюллетень учтён"
        ]
        for person in people[1:]:
            message_id = ballot_of(person, vote_id).message_id
            await person.click("За", message_id=message_id)
            await person.click("✔ Подтвердить: За", message_id=message_id)
        # Pressing again is refused: a secret ballot is final.
        message_id = ballot_of(people[1], vote_id).message_id
        await people[1].click_data(message_id, CDBallot(vote=vote_id, act="cast", mask=2).pack())
        assert "изменить голос нельзя" in answers(people[1])[-1]
        # The receipt proves to its owner that the ballot is counted, and the choice to nobody;
        # anyone else given the code learns nothing, not even that it is a receipt.
        replies = await people[0].say(f"/receipt {receipt}")
        assert "учтён в голосовании" in replies[-1].text
        assert "Против" not in replies[-1].text and "За" not in replies[-1].text
        replies = await people[1].say(f"/receipt {receipt}")
        assert "не найден" in replies[-1].text and f"№{vote_id}" not in replies[-1].text
        async with running.sessionmaker.begin() as session:
            vote = await session.get(Vote, vote_id)
            await votes.close(session, vote, timezone="Europe/Moscow")
        assert (await load_vote(running, vote_id)).result["counts"] == {"0": 2, "1": 1, "2": 0}
    finally:
        event.remove(engine, "before_cursor_execute", remember)

    # Nothing stored ties a ballot to its voter: no voter id, no time, no order.
    async with running.sessionmaker() as session:
        assert await session.scalar(select(func.count()).where(Ballot.voter_id.is_not(None))) == 0
        times = await session.scalars(
            select(VoteVoter.voted_at).where(VoteVoter.vote_id == vote_id)
        )
        assert set(times) == {None}
    assert not hasattr(Ballot, "created_at") and not hasattr(BallotChoice, "user_id")
    # And no statement the bot ran during the whole vote joined people to choices.
    ballot_tables = ("ballots", "ballot_choices")
    person_tables = ("vote_voters", "users")
    for statement in statements:
        if any(f" {name}" in statement for name in ballot_tables):
            assert not any(
                f"join {name}" in statement or f"from {name}" in statement for name in person_tables
            ), statement


async def _roll_and_box(session, vote_id: int) -> tuple[dict[int, str], list[str], list[str]]:
    """On PostgreSQL: each voter's roll row `xmin`, the ballots' `xmin`s and their keys in
    `ctid` order."""
    roll = await session.execute(
        text("SELECT user_id, xmin::text FROM vote_voters WHERE vote_id = :v"), {"v": vote_id}
    )
    ballots = await session.execute(
        text("SELECT id, xmin::text FROM ballots WHERE vote_id = :v ORDER BY ctid"),
        {"v": vote_id},
    )
    rows = list(ballots)
    return dict(roll.all()), [xmin for _, xmin in rows], [key for key, _ in rows]


async def _checkpoint(path: str) -> None:
    """Move the WAL into the database file, so that the file's pages hold every row. No busy
    wait: it would block the loop, and with it the bot's reader that holds the WAL (the wait
    then ran out its 5 s every time); the loop lets that reader finish."""
    connection = sqlite3.connect(path, timeout=0)
    try:
        for _attempt in range(500):
            (busy, _log, _done) = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the WAL was never free to checkpoint")
    finally:
        connection.close()


def _sqlite_cells(path: str, table: str) -> list[str]:
    """The first key of each row of a WITHOUT ROWID table, in the order the rows were written
    into its page: SQLite fills a page's cells from its end towards its start."""
    connection = sqlite3.connect(path)
    try:
        (root,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    finally:
        connection.close()
    page = Path(path).read_bytes()[(root - 1) * page_size : root * page_size]
    assert page[0] == 0x0A, "the test expects the rows to fit one leaf page"
    cells = int.from_bytes(page[3:5], "big")
    offsets = [int.from_bytes(page[8 + 2 * i : 10 + 2 * i], "big") for i in range(cells)]

    def varint(at: int) -> tuple[int, int]:
        value = 0
        for i in range(9):
            byte = page[at + i]
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                return value, at + i + 1
        raise AssertionError("bad varint")

    keys = []
    for offset in sorted(offsets, reverse=True):  # the first written sits at the page's end
        _size, at = varint(offset)
        header, body = varint(at)
        serial, _ = varint(body)
        length = (serial - 13) // 2
        start = at + header
        keys.append(page[start : start + length].decode())
    return keys


async def test_a_secret_ballots_rows_do_not_follow_their_voters(running):
    """Six voters choose six different options, one after another in roll order: the link
    between voters and choices is a permutation, and every join an attacker could try with the
    rows' places must come out no better than a guess."""
    await presidium_member(running, 8001, "Президиум")
    for index, name in enumerate(NAMES):
        await council_member(running, 8010 + index, name)
    vote_id = await open_vote(
        running,
        8001,
        kind=VoteKind.QUESTION,
        options=[f"Вариант {n}" for n in range(6)],
        secret=True,
        changeable=False,
    )
    postgres = running.app.engine.dialect.name == "postgresql"
    keys_seen: set[str] = set()
    for index in range(len(NAMES)):
        async with running.sessionmaker.begin() as session:
            voter = await users.get_user(session, 8010 + index)
            code = await votes.confirm(session, voter, vote_id, [index])
        async with running.sessionmaker.begin() as session:
            voter = await users.get_user(session, 8010 + index)
            await votes.cast(session, voter, vote_id, [index], confirmation=code)
        async with running.sessionmaker() as session:
            keys = set(await session.scalars(select(Ballot.id).where(Ballot.vote_id == vote_id)))
            if postgres:
                roll, xmins, _ = await _roll_and_box(session, vote_id)
                # Every ballot was written by the latest cast: the xmin join names only the
                # voter who was just seen voting, and pairs them with every ballot alike.
                assert set(xmins) == {roll[voter.id]}, (index, xmins, roll)
        # Every cast gives every ballot a new key: a key names no moment of the vote.
        assert not keys & keys_seen
        keys_seen |= keys

    async with running.sessionmaker.begin() as session:
        vote = await session.get(Vote, vote_id)
        await votes.close(session, vote, timezone="Europe/Moscow")
    async with running.sessionmaker() as session:
        keys = list(await session.scalars(select(Ballot.id).where(Ballot.vote_id == vote_id)))
        assert len(keys) == 6 and not set(keys) & keys_seen
        counts = (await session.get(Vote, vote_id)).result["counts"]
        assert counts == {str(n): 1 for n in range(6)}
        assert set(await session.scalars(select(VoteVoter.voted_at))) == {None}
        if postgres:
            roll, xmins, by_ctid = await _roll_and_box(session, vote_id)
            choice_xmins = set(
                await session.scalars(
                    text("SELECT xmin::text FROM ballot_choices WHERE vote_id = :v"),
                    {"v": vote_id},
                )
            )
            # One transaction wrote all the ballots at the close, and it wrote no roll row.
            assert len(set(xmins)) == 1 and choice_xmins == set(xmins)
            assert not set(xmins) & set(roll.values())
            # The ballots sit in the order of their random keys, made at the close.
            assert by_ctid == sorted(by_ctid)
            choice_order = list(
                await session.scalars(
                    text("SELECT ballot_id FROM ballot_choices WHERE vote_id = :v ORDER BY ctid"),
                    {"v": vote_id},
                )
            )
            assert choice_order == sorted(choice_order)
    if not postgres:
        path = make_url(running.settings.database_url).database
        assert path
        # The pages hold the rows in the order of their keys, not in the order of the casts.
        await _checkpoint(path)
        in_page = _sqlite_cells(path, "ballots")
        assert in_page == sorted(in_page) and set(in_page) == set(keys)
        in_page = _sqlite_cells(path, "ballot_choices")
        assert in_page == sorted(in_page)


async def test_a_receipt_tells_only_its_owner(fake, running):
    await presidium_member(running, 8101, "Президиум")
    await council_member(running, 8110, "Владелец")
    await council_member(running, 8111, "Покупатель")
    owner, buyer = fake.user(8110, "Владелец"), fake.user(8111, "Покупатель")
    vote_id = await open_vote(running, 8101)
    await running.delivered()
    ballot = ballot_of(owner, vote_id)
    replies = await owner.click("Против", message_id=ballot.message_id)
    code = replies[-1].text.split("Код квитанции: ")[1].split()[0]
    # In an open vote that can still change, the owner sees the current choice...
    replies = await owner.say(f"/receipt {code}")
    assert "учтён в голосовании" in replies[-1].text and "Против" in replies[-1].text
    await owner.click("За", message_id=ballot.message_id)
    replies = await owner.say(f"/receipt {code}")
    assert "Сейчас в нём: За" in replies[-1].text
    # ...and anyone else who was given the code learns nothing at all.
    replies = await buyer.say(f"/receipt {code}")
    assert "не найден" in replies[-1].text
    assert f"№{vote_id}" not in replies[-1].text and "За" not in replies[-1].text


async def _ballots(running, vote_id: int) -> tuple[int, int, int]:
    async with running.sessionmaker() as session:
        ballots = await session.scalar(
            select(func.count()).select_from(Ballot).where(Ballot.vote_id == vote_id)
        )
        choices = await session.scalar(
            select(func.count()).select_from(BallotChoice).where(BallotChoice.vote_id == vote_id)
        )
        voted = await session.scalar(
            select(func.count()).where(VoteVoter.vote_id == vote_id, VoteVoter.voted.is_(True))
        )
    return ballots or 0, choices or 0, voted or 0


async def test_a_final_ballot_is_cast_only_through_its_confirmation(fake, running):
    await presidium_member(running, 8201, "Президиум")
    await council_member(running, 8210, "Торопыга")
    voter = fake.user(8210, "Торопыга")
    vote_id = await open_vote(running, 8201, secret=True, changeable=False)
    election = await open_vote(
        running,
        8201,
        kind=VoteKind.ELECTION,
        question="Выборы в президиум",
        options=["Анна", "Борис", "Вера"],
        max_choices=2,
        secret=True,
        changeable=False,
    )
    await running.delivered()
    message_id = ballot_of(voter, vote_id).message_id

    # A forged "cast" without the confirmation screen only shows that screen.
    await voter.click_data(message_id, CDBallot(vote=vote_id, act="cast", mask=1).pack())
    assert voter.button_texts(voter.message(message_id)) == ["✔ Подтвердить: За", "← Назад"]
    assert await _ballots(running, vote_id) == (0, 0, 0)
    # A forged confirmation with a made-up code, or with the real code and another choice,
    # is refused and records nothing.
    await voter.click_data(message_id, CDConfirm(vote=vote_id, mask=1, code="guess").pack())
    assert "только после подтверждения" in answers(voter)[-1]
    code = CDConfirm.unpack(voter.message(message_id).buttons[0][0].callback_data).code
    await voter.click_data(message_id, CDConfirm(vote=vote_id, mask=2, code=code).pack())
    assert "только после подтверждения" in answers(voter)[-1]
    assert await _ballots(running, vote_id) == (0, 0, 0)
    # The screen the voter saw works, once.
    replies = await voter.click("✔ Подтвердить: За", message_id=message_id)
    assert "учтён" in replies[-1].text
    assert await _ballots(running, vote_id) == (1, 1, 1)
    await voter.click_data(message_id, CDConfirm(vote=vote_id, mask=1, code=code).pack())
    assert await _ballots(running, vote_id) == (1, 1, 1)

    # A multiple choice: "Send" asks for confirmation too; a forged send is not a cast.
    message_id = ballot_of(voter, election).message_id
    await voter.click_data(message_id, CDBallot(vote=election, act="cast", mask=0b11).pack())
    assert await _ballots(running, election) == (0, 0, 0)
    assert voter.button_texts(voter.message(message_id))[0] == "✔ Подтвердить: Анна, Борис"
    await voter.click_data(message_id, CDConfirm(vote=election, mask=0b11, code="x").pack())
    assert await _ballots(running, election) == (0, 0, 0)
    await voter.click("✔ Подтвердить: Анна, Борис", message_id=message_id)
    assert await _ballots(running, election) == (1, 2, 1)


async def test_the_migration_keeps_the_ballots(engine):
    """005 rebuilds `ballots` on SQLite; the choices, tied to it by a cascading key, survive."""
    from bot import db

    await db.downgrade(engine, "004")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO votes (id, kind, unit, question, text, secret, changeable, "
                "max_choices, quorum, majority, status, closes_at, created_at, eligible_count) "
                "VALUES (1, 'question', 'person', 'Q', '', true, false, 1, 'none', 'cast', "
                "'open', :now, :now, 1)"
            ),
            {"now": utcnow()},
        )
        await conn.execute(
            text("INSERT INTO vote_options (id, vote_id, position, kind) VALUES (1, 1, 0, 'for')")
        )
        await conn.execute(
            text(
                "INSERT INTO ballots (id, vote_id, voter_id, receipt_hash) "
                "VALUES ('b1', 1, NULL, 'h1')"
            )
        )
        await conn.execute(
            text("INSERT INTO ballot_choices (ballot_id, option_id, vote_id) VALUES ('b1', 1, 1)")
        )
    await db.upgrade(engine)
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT ballot_id, option_id FROM ballot_choices"))
        assert rows.all() == [("b1", 1)]
    await db.downgrade(engine, "004")
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT b.receipt_hash, c.option_id FROM ballots b "
                "JOIN ballot_choices c ON c.ballot_id = b.id"
            )
        )
        assert rows.all() == [("b1", 1)]
    await db.upgrade(engine)


async def test_concurrent_secret_casts_and_the_close_lose_no_ballot(running):
    """Every secret cast rewrites the whole box: casts of different voters at the same moment,
    and the close racing them, must still keep every ballot exactly once."""
    await presidium_member(running, 8301, "Президиум")
    voters = 8
    for index in range(voters):
        await council_member(running, 8310 + index, f"Член {index}")
    vote_id = await open_vote(running, 8301, secret=True, quorum=Quorum.NONE)
    codes = {}
    for index in range(voters):
        async with running.sessionmaker.begin() as session:
            voter = await users.get_user(session, 8310 + index)
            codes[index] = await votes.confirm(session, voter, vote_id, [index % 3])

    async def press(index: int) -> None:
        async with running.sessionmaker.begin() as session:
            voter = await users.get_user(session, 8310 + index)
            await votes.cast(session, voter, vote_id, [index % 3], confirmation=codes[index])

    await asyncio.gather(*(press(index) for index in range(voters)))
    assert await _ballots(running, vote_id) == (voters, voters, voters)

    # A last voter and the close at once: the ballot is either counted or refused, never lost.
    await council_member(running, 8399, "Опоздавший")
    async with running.sessionmaker.begin() as session:
        late = await users.get_user(session, 8399)
        session.add(VoteVoter(vote_id=vote_id, user_id=late.id))
        await session.flush()
        code = await votes.confirm(session, late, vote_id, [0])

    async def late_press() -> str:
        try:
            async with running.sessionmaker.begin() as session:
                voter = await users.get_user(session, 8399)
                await votes.cast(session, voter, vote_id, [0], confirmation=code)
        except InvalidInput as exc:
            return exc.key
        return "cast"

    async def close() -> None:
        async with running.sessionmaker.begin() as session:
            vote = await session.get(Vote, vote_id)
            await votes.close(session, vote, timezone="Europe/Moscow")

    outcome, _ = await asyncio.gather(late_press(), close())
    vote = await load_vote(running, vote_id)
    ballots, _, voted = await _ballots(running, vote_id)
    assert ballots == voted == (voters + 1 if outcome == "cast" else voters)
    assert outcome in ("cast", "votes-closed")
    assert sum(vote.result["counts"].values()) == vote.result["cast"] == ballots
