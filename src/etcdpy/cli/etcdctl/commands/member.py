"""member list (and, listed for help, the membership changes etcd-py's etcdctl lacks so far)."""

from __future__ import annotations

from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.context import Invocation

LIST_LONG = """When --write-out is set to simple, this command prints out comma-separated member \
lists for each endpoint.
The items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.
"""


def _list(inv: Invocation) -> None:
    client = inv.client()
    inv.printer().member_list(inv.rpc(client.member_list, client.endpoints[0]))


def list_command() -> Command:
    return Command("list", "Lists all members in the cluster", long=LIST_LONG, run=_list)
