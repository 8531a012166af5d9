"""Cluster membership: members, and the IDs etcd derives for members and clusters.

IDs are derived exactly as etcd derives them, so that a member bootstrapped
with the same flags has the same member and cluster ID as under etcd:
- member ID: the first 8 bytes (big-endian) of SHA-1 over the member's sorted
  peer URLs concatenated, then the cluster token (only for a new cluster);
- cluster ID: the first 8 bytes of SHA-1 over the sorted member IDs, each as
  8 big-endian bytes.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field


def member_id(peer_urls: Iterable[str], token: str) -> int:
    data = "".join(sorted(peer_urls)).encode() + token.encode()
    return int(struct.unpack(">Q", hashlib.sha1(data).digest()[:8])[0])


def cluster_id(member_ids: Iterable[int]) -> int:
    data = b"".join(struct.pack(">Q", m) for m in sorted(member_ids))
    return int(struct.unpack(">Q", hashlib.sha1(data).digest()[:8])[0])


@dataclass
class Member:
    id: int
    name: str
    peer_urls: list[str]
    client_urls: list[str] = field(default_factory=list)
    is_learner: bool = False


@dataclass
class Cluster:
    id: int
    members: dict[int, Member]

    @classmethod
    def bootstrap(cls, initial_cluster: dict[str, list[str]], token: str) -> Cluster:
        members = {}
        for name, urls in initial_cluster.items():
            mid = member_id(urls, token)
            members[mid] = Member(mid, name, list(urls))
        return cls(cluster_id(members), members)

    def member_by_name(self, name: str) -> Member:
        for m in self.members.values():
            if m.name == name:
                return m
        raise KeyError(name)
