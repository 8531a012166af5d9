"""move-leader: find the leader among --endpoints and have it hand leadership to a member."""

from __future__ import annotations

import functools

from etcdpy.cli.etcdctl import gofmt
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode


def _move_leader(inv: Invocation) -> None:
    if len(inv.args) != 1:
        raise CommandExit(ExitCode.BAD_ARGS, "move-leader command needs 1 argument")
    try:
        target = gofmt.parse_int(inv.args[0], 16, unsigned=True)
    except gofmt.GoSyntaxError as err:
        raise CommandExit(ExitCode.BAD_ARGS, str(err)) from None
    client = inv.client()
    for endpoint in client.endpoints:
        status = inv.rpc(functools.partial(client.status, endpoint), endpoint)
        if status.header.member_id == status.leader:
            resp = inv.rpc(functools.partial(client.move_leader, target, endpoint), endpoint)
            inv.printer().move_leader(status.leader, target, resp)
            return
    raise CommandExit(ExitCode.BAD_ARGS, f"no leader endpoint given at [{' '.join(client.endpoints)}]")


def command() -> Command:
    return Command(
        "move-leader <transferee-member-id>",
        "Transfers leadership to another etcd cluster member.",
        run=_move_leader,
    )
