"""Behaviour that needs a server in a particular state: a NOSPACE alarm (a tiny backend
quota), and the file `snapshot save` leaves behind."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client import Client, EtcdError
from tests.etcdctl._harness import OUR_ETCDCTL, Masks, Pair, Scenario, make_pair, play, run, s

pytestmark = pytest.mark.reference

_QUOTA = 200_000
_BIG = "x" * 150_000


def _fill(client: Client) -> None:
    """Put big values until the backend outgrows its quota (its size shows after each batch commit)."""
    deadline = time.monotonic() + 30
    i = 0
    while not client.alarm_list().alarms:
        assert time.monotonic() < deadline, "the quota never filled up"
        with contextlib.suppress(EtcdError):
            client.put(f"/big/{i}", _BIG)
        i += 1
        time.sleep(0.05)


@pytest.fixture(scope="module")
def full_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    pair = make_pair(tmp_path_factory.mktemp("nospace"), extra_args=["--quota-backend-bytes", str(_QUOTA)])
    try:
        for side in pair.sides():
            with Client(side.server.endpoint, timeout=10) as client:
                _fill(client)
        yield pair
    finally:
        for side in pair.sides():
            side.server.stop()


# The two servers filled up at their own pace: their revisions and sizes differ.
NUMBERS = Masks(numbers=True)
ALARMED: list[Scenario] = [
    *(
        Scenario(
            f"alarm list[{fmt}]",
            ("-w", fmt, "alarm", "list"),
            masks=Masks(numbers=True, pb_type=pb.AlarmResponse if fmt == "protobuf" else None),
        )
        for fmt in ("simple", "json", "fields", "protobuf", "table")
    ),
    s("put while out of space", "put", "/big/more", "x", masks=NUMBERS),
    s("endpoint health with alarm", "endpoint", "health", masks=Masks(timing=True, numbers=True)),
    s("endpoint status with alarm", "endpoint", "status", masks=NUMBERS),
    s("endpoint status table with alarm", "-w", "table", "endpoint", "status", masks=NUMBERS),
    s("alarm disarm", "alarm", "disarm", masks=NUMBERS),
    s("alarm list after disarm", "alarm", "list", masks=NUMBERS),
]


@pytest.mark.parametrize("scenario", ALARMED, ids=[sc.name for sc in ALARMED])
def test_alarmed_server(scenario: Scenario, full_pair: Pair, tmp_path: Path) -> None:
    theirs, ours = play(scenario, full_pair, tmp_path)
    assert ours == theirs


def test_snapshot_file_is_the_backend_with_its_sha256(reference_server: object, tmp_path: Path) -> None:
    endpoint = reference_server.endpoint  # type: ignore[attr-defined]
    with Client(endpoint, timeout=5) as client:
        client.put("/snap/k", "v")
    target = tmp_path / "out.db"
    result = run(OUR_ETCDCTL, ["--endpoints", endpoint, "snapshot", "save", str(target)], b"", {}, tmp_path)
    assert result.code == 0, result
    assert result.stdout == f"Snapshot saved at {target}\n".encode()
    data = target.read_bytes()
    assert len(data) % 512 == 32
    assert hashlib.sha256(data[:-32]).digest() == data[-32:]
    assert not (tmp_path / "out.db.part").exists()
    assert target.stat().st_mode & 0o777 == 0o600
