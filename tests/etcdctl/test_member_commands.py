"""etcdctl member add|remove|update|promote.

- The client's peer URL check gives Go's net/url and etcd's texts.
- The printers' exact layout (ID padding, the new member's environment in response order),
  which the side-by-side comparison has to mask.
- etcd-py's etcdctl against etcdctl 3.5.1, each on its own reference etcd 3.5.1: argument
  errors, server errors, learners that never start, in every output format; then learners
  that do start, so they can be promoted.
- The client calls, blocking and asyncio, on both servers.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf import text_format
from google.protobuf.message import Message

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode, GoPanic
from etcdpy.cli.etcdctl.printers import new_printer
from etcdpy.client import AsyncClient, Client, EtcdError, URLError
from etcdpy.client._urls import check_peer_urls
from tests.etcdctl._harness import Masks, Pair, Side, make_pair, normalize, run
from tests.servers import EtcdProcess, free_port, wait_until

FORMATS = ("simple", "json", "fields", "protobuf", "table")


# etcd 3.5 silently drops a configuration change proposed before raft has marked the previous
# one applied (the call then times out); a write in between, applied only after that, orders them.
BARRIER = "/member-test/barrier"


def peer(n: int) -> str:
    """A peer URL for a member that never starts (nothing listens on port 1)."""
    return f"http://127.0.1.{n}:1"


# -- the peer URL check (texts from etcdctl 3.5.1) -------------------------------------------

URL_CASES: list[tuple[str, str | None]] = [
    ("http://127.0.0.1:2380", None),
    ("HTTPS://h:1", None),
    (" http://h:1 ", None),
    ("http://h:1?q", None),
    ("unix://sock:1", None),
    ("http://[::1]:2", None),
    ("http://[fe80::1%25en0]:1", None),
    ("http://é:1", None),
    ('http://"h":1', None),
    ("foo", "URL scheme must be http, https, unix, or unixs: foo"),
    ("", "URL scheme must be http, https, unix, or unixs: "),
    ("*", "URL scheme must be http, https, unix, or unixs: *"),
    ("a:b/c", "URL scheme must be http, https, unix, or unixs: a:b/c"),
    ("ftp://127.0.0.1:1", "URL scheme must be http, https, unix, or unixs: ftp://127.0.0.1:1"),
    ("http://a", 'URL address does not have the form "host:port": http://a'),
    ("http://h:1:2", 'URL address does not have the form "host:port": http://h:1:2'),
    ("http:opaque", 'URL address does not have the form "host:port": http:opaque'),
    ("unix://sock", 'URL address does not have the form "host:port": unix://sock'),
    ("http://127.0.0.1:1/path", "URL must not contain a path: http://127.0.0.1:1/path"),
    ("http://h:1/", "URL must not contain a path: http://h:1/"),
    ("127.0.0.1:1234", 'parse "127.0.0.1:1234": first path segment in URL cannot contain colon'),
    (":foo", 'parse ":foo": missing protocol scheme'),
    ("http://[::1", "parse \"http://[::1\": missing ']' in host"),
    ("http://[::1]x", 'parse "http://[::1]x": invalid port "x" after host'),
    ("http://h:x", 'parse "http://h:x": invalid port ":x" after host'),
    ("http://h:1%", 'parse "http://h:1%": invalid port ":1%" after host'),
    ("http://a b:1", 'parse "http://a b:1": invalid character " " in host name'),
    ("http://h{:1", 'parse "http://h{:1": invalid character "{" in host name'),
    ("http://%zz:1", 'parse "http://%zz:1": invalid URL escape "%zz"'),
    ("http://%41:1", 'parse "http://%41:1": invalid URL escape "%41"'),
    ("http://h:1/%zz", 'parse "http://h:1/%zz": invalid URL escape "%zz"'),
    ("http://h:1#%zz", 'parse "http://h:1#%zz": invalid URL escape "%zz"'),
    ("http://h:1?a#b%", 'parse "http://h:1?a#b%": invalid URL escape "%"'),
    ("http://[fe80::1%25%zz]:1", 'parse "http://[fe80::1%25%zz]:1": invalid URL escape "%zz"'),
    ("http://u%zz@h:1", 'parse "http://u%zz@h:1": invalid URL escape "%zz"'),
    ("http://u:p%@h:1", 'parse "http://u:p%@h:1": invalid URL escape "%"'),
    ("http://u v@h:1", 'parse "http://u v@h:1": net/url: invalid userinfo'),
    ("http://h\x01:1", 'parse "http://h\\x01:1": net/url: invalid control character in URL'),
]


@pytest.mark.parametrize(("url", "error"), URL_CASES, ids=[repr(u) for u, _ in URL_CASES])
def test_peer_url_check_speaks_go(url: str, error: str | None) -> None:
    if error is None:
        check_peer_urls([url])
        return
    with pytest.raises(URLError) as exc:
        check_peer_urls(["http://ok:1", url])
    assert str(exc.value) == error


def test_no_peer_urls() -> None:
    with pytest.raises(URLError, match=r"^no valid URLs given$"):
        check_peer_urls([])


# -- printers ---------------------------------------------------------------------------------


def _print(fmt: str, call: str, *args: object) -> bytes:
    out = io.BytesIO()
    getattr(new_printer(fmt, False, out, io.BytesIO()), call)(*args)
    return out.getvalue()


def _add_response() -> pb.MemberAddResponse:
    new = pb.Member(ID=0xABC, peerURLs=["http://n:1", "http://n:2"], isLearner=True)
    return pb.MemberAddResponse(
        header=pb.ResponseHeader(cluster_id=0x1234567890ABCDEF, member_id=7, raft_term=2),
        member=new,
        members=[
            pb.Member(ID=7, name="m1", peerURLs=["http://a:1"], clientURLs=["http://a:2"]),
            new,
            pb.Member(ID=9, peerURLs=["http://u:1"]),  # added earlier, never started: no name
        ],
    )


def test_simple_member_add_pads_ids_and_names_peers_in_response_order() -> None:
    text = _print("simple", "member_add", _add_response(), 'new "one"', "http://n:1,http://n:2")
    assert text.decode() == (
        "Member              abc added to cluster 1234567890abcdef\n"
        "\n"
        'ETCD_NAME="new \\"one\\""\n'
        'ETCD_INITIAL_CLUSTER="m1=http://a:1,new \\"one\\"=http://n:1,new \\"one\\"=http://n:2,=http://u:1"\n'
        'ETCD_INITIAL_ADVERTISE_PEER_URLS="http://n:1,http://n:2"\n'
        'ETCD_INITIAL_CLUSTER_STATE="existing"\n'
    )


@pytest.mark.parametrize(
    ("call", "verb", "response"),
    [
        ("member_remove", "removed from", pb.MemberRemoveResponse),
        ("member_update", "updated in", pb.MemberUpdateResponse),
        ("member_promote", "promoted in", pb.MemberPromoteResponse),
    ],
)
def test_simple_membership_change_lines(call: str, verb: str, response: type[Message]) -> None:
    resp = response(header=pb.ResponseHeader(cluster_id=0xF00))
    assert _print("simple", call, 0x1F, resp) == f"Member {'1f':>16} {verb} cluster {'f00':>16}\n".encode()


def test_json_and_protobuf_print_the_response() -> None:
    resp = _add_response()
    assert _print("json", "member_add", resp, "n", "u").decode() == (
        '{"header":{"cluster_id":1311768467294899695,"member_id":7,"raft_term":2},'
        '"member":{"ID":2748,"peerURLs":["http://n:1","http://n:2"],"isLearner":true},'
        '"members":[{"ID":7,"name":"m1","peerURLs":["http://a:1"],"clientURLs":["http://a:2"]},'
        '{"ID":2748,"peerURLs":["http://n:1","http://n:2"],"isLearner":true},'
        '{"ID":9,"peerURLs":["http://u:1"]}]}\n'
    )
    assert _print("protobuf", "member_add", resp, "n", "u") == resp.SerializeToString()


@pytest.mark.parametrize("fmt", ["fields", "table"])
def test_fields_and_table_refuse_membership_changes(fmt: str) -> None:
    with pytest.raises(CommandExit) as exc:
        _print(fmt, "member_remove", 1, pb.MemberRemoveResponse())
    assert (exc.value.code, exc.value.message) == (
        ExitCode.BAD_FEATURE,
        f"{fmt} not supported as output format",
    )


@pytest.mark.parametrize("fmt", ["json", "fields", "protobuf", "table"])
def test_promote_outside_simple_is_etcdctls_nil_dereference(fmt: str) -> None:
    with pytest.raises(GoPanic, match=r"^runtime error: invalid memory address or nil pointer dereference\n"):
        _print(fmt, "member_promote", 1, pb.MemberPromoteResponse())


# -- against etcdctl 3.5.1 --------------------------------------------------------------------


MemberResponse = pb.MemberAddResponse | pb.MemberRemoveResponse | pb.MemberUpdateResponse


@dataclass(frozen=True)
class Step:
    """`etcdctl <args>` on both sides. Placeholders: {SELF} the server's member ID, {PEER}
    its peer URL, {ID} the other member (the learner when there is one)."""

    name: str
    args: tuple[str, ...]
    pb_type: type[MemberResponse] | None = None


def step(name: str, *args: str) -> Step:
    return Step(name, args)


def in_format(fmt: str, name: str, *args: str, pb_type: type[MemberResponse] | None = None) -> Step:
    return Step(f"{name}[{fmt}]", ("-w", fmt, *args), pb_type if fmt == "protobuf" else None)


def formats(name: str, *args: str, pb_type: type[MemberResponse]) -> list[Step]:
    return [in_format(fmt, name, *args, pb_type=pb_type) for fmt in FORMATS]


def learner_lifecycle(i: int, fmt: str) -> list[Step]:
    """A learner that never starts: added, updated, refused promotion, removed."""
    add = ("member", "add", f"l{i}", "--learner", f"--peer-urls={peer(10 + i)},{peer(20 + i)}")
    update = ("member", "update", "{ID}", f"--peer-urls={peer(30 + i)}")
    return [
        in_format(fmt, "add learner", *add, pb_type=pb.MemberAddResponse),
        in_format(fmt, "update learner", *update, pb_type=pb.MemberUpdateResponse),
        in_format(fmt, "promote unsynced learner", "member", "promote", "{ID}"),
        in_format(fmt, "remove learner", "member", "remove", "{ID}", pb_type=pb.MemberRemoveResponse),
    ]


def _other_members(side: Side, *, barrier: bool = False) -> list[int]:
    """IDs of the side's members other than its server, learners first."""
    with Client(side.server.endpoint, timeout=5) as client:
        if barrier:
            client.put(BARRIER)
        others = [m for m in client.member_list().members if side.member_id != m.ID]
    return [m.ID for m in sorted(others, key=lambda m: not m.isLearner)]


def _expand(arg: str, side: Side, others: list[int]) -> str:
    arg = arg.replace("{SELF}", f"{side.member_id:x}").replace("{ID}", f"{(others or [0])[0]:x}")
    return arg.replace("{PEER}", f"http://127.0.0.1:{side.server.peer_port}")


def _pb_text(data: bytes, pb_type: type[MemberResponse]) -> bytes:
    """A protobuf response as text, members in a fixed order (the server sorts them by ID)."""
    msg = pb_type.FromString(data)
    members = sorted(msg.members, key=lambda m: (m.name, m.isLearner, list(m.peerURLs)))
    del msg.members[:]
    msg.members.extend(members)
    return text_format.MessageToString(msg).encode()


_JSON_MEMBERS = re.compile(r'("members":\[)(.*)(\]\}$)', re.M)


def _canonical(text: str, others: set[int]) -> str:
    """What stays different between the sides once `normalize` ran: the IDs of members
    other than the server (random), %16x padding (see the printer tests), and member order
    (the server sorts members by ID)."""
    for member_id in others:
        text = text.replace(str(member_id), "<ID>").replace(f"{member_id:x}", "<ID>")
    text = re.sub(r"\b(Member|cluster) +", r"\1 ", text)
    text = re.sub(
        r'^(ETCD_INITIAL_CLUSTER=")(.*)(")$',
        lambda m: m[1] + ",".join(sorted(m[2].split(","))) + m[3],
        text,
        flags=re.M,
    )
    return _JSON_MEMBERS.sub(lambda m: m[1] + ",".join(sorted(re.findall(r"\{[^{}]*\}", m[2]))) + m[3], text)


def play_step(pair: Pair, st: Step, cwd: Path) -> list[dict[str, object]]:
    outputs: list[dict[str, object]] = []
    for side in pair.sides():
        before = _other_members(side, barrier=True)
        argv = ["--endpoints", side.server.endpoint, *(_expand(a, side, before) for a in st.args)]
        result = run(side.command, argv, b"", {}, cwd)
        others = {*before, *_other_members(side)}
        stdout = _pb_text(result.stdout, st.pb_type) if st.pb_type and result.stdout else result.stdout
        outputs.append(
            {
                "stdout": _canonical(normalize(stdout, side, pair, Masks(), is_stdout=True), others),
                "stderr": _canonical(normalize(result.stderr, side, pair, Masks(), is_stdout=False), others),
                "code": result.code,
            }
        )
    return outputs


BAD_URLS = ("foo", "http://a", "http://h:1/", "127.0.0.1:1234", "http://h:x", "http://a b:1", "http://h:1,")

STEPS: list[Step] = [
    # -- argument errors: nothing reaches the server -----------------------------------------
    step("add no name", "member", "add"),
    step("add too many args", "member", "add", "a", "b", "http://x", "HTTP://y"),
    step("add no peer urls", "member", "add", "a"),
    step("add empty peer urls", "member", "add", "a", "--peer-urls="),
    step("add bad output format", "-w", "yaml", "member", "add", "a", f"--peer-urls={peer(1)}"),
    step("add args checked before output format", "-w", "yaml", "member", "add"),
    *(step(f"add bad url {u!r}", "member", "add", "a", f"--peer-urls={u}") for u in BAD_URLS),
    step("remove no id", "member", "remove"),
    step("remove two ids", "member", "remove", "1", "2"),
    step("remove bad hex", "member", "remove", "zz"),
    step("remove 0x prefix", "member", "remove", "0x12"),
    step("remove out of range", "member", "remove", "12345678901234567890"),
    step("remove negative", "member", "remove", "--", "-1"),
    step("update no id", "member", "update"),
    step("update bad hex", "member", "update", "zz", f"--peer-urls={peer(1)}"),
    step("update no peer urls", "member", "update", "12"),
    step("update bad url", "member", "update", "12", "--peer-urls=http://h:x"),
    step("promote no id", "member", "promote"),
    step("promote empty id", "member", "promote", ""),
    step("promote bad hex", "member", "promote", "g"),
    step("promote bad output format", "-w", "yaml", "member", "promote", "12"),
    # -- the server refuses ----------------------------------------------------------------
    step("remove unknown", "member", "remove", "1234"),
    step("update unknown", "member", "update", "1234", f"--peer-urls={peer(1)}"),
    step("promote unknown", "member", "promote", "1234"),
    step("promote a voting member", "member", "promote", "{SELF}"),
    step("add an existing peer url", "member", "add", "x", "--peer-urls={PEER}"),
    # -- changes that leave the cluster as it was ------------------------------------------
    *formats(
        "update self", "member", "update", "{SELF}", "--peer-urls={PEER}", pb_type=pb.MemberUpdateResponse
    ),
    step("update self json hex", "-w", "json", "--hex", "member", "update", "{SELF}", "--peer-urls={PEER}"),
    # -- a learner that never starts, in every output format -------------------------------
    *(st for i, fmt in enumerate(FORMATS) for st in learner_lifecycle(i, fmt)),
    step("add learner again", "member", "add", "again", "--learner", f"--peer-urls={peer(40)}"),
    step("too many learners", "member", "add", "more", "--learner", f"--peer-urls={peer(41)}"),
    # Last: a voting member that never starts takes the single member's quorum away.
    step("add voting member", "member", "add", "v", f"--peer-urls={peer(50)},{peer(51)}"),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    p = make_pair(tmp_path_factory.mktemp("member"), "etcdctl")
    try:
        yield p
    finally:
        for side in p.sides():
            side.server.stop()


@pytest.mark.reference
@pytest.mark.parametrize("st", STEPS, ids=[st.name for st in STEPS])
def test_same_as_etcdctl(st: Step, pair: Pair, tmp_path: Path) -> None:
    theirs, ours = play_step(pair, st, tmp_path)
    assert ours == theirs


def _add_learner(client: Client, peer_url: str) -> pb.MemberAddResponse:
    """MemberAdd, once the leader has been connected to every voting member for etcd's
    HealthInterval (5s): a member promoted moments ago makes it refuse with "unhealthy"."""
    added: list[pb.MemberAddResponse] = []

    def attempt() -> bool:
        try:
            added.append(client.member_add([peer_url], learner=True))
        except EtcdError as err:
            if err != errors.UNHEALTHY:
                raise
        return bool(added)

    wait_until(attempt, 15, "the cluster to accept a learner", interval=0.5)
    return added[0]


def _start_learner(side: Side, name: str, tmp: Path) -> EtcdProcess:
    """Add a learner to the side's cluster and start it; returns once it has caught up."""
    learner = EtcdProcess("reference", tmp / f"{name}.etcd", name=name)
    with Client(side.server.endpoint, timeout=5) as client:
        client.put(BARRIER)
        resp = _add_learner(client, f"http://127.0.0.1:{learner.peer_port}")
    learner.initial_cluster = ",".join(f"{m.name or name}={url}" for m in resp.members for url in m.peerURLs)
    learner.extra_args = ["--initial-cluster-state", "existing"]
    learner.start()
    with Client(side.server.endpoint, timeout=5) as leader, Client(learner.endpoint, timeout=5) as own:
        wait_until(
            lambda: own.status().raftAppliedIndex >= leader.status().raftIndex, 20, f"{name} to catch up"
        )
    return learner


@pytest.mark.reference
def test_promote_started_learners(tmp_path: Path) -> None:
    """A caught-up learner is promoted; outside the simple format etcdctl then panics."""
    pair = make_pair(tmp_path, "etcdctl")
    learners: list[EtcdProcess] = []
    try:
        for n, args in enumerate(
            (("member", "promote", "{ID}"), ("-w", "json", "member", "promote", "{ID}"))
        ):
            for side in pair.sides():
                learners.append(_start_learner(side, f"{side.server.data_dir.stem}-l{n}", tmp_path))
            theirs, ours = play_step(pair, Step(f"promote {n}", args), tmp_path)
            assert ours == theirs
            assert theirs["code"] == (0 if n == 0 else 2), theirs
    finally:
        for process in [*learners, *(side.server for side in pair.sides())]:
            process.stop()


# -- the client calls -------------------------------------------------------------------------


def test_client_membership_changes(any_server: EtcdProcess) -> None:
    with Client(any_server.endpoint, timeout=5) as client:
        added = client.member_add([peer(1)], learner=True)
        new_id = added.member.ID
        assert added.member.isLearner and list(added.member.peerURLs) == [peer(1)]
        assert new_id in {m.ID for m in added.members}
        with pytest.raises(EtcdError) as exc:
            client.member_promote(new_id)  # refused before any proposal
        assert exc.value == errors.LEARNER_NOT_READY
        client.put(BARRIER)
        updated = client.member_update(new_id, [peer(2), peer(3)])
        assert [list(m.peerURLs) for m in updated.members if new_id == m.ID] == [[peer(2), peer(3)]]
        client.put(BARRIER)
        removed = client.member_remove(new_id)
        assert new_id not in {m.ID for m in removed.members}
        client.put(BARRIER)
        with pytest.raises(EtcdError) as exc:
            client.member_remove(new_id)
        assert exc.value == errors.MEMBER_NOT_FOUND


def test_async_client_membership_changes(any_server: EtcdProcess) -> None:
    async def scenario() -> None:
        async with AsyncClient(any_server.endpoint, timeout=5) as client:
            own_id = (await client.status()).header.member_id
            added = await client.member_add([peer(4)], learner=True)
            new_id = added.member.ID
            await client.put(BARRIER)
            updated = await client.member_update(new_id, [peer(5)])
            assert [list(m.peerURLs) for m in updated.members if new_id == m.ID] == [[peer(5)]]
            await client.put(BARRIER)
            with pytest.raises(EtcdError) as exc:
                await client.member_promote(own_id)
            assert exc.value == errors.MEMBER_NOT_LEARNER
            await client.put(BARRIER)
            removed = await client.member_remove(new_id)
            assert [m.ID for m in removed.members] == [own_id]

    asyncio.run(scenario())


def test_bad_peer_urls_fail_before_any_request() -> None:
    dead = f"127.0.0.1:{free_port()}"
    with Client(dead, timeout=5) as client, pytest.raises(URLError, match=r"^URL must not contain a path"):
        client.member_update(1, [peer(1), "http://h:1/p"])

    async def scenario() -> None:
        async with AsyncClient(dead, timeout=5) as client:
            with pytest.raises(URLError, match=r"^URL scheme must be"):
                await client.member_add(["ftp://h:1"])

    asyncio.run(scenario())
