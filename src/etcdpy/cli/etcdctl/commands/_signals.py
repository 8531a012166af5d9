"""SIGINT and SIGTERM as etcdctl's lock and elect take them: a request to stop waiting."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _ignore(signum: int, frame: FrameType | None) -> None:
    pass


@contextlib.contextmanager
def _handled_by(handler: Callable[[int, FrameType | None], None]) -> Iterator[None]:
    previous = {sig: signal.signal(sig, handler) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def interruptible() -> contextlib.AbstractContextManager[None]:
    """Inside, either signal raises KeyboardInterrupt in the main thread."""
    return _handled_by(_interrupt)


def deferred() -> contextlib.AbstractContextManager[None]:
    """Inside, both signals are ignored (etcdctl waits for a command it runs to end)."""
    return _handled_by(_ignore)
