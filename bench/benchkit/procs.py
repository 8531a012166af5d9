"""Child processes of the harness: free loopback ports, spawning with a log file, stopping by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

STOP_GRACE_SECS = 10.0


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports that were free a moment ago (all held open together while picked)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


class Process:
    """One child process whose stdout and stderr go to `log_path`; only ever signalled by its own PID."""

    def __init__(self, argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self._popen.pid

    def returncode(self) -> int | None:
        """None while the process runs, its exit status once it has exited."""
        return self._popen.poll()

    def terminate(self) -> None:
        """SIGTERM without waiting (several processes can then shut down at once); see reap()."""
        if self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._popen.pid, signal.SIGTERM)

    def reap(self, grace: float = STOP_GRACE_SECS) -> None:
        """Wait up to `grace` seconds for the process to exit, then SIGKILL it; returns once it is reaped."""
        try:
            self._popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._popen.pid, signal.SIGKILL)
            self._popen.wait()

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
