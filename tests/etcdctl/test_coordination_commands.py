"""etcdctl lease, watch, lock and elect: etcd-py's etcdctl against the real etcdctl 3.5.1.

Lease IDs are random per server, so they are masked; a watch starts at an explicit
revision, so what it prints does not depend on when it was set up.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client import Client
from tests.etcdctl._harness import OUR_ETCDCTL, Masks, Pair, Side, make_pair, normalize, run
from tests.servers import REPO, reference_etcdctl, wait_until

pytestmark = pytest.mark.reference

FORMATS = ("simple", "json", "fields", "protobuf", "table")
_HEX_ID = re.compile(r"\b[0-9a-f]{16}\b")
_LONG_NUMBER = re.compile(r"\b\d{15,}\b")
# A lease's remaining TTL depends on when it is read.
_REMAINING = re.compile(r'(remaining\(|"ttl":|"TTL" : )\d+')


def _mask(text: str) -> str:
    return _REMAINING.sub(r"\1<ttl>", _LONG_NUMBER.sub("<ID>", _HEX_ID.sub("<ID>", text)))


MASKS = Masks(extra=(_mask,))


@pytest.fixture(scope="module", params=["etcdctl", "full"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    p = make_pair(tmp_path_factory.mktemp("coordination"), request.param)
    try:
        yield p
    finally:
        for side in p.sides():
            side.server.stop()


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _result(side: Side, pair: Pair, stdout: bytes, stderr: bytes, code: int) -> dict[str, object]:
    # Protobuf output: the server's IDs as the varints of a response header.
    for field, value in ((b"\x08", side.cluster_id), (b"\x10", side.member_id)):
        stdout = stdout.replace(field + _varint(value), field + b"<ID>")
    # ... whose lengths vary with the IDs' (a watch response's header is field 1).
    stdout = re.sub(rb"\n.\x08<ID>", b"\n?\x08<ID>", stdout, flags=re.S)
    return {
        "stdout": normalize(stdout, side, pair, MASKS, is_stdout=True),
        "stderr": normalize(stderr, side, pair, MASKS, is_stdout=False),
        "code": code,
    }


# -- lease ------------------------------------------------------------------------------------

LEASE_STEPS: list[tuple[str, ...]] = [
    *(("-w", fmt, "lease", "grant", "100") for fmt in FORMATS),
    *(("-w", fmt, "lease", "timetolive", "{LEASE}") for fmt in FORMATS),
    *(("-w", fmt, "lease", "timetolive", "--keys", "{LEASE}") for fmt in FORMATS),
    *(("-w", fmt, "lease", "keep-alive", "--once", "{LEASE}") for fmt in FORMATS),
    *(("-w", fmt, "lease", "revoke", "{LEASE}") for fmt in FORMATS),
    ("lease", "revoke", "{GONE}"),
    ("lease", "timetolive", "{GONE}"),
    ("lease", "keep-alive", "--once", "{GONE}"),
    ("lease", "keep-alive", "{GONE}"),
    ("-w", "json", "lease", "keep-alive", "{GONE}"),
    ("lease", "grant", "9000000001"),
    ("lease", "grant", "x"),
    ("lease", "grant"),
    ("lease", "revoke", "zz"),
    ("lease", "revoke"),
    ("lease", "timetolive"),
    ("lease", "keep-alive", "1", "2"),
    ("-w", "yaml", "lease", "list"),
    ("put", "--lease={LEASE}", "/l/attached", "v"),
    ("put", "--lease=zz", "/l/attached", "v"),
]


@pytest.mark.parametrize("args", LEASE_STEPS, ids=[" ".join(a) for a in LEASE_STEPS])
def test_lease_commands(args: tuple[str, ...], pair: Pair, tmp_path: Path) -> None:
    outputs = []
    for side in pair.sides():
        with Client(side.server.endpoint, timeout=5) as client:
            lease = client.grant(100).ID
            gone = client.grant(100).ID
            client.revoke(gone)
            client.put("/l/k", "v", lease=lease)
        argv = [a.replace("{LEASE}", f"{lease:x}").replace("{GONE}", f"{gone:x}") for a in args]
        result = run(side.command, ["--endpoints", side.server.endpoint, *argv], b"", {}, tmp_path)
        stdout = _header_masked(result.stdout) if "protobuf" in args else result.stdout
        outputs.append(_result(side, pair, stdout, result.stderr, result.code))
    assert outputs[1] == outputs[0]


def _header_masked(data: bytes) -> bytes:
    """etcdctl's protobuf lease output (just the response header) without the server's IDs."""
    header = pb.ResponseHeader.FromString(data)
    header.cluster_id = header.member_id = 0
    return header.SerializeToString()


def test_lease_list(pair: Pair, tmp_path: Path) -> None:
    outputs = []
    for side in pair.sides():
        with Client(side.server.endpoint, timeout=5) as client:
            for item in client.leases().leases:
                client.revoke(item.ID)
            client.grant(100)
        results = [
            run(
                side.command,
                ["--endpoints", side.server.endpoint, "-w", fmt, "lease", "list"],
                b"",
                {},
                tmp_path,
            )
            for fmt in FORMATS
        ]
        outputs.append(
            [
                _result(
                    side, pair, _header_masked(r.stdout) if fmt == "protobuf" else r.stdout, r.stderr, r.code
                )
                for fmt, r in zip(FORMATS, results, strict=True)
            ]
        )
    assert outputs[1] == outputs[0]


# -- watch ------------------------------------------------------------------------------------


def _writes(client: Client) -> None:
    client.put("/w/a", "1")
    client.put("/w/a", 'two "2"')
    client.delete("/w/a")
    client.put("/w/b", "3")


def _watch_outputs(
    pair: Pair, tmp_path: Path, args: list[str], *, stdin: bytes | None = None, wait_for: bytes
) -> list[dict[str, object]]:
    """Start the watch on both sides at the current revision, write, wait for the output to
    contain `wait_for`, then stop it (closing stdin in interactive mode, else SIGTERM)."""
    rev = pair.ref.revision()
    procs = []
    for n, side in enumerate(pair.sides()):
        argv = [a.replace("{REV}", str(rev + 1)) for a in args]
        out, err = tmp_path / f"out{n}", tmp_path / f"err{n}"
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen(
                [*side.command, "--endpoints", side.server.endpoint, *argv],
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=o,
                stderr=e,
                env=_env(),
                cwd=tmp_path,
            )
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin.replace(b"{REV}", str(rev + 1).encode()))
            proc.stdin.flush()
        procs.append((side, proc, out, err))
    try:
        for side in pair.sides():
            with Client(side.server.endpoint, timeout=5) as client:
                _writes(client)
        for _, _, out, _ in procs:
            wait_until(lambda o=out: wait_for in o.read_bytes(), 20, f"watch output in {o}")  # type: ignore[misc]
        results = []
        for side, proc, out, err in procs:
            if proc.stdin is not None:
                proc.stdin.close()
            else:
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=10)
            results.append(_result(side, pair, out.read_bytes(), err.read_bytes(), code))
        return results
    finally:
        for _, proc, _, _ in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


@pytest.mark.parametrize("fmt", ["simple", "json", "fields", "protobuf"])
def test_watch_prints_events(fmt: str, pair: Pair, tmp_path: Path) -> None:
    args = ["-w", fmt, "watch", "--prefix", "--prev-kv", "--rev", "{REV}", "/w/"]
    marker = {"simple": b"\n3\n", "json": b'"Mw=="', "fields": b'"Value" : "3"', "protobuf": b"\x013"}[fmt]
    theirs, ours = _watch_outputs(pair, tmp_path, args, wait_for=marker)
    assert ours == theirs


def _mask_watch_revision(result: dict[str, object]) -> dict[str, object]:
    """ETCD_WATCH_REVISION is the header revision of the response that carried the event: whether
    the unwatched write of /w/b had happened by then is timing, on either server."""
    stdout = re.sub(r"(?m)^\d+ (?=\")", "<rev> ", str(result["stdout"]))
    return {**result, "stdout": stdout}


def test_watch_exec_mode(pair: Pair, tmp_path: Path) -> None:
    script = "echo $ETCD_WATCH_REVISION $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE"
    args = ["watch", "--rev", "{REV}", "/w/a", "--", "sh", "-c", script]
    theirs, ours = _watch_outputs(pair, tmp_path, args, wait_for=b'"DELETE" "/w/a" ""\n')
    assert _mask_watch_revision(ours) == _mask_watch_revision(theirs)
    assert '<rev> "DELETE" "/w/a" ""' in str(_mask_watch_revision(ours)["stdout"])
    assert '"PUT" "/w/a" "two \\"2\\""' in str(theirs["stdout"])


def test_watch_interactive(pair: Pair, tmp_path: Path) -> None:
    lines = b"watch --rev {REV} /w/a\nbogus\n\nwatch\nwatch --prefix /w/ /w/z\n"
    # One watch only: etcdctl prints concurrent watches in no particular order.
    theirs, ours = _watch_outputs(pair, tmp_path, ["watch", "-i"], stdin=lines, wait_for=b"DELETE\n/w/a\n\n")
    assert ours == theirs
    assert theirs["code"] == 3


@pytest.mark.parametrize(
    "args",
    [
        ["watch"],
        ["watch", "a", "--"],
        ["watch", "--prefix", "a", "b"],
        ["-w", "table", "watch", "--rev", "1", "/w/a"],
    ],
    ids=["no key", "separator without command", "prefix and range end", "table"],
)
def test_watch_refusals(args: list[str], pair: Pair, tmp_path: Path) -> None:
    outputs = []
    for side in pair.sides():
        result = run(side.command, ["--endpoints", side.server.endpoint, *args], b"", {}, tmp_path)
        outputs.append(_result(side, pair, result.stdout, result.stderr, result.code))
    assert outputs[1] == outputs[0]


def test_watch_compacted_revision(pair: Pair, tmp_path: Path) -> None:
    outputs = []
    for side in pair.sides():
        with Client(side.server.endpoint, timeout=5) as client:
            rev = client.put("/w/c", "1").header.revision
            client.put("/w/c", "2")
            client.compact(rev + 1)
        for fmt in ("simple", "json"):
            argv = ["--endpoints", side.server.endpoint, "-w", fmt, "watch", "--rev", str(rev), "/w/c"]
            result = run(side.command, argv, b"", {}, tmp_path)
            outputs.append(_result(side, pair, result.stdout, result.stderr, result.code))
    assert outputs[2:] == outputs[:2]
    assert outputs[0]["code"] == 5


# -- lock and elect ---------------------------------------------------------------------------


def _spawn(command: list[str], side: Side, args: list[str], out: Path) -> subprocess.Popen[bytes]:
    with open(out, "wb") as o:
        return subprocess.Popen(
            [*command, "--endpoints", side.server.endpoint, *args],
            stdout=o,
            stderr=subprocess.DEVNULL,  # may log a call cut short by the signal that stops it
            env=_env(),
        )


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_lock_excludes_a_second_holder(pair: Pair, tmp_path: Path) -> None:
    side = pair.ours
    log = tmp_path / "log"
    log.write_text("")

    def holder(n: int) -> subprocess.Popen[bytes]:
        script = f"echo start{n} $ETCD_LOCK_KEY >> {log}; sleep 1; echo end{n} >> {log}"
        return _spawn(OUR_ETCDCTL, side, ["lock", "/lk", "--", "sh", "-c", script], tmp_path / f"lock{n}")

    first = holder(1)
    try:
        wait_until(lambda: "start1" in log.read_text(), 20, "the first lock holder")
        second = holder(2)
        try:
            assert first.wait(timeout=20) == 0
            assert second.wait(timeout=20) == 0
        finally:
            _stop(second)
    finally:
        _stop(first)
    lines = log.read_text().split("\n")
    assert [line.split(" ")[0] for line in lines] == ["start1", "end1", "start2", "end2", ""]
    assert lines[0].split(" ")[1] != lines[2].split(" ")[1]  # two sessions, two keys


@pytest.mark.parametrize("who", ["real", "ours"])
def test_lock_prints_its_key_and_releases_on_sigterm(who: str, pair: Pair, tmp_path: Path) -> None:
    side = pair.ref if who == "real" else pair.ours
    command = [reference_etcdctl()] if who == "real" else OUR_ETCDCTL
    out = tmp_path / "out"
    proc = _spawn(command, side, ["lock", "/held"], out)
    try:
        wait_until(lambda: out.read_bytes().count(b"\n") >= 2, 20, "the lock key")
        with Client(side.server.endpoint, timeout=5) as client:
            assert client.get("/held/", prefix=True).count == 1
            assert _stop(proc) == 0
            assert client.get("/held/", prefix=True).count == 0
    finally:
        _stop(proc)
    assert re.fullmatch(rb"/held/[0-9a-f]+\n\n", out.read_bytes())


@pytest.mark.parametrize("who", ["real", "ours"])
def test_elect_listen_prints_leader_changes(who: str, pair: Pair, tmp_path: Path) -> None:
    side = pair.ref if who == "real" else pair.ours
    command = [reference_etcdctl()] if who == "real" else OUR_ETCDCTL
    observer_out = tmp_path / "observer"
    observer = _spawn(command, side, ["elect", "-l", "/el"], observer_out)
    candidates: list[subprocess.Popen[bytes]] = []
    try:
        for n, proposal in enumerate(["p1", "p2"]):
            out = tmp_path / f"candidate{n}"
            candidates.append(_spawn(command, side, ["elect", "/el", proposal], out))
            wait_until(lambda p=proposal: f"{p}\n".encode() in observer_out.read_bytes(), 20, proposal)  # type: ignore[misc]
            wait_until(lambda o=out: o.read_bytes().endswith(b"\n"), 20, f"{proposal} elected")  # type: ignore[misc]
            assert re.fullmatch(rf"/el/[0-9a-f]+\n{proposal}\n".encode(), out.read_bytes())
            assert _stop(candidates[-1]) == 0  # resigns
        assert _stop(observer) == 0
    finally:
        for proc in [observer, *candidates]:
            _stop(proc)
    assert re.fullmatch(rb"/el/[0-9a-f]+\np1\n/el/[0-9a-f]+\np2\n", observer_out.read_bytes())


@pytest.mark.parametrize(
    "args",
    [["lock"], ["elect"], ["elect", "x"], ["elect", "-l", "x", "y"], ["-w", "table", "elect", "/et", "p"]],
    ids=["lock no name", "elect no name", "elect no proposal", "elect listen with proposal", "elect table"],
)
def test_lock_and_elect_refusals(args: list[str], pair: Pair, tmp_path: Path) -> None:
    outputs = []
    for side in pair.sides():
        result = run(side.command, ["--endpoints", side.server.endpoint, *args], b"", {}, tmp_path)
        outputs.append(_result(side, pair, result.stdout, result.stderr, result.code))
    assert outputs[1] == outputs[0]
