"""Waking the delivery workers of this process when a transaction that queued something commits,
so a notice goes out at once instead of at the worker's next idle poll. Workers in other
processes still find it by polling; this only shortens the wait where the queueing happened."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

QUEUED = "delivery_queued"
_wakers: set[Callable[[], None]] = set()


def queued(session: Session) -> None:
    """Mark the transaction: its commit wakes the workers."""
    session.info[QUEUED] = True


def register(waker: Callable[[], None]) -> None:
    _wakers.add(waker)


def unregister(waker: Callable[[], None]) -> None:
    _wakers.discard(waker)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(QUEUED, False):
        for waker in list(_wakers):
            waker()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(QUEUED, None)
