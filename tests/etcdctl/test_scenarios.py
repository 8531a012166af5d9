"""etcd-py's etcdctl against the real etcdctl 3.5.1: same arguments, same stdin and
environment, identical stdout, stderr and exit status (after `_harness.normalize`).

Scenarios run in order and both servers see the same writes, so later scenarios may
rely on the data earlier ones left (keys under /s/ are the scenarios' own).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from tests.etcdctl._harness import MODES, Masks, Pair, Scenario, make_pair, play, s

pytestmark = pytest.mark.reference

TIMING = Masks(timing=True)
SIZES = Masks(sizes=True)


FORMATS = ("simple", "json", "fields", "protobuf", "table")
PB_TYPES: dict[str, type] = {
    "get": pb.RangeResponse,
    "put": pb.PutResponse,
    "del": pb.DeleteRangeResponse,
    "txn": pb.TxnResponse,
    "member": pb.MemberListResponse,
    "alarm": pb.AlarmResponse,
}


def formats(name: str, *args: str, kind: str, masks: Masks | None = None, **kw: object) -> list[Scenario]:
    """The same command in every output format."""
    out = []
    for fmt in FORMATS:
        fmt_masks = dataclasses.replace(
            masks or Masks(), pb_type=PB_TYPES.get(kind) if fmt == "protobuf" else None
        )
        out.append(Scenario(f"{name}[{fmt}]", ("-w", fmt, *args), masks=fmt_masks, **kw))  # type: ignore[arg-type]
    return out


TXN_MIXED = (
    b'value("/s/k1") = "v1"\nver("/s/k2") > "0"\n\n'
    b'put /s/k3 "three"\nget /s/k1\ndel /s/nothing\n\n'
    b"get /s/k2\n\n"
)
TXN_FAIL = b'mod("/s/k1") < "1"\n\nput /s/k3 x\n\nget /s/k1 --prefix\nput --prev-kv /s/k2 22\n\n'

SCENARIOS: list[Scenario] = [
    # -- put ---------------------------------------------------------------------------------
    s("put", "put", "/s/k1", "v1"),
    s("put second key", "put", "/s/k2", "v2"),
    *formats("put prev-kv", "put", "--prev-kv", "/s/k1", "v1", kind="put"),
    s("put value from stdin", "put", "/s/stdin", stdin=b"from\nstdin\n"),
    s("put empty value arg", "put", "/s/empty", ""),
    s("put value after --", "put", "/s/dash", "--", "-value"),
    s("put key after --", "put", "--", "/s/dash2", "-x"),
    s("put ignore-value", "put", "--ignore-value", "/s/k2"),
    s("put ignore-value missing key", "put", "--ignore-value", "/s/absent"),
    s("put ignore-value with value", "put", "--ignore-value", "/s/k2", "v"),
    s("put ignore-lease", "put", "--ignore-lease", "/s/k2", "v2"),
    s("put unknown lease", "put", "--lease=1234abcd", "/s/k9", "v"),
    s("put bad lease", "put", "--lease", "zz", "/s/k9", "v"),
    s("put no args", "put"),
    s("put no value", "put", "/s/k9"),
    s("put empty key", "put", "", "v"),
    s("put binary", "put", "/s/bin", "\x01\x02 é"),
    # -- get ---------------------------------------------------------------------------------
    *formats("get", "get", "/s/k1", kind="get"),
    *formats("get prefix", "get", "--prefix", "/s/", kind="get"),
    s("get hex", "--hex", "get", "/s/bin"),
    s("get fields binary", "-w", "fields", "get", "/s/bin"),
    s("get json binary", "-w", "json", "get", "/s/bin"),
    s("get range end", "get", "/s/k1", "/s/k3"),
    s("get from-key", "get", "--from-key", "/s/k2"),
    s("get prefix=true", "get", "--prefix=true", "/s/k"),
    s("get prefix=false", "get", "--prefix=false", "/s/k1"),
    s("get limit", "get", "--prefix", "--limit=1", "/s/"),
    s("get limit json", "-w", "json", "get", "--prefix", "--limit", "2", "/s/"),
    s("get keys-only", "get", "--prefix", "--keys-only", "/s/k"),
    s("get print-value-only", "get", "--print-value-only", "/s/k1"),
    s("get print-value-only json", "-w", "json", "get", "--print-value-only", "/s/k1"),
    s("get count-only fields", "-w", "fields", "get", "--count-only", "--prefix", "/s/"),
    s("get count-only simple", "get", "--count-only", "--prefix", "/s/"),
    s("get keys and count", "get", "--keys-only", "--count-only", "/s/"),
    s("get sort by value desc", "get", "--prefix", "--sort-by=VALUE", "--order=DESCEND", "/s/k"),
    s("get sort by create", "get", "--prefix", "--sort-by", "create", "/s/k"),
    s("get order ascend", "get", "--prefix", "--order", "ascend", "/s/k"),
    s("get serializable", "get", "--consistency=s", "/s/k1"),
    s("get bad consistency", "get", "--consistency", "x", "/s/k1"),
    s("get bad order", "get", "--order", "up", "/s/k1"),
    s("get bad sort", "get", "--sort-by", "size", "/s/k1"),
    s("get prefix and from-key", "get", "--prefix", "--from-key", "/s/k1"),
    s("get prefix with range end", "get", "--prefix", "/s/k1", "/s/k2"),
    s("get no args", "get"),
    s("get empty key", "get", ""),
    s("get past revision", "get", "--rev", "{REV-1}", "/s/k1"),
    s("get future revision", "get", "--rev", "{REV+100}", "/s/k1"),
    s("get bad limit", "get", "--limit=abc", "/s/k1"),
    s("get missing key", "get", "/s/none"),
    s("get whole keyspace", "get", "--prefix", "", "--keys-only"),
    # -- del ---------------------------------------------------------------------------------
    s("del missing", "del", "/s/none"),
    *formats("del prev-kv", "del", "--prev-kv", "/s/dash", kind="del"),
    s("del range", "del", "/s/dash2", "/s/dash3"),
    s("del prefix", "del", "--prefix", "/s/em"),
    s("del from-key", "del", "--from-key", "/s/zzz"),
    s("del no args", "del"),
    s("del too many args", "del", "a", "b", "c"),
    s("del prefix with range end", "del", "--prefix", "a", "b"),
    s("del prefix and from-key", "del", "--prefix", "--from-key", "a"),
    s("del empty key", "del", ""),
    # -- txn ---------------------------------------------------------------------------------
    *formats("txn mixed", "txn", kind="txn", stdin=TXN_MIXED),
    s("txn failure branch", "txn", stdin=TXN_FAIL),
    s("txn interactive", "txn", "-i", stdin=TXN_MIXED),
    s("txn interactive long flag", "txn", "--interactive=true", stdin=b"\n\n\n"),
    s("txn empty", "txn", stdin=b"\n\n\n"),
    s(
        "txn compare ops",
        "txn",
        stdin=b'c("/s/k1") > "0"\nm("/s/k1") != "0"\nversion("/s/k1") < "1000"\n\n\n\n',
    ),
    s("txn quoted args", "txn", stdin=b'\nput /s/q "a b\\tc"\nget /s/q\n\n\n'),
    s("txn single-quote quirk", "txn", stdin=b"\nput /s/sq 'abc'\nget /s/sq\n\n\n"),
    s("txn EOF", "txn", stdin=b'val("/s/k1") = "v1"'),
    s("txn no input", "txn"),
    s("txn unknown target", "txn", stdin=b'bogus("/s/k1") = "1"\n\n\n'),
    s("txn malformed", "txn", stdin=b"ver /s/k1\n\n\n"),
    s("txn malformed quote", "txn", stdin=b'ver("/s/k1" = "1"\n\n\n'),
    s("txn no space before op", "txn", stdin=b'ver("/s/k1")= "1"\n\n\n'),
    s("txn bad number", "txn", stdin=b'ver("/s/k1") = "x"\n\n\n'),
    s("txn unknown op", "txn", stdin=b'ver("/s/k1") ~ "1"\n\n\n'),
    s("txn lease compare", "txn", stdin=b'lease("/s/k1") = "0"\n\n\n'),
    s("txn short request", "txn", stdin=b"\nput\n\n\n"),
    s("txn unknown request", "txn", stdin=b"\nfoo a b\n\n\n"),
    s("txn request bad flag", "txn", stdin=b"\nget --bogus a\n\n\n"),
    s("txn request missing value", "txn", stdin=b"\nput a\n\n\n"),
    s("txn request bad sort", "txn", stdin=b"\nget --order=up a\n\n\n"),
    s("txn with args", "txn", "extra"),
    # -- compaction --------------------------------------------------------------------------
    s("compaction", "compaction", "{REV-3}"),
    s("compaction physical", "compaction", "--physical", "{REV-2}"),
    s("get compacted revision", "get", "--rev", "{REV-5}", "/s/k1"),
    s("compaction compacted", "compaction", "{REV-6}"),
    s("compaction future", "compaction", "{REV+10}"),
    s("compaction not a number", "compaction", "abc"),
    s("compaction no args", "compaction"),
    # -- maintenance and cluster -------------------------------------------------------------
    s("version", "version"),
    s("version json", "-w", "json", "version"),
    s("endpoint health", "endpoint", "health", masks=TIMING),
    s("endpoint health json", "-w", "json", "endpoint", "health", masks=TIMING),
    s("endpoint health fields", "-w", "fields", "endpoint", "health", masks=TIMING),
    s("endpoint health table", "-w", "table", "endpoint", "health", masks=TIMING),
    s("endpoint health protobuf", "-w", "protobuf", "endpoint", "health"),
    s("endpoint health cluster", "endpoint", "health", "--cluster", masks=TIMING),
    *formats("endpoint status", "endpoint", "status", kind="status", masks=SIZES),
    s("endpoint status cluster", "endpoint", "status", "--cluster", masks=SIZES),
    s("endpoint status hex json", "--hex", "-w", "json", "endpoint", "status", masks=SIZES),
    *formats("endpoint hashkv", "endpoint", "hashkv", kind="hashkv"),
    s("endpoint hashkv rev", "endpoint", "hashkv", "--rev", "{REV}"),
    *formats("member list", "member", "list", kind="member"),
    s("member list hex json", "-w", "json", "--hex", "member", "list"),
    s("member list hex simple", "--hex", "member", "list"),
    *formats("alarm list", "alarm", "list", kind="alarm"),
    *formats("alarm disarm", "alarm", "disarm", kind="alarm"),
    s("alarm list with args", "alarm", "list", "x"),
    s("defrag", "defrag"),
    s("defrag cluster", "defrag", "--cluster"),
    s("defrag json", "-w", "json", "defrag"),
    s("snapshot save", "snapshot", "save", "snap.db"),
    s("snapshot save json", "-w", "json", "snapshot", "save", "snap.db"),
    s("snapshot save with timeout", "--command-timeout=10s", "snapshot", "save", "snap.db"),
    s("snapshot save no args", "snapshot", "save"),
    s("snapshot save two endpoints", "--endpoints={EP},{EP}", "snapshot", "save", "snap.db"),
    s("snapshot save bad dir", "snapshot", "save", "/nonexistent/dir/snap.db"),
    s(
        "snapshot save unreachable",
        "--endpoints",
        "{DEAD}",
        "--command-timeout=1s",
        "snapshot",
        "save",
        "snap.db",
        endpoints=False,
    ),
    # -- flags and environment ---------------------------------------------------------------
    s("global flags after command", "get", "/s/k1", "-w", "json"),
    s("write-out with =", "--write-out=fields", "get", "/s/k1"),
    s("write-out attached", "-wjson", "get", "/s/k1"),
    s("write-out short =", "-w=json", "get", "/s/k1"),
    s("bad write-out", "-w", "yaml", "get", "/s/k1"),
    s("bad write-out before arg check", "-w", "yaml", "get"),
    s("endpoints twice append", "--endpoints={EP}", "endpoint", "health", masks=TIMING),
    s("unknown flag", "get", "--bogus", "/s/k1"),
    s("unknown shorthand", "get", "-x", "/s/k1"),
    s("flag needs argument", "get", "/s/k1", "--limit"),
    s("shorthand needs argument", "get", "/s/k1", "-w"),
    s("bad bool", "get", "--prefix=maybe", "/s/k1"),
    s("bad duration", "--dial-timeout=abc", "get", "/s/k1"),
    s("duration missing unit", "--command-timeout", "5", "get", "/s/k1"),
    s("bad flag syntax", "get", "---x"),
    s("unknown command", "bogus"),
    s("unknown command suggestion", "gett", "/s/k1"),
    s("command prefix", "ver"),
    s("ambiguous prefix", "m"),
    s("help", "--help"),
    s("no command", endpoints=False),
    s("help command", "help"),
    s("help topic", "help", "endpoint", "status"),
    s("help unknown topic", "help", "bogus"),
    s("group without subcommand", "endpoint"),
    s("group unknown subcommand", "endpoint", "bogus"),
    s("-- before command", "--", "get", "/s/k1"),
    s("empty cert", "--cert=", "get", "/s/k1"),
    s("env endpoints", "get", "/s/k1", env={"ETCDCTL_ENDPOINTS": "{EP}"}, endpoints=False),
    s("env write-out", "get", "/s/k1", env={"ETCDCTL_WRITE_OUT": "json"}),
    s("env hex", "get", "/s/k1", env={"ETCDCTL_HEX": "true"}),
    s("env bad value ignored", "get", "/s/k1", env={"ETCDCTL_COMMAND_TIMEOUT": "abc"}),
    s("env unknown variable", "get", "/s/k1", env={"ETCDCTL_FOO": "bar"}),
    s("env empty value", "get", "/s/k1", env={"ETCDCTL_HEX": ""}),
    s("env command flag not inherited", "get", "/s/k", env={"ETCDCTL_PREFIX": "true"}),
    s("env shadowed by flag", "-w", "fields", "get", "/s/k1", env={"ETCDCTL_WRITE_OUT": "json"}),
    s("env ignored by version", "version", env={"ETCDCTL_WRITE_OUT": "bogus"}),
    s("env cluster on endpoint", "endpoint", "status", env={"ETCDCTL_CLUSTER": "true"}, masks=SIZES),
    s("env api 3", "get", "/s/k1", env={"ETCDCTL_API": "3"}),
    s("env api 4", "get", "/s/k1", env={"ETCDCTL_API": "4"}),
    # -- unreachable endpoints ---------------------------------------------------------------
    s("unreachable get", "--endpoints", "{DEAD}", "--command-timeout=1s", "get", "/s/k1", endpoints=False),
    s(
        "unreachable health",
        "--endpoints",
        "{DEAD}",
        "--command-timeout=1s",
        "endpoint",
        "health",
        endpoints=False,
        masks=TIMING,
    ),
    s(
        "unreachable status",
        "--endpoints",
        "{DEAD}",
        "--command-timeout=1s",
        "endpoint",
        "status",
        endpoints=False,
    ),
    s("unreachable then good", "--endpoints", "{DEAD},{EP}", "get", "/s/k1", endpoints=False),
]


def _help_scenarios() -> list[Scenario]:
    groups = {
        "alarm": ["disarm", "list"],
        "endpoint": ["hashkv", "health", "status"],
        "member": ["add", "list", "promote", "remove", "update"],
        "snapshot": ["restore", "save", "status"],
        "check": ["datascale", "perf"],
        "lease": ["grant", "keep-alive", "list", "revoke", "timetolive"],
        "user": ["add", "delete", "get", "grant-role", "list", "passwd", "revoke-role"],
        "role": ["add", "delete", "get", "grant-permission", "list", "revoke-permission"],
        "auth": ["disable", "enable", "status"],
    }
    out = [s(f"help {g}", g, "--help") for g in groups]
    out += [s(f"help {g} {c}", g, c, "-h") for g, subs in groups.items() for c in subs]
    singles = [
        "get",
        "put",
        "del",
        "txn",
        "compaction",
        "defrag",
        "version",
        "watch",
        "lock",
        "elect",
        "make-mirror",
    ]
    out += [s(f"help {c}", c, "--help") for c in [*singles, "move-leader"]]
    return out


SCENARIOS += _help_scenarios()


@pytest.fixture(scope="module", params=sorted(MODES))
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    p = make_pair(tmp_path_factory.mktemp("etcdctl"), request.param)
    try:
        yield p
    finally:
        for side in p.sides():
            side.server.stop()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[sc.name for sc in SCENARIOS])
def test_same_as_etcdctl(scenario: Scenario, pair: Pair, tmp_path: Path) -> None:
    theirs, ours = play(scenario, pair, tmp_path)
    assert ours == theirs
