"""Fixtures shared by the whole suite: real server processes on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import EtcdProcess, running


@pytest.fixture
def etcdpy_server(tmp_path: Path) -> Iterator[EtcdProcess]:
    with running("etcdpy", tmp_path) as p:
        yield p


@pytest.fixture
def reference_server(tmp_path: Path) -> Iterator[EtcdProcess]:
    with running("reference", tmp_path) as p:
        yield p


@pytest.fixture(params=["etcdpy", "reference"])
def any_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EtcdProcess]:
    """The same test body against etcd-py and against reference etcd 3.5.1."""
    with running(request.param, tmp_path) as p:
        yield p
