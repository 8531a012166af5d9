"""Run the real etcdctl 3.5.1 and etcd-py's etcdctl side by side and compare what they print.

Each side talks to its own server, and both servers receive the same requests in the
same order, so their data and revisions stay equal; the outputs then differ only in
what legitimately differs between two servers or two runs (endpoints, cluster and
member IDs, timings, Go stack traces, log timestamps), which `normalize` masks.

Three pairings (`MODES`) run the same scenarios:
- "etcdctl": real etcdctl and etcd-py's etcdctl, each against reference etcd 3.5.1;
- "server": the real etcdctl against reference etcd and against etcd-py's server;
- "full": the real etcdctl against reference etcd, etcd-py's etcdctl against etcd-py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from google.protobuf.message import Message

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from tests.servers import REPO, EtcdProcess, free_port, reference_etcdctl

OUR_ETCDCTL = [sys.executable, "-m", "etcdpy.cli.etcdctl.main"]
# mode -> (server kind under test, etcdctl under test: "ours" or "real"); the other side is
# always the real etcdctl 3.5.1 against reference etcd 3.5.1.
MODES: dict[str, tuple[str, str]] = {
    "etcdctl": ("reference", "ours"),
    "server": ("etcdpy", "real"),
    "full": ("etcdpy", "ours"),
}
# check perf alone runs for a minute.
_RUN_TIMEOUT = 150.0


@dataclass
class Side:
    """One etcdctl and the server it talks to."""

    name: str
    command: list[str]
    server: EtcdProcess
    cluster_id: int = 0
    member_id: int = 0

    def learn_ids(self) -> None:
        with grpc.insecure_channel(self.server.endpoint) as ch:
            status = ch.unary_unary(
                "/etcdserverpb.Maintenance/Status",
                request_serializer=rpc_pb2.StatusRequest.SerializeToString,
                response_deserializer=rpc_pb2.StatusResponse.FromString,
            )(rpc_pb2.StatusRequest(), timeout=5)
        self.cluster_id, self.member_id = status.header.cluster_id, status.header.member_id

    def revision(self) -> int:
        with grpc.insecure_channel(self.server.endpoint) as ch:
            resp = ch.unary_unary(
                "/etcdserverpb.KV/Range",
                request_serializer=rpc_pb2.RangeRequest.SerializeToString,
                response_deserializer=rpc_pb2.RangeResponse.FromString,
            )(rpc_pb2.RangeRequest(key=b"\0", range_end=b"\0", count_only=True), timeout=5)
        return int(resp.header.revision)


@dataclass(frozen=True)
class Result:
    stdout: bytes
    stderr: bytes
    code: int


def run(
    command: Sequence[str], args: Sequence[str], stdin: bytes, env: Mapping[str, str], cwd: Path
) -> Result:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    full_env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env)
    proc = subprocess.run(
        [*command, *args], input=stdin, capture_output=True, env=full_env, cwd=cwd, timeout=_RUN_TIMEOUT
    )
    return Result(proc.stdout, proc.stderr, proc.returncode)


@dataclass
class Pair:
    """The real etcdctl against one server, ours against another, kept in lockstep."""

    ref: Side
    ours: Side
    dead_endpoint: str = field(default_factory=lambda: f"127.0.0.1:{free_port()}")

    def sides(self) -> tuple[Side, Side]:
        return self.ref, self.ours


def make_pair(tmp: Path, mode: str = "etcdctl", **server_args: object) -> Pair:
    kind, ctl = MODES[mode]
    servers = [
        EtcdProcess("reference", tmp / "a.etcd", **server_args),  # type: ignore[arg-type]
        EtcdProcess(kind, tmp / "b.etcd", **server_args),  # type: ignore[arg-type]
    ]
    for server in servers:
        server.start(wait=False)
    for server in servers:
        server.wait_ready()
    command = OUR_ETCDCTL if ctl == "ours" else [reference_etcdctl()]
    pair = Pair(
        Side("etcdctl 3.5.1", [reference_etcdctl()], servers[0]),
        Side(f"{mode} under test", command, servers[1]),
    )
    for side in pair.sides():
        side.learn_ids()
    return pair


_REV = re.compile(r"\{REV([+-]\d+)?\}")


def expand(text: str, side: Side, pair: Pair, revision: int | None) -> str:
    text = text.replace("{EP}", side.server.endpoint).replace("{URL}", side.server.url)
    text = text.replace("{DEAD}", pair.dead_endpoint)
    if revision is not None:
        text = _REV.sub(lambda m: str(revision + int(m.group(1) or 0)), text)
    return text


# -- normalization ---------------------------------------------------------------------------

_DURATION = re.compile(r"\d+(\.\d+)?(ns|µs|ms|s)\b|\d+m\d+(\.\d+)?s\b")
_GO_POINTER = re.compile(r"0x[0-9a-f]{6,}")


_RPC_DETAIL = re.compile(r"(rpc error: code = \w+ desc = ).*")


def _log_line(line: str) -> str:
    """A zap JSON log line with its timestamp, pointers and stack trace dropped."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line
    if not isinstance(entry, dict) or "level" not in entry:
        return line
    entry.pop("ts", None)
    entry.pop("stacktrace", None)
    if "took" in entry:
        entry["took"] = "<took>"
    if "size" in entry:  # a database's size: storage engines differ
        entry["size"] = "<size>"
    if entry.get("msg") == "retrying of unary invoker failed":
        # The dial error's detail depends on how far the connection attempt got before the
        # deadline (refused, or not tried yet): timing, not behaviour.
        entry["error"] = _RPC_DETAIL.sub(r"\1<detail>", str(entry.get("error", "")))
    return json.dumps({k: _GO_POINTER.sub("0xP", str(v)) for k, v in entry.items()}, sort_keys=True)


def _table(text: str) -> str:
    """Tables re-aligned: cell widths follow the (masked) contents."""
    lines = []
    for line in text.split("\n"):
        if line.startswith(("+-", "|")):
            line = re.sub(r" +", " ", re.sub(r"-+", "-", line))
        lines.append(line)
    return "\n".join(lines)


def _panic(text: str) -> str:
    """A Go panic keeps its first line; the goroutine dump is Go's own."""
    head, sep, _ = text.partition("\ngoroutine ")
    return _GO_POINTER.sub("0xP", head) + "\n<goroutines>" if sep else text


@dataclass(frozen=True)
class Masks:
    timing: bool = False
    # Mask every number but the IDs: for servers whose histories differ in length.
    numbers: bool = False
    # Mask backend sizes, which grow with the timing of batch commits.
    sizes: bool = False
    pb_type: type[Message] | None = None
    extra: tuple[Callable[[str], str], ...] = ()


def _mask_ids(text: str, side: Side) -> str:
    for value, name in ((side.cluster_id, "<CID>"), (side.member_id, "<MID>")):
        text = text.replace(str(value), name).replace(f"{value:x}", name)
    return text


def _mask_pb(data: bytes, masks: Masks) -> bytes:
    assert masks.pb_type is not None
    msg = masks.pb_type.FromString(data)
    header = getattr(msg, "header", None)
    if header is not None:
        header.cluster_id = header.member_id = 0
        if masks.numbers:
            header.revision = header.raft_term = 0
    for alarm in getattr(msg, "alarms", []):
        alarm.memberID = 0
    for member in getattr(msg, "members", []):
        member.ID = 0
        del member.peerURLs[:]
        del member.clientURLs[:]
    return msg.SerializeToString()


def normalize(data: bytes, side: Side, pair: Pair, masks: Masks, *, is_stdout: bool) -> str:
    if masks.pb_type is not None and is_stdout and data:
        data = _mask_pb(data, masks)
    text = data.decode("utf-8", "surrogateescape")
    server = side.server
    text = text.replace(server.url, "<URL>").replace(server.endpoint, "<EP>")
    text = text.replace(f"127.0.0.1:{server.peer_port}", "<PEER>")
    text = _mask_ids(text, side)
    text = _panic(text)
    text = "\n".join(_log_line(line) for line in text.split("\n"))
    if masks.timing:
        text = _DURATION.sub("<dur>", text)
    if masks.numbers:
        text = re.sub(r"\d+", "N", text)
    if masks.sizes:
        text = re.sub(r"\d+(\.\d)? [kMG]?B\b", "<size>", text)
        text = re.sub(r'("dbSize":|"DBSize" : |"dbSizeInUse":|"DBSizeInUse" : )\d+', r"\1<size>", text)
    for mask in masks.extra:
        text = mask(text)
    return _table(text)


def compare(
    pair: Pair,
    args: Sequence[str],
    *,
    stdin: bytes = b"",
    env: Mapping[str, str] | None = None,
    masks: Masks = Masks(),
    endpoints: bool = True,
    cwd: Path,
) -> tuple[dict[str, object], dict[str, object]]:
    """Run both etcdctls; returns their normalized (stdout, stderr, code) for assertion. The
    reference's revision is read (without credentials) only when a {REV} placeholder needs it."""
    texts = [*args, stdin.decode(), *(env or {}).values()]
    revision = pair.ref.revision() if any(_REV.search(t) for t in texts) else None
    outputs = []
    for side in pair.sides():
        argv = [expand(a, side, pair, revision) for a in args]
        if endpoints:
            argv = ["--endpoints", side.server.endpoint, *argv]
        side_env = {k: expand(v, side, pair, revision) for k, v in (env or {}).items()}
        result = run(side.command, argv, expand(stdin.decode(), side, pair, revision).encode(), side_env, cwd)
        outputs.append(
            {
                "stdout": normalize(result.stdout, side, pair, masks, is_stdout=True),
                "stderr": normalize(result.stderr, side, pair, masks, is_stdout=False),
                "code": result.code,
            }
        )
    return outputs[0], outputs[1]


@dataclass(frozen=True)
class Scenario:
    name: str
    args: tuple[str, ...]
    stdin: bytes = b""
    env: dict[str, str] = field(default_factory=dict)
    setup: tuple[tuple[str, ...], ...] = ()
    masks: Masks = Masks()
    endpoints: bool = True


def s(name: str, *args: str, **kw: object) -> Scenario:
    """A scenario running `etcdctl <args>`."""
    return Scenario(name, args, **kw)  # type: ignore[arg-type]


def play(scenario: Scenario, pair: Pair, cwd: Path) -> tuple[dict[str, object], dict[str, object]]:
    """Run a scenario's setup (with the real etcdctl, on both servers), then the scenario."""
    for setup in scenario.setup:
        for side in pair.sides():
            argv = ["--endpoints", side.server.endpoint, *(expand(a, side, pair, None) for a in setup)]
            result = run(pair.ref.command, argv, b"", {}, cwd)
            assert result.code == 0, result
    return compare(
        pair,
        scenario.args,
        stdin=scenario.stdin,
        env=scenario.env,
        masks=scenario.masks,
        endpoints=scenario.endpoints,
        cwd=cwd,
    )
