"""`etcdutl`: offline tools that work on a data directory or a snapshot file.

    etcdutl snapshot restore <file> [--data-dir ...] [--name ...] [--initial-cluster ...]
    etcdutl snapshot status <file> [-w simple|table|json]
    etcdutl defrag --data-dir <dir>
    etcdutl version

A snapshot file is the backend file followed by its SHA-256 (etcd's trailer),
as `etcdctl snapshot save` writes it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass

from etcdpy.pkg import zaplog
from etcdpy.raft.raftpb import ConfChange, ConfChangeType, Entry, EntryType, HardState
from etcdpy.server.config import ConfigError, parse_initial_cluster, parse_urls
from etcdpy.server.membership import Cluster, MemberStore
from etcdpy.server.server import wal_metadata
from etcdpy.storage import schema
from etcdpy.storage.backend import Backend
from etcdpy.storage.wal import WAL
from etcdpy.version import API_VERSION, SERVER_VERSION

log = zaplog.get("etcdutl")
SHA256_SIZE = 32


class UtlError(Exception):
    """A failure reported as `Error: <message>` with exit code 1."""


def humanize_bytes(n: int) -> str:
    """Sizes the way etcd prints them (SI units: 24576 -> '25 kB')."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    if n < 10:
        return f"{n} B"
    value, i = float(n), 0
    while value >= 1000 and i < len(units) - 1:
        value /= 1000
        i += 1
    return f"{value:.1f} {units[i]}" if value < 10 else f"{value:.0f} {units[i]}"


@dataclass
class SnapshotStatus:
    hash: int
    revision: int
    total_key: int
    total_size: int


def _strip_trailer(path: str, dest: str, skip_hash_check: bool) -> None:
    """Copy the backend part of snapshot `path` to `dest`, checking etcd's SHA-256 trailer."""
    size = os.path.getsize(path)
    has_hash = size % 512 == SHA256_SIZE
    if not has_hash and not skip_hash_check:
        raise UtlError("snapshot missing hash but --skip-hash-check=false")
    body = size - SHA256_SIZE if has_hash else size
    digest = hashlib.sha256()
    with open(path, "rb") as src, open(dest, "wb") as out:
        left = body
        while left:
            chunk = src.read(min(left, 1 << 20))
            if not chunk:
                raise UtlError(f"snapshot {path} is truncated")
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
        trailer = src.read(SHA256_SIZE) if has_hash else b""
        out.flush()
        os.fsync(out.fileno())
    if has_hash and not skip_hash_check and digest.digest() != trailer:
        raise UtlError(f"expected sha256 {list(trailer)}, got {list(digest.digest())}")


def snapshot_status(path: str) -> SnapshotStatus:
    if not os.path.exists(path):
        raise UtlError(f"stat {path}: no such file or directory")
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "db")
        _strip_trailer(path, db, skip_hash_check=True)
        backend = Backend(db, readonly=True)
        try:
            revision = 0
            total = 0
            with backend.read() as txn:
                for bucket in schema.BUCKETS:
                    total += txn.count(bucket)
                for key, _ in txn.items(schema.KEY):
                    revision = max(revision, int.from_bytes(key[:8], "big"))
            return SnapshotStatus(backend.hash(), revision, total, os.path.getsize(path))
        finally:
            backend.close()


def print_status(st: SnapshotStatus, fmt: str) -> None:
    if fmt == "json":
        print(
            json.dumps(
                {
                    "hash": st.hash,
                    "revision": st.revision,
                    "totalKey": st.total_key,
                    "totalSize": st.total_size,
                },
                separators=(",", ":"),
            )
        )
        return
    row = [f"{st.hash:x}", str(st.revision), str(st.total_key), humanize_bytes(st.total_size)]
    if fmt == "table":
        headers = ["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"]
        widths = [max(len(h), len(v)) + 2 for h, v in zip(headers, row, strict=True)]
        sep = "+" + "+".join("-" * w for w in widths) + "+"
        head = "|" + "|".join(h.center(w) for h, w in zip(headers, widths, strict=True)) + "|"
        body = "|" + "|".join(" " + v.rjust(w - 2) + " " for v, w in zip(row, widths, strict=True)) + "|"
        print("\n".join([sep, head, sep, body, sep]))
        return
    if fmt == "fields":
        print(
            f'"Hash" : {st.hash}\n"Revision" : {st.revision}\n"Keys" : {st.total_key}\n'
            f'"Size" : {st.total_size}'
        )
        return
    print(", ".join(row))


def snapshot_restore(args: argparse.Namespace) -> None:
    name: str = args.name
    data_dir: str = args.data_dir or f"{name}.etcd"
    if not os.path.exists(args.file):
        raise UtlError(f"stat {args.file}: no such file or directory")
    if os.path.exists(data_dir) and (not os.path.isdir(data_dir) or os.listdir(data_dir)):
        raise UtlError(f'data-dir "{data_dir}" not empty or could not be read')
    try:
        initial = parse_initial_cluster(args.initial_cluster)
        parse_urls(args.initial_advertise_peer_urls)
    except ConfigError as e:
        raise UtlError(str(e)) from None
    cluster = Cluster.bootstrap(initial, args.initial_cluster_token)
    try:
        me = cluster.member_by_name(name)
    except KeyError:
        raise UtlError(f"couldn't find local name {name!r} in the initial cluster configuration") from None
    member_dir = os.path.join(data_dir, "member")
    wal_dir = args.wal_dir or os.path.join(member_dir, "wal")
    snap_dir = os.path.join(member_dir, "snap")
    started = time.monotonic()
    log.info(
        "restoring snapshot",
        path=args.file,
        **{"wal-dir": wal_dir, "data-dir": data_dir, "snap-dir": snap_dir},
    )
    os.makedirs(snap_dir, exist_ok=True)
    try:
        db = os.path.join(snap_dir, "db")
        _strip_trailer(args.file, db, args.skip_hash_check)
        # One conf-change entry per member, all committed, all applied: the new
        # member starts from the snapshot's data as the first term of a new log.
        members = sorted(cluster.members.values(), key=lambda m: m.id)
        entries = [
            Entry(1, i + 1, EntryType.CONF_CHANGE,
                  ConfChange(ConfChangeType.ADD_NODE, m.id, m.to_json()).encode())
            for i, m in enumerate(members)
        ]
        backend = Backend(db)
        try:
            with backend.write() as txn:
                # The snapshot's membership is the old cluster's: the new one replaces it.
                for bucket in (schema.MEMBERS, schema.MEMBERS_REMOVED):
                    for key in [k for k, _ in txn.items(bucket)]:
                        txn.delete(bucket, key)
                for m in members:
                    MemberStore.save(txn, m)
                txn.put(schema.META, schema.META_CONSISTENT_INDEX, schema.encode_u64(len(entries)))
                txn.put(schema.META, schema.META_TERM, schema.encode_u64(1))
            backend.sync()
        finally:
            backend.close()
        wal = WAL.create(wal_dir, wal_metadata(me.id, cluster.id))
        wal.read_all()
        wal.save(HardState(1, 0, len(entries)), entries)
        wal.close()
    except BaseException:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    log.info(
        "restored snapshot",
        path=args.file,
        took=f"{time.monotonic() - started:.3f}s",
        **{
            "wal-dir": wal_dir,
            "data-dir": data_dir,
            "snap-dir": snap_dir,
            "member-id": f"{me.id:x}",
            "cluster-id": f"{cluster.id:x}",
        },
    )


def defrag(args: argparse.Namespace) -> None:
    path = os.path.join(args.data_dir, "member", "snap", "db")
    if not os.path.exists(path):
        raise UtlError(f"open {path}: no such file or directory")
    backend = Backend(path)
    try:
        before = backend.size
        started = time.monotonic()
        log.info(
            "defragmenting",
            path=path,
            **{"current-db-size-bytes": before, "current-db-size": humanize_bytes(before)},
        )
        backend.defrag()
        after = backend.size
        log.info(
            "finished defragmenting directory",
            path=path,
            took=f"{time.monotonic() - started:.3f}s",
            **{
                "current-db-size-bytes-diff": after - before,
                "current-db-size-bytes": after,
                "current-db-size": humanize_bytes(after),
            },
        )
    finally:
        backend.close()
    print(f"Finished defragmenting etcd data[{args.data_dir}]")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="etcdutl", description="Offline tools for etcd data directories and snapshot files (etcd-py)."
    )
    # The global -w is accepted before or after the command, as cobra accepts it.
    formats = ["simple", "json", "table", "fields"]
    p.add_argument(
        "-w", "--write-out", default="simple", choices=formats, help="output format (default simple)"
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-w", "--write-out", default=argparse.SUPPRESS, choices=formats, help="output format (default simple)"
    )
    sub = p.add_subparsers(dest="command", metavar="command")
    snap = sub.add_parser("snapshot", help="Manages etcd node snapshots")
    snap_sub = snap.add_subparsers(dest="snapshot_command", metavar="subcommand")
    restore = snap_sub.add_parser(
        "restore", parents=[common], help="Restores an etcd member snapshot to an etcd directory"
    )
    restore.add_argument("file")
    restore.add_argument("--data-dir", default="", help="Path to the data directory (default <name>.etcd)")
    restore.add_argument(
        "--wal-dir", default="", help="Path to the WAL directory (default <data-dir>/member/wal)"
    )
    restore.add_argument("--name", default="default", help="Human-readable name for this member")
    restore.add_argument(
        "--initial-cluster",
        default="default=http://localhost:2380",
        help="Initial cluster configuration for restore bootstrap",
    )
    restore.add_argument(
        "--initial-cluster-token",
        default="etcd-cluster",
        help="Initial cluster token for the etcd cluster during restore bootstrap",
    )
    restore.add_argument(
        "--initial-advertise-peer-urls",
        default="http://localhost:2380",
        help="List of this member's peer URLs to advertise to the rest of the cluster",
    )
    restore.add_argument(
        "--skip-hash-check",
        action="store_true",
        help="Ignore snapshot integrity hash value (required if copied from data directory)",
    )
    status = snap_sub.add_parser(
        "status", parents=[common], help="Gets backend snapshot status of a given file"
    )
    status.add_argument("file")
    d = sub.add_parser("defrag", parents=[common], help="Defragments the storage of the etcd")
    d.add_argument("--data-dir", required=True, help="Path to the data directory")
    sub.add_parser("version", parents=[common], help="Prints the version of etcdutl")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    zaplog.configure(["stderr"], "info")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "version":
            print(f"etcdutl version: {SERVER_VERSION}\nAPI version: {API_VERSION}")
        elif args.command == "defrag":
            defrag(args)
        elif args.command == "snapshot" and args.snapshot_command == "restore":
            snapshot_restore(args)
        elif args.command == "snapshot" and args.snapshot_command == "status":
            print_status(snapshot_status(args.file), args.write_out)
        else:
            parser.print_help()
            return 0 if args.command is None else 1
    except UtlError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
