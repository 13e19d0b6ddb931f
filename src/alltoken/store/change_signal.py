"""Runs callbacks right after a transaction that appended to the change feed has committed.

`record_change` marks its session; when that session commits, every listener of this process is
called (the gateway publishes a nudge on Redis so other processes read the feed at once). A
transaction rolled back announces nothing: its changes never happened.
"""

from collections.abc import Callable
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

_CHANGED = "alltoken_changed"
_listeners: list[Callable[[], None]] = []


def mark(session) -> None:
    """`session` (async or sync) wrote to the change feed."""
    session.info[_CHANGED] = True


def add_listener(callback: Callable[[], None]) -> None:
    """Call `callback()` after each commit of a marked session (until removed)."""
    _listeners.append(callback)


def remove_listener(callback: Callable[[], None]) -> None:
    if callback in _listeners:
        _listeners.remove(callback)


@contextmanager
def listening(callback: Callable[[], None]):
    add_listener(callback)
    try:
        yield
    finally:
        remove_listener(callback)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        for callback in list(_listeners):
            callback()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)
