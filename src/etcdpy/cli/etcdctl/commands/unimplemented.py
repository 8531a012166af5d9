"""etcdctl 3.5 commands etcd-py's etcdctl does not implement yet.

They are declared with their real usage and flags so that help and command lookup
match etcdctl; running one ends with exit 4 (etcdctl's "unsupported feature").
"""

from __future__ import annotations

from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode
from etcdpy.cli.etcdctl.flags import Flag, Kind


def _not_implemented(inv: Invocation) -> None:
    raise CommandExit(ExitCode.BAD_FEATURE, f'"{inv.cmd.path()}" is not implemented by etcd-py yet')


def _cmd(use: str, short: str, *flags: Flag, long: str = "") -> Command:
    return Command(use, short, long=long, run=_not_implemented, flags=list(flags))


def _bool(name: str, usage: str, default: bool = False, shorthand: str = "") -> Flag:
    return Flag(name, Kind.BOOL, default, usage, shorthand=shorthand)


def _str(name: str, usage: str, default: str = "") -> Flag:
    return Flag(name, Kind.STRING, default, usage)


def commands() -> list[Command]:
    """Top-level commands that are entirely unimplemented."""
    return [
        _cmd(
            "make-mirror [options] <destination>",
            "Makes a mirror at the destination etcd cluster",
            _str("prefix", "Key-value prefix to mirror"),
            _str(
                "dest-prefix",
                "destination prefix to mirror a prefix to a different prefix in the destination cluster",
            ),
            _bool("no-dest-prefix", "mirror key-values to the root of the destination cluster"),
            _str(
                "dest-cert",
                "Identify secure client using this TLS certificate file for the destination cluster",
            ),
            _str("dest-key", "Identify secure client using this TLS key file"),
            _str("dest-cacert", "Verify certificates of TLS enabled secure servers using this CA bundle"),
            _bool(
                "dest-insecure-transport", "Disable transport security for client connections", default=True
            ),
            _str(
                "dest-user",
                "Destination username[:password] for authentication (prompt if password is not supplied)",
            ),
            _str(
                "dest-password",
                "Destination password for authentication (if this option is used, --user option "
                "shouldn't include password)",
            ),
        ),
    ]


def snapshot_commands() -> list[Command]:
    return [
        _cmd(
            "restore <filename> [options]",
            "Restores an etcd member snapshot to an etcd directory",
            _str("data-dir", "Path to the data directory"),
            _str("wal-dir", "Path to the WAL directory (use --data-dir if none given)"),
            _str(
                "initial-cluster",
                "Initial cluster configuration for restore bootstrap",
                "default=http://localhost:2380",
            ),
            _str(
                "initial-cluster-token",
                "Initial cluster token for the etcd cluster during restore bootstrap",
                "etcd-cluster",
            ),
            _str(
                "initial-advertise-peer-urls",
                "List of this member's peer URLs to advertise to the rest of the cluster",
                "http://localhost:2380",
            ),
            _str("name", "Human-readable name for this member", "default"),
            _bool(
                "skip-hash-check",
                "Ignore snapshot integrity hash value (required if copied from data directory)",
            ),
            long="Moved to `etcdctl snapshot restore ...`\n",
        ),
        _cmd(
            "status <filename>",
            "[deprecated] Gets backend snapshot status of a given file",
            long="When --write-out is set to simple, this command prints out comma-separated status "
            "lists for each endpoint.\n"
            "The items in the lists are hash, revision, total keys, total size.\n\n"
            "Moved to 'etcdctl snapshot status ...'\n",
        ),
    ]


def check_datascale_command() -> Command:
    return _cmd(
        "datascale [options]",
        "Check the memory usage of holding data for different workloads on a given server endpoint.",
        _str(
            "load",
            "The datascale check's workload model. Accepted workloads: s(small), m(medium), "
            "l(large), xl(xLarge)",
            "s",
        ),
        _str("prefix", "The prefix for writing the datascale check's keys.", "/etcdctl-check-datascale/"),
        _bool("auto-compact", "Compact storage with last revision after test is finished."),
        _bool("auto-defrag", "Defragment storage after test is finished."),
        long="If no endpoint is provided, localhost will be used. If multiple endpoints are "
        "provided, first endpoint will be used.",
    )
