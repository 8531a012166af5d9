"""Members that start in the same millisecond must still give their requests distinct IDs: a
member answers a client with the result of the applied entry that carries the ID of the client's
request, so a request ID that two members both use hands one client another client's answer.

To start members "in the same millisecond" every time, their server module reads a frozen wall
clock (it reads the wall clock only to seed IDs)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.cluster._cluster import running_cluster
from tests.cluster._convergence import assert_linearizable, assert_members_agree
from tests.cluster._history import Recorder
from tests.servers import EtcdProcess

_FROZEN_SERVER_CLOCK = """
import sys, time, types
import etcdpy.server.server as server
clock = types.SimpleNamespace(**{name: getattr(time, name) for name in dir(time) if not name.startswith("_")})
clock.time = lambda: 1_800_000_000.0
server.time = clock
from etcdpy.cli.etcd import main
sys.exit(main())
"""


class _FrozenServerClockEtcd(EtcdProcess):
    def command(self) -> list[str]:
        base = super().command()
        assert base[1:3] == ["-m", "etcdpy.cli.etcd"], base
        return [sys.executable, "-c", _FROZEN_SERVER_CLOCK, *base[3:]]


@pytest.mark.reference
def test_members_started_together_answer_each_request_with_its_own_result(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 3, process=_FrozenServerClockEtcd) as c:
        with Recorder([m.endpoint for m in c.members], seed=3) as rec:
            rec.wait_for_writes(300)
        assert not rec.anomalies, "\n".join(rec.anomalies)
        assert_linearizable(rec.history())
        assert_members_agree(c, c.members, rec.history())
