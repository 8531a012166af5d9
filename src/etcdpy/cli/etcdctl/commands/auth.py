"""auth enable|disable|status."""

from __future__ import annotations

from etcdpy.api import errors
from etcdpy.cli.etcdctl import auth_printers
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode


def _no_args(inv: Invocation) -> None:
    if inv.args:
        raise CommandExit(
            ExitCode.BAD_ARGS,
            f"{inv.cmd.path().removeprefix('etcdctl ')} command does not accept any arguments",
        )


def _enable(inv: Invocation) -> None:
    _no_args(inv)
    client = inv.client()
    endpoint = client.endpoints[0]
    # As etcdctl: a missing root role is created and granted to root, then enabling is retried.
    while True:
        try:
            client.auth_enable()
            break
        except errors.EtcdError as err:
            inv.log_rpc_failure(err, endpoint)
            if err != errors.ROOT_ROLE_NOT_EXIST:
                raise CommandExit(ExitCode.ERROR, err.message) from None
        inv.rpc(lambda: client.role_add("root"), endpoint)
        inv.rpc(lambda: client.user_grant_role("root", "root"), endpoint)
    inv.out("Authentication Enabled\n")


def _disable(inv: Invocation) -> None:
    _no_args(inv)
    client = inv.client()
    inv.rpc(client.auth_disable, client.endpoints[0])
    inv.out("Authentication Disabled\n")


def _status(inv: Invocation) -> None:
    _no_args(inv)
    client = inv.client()
    auth_printers.auth_status(inv.printer(), inv.rpc(client.auth_status, client.endpoints[0]))


def command() -> Command:
    return Command(
        "auth <enable or disable>",
        "Enable or disable authentication",
        children=[
            Command("enable", "Enables authentication", run=_enable),
            Command("disable", "Disables authentication", run=_disable),
            Command("status", "Returns authentication status", run=_status),
        ],
    )
