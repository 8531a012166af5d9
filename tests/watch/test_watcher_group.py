"""WatcherGroup: which watchers hold a key, for every shape of range."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etcdpy.mvcc.watcher import Watcher, WatchResponse
from etcdpy.mvcc.watcher_group import WatcherGroup, prefix_end, range_prefix


class _NullSink:
    def offer(self, resp: WatchResponse) -> bool:
        return True

    def has_room(self) -> bool:
        return True

    def on_synced(self) -> None:
        pass


def watcher(key: bytes, end: bytes = b"") -> Watcher:
    return Watcher(0, key, end, 1, _NullSink())


def holds(w: Watcher, key: bytes) -> bool:
    """The definition: end b"" is one key, b"\\0" every key from `key` on, else [key, end)."""
    if not w.end:
        return key == w.key
    return w.key <= key and (w.end == b"\0" or key < w.end)


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        (b"a", b"b"),
        (b"a\xff", b"b"),
        (b"ab\xff\xff", b"ac"),
        (b"\xff", b"\0"),
        (b"\xff\xff", b"\0"),
        (b"\0", b"\x01"),
    ],
)
def test_prefix_end(prefix: bytes, end: bytes) -> None:
    assert prefix_end(prefix) == end


@pytest.mark.parametrize(
    ("key", "end", "prefix"),
    [
        (b"a", b"b", b"a"),
        (b"a", b"c", None),
        (b"\0", b"\0", b""),
        (b"a", b"\0", None),
        (b"\xff", b"\0", b"\xff"),
        (b"a\xff", b"b", b"a\xff"),
    ],
)
def test_range_prefix(key: bytes, end: bytes, prefix: bytes | None) -> None:
    assert range_prefix(key, end) == prefix


_keys = st.binary(min_size=1, max_size=3).map(lambda b: bytes(x % 4 if x < 250 else 0xFF for x in b))
_watchers = st.one_of(
    _keys.map(lambda k: (k, b"")),
    _keys.map(lambda k: (k, prefix_end(k))),
    _keys.map(lambda k: (k, b"\0")),
    st.just((b"\0", b"\0")),
    st.tuples(_keys, _keys).filter(lambda t: t[0] < t[1]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_watchers, max_size=12), st.lists(_keys, min_size=1, max_size=10), st.data())
def test_matching_is_the_definition(
    specs: list[tuple[bytes, bytes]], keys: list[bytes], data: st.DataObject
) -> None:
    group = WatcherGroup()
    ws = [watcher(k, e) for k, e in specs]
    for w in ws:
        group.add(w)
    removed = data.draw(st.sets(st.sampled_from(range(len(ws))))) if ws else set()
    for i in removed:
        assert group.remove(ws[i])
        assert not group.remove(ws[i])
    live = [w for i, w in enumerate(ws) if i not in removed]
    assert len(group) == len(live)
    for key in keys:
        got = group.matching(key)
        assert len(got) == len(set(got))
        assert set(got) == {w for w in live if holds(w, key)}


def test_add_twice_is_an_error() -> None:
    group = WatcherGroup()
    w = watcher(b"a")
    group.add(w)
    with pytest.raises(ValueError):
        group.add(w)
