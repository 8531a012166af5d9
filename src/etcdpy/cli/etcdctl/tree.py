"""The etcdctl command tree with its global flags."""

from __future__ import annotations

from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.commands import (
    auth,
    check,
    elect,
    endpoint,
    kv,
    lease,
    lock,
    maintenance,
    member,
    move_leader,
    role,
    txn,
    unimplemented,
    user,
    watch,
)
from etcdpy.cli.etcdctl.flags import Flag, Kind


def global_flags() -> list[Flag]:
    return [
        Flag("endpoints", Kind.STRINGS, ["127.0.0.1:2379"], "gRPC endpoints"),
        Flag("debug", Kind.BOOL, False, "enable client-side debug logging"),
        Flag(
            "write-out",
            Kind.STRING,
            "simple",
            "set the output format (fields, json, protobuf, simple, table)",
            shorthand="w",
        ),
        Flag("hex", Kind.BOOL, False, "print byte strings as hex encoded strings"),
        Flag("dial-timeout", Kind.DURATION, 2.0, "dial timeout for client connections"),
        Flag(
            "command-timeout",
            Kind.DURATION,
            5.0,
            "timeout for short running command (excluding dial timeout)",
        ),
        Flag("keepalive-time", Kind.DURATION, 2.0, "keepalive time for client connections"),
        Flag("keepalive-timeout", Kind.DURATION, 6.0, "keepalive timeout for client connections"),
        Flag("insecure-transport", Kind.BOOL, True, "disable transport security for client connections"),
        Flag(
            "insecure-discovery", Kind.BOOL, True, "accept insecure SRV records describing cluster endpoints"
        ),
        Flag(
            "insecure-skip-tls-verify",
            Kind.BOOL,
            False,
            "skip server certificate verification (CAUTION: this option should be enabled only for "
            "testing purposes)",
        ),
        Flag("cert", Kind.STRING, "", "identify secure client using this TLS certificate file"),
        Flag("key", Kind.STRING, "", "identify secure client using this TLS key file"),
        Flag(
            "cacert",
            Kind.STRING,
            "",
            "verify certificates of TLS-enabled secure servers using this CA bundle",
        ),
        Flag(
            "user",
            Kind.STRING,
            "",
            "username[:password] for authentication (prompt if password is not supplied)",
        ),
        Flag(
            "password",
            Kind.STRING,
            "",
            "password for authentication (if this option is used, --user option shouldn't include password)",
        ),
        Flag(
            "discovery-srv",
            Kind.STRING,
            "",
            "domain name to query for SRV records describing cluster endpoints",
            shorthand="d",
        ),
        Flag("discovery-srv-name", Kind.STRING, "", "service name to query when using DNS discovery"),
    ]


def help_command() -> Command:
    """cobra's `help [command]`; the dispatcher gives it its behaviour."""
    return Command("help [command]", "Help about any command", run=lambda inv: None)


def build() -> Command:
    """The root command; children in etcdctl's order, which its suggestions follow."""
    get, put, delete = kv.commands()
    compaction, defrag, alarm, version = maintenance.commands()
    unlisted = {c.name: c for c in unimplemented.commands()}
    return Command(
        "etcdctl",
        "A simple command line client for etcd3.",
        persistent=global_flags(),
        children=[
            get,
            put,
            delete,
            txn.command(),
            compaction,
            alarm,
            defrag,
            endpoint.command(),
            move_leader.command(),
            watch.command(),
            version,
            lease.command(),
            member.command(),
            Command(
                "snapshot <subcommand>",
                "Manages etcd node snapshots",
                children=[maintenance.snapshot_save_command(), *unimplemented.snapshot_commands()],
            ),
            unlisted["make-mirror"],
            lock.command(),
            elect.command(),
            auth.command(),
            user.command(),
            role.command(),
            check.command(),
            help_command(),
        ],
    )
