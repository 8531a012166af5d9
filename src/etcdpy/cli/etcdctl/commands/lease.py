"""lease grant|revoke|timetolive|list|keep-alive."""

from __future__ import annotations

from etcdpy.api import errors
from etcdpy.cli.etcdctl import gofmt
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode
from etcdpy.cli.etcdctl.flags import Flag, Kind
from etcdpy.cli.etcdctl.printers import SimplePrinter


def _bad_args(message: str) -> CommandExit:
    return CommandExit(ExitCode.BAD_ARGS, message)


def lease_id(arg: str) -> int:
    """etcdctl's leaseFromArgs: a signed 64-bit hex ID."""
    try:
        return gofmt.parse_int(arg, 16)
    except gofmt.GoSyntaxError as err:
        raise _bad_args(f"bad lease ID arg ({err}), expecting ID in Hex") from None


def _one_arg(inv: Invocation, message: str) -> str:
    if len(inv.args) != 1:
        raise _bad_args(message)
    return inv.args[0]


def _grant(inv: Invocation) -> None:
    arg = _one_arg(inv, "lease grant command needs TTL argument")
    try:
        ttl = gofmt.parse_int(arg, 10)
    except gofmt.GoSyntaxError as err:
        raise _bad_args(f"bad TTL ({err})") from None
    client = inv.client()
    try:
        resp = inv.rpc(lambda: client.grant(ttl), client.endpoints[0])
    except CommandExit as exit_:
        raise CommandExit(exit_.code, f"failed to grant lease ({exit_.message})") from None
    inv.printer().lease_grant(resp)


def _revoke(inv: Invocation) -> None:
    lid = lease_id(_one_arg(inv, "lease revoke command needs 1 argument"))
    client = inv.client()
    try:
        resp = inv.rpc(lambda: client.revoke(lid), client.endpoints[0])
    except CommandExit as exit_:
        raise CommandExit(exit_.code, f"failed to revoke lease ({exit_.message})") from None
    inv.printer().lease_revoke(lid, resp)


def _connection_error(err: errors.EtcdError) -> CommandExit:
    return CommandExit(ExitCode.BAD_CONNECTION, err.message)


def _time_to_live(inv: Invocation) -> None:
    lid = lease_id(_one_arg(inv, "lease timetolive command needs lease ID as argument"))
    keys: bool = inv.flag("keys")
    client = inv.client()
    try:
        resp = client.time_to_live(lid, keys=keys)
    except errors.EtcdError as err:
        raise _connection_error(err) from None
    inv.printer().lease_time_to_live(resp, keys)


def _list(inv: Invocation) -> None:
    client = inv.client()
    try:
        resp = client.leases()
    except errors.EtcdError as err:
        raise _connection_error(err) from None
    inv.printer().lease_leases(resp)


def _keep_alive(inv: Invocation) -> None:
    lid = lease_id(_one_arg(inv, "lease keep-alive command needs lease ID as argument"))
    client = inv.client()
    printer = inv.printer()
    try:
        if inv.flag("once"):
            printer.lease_keep_alive(client.keep_alive_once(lid))
            return
        for resp in client.keep_alive(lid):
            printer.lease_keep_alive(resp)
            inv.stdout.flush()
    except errors.EtcdError as err:
        raise _connection_error(err) from None
    if isinstance(printer, SimplePrinter):
        inv.out(f"lease {lid:016x} expired or revoked.\n")


def command() -> Command:
    """The `lease` group, subcommands in etcdctl's order."""
    return Command(
        "lease <subcommand>",
        "Lease related commands",
        children=[
            Command("grant <ttl>", "Creates leases", run=_grant),
            Command("revoke <leaseID>", "Revokes leases", run=_revoke),
            Command(
                "timetolive <leaseID> [options]",
                "Get lease information",
                run=_time_to_live,
                flags=[Flag("keys", Kind.BOOL, False, "Get keys attached to this lease")],
            ),
            Command("list", "List all active leases", run=_list),
            Command(
                "keep-alive [options] <leaseID>",
                "Keeps leases alive (renew)",
                run=_keep_alive,
                flags=[
                    Flag(
                        "once",
                        Kind.BOOL,
                        False,
                        "Resets the keep-alive time to its original value and cobrautl.Exits immediately",
                    )
                ],
            ),
        ],
    )
