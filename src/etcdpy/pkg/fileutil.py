"""File-system durability helpers: directory fsync, complete positional writes, advisory locks.

A file created, renamed or removed is durable only once its directory has been fsync'd; a write is
durable only once the file has been fdatasync'd. These helpers make both explicit.
"""

from __future__ import annotations

import errno
import fcntl
import os

PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


class LockedError(OSError):
    """Another open file description holds the lock."""


def open_dir(path: str) -> int:
    """Return a read-only descriptor of directory `path` (for fsync and locking)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY)


def fsync_dir(path: str) -> None:
    """Make the creation, rename or removal of entries in `path` durable."""
    fd = open_dir(path)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    """Write all of `data` at `offset`, retrying short writes (which regular files rarely return)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def lock_exclusive(fd: int, what: str) -> None:
    """Take a non-blocking exclusive flock on `fd`; raise LockedError naming `what` if it is held.

    flock locks belong to the open file description, so a second open in the same process
    conflicts too. The kernel drops the lock when the descriptor is closed or the process dies.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise LockedError(errno.EWOULDBLOCK, f"{what} is locked by another process") from exc
