"""etcdctl's output formats: simple, fields, json, protobuf and table.

Each printer renders the same response kinds; a format that has no rendering for a
kind ends the command with `<format> not supported as output format` (exit 4).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.mvccpb import kv_pb2
from etcdpy.cli.etcdctl import gofmt, gojson, tablewriter
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode, GoPanic
from etcdpy.pkg import goquote


@dataclass
class EndpointHealth:
    endpoint: str
    health: bool
    took: str
    error: str = ""


@dataclass
class EndpointStatus:
    endpoint: str
    status: pb.StatusResponse


@dataclass
class EndpointHashKV:
    endpoint: str
    hash_kv: pb.HashKVResponse


# etcdctl 3.5 prints `member promote` only in the simple format: every other printer
# calls it on a nil interface.
_PROMOTE_PANIC = (
    "runtime error: invalid memory address or nil pointer dereference\n"
    "[signal SIGSEGV: segmentation violation code=0x1 addr=0x78 pc=0xcaa212]"
)


def _hex_escaped(data: bytes) -> str:
    return "".join(f"\\x{b:02x}" for b in data)


def _go_bool(value: bool) -> str:
    return "true" if value else "false"


def member_rows(resp: pb.MemberListResponse) -> tuple[list[str], list[list[str]]]:
    header = ["ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"]
    rows = [
        [
            f"{m.ID:x}",
            "started" if m.name else "unstarted",
            m.name,
            ",".join(m.peerURLs),
            ",".join(m.clientURLs),
            _go_bool(m.isLearner),
        ]
        for m in resp.members
    ]
    return header, rows


def health_rows(items: Sequence[EndpointHealth]) -> tuple[list[str], list[list[str]]]:
    header = ["endpoint", "health", "took", "error"]
    return header, [[h.endpoint, _go_bool(h.health), h.took, h.error] for h in items]


def status_rows(items: Sequence[EndpointStatus]) -> tuple[list[str], list[list[str]]]:
    header = [
        "endpoint",
        "ID",
        "version",
        "db size",
        "is leader",
        "is learner",
        "raft term",
        "raft index",
        "raft applied index",
        "errors",
    ]
    rows = []
    for item in items:
        st = item.status
        rows.append(
            [
                item.endpoint,
                f"{st.header.member_id:x}",
                st.version,
                gofmt.humanize_bytes(st.dbSize),
                _go_bool(st.leader == st.header.member_id),
                _go_bool(st.isLearner),
                str(st.raftTerm),
                str(st.raftIndex),
                str(st.raftAppliedIndex),
                ", ".join(st.errors),
            ]
        )
    return header, rows


def hashkv_rows(items: Sequence[EndpointHashKV]) -> tuple[list[str], list[list[str]]]:
    return ["endpoint", "hash"], [[h.endpoint, str(h.hash_kv.hash)] for h in items]


class Printer:
    """Renders responses to `out`; this base supports nothing."""

    name = ""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out

    def write(self, text: str | bytes) -> None:
        self.out.write(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)

    def unsupported(self) -> CommandExit:
        return CommandExit(ExitCode.BAD_FEATURE, f"{self.name} not supported as output format")

    def get(self, resp: pb.RangeResponse) -> None:
        raise self.unsupported()

    def put(self, resp: pb.PutResponse) -> None:
        raise self.unsupported()

    def delete(self, resp: pb.DeleteRangeResponse) -> None:
        raise self.unsupported()

    def txn(self, resp: pb.TxnResponse) -> None:
        raise self.unsupported()

    def alarm(self, resp: pb.AlarmResponse) -> None:
        raise self.unsupported()

    def member_list(self, resp: pb.MemberListResponse) -> None:
        raise self.unsupported()

    def member_add(self, resp: pb.MemberAddResponse, name: str, peer_urls: str) -> None:
        """`name` and `peer_urls` are the command's arguments (the new member's environment)."""
        raise self.unsupported()

    def member_remove(self, member_id: int, resp: pb.MemberRemoveResponse) -> None:
        raise self.unsupported()

    def member_update(self, member_id: int, resp: pb.MemberUpdateResponse) -> None:
        raise self.unsupported()

    def member_promote(self, member_id: int, resp: pb.MemberPromoteResponse) -> None:
        raise GoPanic(_PROMOTE_PANIC)

    def endpoint_health(self, items: Sequence[EndpointHealth]) -> None:
        raise self.unsupported()

    def move_leader(self, leader: int, target: int, resp: pb.MoveLeaderResponse) -> None:
        raise self.unsupported()

    def endpoint_status(self, items: Sequence[EndpointStatus]) -> None:
        raise self.unsupported()

    def endpoint_hashkv(self, items: Sequence[EndpointHashKV]) -> None:
        raise self.unsupported()

    def watch(self, resp: pb.WatchResponse) -> None:
        raise self.unsupported()

    def lease_grant(self, resp: pb.LeaseGrantResponse) -> None:
        raise self.unsupported()

    def lease_revoke(self, lease_id: int, resp: pb.LeaseRevokeResponse) -> None:
        raise self.unsupported()

    def lease_keep_alive(self, resp: pb.LeaseKeepAliveResponse) -> None:
        raise self.unsupported()

    def lease_time_to_live(self, resp: pb.LeaseTimeToLiveResponse, keys: bool) -> None:
        raise self.unsupported()

    def lease_leases(self, resp: pb.LeaseLeasesResponse) -> None:
        raise self.unsupported()


def _event_type(event: kv_pb2.Event) -> str:
    return kv_pb2.Event.EventType.Name(event.type)


class SimplePrinter(Printer):
    name = "simple"

    def move_leader(self, leader: int, target: int, resp: pb.MoveLeaderResponse) -> None:
        self.write(f"Leadership transferred from {leader:x} to {target:x}\n")

    def __init__(self, out: BinaryIO, err: BinaryIO, is_hex: bool) -> None:
        super().__init__(out)
        self.err = err
        self.is_hex = is_hex
        self.value_only = False

    def _kv(self, kv: kv_pb2.KeyValue) -> None:
        key, value = (_hex_escaped(kv.key), _hex_escaped(kv.value)) if self.is_hex else (kv.key, kv.value)
        if not self.value_only:
            self.write(key)
            self.write("\n")
        self.write(value)
        self.write("\n")

    def get(self, resp: pb.RangeResponse) -> None:
        for kv in resp.kvs:
            self._kv(kv)

    def put(self, resp: pb.PutResponse) -> None:
        self.write("OK\n")
        if resp.HasField("prev_kv"):
            self._kv(resp.prev_kv)

    def delete(self, resp: pb.DeleteRangeResponse) -> None:
        self.write(f"{resp.deleted}\n")
        for kv in resp.prev_kvs:
            self._kv(kv)

    def txn(self, resp: pb.TxnResponse) -> None:
        self.write("SUCCESS\n" if resp.succeeded else "FAILURE\n")
        for op in resp.responses:
            self.write("\n")
            kind = op.WhichOneof("response")
            if kind == "response_range":
                self.get(op.response_range)
            elif kind == "response_put":
                self.put(op.response_put)
            elif kind == "response_delete_range":
                self.delete(op.response_delete_range)
            else:
                self.write(f"unexpected response {op}\n")

    def alarm(self, resp: pb.AlarmResponse) -> None:
        for member in resp.alarms:
            self.write(f"memberID:{member.memberID} alarm:{pb.AlarmType.Name(member.alarm)} \n")

    def member_list(self, resp: pb.MemberListResponse) -> None:
        for row in member_rows(resp)[1]:
            self.write(", ".join(row) + "\n")

    def member_add(self, resp: pb.MemberAddResponse, name: str, peer_urls: str) -> None:
        new_id = resp.member.ID
        self.write(f"Member {new_id:16x} added to cluster {resp.header.cluster_id:16x}\n")
        # Every member's peer URLs, named as in the response (unstarted members have no name yet).
        cluster = ",".join(
            f"{name if new_id == m.ID else m.name}={url}" for m in resp.members for url in m.peerURLs
        )
        self.write(
            f"\nETCD_NAME={goquote.quote(name)}\n"
            f"ETCD_INITIAL_CLUSTER={goquote.quote(cluster)}\n"
            f"ETCD_INITIAL_ADVERTISE_PEER_URLS={goquote.quote(peer_urls)}\n"
            'ETCD_INITIAL_CLUSTER_STATE="existing"\n'
        )

    def member_remove(self, member_id: int, resp: pb.MemberRemoveResponse) -> None:
        self.write(f"Member {member_id:16x} removed from cluster {resp.header.cluster_id:16x}\n")

    def member_update(self, member_id: int, resp: pb.MemberUpdateResponse) -> None:
        self.write(f"Member {member_id:16x} updated in cluster {resp.header.cluster_id:16x}\n")

    def member_promote(self, member_id: int, resp: pb.MemberPromoteResponse) -> None:
        self.write(f"Member {member_id:16x} promoted in cluster {resp.header.cluster_id:16x}\n")

    def endpoint_health(self, items: Sequence[EndpointHealth]) -> None:
        for h in items:
            if not h.error:
                self.write(f"{h.endpoint} is healthy: successfully committed proposal: took = {h.took}\n")
            else:
                self.err.write(f"{h.endpoint} is unhealthy: failed to commit proposal: {h.error}\n".encode())

    def endpoint_status(self, items: Sequence[EndpointStatus]) -> None:
        for row in status_rows(items)[1]:
            self.write(", ".join(row) + "\n")

    def endpoint_hashkv(self, items: Sequence[EndpointHashKV]) -> None:
        for row in hashkv_rows(items)[1]:
            self.write(", ".join(row) + "\n")

    def watch(self, resp: pb.WatchResponse) -> None:
        for event in resp.events:
            self.write(_event_type(event) + "\n")
            if event.HasField("prev_kv"):
                self._kv(event.prev_kv)
            self._kv(event.kv)

    def lease_grant(self, resp: pb.LeaseGrantResponse) -> None:
        self.write(f"lease {resp.ID:016x} granted with TTL({resp.TTL}s)\n")

    def lease_revoke(self, lease_id: int, resp: pb.LeaseRevokeResponse) -> None:
        self.write(f"lease {lease_id:016x} revoked\n")

    def lease_keep_alive(self, resp: pb.LeaseKeepAliveResponse) -> None:
        self.write(f"lease {resp.ID:016x} keepalived with TTL({resp.TTL})\n")

    def lease_time_to_live(self, resp: pb.LeaseTimeToLiveResponse, keys: bool) -> None:
        if resp.grantedTTL == 0 and resp.TTL == -1:
            self.write(f"lease {resp.ID:016x} already expired\n")
            return
        text = f"lease {resp.ID:016x} granted with TTL({resp.grantedTTL}s), remaining({resp.TTL}s)"
        self.write(text)
        if keys:
            self.write(b", attached keys([" + b" ".join(resp.keys) + b"])")
        self.write("\n")

    def lease_leases(self, resp: pb.LeaseLeasesResponse) -> None:
        self.write(f"found {len(resp.leases)} leases\n")
        for lease in resp.leases:
            self.write(f"{lease.ID:016x}\n")


class FieldsPrinter(Printer):
    name = "fields"

    def _line(self, name: str, value: object) -> None:
        self.write(f'"{name}" : {value}\n')

    def header(self, h: pb.ResponseHeader) -> None:
        self._line("ClusterID", h.cluster_id)
        self._line("MemberID", h.member_id)
        self._line("Revision", h.revision)
        self._line("RaftTerm", h.raft_term)

    def _kv(self, prefix: str, kv: kv_pb2.KeyValue) -> None:
        self._line(f"{prefix}Key", goquote.quote(kv.key))
        self._line(f"{prefix}CreateRevision", kv.create_revision)
        self._line(f"{prefix}ModRevision", kv.mod_revision)
        self._line(f"{prefix}Version", kv.version)
        self._line(f"{prefix}Value", goquote.quote(kv.value))
        self._line(f"{prefix}Lease", kv.lease)

    def get(self, resp: pb.RangeResponse) -> None:
        self.header(resp.header)
        for kv in resp.kvs:
            self._kv("", kv)
        self._line("More", _go_bool(resp.more))
        self._line("Count", resp.count)

    def put(self, resp: pb.PutResponse) -> None:
        self.header(resp.header)
        if resp.HasField("prev_kv"):
            self._kv("Prev", resp.prev_kv)

    def delete(self, resp: pb.DeleteRangeResponse) -> None:
        self.header(resp.header)
        self._line("Deleted", resp.deleted)
        for kv in resp.prev_kvs:
            self._kv("Prev", kv)

    def txn(self, resp: pb.TxnResponse) -> None:
        self.header(resp.header)
        self._line("Succeeded", _go_bool(resp.succeeded))
        for op in resp.responses:
            kind = op.WhichOneof("response")
            if kind == "response_range":
                self.get(op.response_range)
            elif kind == "response_put":
                self.put(op.response_put)
            elif kind == "response_delete_range":
                self.delete(op.response_delete_range)
            else:
                self._line("Unknown", goquote.quote(str(op)))

    def alarm(self, resp: pb.AlarmResponse) -> None:
        if not resp.HasField("header"):
            # `alarm disarm` of every alarm builds a response without a header; etcdctl reads it anyway.
            raise GoPanic(
                "runtime error: invalid memory address or nil pointer dereference\n"
                "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0xc6d0b7]"
            )
        self.header(resp.header)
        for member in resp.alarms:
            self._line("MemberID", member.memberID)
            self._line("AlarmType", pb.AlarmType.Name(member.alarm))
            self.write("\n")

    def member_list(self, resp: pb.MemberListResponse) -> None:
        self.header(resp.header)
        for m in resp.members:
            self._line("ID", m.ID)
            self._line("Name", goquote.quote(m.name))
            for url in m.peerURLs:
                self._line("PeerURL", goquote.quote(url))
            for url in m.clientURLs:
                self._line("ClientURL", goquote.quote(url))
            self._line("IsLearner", _go_bool(m.isLearner))
            self.write("\n")

    def endpoint_health(self, items: Sequence[EndpointHealth]) -> None:
        for h in items:
            self._line("Endpoint", goquote.quote(h.endpoint))
            self._line("Health", _go_bool(h.health))
            self._line("Took", h.took)
            self._line("Error", h.error)
            self.write("\n")

    def endpoint_status(self, items: Sequence[EndpointStatus]) -> None:
        for item in items:
            st = item.status
            self.header(st.header)
            self._line("Version", goquote.quote(st.version))
            self._line("DBSize", st.dbSize)
            self._line("Leader", st.leader)
            self._line("IsLearner", _go_bool(st.isLearner))
            self._line("RaftIndex", st.raftIndex)
            self._line("RaftTerm", st.raftTerm)
            self._line("RaftAppliedIndex", st.raftAppliedIndex)
            self._line("Errors", "[" + " ".join(st.errors) + "]")
            self._line("Endpoint", goquote.quote(item.endpoint))
            self.write("\n")

    def endpoint_hashkv(self, items: Sequence[EndpointHashKV]) -> None:
        for item in items:
            self.header(item.hash_kv.header)
            self._line("Endpoint", goquote.quote(item.endpoint))
            self._line("Hash", item.hash_kv.hash)
            self.write("\n")

    def watch(self, resp: pb.WatchResponse) -> None:
        self.header(resp.header)
        for event in resp.events:
            self._line("Type", _event_type(event))
            if event.HasField("prev_kv"):
                self._kv("Prev", event.prev_kv)
            self._kv("", event.kv)

    def _id_ttl(self, resp: pb.LeaseGrantResponse | pb.LeaseKeepAliveResponse) -> None:
        self.header(resp.header)
        self._line("ID", resp.ID)
        self._line("TTL", resp.TTL)

    def lease_grant(self, resp: pb.LeaseGrantResponse) -> None:
        self._id_ttl(resp)

    def lease_revoke(self, lease_id: int, resp: pb.LeaseRevokeResponse) -> None:
        self.header(resp.header)

    def lease_keep_alive(self, resp: pb.LeaseKeepAliveResponse) -> None:
        self._id_ttl(resp)

    def lease_time_to_live(self, resp: pb.LeaseTimeToLiveResponse, keys: bool) -> None:
        self.header(resp.header)
        self._line("ID", resp.ID)
        self._line("TTL", resp.TTL)
        self._line("GrantedTTL", resp.grantedTTL)
        for key in resp.keys:
            self._line("Key", goquote.quote(key))

    def lease_leases(self, resp: pb.LeaseLeasesResponse) -> None:
        self.header(resp.header)
        for lease in resp.leases:
            self._line("ID", lease.ID)


class JSONPrinter(Printer):
    name = "json"

    def __init__(self, out: BinaryIO, is_hex: bool) -> None:
        super().__init__(out)
        self.is_hex = is_hex

    def _print(self, obj: object) -> None:
        self.write(gojson.value(obj) + "\n")

    def move_leader(self, leader: int, target: int, resp: pb.MoveLeaderResponse) -> None:
        self._print(resp)

    def get(self, resp: pb.RangeResponse) -> None:
        self._print(resp)

    def put(self, resp: pb.PutResponse) -> None:
        self._print(resp)

    def delete(self, resp: pb.DeleteRangeResponse) -> None:
        self._print(resp)

    def txn(self, resp: pb.TxnResponse) -> None:
        self._print(resp)

    def alarm(self, resp: pb.AlarmResponse) -> None:
        self._print(resp)

    def member_list(self, resp: pb.MemberListResponse) -> None:
        if not self.is_hex:
            self._print(resp)
            return
        # etcdctl hand-writes this one: IDs as hex strings, and "clientURLS" spelled so.
        h = resp.header
        text = (
            f'{{"header":{{"cluster_id":"{h.cluster_id:x}","member_id":"{h.member_id:x}",'
            f'"raft_term":{h.raft_term}}}'
        )
        members = [
            f'{{"ID":"{m.ID:x}","name":"{m.name}","peerURLs":{gojson.value(list(m.peerURLs))},'
            f'"clientURLS":{gojson.value(list(m.clientURLs))}}}'
            for m in resp.members
        ]
        if members:
            text += ',"members":[' + ",".join(members) + "]"
        self.write(text + "}\n")

    def member_add(self, resp: pb.MemberAddResponse, name: str, peer_urls: str) -> None:
        self._print(resp)

    def member_remove(self, member_id: int, resp: pb.MemberRemoveResponse) -> None:
        self._print(resp)

    def member_update(self, member_id: int, resp: pb.MemberUpdateResponse) -> None:
        self._print(resp)

    def endpoint_health(self, items: Sequence[EndpointHealth]) -> None:
        rendered = []
        for h in items:
            entry: dict[str, object] = {"endpoint": h.endpoint, "health": h.health, "took": h.took}
            if h.error:
                entry["error"] = h.error
            rendered.append(entry)
        self._print(rendered)

    def endpoint_status(self, items: Sequence[EndpointStatus]) -> None:
        self._print([{"Endpoint": s.endpoint, "Status": s.status} for s in items])

    def endpoint_hashkv(self, items: Sequence[EndpointHashKV]) -> None:
        self._print([{"Endpoint": h.endpoint, "HashKV": h.hash_kv} for h in items])

    def watch(self, resp: pb.WatchResponse) -> None:
        self._print(
            {
                "Header": resp.header,
                "Events": list(resp.events),
                "CompactRevision": resp.compact_revision,
                "Canceled": resp.canceled,
                "Created": resp.created,
            }
        )

    def _flat(self, header: pb.ResponseHeader, fields: dict[str, str]) -> None:
        """A clientv3 lease response: the embedded header's fields, then the struct's own
        (`fields` maps names to JSON text)."""
        own = [gojson.string(name) + ":" + text for name, text in fields.items()]
        parts = [gojson.message(header)[1:-1], *own]
        self.write("{" + ",".join(p for p in parts if p) + "}\n")

    def lease_grant(self, resp: pb.LeaseGrantResponse) -> None:
        fields = {"ID": str(resp.ID), "TTL": str(resp.TTL), "Error": gojson.string(resp.error)}
        self._flat(resp.header, fields)

    def lease_revoke(self, lease_id: int, resp: pb.LeaseRevokeResponse) -> None:
        self._print(resp)

    def lease_keep_alive(self, resp: pb.LeaseKeepAliveResponse) -> None:
        self._flat(resp.header, {"ID": str(resp.ID), "TTL": str(resp.TTL)})

    def lease_time_to_live(self, resp: pb.LeaseTimeToLiveResponse, keys: bool) -> None:
        # Keys are base64 strings, or null when there are none (a nil Go slice).
        encoded = ",".join('"' + base64.b64encode(key).decode() + '"' for key in resp.keys)
        fields = {
            "id": str(resp.ID),
            "ttl": str(resp.TTL),
            "granted-ttl": str(resp.grantedTTL),
            "keys": f"[{encoded}]" if resp.keys else "null",
        }
        self._flat(resp.header, fields)

    def lease_leases(self, resp: pb.LeaseLeasesResponse) -> None:
        leases = ",".join(f'{{"id":{lease.ID}}}' for lease in resp.leases)
        self._flat(resp.header, {"leases": f"[{leases}]"})


class ProtobufPrinter(Printer):
    name = "protobuf"

    def move_leader(self, leader: int, target: int, resp: pb.MoveLeaderResponse) -> None:
        self.write(resp.SerializeToString())

    def get(self, resp: pb.RangeResponse) -> None:
        self.write(resp.SerializeToString())

    def put(self, resp: pb.PutResponse) -> None:
        self.write(resp.SerializeToString())

    def delete(self, resp: pb.DeleteRangeResponse) -> None:
        self.write(resp.SerializeToString())

    def txn(self, resp: pb.TxnResponse) -> None:
        self.write(resp.SerializeToString())

    def alarm(self, resp: pb.AlarmResponse) -> None:
        self.write(resp.SerializeToString())

    def member_list(self, resp: pb.MemberListResponse) -> None:
        self.write(resp.SerializeToString())

    def member_add(self, resp: pb.MemberAddResponse, name: str, peer_urls: str) -> None:
        self.write(resp.SerializeToString())

    def member_remove(self, member_id: int, resp: pb.MemberRemoveResponse) -> None:
        self.write(resp.SerializeToString())

    def member_update(self, member_id: int, resp: pb.MemberUpdateResponse) -> None:
        self.write(resp.SerializeToString())

    def watch(self, resp: pb.WatchResponse) -> None:
        # clientv3's WatchResponse keeps only these fields.
        shown = pb.WatchResponse(
            header=resp.header,
            events=resp.events,
            compact_revision=resp.compact_revision,
            canceled=resp.canceled,
            created=resp.created,
        )
        self.write(shown.SerializeToString())

    # clientv3's lease responses embed the header, whose marshalling is all etcdctl gets.
    def lease_grant(self, resp: pb.LeaseGrantResponse) -> None:
        self.write(resp.header.SerializeToString())

    def lease_revoke(self, lease_id: int, resp: pb.LeaseRevokeResponse) -> None:
        h = resp.header
        text = "".join(
            f"{name}:{value} "
            for name, value in (
                ("cluster_id", h.cluster_id),
                ("member_id", h.member_id),
                ("revision", h.revision),
                ("raft_term", h.raft_term),
            )
            if value
        )
        raise CommandExit(
            ExitCode.BAD_FEATURE,
            f"marshal unsupported for type clientv3.LeaseRevokeResponse ({{{text} {{}} [] 0}})",
        )

    def lease_keep_alive(self, resp: pb.LeaseKeepAliveResponse) -> None:
        self.write(resp.header.SerializeToString())

    def lease_time_to_live(self, resp: pb.LeaseTimeToLiveResponse, keys: bool) -> None:
        self.write(resp.header.SerializeToString())

    def lease_leases(self, resp: pb.LeaseLeasesResponse) -> None:
        self.write(resp.header.SerializeToString())


class TablePrinter(Printer):
    name = "table"

    def member_list(self, resp: pb.MemberListResponse) -> None:
        self.write(tablewriter.render(*member_rows(resp)))

    def endpoint_health(self, items: Sequence[EndpointHealth]) -> None:
        self.write(tablewriter.render(*health_rows(items)))

    def endpoint_status(self, items: Sequence[EndpointStatus]) -> None:
        self.write(tablewriter.render(*status_rows(items)))

    def endpoint_hashkv(self, items: Sequence[EndpointHashKV]) -> None:
        self.write(tablewriter.render(*hashkv_rows(items)))


def new_printer(fmt: str, is_hex: bool, out: BinaryIO, err: BinaryIO) -> Printer:
    if fmt == "simple":
        return SimplePrinter(out, err, is_hex)
    if fmt == "fields":
        return FieldsPrinter(out)
    if fmt == "json":
        return JSONPrinter(out, is_hex)
    if fmt == "protobuf":
        return ProtobufPrinter(out)
    if fmt == "table":
        return TablePrinter(out)
    raise CommandExit(ExitCode.BAD_FEATURE, "unsupported output format")
