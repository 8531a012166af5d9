"""compaction, defrag, alarm list|disarm, snapshot save and version."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time

from etcdpy import version
from etcdpy.api import errors
from etcdpy.cli.etcdctl import gofmt
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.commands.endpoint import CLUSTER_FLAG_USAGE, endpoints_from_cluster
from etcdpy.cli.etcdctl.context import Invocation, go_error_text
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode, SilentExit
from etcdpy.cli.etcdctl.flags import Flag, Kind

# A snapshot is the db file followed by its sha256; etcd pads db files to 512-byte pages.
_SHA_SIZE = 32
_SECTOR = 512


def _compaction(inv: Invocation) -> None:
    if len(inv.args) != 1:
        raise CommandExit(ExitCode.BAD_ARGS, "compaction command needs 1 argument")
    try:
        revision = gofmt.parse_int(inv.args[0])
    except gofmt.GoSyntaxError as err:
        raise CommandExit(ExitCode.ERROR, str(err)) from None
    client = inv.client()
    physical = inv.flag("physical")
    inv.rpc(lambda: client.compact(revision, physical=physical), client.endpoints[0])
    inv.out(f"compacted revision {revision}\n")


def _defrag(inv: Invocation) -> None:
    if inv.flag("data-dir"):
        raise CommandExit(
            ExitCode.BAD_FEATURE,
            "defrag --data-dir is not supported by etcd-py's etcdctl; use etcdutl defrag",
        )
    client = inv.client()
    failures = 0
    for endpoint in endpoints_from_cluster(inv):
        try:
            client.defragment(endpoint)
        except errors.EtcdError as err:
            inv.log_rpc_failure(err, endpoint)
            inv.err(f"Failed to defragment etcd member[{endpoint}] ({err.message})\n")
            failures += 1
        else:
            inv.out(f"Finished defragmenting etcd member[{endpoint}]\n")
    if failures:
        raise SilentExit(ExitCode.ERROR)


def _alarm(inv: Invocation, disarm: bool) -> None:
    if inv.args:
        raise CommandExit(
            ExitCode.BAD_ARGS, f"alarm {'disarm' if disarm else 'list'} command accepts no arguments"
        )
    client = inv.client()
    call = client.alarm_disarm if disarm else client.alarm_list
    inv.printer().alarm(inv.rpc(call, client.endpoints[0]))


def _os_error(err: OSError) -> str:
    """The reason part of Go's *PathError text ("no such file or directory")."""
    return (err.strerror or str(err)).lower()


def _save_snapshot(inv: Invocation, path: str) -> None:
    """etcdctl's snapshot.Save: stream to <path>.part, check the trailing sha256, rename."""
    cfg = inv.client_config()
    if len(cfg.endpoints) != 1:
        listed = "[" + " ".join(cfg.endpoints) + "]"
        raise CommandExit(
            ExitCode.INTERRUPTED, f"snapshot must be requested to one selected node, not multiple {listed}"
        )
    endpoint = cfg.endpoints[0]
    timeout = inv.command_timeout if inv.flag_changed("command-timeout") else None
    client = inv.client(config=cfg)
    client.timeout = timeout
    part = path + ".part"
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as err:
        raise CommandExit(
            ExitCode.INTERRUPTED, f"could not open {part} (open {part}: {_os_error(err)})"
        ) from None
    try:
        inv.log(
            "info", "created temporary db file", caller="snapshot/v3_snapshot.go:68", fields={"path": part}
        )
        started = time.monotonic()
        digest = hashlib.sha256()
        size = 0
        tail = b""
        stream = client.snapshot(endpoint)
        opened = False
        try:
            for chunk in stream:
                if not opened:
                    opened = True
                    inv.log(
                        "info",
                        "opened snapshot stream; downloading",
                        logger="client",
                        caller="v3/maintenance.go:211",
                    )
                    inv.log(
                        "info",
                        "fetching snapshot",
                        caller="snapshot/v3_snapshot.go:76",
                        fields={"endpoint": endpoint},
                    )
                data = tail + chunk.blob
                digest.update(data[:-_SHA_SIZE])
                tail = data[-_SHA_SIZE:]
                os.write(fd, chunk.blob)
                size += len(chunk.blob)
        except errors.EtcdError as err:
            inv.log(
                "error",
                "streamer failed to create ClientStream",
                logger="client",
                caller="v3/retry_interceptor.go:135",
                fields={"error": go_error_text(err, endpoint)},
            )
            raise CommandExit(ExitCode.INTERRUPTED, err.message) from None
        if not opened:
            inv.log(
                "info", "opened snapshot stream; downloading", logger="client", caller="v3/maintenance.go:211"
            )
            inv.log(
                "info",
                "fetching snapshot",
                caller="snapshot/v3_snapshot.go:76",
                fields={"endpoint": endpoint},
            )
        inv.log("info", "completed snapshot read; closing", logger="client", caller="v3/maintenance.go:219")
        if size % _SECTOR != _SHA_SIZE:
            raise CommandExit(ExitCode.INTERRUPTED, f"sha256 checksum not found [bytes: {size}]")
        if digest.digest() != tail:
            raise CommandExit(
                ExitCode.INTERRUPTED,
                f"sha256 checksum mismatch: expected {tail.hex()}, got {digest.hexdigest()}",
            )
        os.fsync(fd)
    finally:
        os.close(fd)
        client.close()
    inv.log(
        "info",
        "fetched snapshot",
        caller="snapshot/v3_snapshot.go:91",
        fields={
            "endpoint": endpoint,
            "size": gofmt.humanize_bytes(size),
            "took": gofmt.humanize_since(time.monotonic() - started),
        },
    )
    try:
        os.replace(part, path)
    except OSError as err:
        raise CommandExit(
            ExitCode.INTERRUPTED,
            f"could not rename {part} to {path} (rename {part} {path}: {_os_error(err)})",
        ) from None
    inv.log("info", "saved", caller="snapshot/v3_snapshot.go:100", fields={"path": path})


def _snapshot_save(inv: Invocation) -> None:
    if len(inv.args) != 1:
        raise CommandExit(ExitCode.BAD_ARGS, "snapshot save expects one argument")
    path = inv.args[0]
    try:
        _save_snapshot(inv, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + ".part")
    inv.out(f"Snapshot saved at {path}\n")


def _version(inv: Invocation) -> None:
    inv.out(f"etcdctl version: {version.SERVER_VERSION}\nAPI version: {version.API_VERSION}\n")


def commands() -> list[Command]:
    return [
        Command(
            "compaction [options] <revision>",
            "Compacts the event history in etcd",
            run=_compaction,
            flags=[
                Flag(
                    "physical",
                    Kind.BOOL,
                    False,
                    "'true' to wait for compaction to physically remove all old revisions",
                )
            ],
        ),
        Command(
            "defrag",
            "Defragments the storage of the etcd members with given endpoints",
            run=_defrag,
            flags=[
                Flag(
                    "data-dir",
                    Kind.STRING,
                    "",
                    "Optional. If present, defragments a data directory not in use by etcd.",
                )
            ],
            persistent=[Flag("cluster", Kind.BOOL, False, CLUSTER_FLAG_USAGE)],
        ),
        Command(
            "alarm <subcommand>",
            "Alarm related commands",
            children=[
                Command("disarm", "Disarms all alarms", run=lambda inv: _alarm(inv, True)),
                Command("list", "Lists all alarms", run=lambda inv: _alarm(inv, False)),
            ],
        ),
        Command("version", "Prints the version of etcdctl", run=_version),
    ]


def snapshot_save_command() -> Command:
    return Command(
        "save <filename>", "Stores an etcd node backend snapshot to a given file", run=_snapshot_save
    )
