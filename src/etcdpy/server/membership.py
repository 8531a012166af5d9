"""Cluster membership: members, their IDs, the rules of changing them, and their persistence.

IDs are derived exactly as etcd derives them, so that a member bootstrapped
with the same flags has the same member and cluster ID as under etcd:
- member ID: the first 8 bytes (big-endian) of SHA-1 over the member's sorted
  peer URLs concatenated, then the cluster token for a new cluster, or the
  Unix time in seconds for a member added later (`MemberAdd`);
- cluster ID: the first 8 bytes of SHA-1 over the sorted member IDs, each as
  8 big-endian bytes.

Membership is replicated state: it changes only when a conf change entry is
applied, on every member alike, and is stored in the backend's `members` and
`members_removed` buckets (keys: the ID as 16 hex digits; values: etcd's
member JSON) in the same transaction as the consistent index.

Invariant: an ID in `removed` is never in `members` and never comes back.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from etcdpy.api import errors
from etcdpy.storage import schema
from etcdpy.storage.backend import Backend, WriteTxn

# etcd 3.5 allows one learner (`maxLearners`).
MAX_LEARNERS = 1


def member_id(peer_urls: Iterable[str], salt: str) -> int:
    data = "".join(sorted(peer_urls)).encode() + salt.encode()
    return int(struct.unpack(">Q", hashlib.sha1(data).digest()[:8])[0])


def cluster_id(member_ids: Iterable[int]) -> int:
    data = b"".join(struct.pack(">Q", m) for m in sorted(member_ids))
    return int(struct.unpack(">Q", hashlib.sha1(data).digest()[:8])[0])


def validate_urls(urls: Iterable[str]) -> list[str]:
    """The URLs as given if each is an absolute http(s) URL with a host and port, else MEMBER_BAD_URLS."""
    out = list(urls)
    for url in out:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise errors.MEMBER_BAD_URLS from None
        if parts.scheme not in ("http", "https", "unix", "unixs") or not parts.hostname or port is None:
            raise errors.MEMBER_BAD_URLS
    if not out:
        raise errors.MEMBER_BAD_URLS
    return out


@dataclass
class Member:
    id: int
    name: str
    peer_urls: list[str]
    client_urls: list[str] = field(default_factory=list)
    is_learner: bool = False

    def to_dict(self) -> dict[str, object]:
        """etcd's JSON object of a member, in its field order; empty name, no client URLs and a false
        isLearner are left out."""
        doc: dict[str, object] = {"id": self.id, "peerURLs": list(self.peer_urls)}
        if self.is_learner:
            doc["isLearner"] = True
        if self.name:
            doc["name"] = self.name
        if self.client_urls:
            doc["clientURLs"] = list(self.client_urls)
        return doc

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Member:
        return cls(int(doc["id"]), doc.get("name", ""), list(doc.get("peerURLs") or []),
                   list(doc.get("clientURLs") or []), bool(doc.get("isLearner", False)))

    @classmethod
    def from_json(cls, data: bytes) -> Member:
        return cls.from_dict(json.loads(data))

    @property
    def started(self) -> bool:
        """A member has started once it published its name (etcd's "unstarted" otherwise)."""
        return bool(self.name)


@dataclass
class Cluster:
    id: int
    members: dict[int, Member]
    removed: set[int] = field(default_factory=set)

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

    def voters(self) -> list[int]:
        return sorted(m.id for m in self.members.values() if not m.is_learner)

    def learners(self) -> list[int]:
        return sorted(m.id for m in self.members.values() if m.is_learner)

    # ---- the rules of a change (checked when proposed and again when applied) ----------------

    def check_add(self, member: Member) -> None:
        if member.id in self.removed:
            raise errors.MEMBER_NOT_FOUND
        existing = self.members.get(member.id)
        if existing is not None:
            if existing.is_learner and not member.is_learner:
                return  # a promotion travels as an add of the learner's ID
            raise errors.MEMBER_EXIST
        urls = set(member.peer_urls)
        if any(urls.intersection(m.peer_urls) for m in self.members.values()):
            raise errors.PEER_URL_EXIST
        if member.is_learner and len(self.learners()) >= MAX_LEARNERS:
            raise errors.TOO_MANY_LEARNERS

    def check_remove(self, mid: int) -> None:
        if mid not in self.members:
            raise errors.MEMBER_NOT_FOUND

    def check_update(self, mid: int, peer_urls: list[str]) -> None:
        if mid not in self.members:
            raise errors.MEMBER_NOT_FOUND
        urls = set(peer_urls)
        if any(urls.intersection(m.peer_urls) for m in self.members.values() if m.id != mid):
            raise errors.PEER_URL_EXIST

    def check_promote(self, mid: int) -> None:
        m = self.members.get(mid)
        if m is None:
            raise errors.MEMBER_NOT_FOUND
        if not m.is_learner:
            raise errors.MEMBER_NOT_LEARNER

    def check_quorum_after(self, started_voters: set[int], *, adding: int = 0, removing: int = 0) -> None:
        """etcd's --strict-reconfig-check: the voters that have started must still be a quorum of the
        voters after the change; MEMBER_NOT_ENOUGH_STARTED otherwise."""
        voters = set(self.voters())
        if adding:
            if len(voters) == 1 and voters <= started_voters:
                return  # a second member for a lone one (etcd allows it: restoring a cluster)
            voters.add(adding)
        if removing:
            voters.discard(removing)
        started = len(voters & started_voters)
        if voters and started < len(voters) // 2 + 1:
            raise errors.MEMBER_NOT_ENOUGH_STARTED

    # ---- changes ---------------------------------------------------------------------------------

    def add(self, member: Member) -> Member:
        existing = self.members.get(member.id)
        if existing is not None and existing.is_learner and not member.is_learner:
            existing.is_learner = False
            return existing
        self.members[member.id] = member
        return member

    def remove(self, mid: int) -> None:
        self.members.pop(mid, None)
        self.removed.add(mid)

    def update_peer_urls(self, mid: int, peer_urls: list[str]) -> None:
        self.members[mid].peer_urls = list(peer_urls)


class MemberStore:
    """Membership in the backend."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def load(self) -> tuple[dict[int, Member], set[int]]:
        with self._backend.read() as txn:
            members = {int(k, 16): Member.from_json(v) for k, v in txn.items(schema.MEMBERS)}
            removed = {int(k, 16) for k, _ in txn.items(schema.MEMBERS_REMOVED)}
        return members, removed

    @staticmethod
    def save(txn: WriteTxn, member: Member) -> None:
        txn.put(schema.MEMBERS, f"{member.id:016x}".encode(), member.to_json())

    @staticmethod
    def delete(txn: WriteTxn, mid: int) -> None:
        key = f"{mid:016x}".encode()
        txn.delete(schema.MEMBERS, key)
        txn.put(schema.MEMBERS_REMOVED, key, b"removed")
