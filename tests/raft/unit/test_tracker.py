"""Flow control (Inflights) and the Progress state machine (probe / replicate / snapshot)."""

from __future__ import annotations

import pytest

from etcdpy.raft.quorum import JointConfig, VoteResult
from etcdpy.raft.tracker import Inflights, Progress, ProgressState, ProgressTracker, TrackerConfig


def _progress(
    match: int = 0, next_: int = 1, state: ProgressState = ProgressState.PROBE, size: int = 256
) -> Progress:
    pr = Progress(match, next_, Inflights(size))
    pr.state = state
    return pr


class TestInflights:
    def test_add_until_full(self) -> None:
        ins = Inflights(3)
        for i in (1, 2, 3):
            assert not ins.full()
            ins.add(i)
        assert ins.full() and ins.count() == 3
        with pytest.raises(OverflowError):
            ins.add(4)

    def test_free_le_frees_acknowledged_prefix(self) -> None:
        ins = Inflights(10)
        for i in range(10):
            ins.add(i)
        ins.free_le(4)
        assert ins.indexes() == (5, 6, 7, 8, 9)
        ins.free_le(3)  # stale acknowledgement: nothing to free
        assert ins.count() == 5
        ins.free_le(100)
        assert ins.count() == 0

    def test_free_first_one(self) -> None:
        ins = Inflights(3)
        for i in (10, 20, 30):
            ins.add(i)
        ins.free_first_one()
        assert ins.indexes() == (20, 30)
        assert not ins.full()

    def test_wraps_around_like_a_ring(self) -> None:
        ins = Inflights(4)
        for i in range(1, 100):
            ins.add(i)
            if ins.full():
                ins.free_le(i - 2)
        assert ins.indexes() == (97, 98, 99)

    def test_reset_and_clone(self) -> None:
        ins = Inflights(4)
        ins.add(1)
        other = ins.clone()
        ins.reset()
        assert ins.count() == 0 and other.indexes() == (1,)


class TestProgress:
    def test_become_probe_from_replicate_restarts_after_match(self) -> None:
        pr = _progress(match=1, next_=5, state=ProgressState.REPLICATE)
        pr.become_probe()
        assert (pr.state, pr.match, pr.next) == (ProgressState.PROBE, 1, 2)

    def test_become_probe_after_snapshot_starts_after_snapshot(self) -> None:
        pr = _progress(match=1, next_=5)
        pr.become_snapshot(10)
        pr.become_probe()
        assert (pr.state, pr.next) == (ProgressState.PROBE, 11)
        pr = _progress(match=20, next_=21)
        pr.become_snapshot(10)
        pr.become_probe()
        assert pr.next == 21

    def test_become_replicate(self) -> None:
        pr = _progress(match=1, next_=5)
        pr.become_replicate()
        assert (pr.state, pr.match, pr.next) == (ProgressState.REPLICATE, 1, 2)

    @pytest.mark.parametrize(
        ("update", "want_match", "want_next", "moved"),
        [(1, 3, 5, False), (3, 3, 5, False), (4, 4, 5, True), (6, 6, 7, True)],
    )
    def test_maybe_update(self, update: int, want_match: int, want_next: int, moved: bool) -> None:
        pr = _progress(match=3, next_=5)
        assert pr.maybe_update(update) is moved
        assert (pr.match, pr.next) == (want_match, want_next)

    @pytest.mark.parametrize(
        ("state", "match", "next_", "rejected", "hint", "ok", "want_next"),
        [
            # replicate: a rejection at or below match is stale
            (ProgressState.REPLICATE, 5, 10, 5, 5, False, 10),
            (ProgressState.REPLICATE, 5, 10, 4, 4, False, 10),
            # replicate: back to just after match
            (ProgressState.REPLICATE, 5, 10, 9, 9, True, 6),
            # probe: a rejection of anything but next-1 is stale
            (ProgressState.PROBE, 0, 0, 0, 0, False, 0),
            (ProgressState.PROBE, 0, 10, 5, 5, False, 10),
            # probe: next = min(rejected, hint + 1), never below 1
            (ProgressState.PROBE, 0, 10, 9, 9, True, 9),
            (ProgressState.PROBE, 0, 2, 1, 1, True, 1),
            (ProgressState.PROBE, 0, 1, 0, 0, True, 1),
            (ProgressState.PROBE, 0, 10, 9, 2, True, 3),
            (ProgressState.PROBE, 0, 10, 9, 0, True, 1),
        ],
    )
    def test_maybe_decr_to(
        self, state: ProgressState, match: int, next_: int, rejected: int, hint: int, ok: bool, want_next: int
    ) -> None:
        pr = _progress(match=match, next_=next_, state=state)
        pr.probe_sent = True
        assert pr.maybe_decr_to(rejected, hint) is ok
        assert pr.next == want_next
        if ok and state == ProgressState.PROBE:
            assert not pr.probe_sent

    def test_is_paused(self) -> None:
        probe = _progress()
        assert not probe.is_paused()
        probe.probe_sent = True
        assert probe.is_paused()
        repl = _progress(state=ProgressState.REPLICATE, size=1)
        assert not repl.is_paused()
        repl.inflights.add(1)
        assert repl.is_paused()
        snap = _progress()
        snap.become_snapshot(5)
        assert snap.is_paused()

    def test_update_resumes_a_paused_probe(self) -> None:
        pr = _progress(match=1, next_=2)
        pr.probe_sent = True
        pr.maybe_update(2)
        assert not pr.probe_sent

    def test_text(self) -> None:
        pr = _progress(match=1, next_=2, state=ProgressState.REPLICATE, size=2)
        pr.inflights.add(5)
        pr.inflights.add(6)
        assert str(pr) == "StateReplicate match=1 next=2 paused inactive inflight=2[full]"
        learner = _progress(match=3, next_=4)
        learner.is_learner = True
        learner.recent_active = True
        learner.become_snapshot(9)
        assert str(learner) == "StateSnapshot match=3 next=4 learner paused pendingSnap=9"


class TestProgressTracker:
    def _tracker(self, matches: dict[int, int], learners: tuple[int, ...] = ()) -> ProgressTracker:
        prs = ProgressTracker(16)
        progress = {m: _progress(match=i, next_=i + 1) for m, i in matches.items()}
        for m in learners:
            progress[m].is_learner = True
        voters = frozenset(m for m in matches if m not in learners)
        prs.set_config(TrackerConfig(JointConfig(voters), frozenset(learners)), progress)
        return prs

    def test_committed_ignores_learners(self) -> None:
        prs = self._tracker({1: 10, 2: 10, 3: 2, 4: 10, 5: 10}, learners=(4, 5))
        assert prs.committed() == 10
        prs = self._tracker({1: 10, 2: 2, 3: 2, 4: 10, 5: 10}, learners=(4, 5))
        assert prs.committed() == 2

    def test_votes_first_answer_counts(self) -> None:
        prs = self._tracker({1: 0, 2: 0, 3: 0})
        prs.record_vote(1, True)
        prs.record_vote(2, False)
        prs.record_vote(2, True)
        assert prs.tally_votes() == (1, 1, VoteResult.PENDING)
        prs.record_vote(3, True)
        assert prs.tally_votes() == (2, 1, VoteResult.WON)

    def test_quorum_active(self) -> None:
        prs = self._tracker({1: 0, 2: 0, 3: 0, 4: 0}, learners=(4,))
        prs.progress[1].recent_active = True
        prs.progress[4].recent_active = True
        assert not prs.quorum_active()
        prs.progress[2].recent_active = True
        assert prs.quorum_active()

    def test_conf_state_and_ids_sorted(self) -> None:
        prs = self._tracker({3: 0, 1: 0, 2: 0, 5: 0}, learners=(5,))
        cs = prs.conf_state()
        assert (cs.voters, cs.learners) == ((1, 2, 3), (5,))
        assert prs.ids == [1, 2, 3, 5]
        assert str(prs.config) == "voters=(1 2 3) learners=(5)"
