"""Request messages built from keyword options; shared by the sync and asyncio clients."""

from __future__ import annotations

from collections.abc import Sequence

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client._urls import check_peer_urls

Bytes = str | bytes

SortOrder = pb.RangeRequest.SortOrder
SortTarget = pb.RangeRequest.SortTarget


def to_bytes(value: Bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def prefix_end(prefix: bytes) -> bytes:
    """The range end covering every key that starts with `prefix`; b"\\0" (to the end) if none exists."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


def key_range(key: Bytes, range_end: Bytes, prefix: bool, from_key: bool) -> tuple[bytes, bytes]:
    """(key, range_end) for a single key, an explicit range, a prefix or everything from `key` on.

    An empty key with `prefix` or `from_key` means every key, as etcd clients spell it.
    """
    k, end = to_bytes(key), to_bytes(range_end)
    if prefix and from_key:
        raise ValueError("prefix and from_key are mutually exclusive")
    if prefix:
        return (k, prefix_end(k)) if k else (b"\0", b"\0")
    if from_key:
        return (k or b"\0", b"\0")
    return k, end


def range_request(
    key: Bytes,
    range_end: Bytes = b"",
    *,
    prefix: bool = False,
    from_key: bool = False,
    limit: int = 0,
    revision: int = 0,
    sort_order: SortOrder = pb.RangeRequest.NONE,
    sort_target: SortTarget = pb.RangeRequest.KEY,
    serializable: bool = False,
    keys_only: bool = False,
    count_only: bool = False,
    min_mod_revision: int = 0,
    max_mod_revision: int = 0,
    min_create_revision: int = 0,
    max_create_revision: int = 0,
) -> pb.RangeRequest:
    k, end = key_range(key, range_end, prefix, from_key)
    if sort_target == pb.RangeRequest.KEY and sort_order == pb.RangeRequest.ASCEND:
        # Keys come back ascending anyway; asking for it would make the server sort the whole range.
        sort_order = pb.RangeRequest.NONE
    return pb.RangeRequest(
        key=k,
        range_end=end,
        limit=limit,
        revision=revision,
        sort_order=sort_order,
        sort_target=sort_target,
        serializable=serializable,
        keys_only=keys_only,
        count_only=count_only,
        min_mod_revision=min_mod_revision,
        max_mod_revision=max_mod_revision,
        min_create_revision=min_create_revision,
        max_create_revision=max_create_revision,
    )


def put_request(
    key: Bytes,
    value: Bytes = b"",
    *,
    lease: int = 0,
    prev_kv: bool = False,
    ignore_value: bool = False,
    ignore_lease: bool = False,
) -> pb.PutRequest:
    return pb.PutRequest(
        key=to_bytes(key),
        value=to_bytes(value),
        lease=lease,
        prev_kv=prev_kv,
        ignore_value=ignore_value,
        ignore_lease=ignore_lease,
    )


def delete_request(
    key: Bytes,
    range_end: Bytes = b"",
    *,
    prefix: bool = False,
    from_key: bool = False,
    prev_kv: bool = False,
) -> pb.DeleteRangeRequest:
    k, end = key_range(key, range_end, prefix, from_key)
    return pb.DeleteRangeRequest(key=k, range_end=end, prev_kv=prev_kv)


def member_add_request(peer_urls: Sequence[str], learner: bool) -> pb.MemberAddRequest:
    """Raises `URLError` for a peer URL etcd's client would not send."""
    check_peer_urls(peer_urls)
    return pb.MemberAddRequest(peerURLs=peer_urls, isLearner=learner)


def member_update_request(member_id: int, peer_urls: Sequence[str]) -> pb.MemberUpdateRequest:
    """Raises `URLError` for a peer URL etcd's client would not send."""
    check_peer_urls(peer_urls)
    return pb.MemberUpdateRequest(ID=member_id, peerURLs=peer_urls)


def watch_create_request(
    key: Bytes,
    range_end: Bytes = b"",
    *,
    prefix: bool = False,
    from_key: bool = False,
    start_revision: int = 0,
    prev_kv: bool = False,
    progress_notify: bool = False,
    no_put: bool = False,
    no_delete: bool = False,
) -> pb.WatchCreateRequest:
    k, end = key_range(key, range_end, prefix, from_key)
    filters = [
        f
        for f, on in ((pb.WatchCreateRequest.NOPUT, no_put), (pb.WatchCreateRequest.NODELETE, no_delete))
        if on
    ]
    return pb.WatchCreateRequest(
        key=k,
        range_end=end,
        start_revision=start_revision,
        prev_kv=prev_kv,
        progress_notify=progress_notify,
        filters=filters,
    )
