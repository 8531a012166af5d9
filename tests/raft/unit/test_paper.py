"""One test per rule of the Raft paper (§5: election, log replication, safety), in the spirit of etcd's
raft_paper_test.go."""

from __future__ import annotations

import pytest

from etcdpy.raft.raft import Raft
from etcdpy.raft.raftpb import Entry, HardState, Message, MessageType, StateType
from tests.raft.unit._network import (
    Network,
    hup,
    log_terms,
    msg,
    new_raft,
    prop,
    read_messages,
    storage_with,
    storage_with_log,
)

MT = MessageType
ELECTION = 10


def _elect(r: Raft) -> None:
    """Make `r` leader of its group by granting it every vote."""
    r.become_candidate()
    for member in r.prs.voter_nodes():
        if member != r.id:
            r.step(msg(MT.MsgVoteResp, member, r.id, term=r.term))
    assert r.state == StateType.LEADER
    read_messages(r)


def _commit_noop(r: Raft) -> None:
    """Acknowledge the leader's empty entry from every follower, so that it is committed."""
    for member in r.prs.voter_nodes():
        if member != r.id:
            r.step(msg(MT.MsgAppResp, member, r.id, term=r.term, index=r.log.last_index()))
    read_messages(r)


# ---- §5.1: terms ------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [StateType.FOLLOWER, StateType.CANDIDATE, StateType.LEADER])
def test_member_updates_term_from_a_higher_term_message(state: StateType) -> None:
    """Rule: if a message carries a higher term, adopt it and become follower (§5.1)."""
    r = new_raft(1, (1, 2, 3))
    if state == StateType.FOLLOWER:
        r.become_follower(1, 2)
    elif state == StateType.CANDIDATE:
        r.become_candidate()
    else:
        _elect(r)
    r.step(msg(MT.MsgApp, 3, 1, term=5))
    assert (r.term, r.state, r.lead) == (5, StateType.FOLLOWER, 3)


def test_stale_term_messages_are_ignored() -> None:
    """Rule: a message with a lower term is rejected (§5.1)."""
    r = new_raft(1, (1, 2, 3))
    r.load_state(HardState(term=2))
    r.step(msg(MT.MsgApp, 2, 1, term=1, entries=(Entry(1, 1),)))
    r.step(msg(MT.MsgVote, 2, 1, term=1, index=9, log_term=1))
    assert (r.term, r.state, r.log.last_index()) == (2, StateType.FOLLOWER, 0)
    assert read_messages(r) == []


def test_members_start_as_followers() -> None:
    r = new_raft(1, (1, 2, 3))
    assert (r.state, r.term, r.lead) == (StateType.FOLLOWER, 0, 0)


# ---- §5.2: leader election --------------------------------------------------------------------------


def test_leader_sends_heartbeats() -> None:
    """Rule: a leader sends heartbeats to all followers every heartbeat interval (§5.2)."""
    r = new_raft(1, (1, 2, 3), heartbeat=1)
    _elect(r)
    for _ in range(10):
        r.step(prop(1, b""))
    read_messages(r)
    r.tick()
    got = sorted((m.to, m.type, m.term, m.commit) for m in read_messages(r))
    # Followers have matched nothing yet: a heartbeat never commits past the follower's match.
    assert got == [(2, MT.MsgHeartbeat, 1, 0), (3, MT.MsgHeartbeat, 1, 0)]


@pytest.mark.parametrize("state", [StateType.FOLLOWER, StateType.CANDIDATE])
def test_election_starts_after_the_election_timeout(state: StateType) -> None:
    """Rule: a follower or candidate that hears from no leader within its election timeout starts an
    election: new term, a vote for itself, MsgVote to everyone else (§5.2)."""
    r = new_raft(1, (1, 2, 3), election=ELECTION)
    if state == StateType.CANDIDATE:
        r.become_candidate()
        read_messages(r)
    term = r.term
    for _ in range(2 * ELECTION):
        r.tick()
    assert (r.term, r.state, r.vote) == (term + 1, StateType.CANDIDATE, 1)
    assert r.prs.votes == {1: True}
    got = sorted((m.to, m.type, m.term) for m in read_messages(r))
    assert got == [(2, MT.MsgVote, term + 1), (3, MT.MsgVote, term + 1)]


@pytest.mark.parametrize(
    ("size", "votes", "state"),
    [
        (1, {}, StateType.LEADER),
        (3, {2: True, 3: True}, StateType.LEADER),
        (3, {2: True}, StateType.LEADER),
        (5, {2: True, 3: True, 4: True, 5: True}, StateType.LEADER),
        (5, {2: True, 3: True, 4: True}, StateType.LEADER),
        (5, {2: True, 3: True}, StateType.LEADER),
        # a majority of rejections loses
        (3, {2: False, 3: False}, StateType.FOLLOWER),
        (5, {2: False, 3: False, 4: False, 5: False}, StateType.FOLLOWER),
        (5, {2: True, 3: False, 4: False, 5: False}, StateType.FOLLOWER),
        # no majority either way yet
        (3, {}, StateType.CANDIDATE),
        (5, {2: True}, StateType.CANDIDATE),
        (5, {2: False, 3: False}, StateType.CANDIDATE),
        (5, {}, StateType.CANDIDATE),
    ],
)
def test_election_outcome_in_one_round(size: int, votes: dict[int, bool], state: StateType) -> None:
    """Rule: a candidate wins with a majority of votes, loses to a majority of rejections, and otherwise
    keeps waiting (§5.2)."""
    r = new_raft(1, tuple(range(1, size + 1)))
    r.step(hup(1))
    for member, granted in votes.items():
        r.step(msg(MT.MsgVoteResp, member, 1, term=r.term, reject=not granted))
    assert (r.state, r.term) == (state, 1)


@pytest.mark.parametrize(
    ("vote", "candidate", "rejected"),
    [(0, 2, False), (0, 3, False), (2, 2, False), (3, 3, False), (2, 3, True), (3, 2, True)],
)
def test_follower_votes_once_per_term(vote: int, candidate: int, rejected: bool) -> None:
    """Rule: each member grants at most one vote per term, first come first served (§5.2)."""
    r = new_raft(1, (1, 2, 3))
    r.load_state(HardState(term=1, vote=vote))
    r.step(msg(MT.MsgVote, candidate, 1, term=1))
    assert [(m.to, m.type, m.term, m.reject) for m in read_messages(r)] == [
        (candidate, MT.MsgVoteResp, 1, rejected)
    ]


@pytest.mark.parametrize("term", [1, 2])
def test_candidate_falls_back_to_a_leader_of_its_term_or_higher(term: int) -> None:
    """Rule: a candidate that hears from a leader of its term or later becomes its follower (§5.2)."""
    r = new_raft(1, (1, 2, 3))
    r.step(hup(1))
    assert r.state == StateType.CANDIDATE
    r.step(msg(MT.MsgApp, 2, 1, term=term))
    assert (r.state, r.term, r.lead) == (StateType.FOLLOWER, term, 2)


@pytest.mark.parametrize("state", [StateType.FOLLOWER, StateType.CANDIDATE])
def test_election_timeout_is_randomized(state: StateType) -> None:
    """Rule: election timeouts are random in [election, 2 * election), from the injected generator
    (§5.2)."""
    seen = set()
    for seed in range(200):
        r = new_raft(1, (1, 2, 3), election=ELECTION, seed=seed)
        if state == StateType.CANDIDATE:
            r.become_candidate()
        r.term = 1
        ticks = 0
        while r.term == 1:
            r.tick()
            ticks += 1
        seen.add(ticks)
    assert seen == set(range(ELECTION, 2 * ELECTION))


def test_election_timeout_is_deterministic_per_seed() -> None:
    def timeouts(seed: int) -> list[int]:
        r = new_raft(1, (1, 2, 3), seed=seed)
        out = []
        for _ in range(5):
            r.become_follower(r.term + 1, 0)
            out.append(r.randomized_election_timeout)
        return out

    assert timeouts(7) == timeouts(7)
    assert any(timeouts(7) != timeouts(s) for s in range(8, 20))


@pytest.mark.parametrize("state", [StateType.FOLLOWER, StateType.CANDIDATE])
def test_randomized_timeouts_rarely_conflict(state: StateType) -> None:
    """Rule: randomized timeouts make it unlikely that several members time out together (§5.2)."""
    conflicts = 0
    rounds = 200
    for seed in range(rounds):
        members = [new_raft(i, (1, 2, 3, 4, 5), seed=seed) for i in range(1, 6)]
        for r in members:
            if state == StateType.CANDIDATE:
                r.become_candidate()
        timed_out = 0
        while timed_out == 0:
            for r in members:
                r.tick()
                if read_messages(r):
                    timed_out += 1
        if timed_out > 1:
            conflicts += 1
    assert conflicts / rounds <= 0.3


def test_candidate_requests_votes_with_its_last_log_position() -> None:
    """Rule: a vote request carries the candidate's last log index and term (§5.4.1)."""
    storage = storage_with_log((1, 2, 3), [1, 2])
    r = new_raft(1, storage=storage)
    for _ in range(2 * ELECTION):
        r.tick()
    got = sorted((m.to, m.type, m.term, m.index, m.log_term) for m in read_messages(r))
    assert got == [(2, MT.MsgVote, 1, 2, 2), (3, MT.MsgVote, 1, 2, 2)]


@pytest.mark.parametrize(
    ("log", "index", "log_term", "rejected"),
    [
        # the same last term: the longer (or equal) log wins
        ([1], 1, 1, False),
        ([1], 2, 1, False),
        ([1, 1], 1, 1, True),
        # a later last term wins regardless of length
        ([1], 1, 2, False),
        ([1, 1], 1, 2, False),
        ([2], 1, 1, True),
        ([2, 2], 2, 1, True),
    ],
)
def test_voter_grants_only_to_up_to_date_candidates(
    log: list[int], index: int, log_term: int, rejected: bool
) -> None:
    """Rule: a vote is granted only if the candidate's log is at least as up to date (§5.4.1)."""
    r = new_raft(1, storage=storage_with_log((1, 2), log))
    r.step(msg(MT.MsgVote, 2, 1, term=3, index=index, log_term=log_term))
    [resp] = read_messages(r)
    assert (resp.type, resp.reject) == (MT.MsgVoteResp, rejected)


# ---- §5.3: log replication --------------------------------------------------------------------------


def test_leader_appends_proposals_and_replicates_them() -> None:
    """Rule: the leader appends a proposal to its log and sends it to every follower (§5.3)."""
    r = new_raft(1, (1, 2, 3))
    _elect(r)
    _commit_noop(r)
    r.step(prop(1, b"some data"))
    assert r.log.last_index() == 2
    assert r.log.unstable_entries()[-1] == Entry(1, 2, data=b"some data")
    got = sorted((m.to, m.type, m.index, m.log_term, m.commit, m.entries) for m in read_messages(r))
    want_entries = (Entry(1, 2, data=b"some data"),)
    assert got == [(2, MT.MsgApp, 1, 1, 1, want_entries), (3, MT.MsgApp, 1, 1, 1, want_entries)]


def test_leader_commits_once_a_majority_has_the_entry() -> None:
    """Rule: an entry is committed once the leader replicated it on a majority; the next MsgApps carry
    the new commit index (§5.3)."""
    r = new_raft(1, (1, 2, 3))
    _elect(r)
    _commit_noop(r)
    r.step(prop(1, b"some data"))
    for m in read_messages(r):
        r.step(msg(MT.MsgAppResp, m.to, 1, term=1, index=m.index + len(m.entries)))
    assert r.log.committed == 2
    assert [e.data for e in r.log.next_ents()] == [b"", b"some data"]
    commits = {m.to: m.commit for m in read_messages(r) if m.type == MT.MsgApp}
    assert commits == {2: 2, 3: 2}


@pytest.mark.parametrize(
    ("size", "acks", "committed"),
    [
        (1, set(), True),
        (3, set(), False),
        (3, {2}, True),
        (3, {2, 3}, True),
        (5, set(), False),
        (5, {2}, False),
        (5, {2, 3}, True),
        (5, {2, 3, 4, 5}, True),
    ],
)
def test_leader_commit_needs_a_majority_of_acks(size: int, acks: set[int], committed: bool) -> None:
    r = new_raft(1, tuple(range(1, size + 1)))
    r.step(hup(1))
    for member in range(2, size + 1):
        r.step(msg(MT.MsgVoteResp, member, 1, term=1))
    _commit_noop(r)
    r.step(prop(1, b"some data"))
    for m in read_messages(r):
        if m.to in acks:
            r.step(msg(MT.MsgAppResp, m.to, 1, term=1, index=m.index + len(m.entries)))
    assert (r.log.committed > 1) is committed


@pytest.mark.parametrize("earlier", [[], [2], [1, 1], [1, 2]])
def test_leader_commits_preceding_entries_with_its_own(earlier: list[int]) -> None:
    """Rule: committing an entry of the current term commits all preceding entries (§5.3)."""
    r = new_raft(1, storage=storage_with_log((1, 2, 3), earlier, HardState(term=2)))
    r.become_candidate()
    r.become_leader()
    r.step(prop(1, b"some data"))
    for m in read_messages(r):
        r.step(msg(MT.MsgAppResp, m.to, 1, term=3, index=m.index + len(m.entries)))
    n = len(earlier)
    assert [(e.term, e.index, e.data) for e in r.log.next_ents()] == [
        *((t, i + 1, b"") for i, t in enumerate(earlier)),
        (3, n + 1, b""),
        (3, n + 2, b"some data"),
    ]


@pytest.mark.parametrize(
    ("entries", "commit"),
    [
        ([(1, 1, b"some data")], 1),
        ([(1, 1, b"some data"), (1, 2, b"some data2")], 2),
        ([(1, 1, b"some data2"), (1, 2, b"some data")], 2),
        ([(1, 1, b"some data"), (1, 2, b"some data2")], 1),
    ],
)
def test_follower_commits_what_the_leader_says(entries: list[tuple[int, int, bytes]], commit: int) -> None:
    """Rule: a follower applies entries up to the leader's commit index, in log order (§5.3)."""
    r = new_raft(1, (1, 2, 3))
    r.become_follower(1, 2)
    ents = tuple(Entry(t, i, data=d) for t, i, d in entries)
    r.step(msg(MT.MsgApp, 2, 1, term=1, entries=ents, commit=commit))
    assert r.log.committed == commit
    assert r.log.next_ents() == list(ents[:commit])


@pytest.mark.parametrize(
    ("index", "log_term", "reject", "resp_index", "hint", "hint_term"),
    [
        # a match with committed or uncommitted entries
        (0, 0, False, 1, 0, 0),
        (1, 1, False, 1, 0, 0),
        (2, 2, False, 2, 0, 0),
        # no entry at (index, log_term): rejected, with the follower's best guess
        (2, 1, True, 2, 1, 1),
        (3, 3, True, 3, 2, 2),
    ],
)
def test_follower_rejects_msg_app_without_the_previous_entry(
    index: int, log_term: int, reject: bool, resp_index: int, hint: int, hint_term: int
) -> None:
    """Rule: a follower refuses entries unless its log has the entry just before them (§5.3)."""
    r = new_raft(1, storage=storage_with_log((1, 2, 3), [1, 2], HardState(commit=1)))
    r.become_follower(2, 2)
    r.step(msg(MT.MsgApp, 2, 1, term=2, index=index, log_term=log_term, commit=index))
    [resp] = read_messages(r)
    assert (resp.type, resp.term, resp.index, resp.reject) == (MT.MsgAppResp, 2, resp_index, reject)
    if reject:
        assert (resp.reject_hint, resp.log_term) == (hint, hint_term)


@pytest.mark.parametrize(
    ("index", "log_term", "new", "want", "unstable"),
    [
        (2, 2, [(3, 3)], [(1, 1), (2, 2), (3, 3)], [(3, 3)]),
        # a conflicting entry and everything after it is replaced
        (1, 1, [(2, 3), (3, 4)], [(1, 1), (2, 3), (3, 4)], [(2, 3), (3, 4)]),
        (0, 0, [(1, 1)], [(1, 1), (2, 2)], []),
        (0, 0, [(1, 3)], [(1, 3)], [(1, 3)]),
    ],
)
def test_follower_appends_and_truncates_conflicts(
    index: int,
    log_term: int,
    new: list[tuple[int, int]],
    want: list[tuple[int, int]],
    unstable: list[tuple[int, int]],
) -> None:
    """Rule: an existing entry that conflicts with a new one (same index, other term) is deleted with
    all that follow it; new entries are appended (§5.3)."""
    r = new_raft(1, storage=storage_with_log((1, 2, 3), [1, 2]))
    r.become_follower(2, 2)
    ents = tuple(Entry(t, i) for i, t in new)
    r.step(msg(MT.MsgApp, 2, 1, term=2, index=index, log_term=log_term, entries=ents))
    assert log_terms(r) == want
    assert [(e.index, e.term) for e in r.log.unstable_entries()] == unstable


FIGURE_7_LEADER = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]
FIGURE_7_FOLLOWERS = [
    [1, 1, 1, 4, 4, 5, 5, 6, 6],
    [1, 1, 1, 4],
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    [1, 1, 1, 4, 4, 4, 4],
    [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
]


@pytest.mark.parametrize("follower_log", FIGURE_7_FOLLOWERS)
def test_leader_brings_follower_logs_in_line(follower_log: list[int]) -> None:
    """Rule: the leader finds the last entry where the logs agree, deletes the follower's entries after
    it and sends its own (§5.3, the logs of the paper's figure 7)."""
    term = 8
    lead = new_raft(1, storage=storage_with_log((1, 2, 3), FIGURE_7_LEADER))
    lead.load_state(HardState(term=term, commit=len(FIGURE_7_LEADER)))
    follower = new_raft(2, storage=storage_with_log((1, 2, 3), follower_log))
    follower.load_state(HardState(term=term - 1))
    net = Network.with_black_holes([lead, follower, None], holes=[3])
    net.send(hup(1))
    # The follower may refuse its vote (its log can be longer); the third member grants it.
    net.send(msg(MT.MsgVoteResp, 3, 1, term=term + 1))
    net.send(prop(1, b""))
    assert lead.state == StateType.LEADER
    assert log_terms(follower) == log_terms(lead)
    assert log_terms(lead)[-2:] == [(11, term + 1), (12, term + 1)]


# ---- §5.4: safety -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("ack_index", "committed"), [(1, 0), (2, 0), (3, 3)])
def test_leader_only_commits_entries_of_its_term_by_counting(ack_index: int, committed: int) -> None:
    """Rule: a leader never commits an entry of an earlier term by counting replicas; it commits its
    own term's entry, which commits the earlier ones (§5.4.2)."""
    r = new_raft(1, storage=storage_with_log((1, 2), [1, 2]))
    r.load_state(HardState(term=2))
    r.become_candidate()
    r.become_leader()
    read_messages(r)
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=ack_index))
    assert r.log.committed == committed


def test_leader_commit_index_survives_in_messages() -> None:
    """Log matching at the network level: after a round, every member has the leader's log and commit."""
    net = Network([None, None, None])
    net.send(hup(1))
    for i in range(5):
        net.send(prop(1, b"d%d" % i))
    logs = {m: log_terms(net.raft(m)) for m in (1, 2, 3)}
    assert logs[1] == logs[2] == logs[3]
    assert {net.raft(m).log.committed for m in (1, 2, 3)} == {6}


def test_a_message_of_a_deposed_leader_is_answered_with_the_new_term() -> None:
    """A member ahead in term answers a stale leader's MsgApp when check-quorum is on, so that the stale
    leader learns the newer term and steps down."""
    r = new_raft(1, (1, 2, 3), check_quorum=True)
    r.load_state(HardState(term=5))
    r.step(msg(MT.MsgApp, 2, 1, term=4))
    assert [(m.type, m.to, m.term) for m in read_messages(r)] == [(MT.MsgAppResp, 2, 5)]


def _drain(messages: list[Message]) -> list[tuple[MessageType, int]]:
    return [(m.type, m.to) for m in messages]


def test_single_member_commits_alone() -> None:
    r = new_raft(1, storage=storage_with((1,)))
    r.step(hup(1))
    r.step(prop(1, b"a"))
    r.step(prop(1, b"b"))
    assert r.state == StateType.LEADER and r.log.committed == 3
    assert _drain(read_messages(r)) == []
