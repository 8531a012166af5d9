"""The interaction environment the scripts drive: RawNodes over MemoryStorages, a list of messages in
flight, and the commands of the scripts (each command's docstring gives its syntax).

Each node's storage holds exactly what its Ready processing persisted, so `crash` only has to drop the
RawNode and `restart` builds a new one over the same storage. Output comes from etcdpy.raft.describe.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from etcdpy.raft.config import Config
from etcdpy.raft.describe import (
    describe_entries,
    describe_message,
    describe_progress_map,
    describe_ready,
    describe_soft_state,
)
from etcdpy.raft.errors import RaftError
from etcdpy.raft.raftpb import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    EntryType,
    Message,
    Snapshot,
    SnapshotMeta,
)
from etcdpy.raft.rawnode import RawNode
from etcdpy.raft.storage import MemoryStorage
from etcdpy.raft.util import NO_LIMIT
from tests.raft.scripts.datadriven import Case

ELECTION_TICK = 3
HEARTBEAT_TICK = 1
_CHANGE_TYPES = {
    "v": ConfChangeType.ADD_NODE,
    "l": ConfChangeType.ADD_LEARNER_NODE,
    "r": ConfChangeType.REMOVE_NODE,
    "u": ConfChangeType.UPDATE_NODE,
}


@dataclass
class Node:
    """Invariant: `history[i]` is the state machine (conf state, appended data) after applying index i,
    for every i from the latest snapshot on; `raw` is None while crashed."""

    id: int
    storage: MemoryStorage
    options: dict[str, bool]
    raw: RawNode | None = None
    history: dict[int, tuple[ConfState, bytes]] = field(default_factory=dict)


class Env:
    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {}
        self.messages: list[Message] = []
        self.isolated: set[int] = set()
        self.quiet = False
        self._out: list[str] = []

    # ---- dispatch ---------------------------------------------------------------------------------

    def handle(self, case: Case) -> str:
        self._out = []
        handler: Callable[[Case], None] | None = getattr(self, "cmd_" + case.command.replace("-", "_"), None)
        if handler is None:
            raise ValueError(f"line {case.line}: unknown command {case.command!r}")
        try:
            handler(case)
        except RaftError as e:
            self._print(str(e))
        out = "\n".join(self._out).rstrip("\n") or "ok"
        return "ok (quiet)" if self.quiet and out != "ok" else out

    def _print(self, text: str) -> None:
        self._out.append(text.rstrip("\n"))

    def _node(self, case: Case) -> Node:
        return self.nodes[int(case.args[0].key)]

    def _raw(self, case: Case) -> RawNode:
        return self._running(int(case.args[0].key))

    def _running(self, node_id: int) -> RawNode:
        raw = self.nodes[node_id].raw
        if raw is None:
            raise RaftError(f"node {node_id} is down")
        return raw

    def cmd_log_level(self, case: Case) -> None:
        """log-level none|debug: `none` replaces every output by "ok (quiet)" (for boilerplate)."""
        self.quiet = case.args[0].key == "none"

    # ---- cluster ----------------------------------------------------------------------------------

    def cmd_add_nodes(self, case: Case) -> None:
        """add-nodes N [voters=(..)] [learners=(..)] [index=I] [prevote=true] [checkquorum=true]"""
        opts = {a.key: a.vals for a in case.args[1:]}
        voters = tuple(int(v) for v in opts.get("voters", ()))
        learners = tuple(int(v) for v in opts.get("learners", ()))
        index = int(opts.get("index", ("0",))[0])
        flags = {k: opts.get(k, ("false",))[0] == "true" for k in ("prevote", "checkquorum")}
        for _ in range(int(case.args[0].key)):
            node = Node(len(self.nodes) + 1, MemoryStorage(), flags)
            if voters or learners:
                snap = Snapshot(b"", SnapshotMeta(index, 1, ConfState(voters, learners)))
                node.storage.apply_snapshot(snap)
                node.history[index] = (snap.metadata.conf_state, b"")
            self.nodes[node.id] = node
            self._boot(node)

    def _boot(self, node: Node) -> None:
        snap = node.storage.snapshot().metadata
        node.raw = RawNode(
            Config(
                id=node.id,
                storage=node.storage,
                rand=random.Random(node.id),
                election_tick=ELECTION_TICK,
                heartbeat_tick=HEARTBEAT_TICK,
                applied=snap.index,
                max_size_per_msg=NO_LIMIT,
                max_inflight_msgs=1 << 30,
                pre_vote=node.options["prevote"],
                check_quorum=node.options["checkquorum"],
            )
        )

    def cmd_crash(self, case: Case) -> None:
        """crash ID: the process dies; only what its storage holds survives."""
        node = self._node(case)
        node.raw = None
        snap = node.storage.snapshot().metadata.index
        node.history = {i: s for i, s in node.history.items() if i == snap}

    def cmd_restart(self, case: Case) -> None:
        self._boot(self._node(case))

    def cmd_isolate(self, case: Case) -> None:
        """isolate ID: every message from or to ID is dropped on delivery until `recover`."""
        self.isolated.add(int(case.args[0].key))

    def cmd_recover(self, case: Case) -> None:
        self.isolated.clear()

    # ---- inputs -----------------------------------------------------------------------------------

    def cmd_campaign(self, case: Case) -> None:
        self._raw(case).campaign()

    def cmd_propose(self, case: Case) -> None:
        self._raw(case).propose(case.args[1].key.encode())

    def cmd_propose_conf_change(self, case: Case) -> None:
        """propose-conf-change ID [v2=true] v4 l5 r2 ... (changes as arguments or input lines)"""
        tokens = [a.key for a in case.args[1:] if not a.vals]
        tokens += [t for line in case.input for t in line.split()]
        changes = tuple(ConfChangeSingle(_CHANGE_TYPES[t[0]], int(t[1:])) for t in tokens)
        v2 = any(a.key == "v2" and a.vals == ("true",) for a in case.args)
        if len(changes) == 1 and not v2:
            self._raw(case).propose_conf_change(ConfChange(changes[0].type, changes[0].node_id))
        else:
            self._raw(case).propose_conf_change(ConfChangeV2(changes=changes))

    def cmd_read_index(self, case: Case) -> None:
        self._raw(case).read_index(case.args[1].key.encode())

    def cmd_transfer_leadership(self, case: Case) -> None:
        """transfer-leadership from=ID to=ID"""
        opts = {a.key: int(a.vals[0]) for a in case.args}
        self._running(opts["from"]).transfer_leader(opts["to"])

    def cmd_tick_heartbeat(self, case: Case) -> None:
        self._tick(case, HEARTBEAT_TICK)

    def cmd_tick_election(self, case: Case) -> None:
        """tick-election ID: ELECTION_TICK ticks, a leader's CheckQuorum round; a follower's randomized
        timeout is 3 to 5 ticks, so it may or may not campaign (scripts use `campaign` for that)."""
        self._tick(case, ELECTION_TICK)

    def _tick(self, case: Case, n: int) -> None:
        raw = self._raw(case)
        for _ in range(n):
            raw.tick()

    def cmd_compact(self, case: Case) -> None:
        """compact ID INDEX: snapshot the state machine at INDEX (applied) and drop the log up to it."""
        node = self._node(case)
        index = int(case.args[1].key)
        cs, data = node.history[index]
        node.storage.create_snapshot(index, cs, data)
        node.storage.compact(index)
        self._raft_log(node)

    # ---- running ----------------------------------------------------------------------------------

    def cmd_process_ready(self, case: Case) -> None:
        self._process_ready(self._node(case))

    def _process_ready(self, node: Node) -> None:
        raw, storage = node.raw, node.storage
        assert raw is not None
        rd = raw.ready()
        self._print(describe_ready(rd))
        if rd.snapshot is not None:
            storage.apply_snapshot(rd.snapshot)
            node.history = {rd.snapshot.metadata.index: (rd.snapshot.metadata.conf_state, rd.snapshot.data)}
        if rd.hard_state is not None:
            storage.set_hard_state(rd.hard_state)
        storage.append(rd.entries)
        self.messages += rd.messages
        for e in rd.committed_entries:
            cs, data = node.history[e.index - 1]
            if e.type == EntryType.NORMAL:
                data += e.data
            else:
                v1 = e.type == EntryType.CONF_CHANGE
                cs = raw.apply_conf_change(ConfChange.decode(e.data) if v1 else ConfChangeV2.decode(e.data))
                self._print(f"{node.id} switched to configuration {raw.status().config}")
            node.history[e.index] = (cs, data)
        raw.advance(rd)

    def cmd_deliver_msgs(self, case: Case) -> None:
        """deliver-msgs ID... [drop=(ID...)]: deliver (or drop) the messages in flight to these nodes."""
        targets = [(int(a.key), False) for a in case.args if not a.vals]
        targets += [(int(v), True) for a in case.args if a.key == "drop" for v in a.vals]
        if not sum(self._deliver(to, drop) for to, drop in targets):
            self._print("no messages")

    def _deliver(self, to: int, drop: bool) -> int:
        msgs = [m for m in self.messages if m.to == to]
        self.messages = [m for m in self.messages if m.to != to]
        raw = self.nodes[to].raw if to in self.nodes else None
        for m in msgs:
            if drop or raw is None or m.frm in self.isolated or m.to in self.isolated:
                self._print("dropped: " + describe_message(m))
                continue
            self._print(describe_message(m))
            try:
                raw.step(m)
            except RaftError as e:
                self._print(str(e))
        return len(msgs)

    def cmd_stabilize(self, case: Case) -> None:
        """stabilize [ID...]: process Readies and deliver messages among these nodes until quiet."""
        ids = [int(a.key) for a in case.args] or list(self.nodes)
        while True:
            done = True
            for node in (self.nodes[i] for i in ids):
                if node.raw is not None and node.raw.has_ready():
                    done = False
                    self._indented(f"> {node.id} handling Ready", partial(self._process_ready, node))
            for i in ids:
                if any(m.to == i for m in self.messages):
                    done = False
                    self._indented(f"> {i} receiving messages", partial(self._deliver, i, False))
            if done:
                return

    def _indented(self, header: str, body: Callable[[], object]) -> None:
        outer, self._out = self._out, []
        body()
        inner, self._out = self._out, outer
        self._print(header)
        for chunk in inner:
            for line in chunk.split("\n"):
                self._print("  " + line)

    # ---- inspection -------------------------------------------------------------------------------

    def cmd_raft_log(self, case: Case) -> None:
        self._raft_log(self._node(case))

    def _raft_log(self, node: Node) -> None:
        s = node.storage
        first, last = s.first_index(), s.last_index()
        if last < first:
            self._print(f"log is empty: first index={first}, last index={last}")
        else:
            self._print(describe_entries(s.entries(first, last + 1, NO_LIMIT)))

    def cmd_raft_state(self, case: Case) -> None:
        for node in self.nodes.values():
            if node.raw is None:
                self._print(f"{node.id}: down")
                continue
            st = node.raw.status()
            role = "Voter" if node.id in st.config.voters.ids() else "Non-Voter"
            if node.id in st.config.learners:
                role = "Learner"
            self._print(f"{node.id}: Term:{st.hard_state.term} {describe_soft_state(st.soft_state)} ({role})")

    def cmd_status(self, case: Case) -> None:
        st = self._raw(case).status()
        self._print(describe_progress_map(st.progress) if st.progress else "no progress (not the leader)")
