"""Unit tests of the auth store, merged permission intervals and token providers."""

from __future__ import annotations

from pathlib import Path

import pytest

from etcdpy.api import errors
from etcdpy.api.pb.authpb import auth_pb2
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.auth.info import AuthInfo
from etcdpy.auth.perms import Intervals
from etcdpy.auth.store import AuthStore
from etcdpy.auth.tokens import InvalidAuthOptions, SimpleTokens, new_provider
from etcdpy.storage.backend import Backend

P = auth_pb2.Permission


def test_intervals_merge_overlapping_and_adjacent_ranges() -> None:
    iv = Intervals.merge([(b"a", b"c"), (b"c", b"e"), (b"b", b"d"), (b"x", b"\0"), (b"k", b""), (b"b", b"")])
    assert (iv.starts, iv.ends, iv.points) == ([b"a", b"x"], [b"e", None], frozenset({b"k"}))
    assert iv.covers(b"a", b"e") and iv.covers(b"b", b"") and iv.covers(b"k", b"")
    assert not iv.covers(b"a", b"f") and not iv.covers(b"e", b"") and not iv.covers(b"k", b"l")
    assert iv.covers(b"y", b"\0") and iv.covers(b"x", b"zz") and not iv.covers(b"w", b"\0")


def test_simple_tokens_expire_after_disuse_and_are_renewed_by_use() -> None:
    now = [0.0]
    tokens = SimpleTokens(10, clock=lambda: now[0])
    t = tokens.assign("alice", 3, "abcdefghijklmnop", 42)
    assert t == "abcdefghijklmnop.42" and tokens.index_of(t) == 42
    now[0] = 9
    assert tokens.info(t, 7) == AuthInfo("alice", 7)
    now[0] = 18
    assert tokens.info(t, 7) is not None
    now[0] = 28.5
    assert tokens.info(t, 7) is None


def test_token_options() -> None:
    assert isinstance(new_provider("simple", 300), SimpleTokens)
    for bad in ("bogus", "jwt,sign-method=none", "jwt,sign-method=RS256"):
        with pytest.raises(InvalidAuthOptions):
            new_provider(bad, 300)


@pytest.fixture
def store(tmp_path: Path) -> AuthStore:
    return AuthStore(Backend(str(tmp_path / "db")), SimpleTokens(300), 4)


def test_enable_needs_root_with_root_role_and_bumps_revision(store: AuthStore) -> None:
    with pytest.raises(errors.EtcdError) as e:
        store.enable()
    assert e.value == errors.ROOT_USER_NOT_EXIST
    store.user_add(pb.AuthUserAddRequest(name="root", password="x"))
    with pytest.raises(errors.EtcdError) as e:
        store.enable()
    assert e.value == errors.ROOT_ROLE_NOT_EXIST
    store.user_grant_role("root", "root")
    store.enable()
    store.enable()  # already enabled: no change
    assert (store.enabled, store.revision) == (True, 3)  # 1 at creation, user add, grant; enable keeps it


def test_permissions_follow_roles(store: AuthStore) -> None:
    store.user_add(pb.AuthUserAddRequest(name="root", password="x"))
    store.user_grant_role("root", "root")
    store.user_add(pb.AuthUserAddRequest(name="u", password="x"))
    store.role_add("r")
    store.role_grant_permission("r", P(permType=P.READ, key=b"a", range_end=b"m"))
    store.user_grant_role("u", "r")
    store.enable()
    u = AuthInfo("u", store.revision)
    store.check(u, b"b", b"c", write=False)
    with pytest.raises(errors.EtcdError) as e:
        store.check(u, b"b", b"", write=True)
    assert e.value == errors.PERMISSION_DENIED
    store.role_grant_permission("r", P(permType=P.READWRITE, key=b"a", range_end=b"m"))
    with pytest.raises(errors.EtcdError) as e:
        store.check(u, b"b", b"", write=True)
    assert e.value == errors.AUTH_OLD_REVISION
    store.check(AuthInfo("u", store.revision), b"b", b"", write=True)
    with pytest.raises(errors.EtcdError) as e:
        store.check(None, b"b", b"", write=False)
    assert e.value == errors.USER_EMPTY
    store.check(AuthInfo("root", store.revision), b"zz", b"\0", write=True)
    store.role_delete("r")
    assert store.user_get("u") == []


def test_state_survives_reopening(tmp_path: Path) -> None:
    backend = Backend(str(tmp_path / "db"))
    s = AuthStore(backend, SimpleTokens(300), 4)
    s.user_add(pb.AuthUserAddRequest(name="root", password="x"))
    s.user_grant_role("root", "root")
    s.enable()
    backend.close()
    again = AuthStore(Backend(str(tmp_path / "db")), SimpleTokens(300), 4)
    assert (again.enabled, again.revision, again.user_list()) == (True, 3, ["root"])
