"""Run the real etcdctl 3.5.1 against a server and reduce its output to what must match etcd's."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers import EtcdProcess, reference_etcdctl, stop_all

# Fields of etcdctl's output that differ between any two servers (IDs, sizes, revisions, tokens).
_VOLATILE = [
    (re.compile(r"\b[0-9a-f]{12,16}\b"), "<id>"),  # Go prints IDs unpadded
    (re.compile(r"lease [0-9a-f]+ "), "lease <id> "),
    (re.compile(r"127\.0\.0\.1:\d+"), "<addr>"),
]


@dataclass(frozen=True)
class Outcome:
    rc: int
    out: str
    err: str  # etcdctl's error lines, without the client library's JSON log lines


def run(endpoint: str, *args: str, stdin: str = "", timeout: float = 20.0) -> Outcome:
    proc = subprocess.run(
        [reference_etcdctl(), "--endpoints", endpoint, "--command-timeout", "8s", *args],
        input=stdin.encode(),
        capture_output=True,
        timeout=timeout,
    )
    err = "\n".join(line for line in proc.stderr.decode().splitlines() if not line.startswith("{"))
    return Outcome(proc.returncode, proc.stdout.decode(), err)


def normalized(o: Outcome) -> Outcome:
    out, err = o.out, o.err
    for pattern, repl in _VOLATILE:
        out, err = pattern.sub(repl, out), pattern.sub(repl, err)
    return Outcome(o.rc, out, err)


@contextmanager
def servers(tmp: Path, kinds: Sequence[str], *extra: str) -> Iterator[dict[str, EtcdProcess]]:
    procs = {k: EtcdProcess(k, tmp / f"{k}.etcd", extra_args=list(extra)) for k in kinds}
    try:
        for p in procs.values():
            p.start()
        yield procs
    finally:
        stop_all(procs.values())
