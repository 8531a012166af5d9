"""member add|remove|update|list|promote."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from etcdpy.cli.etcdctl import gofmt
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode
from etcdpy.cli.etcdctl.flags import Flag, Kind
from etcdpy.client import URLError

T = TypeVar("T")

LIST_LONG = """When --write-out is set to simple, this command prints out comma-separated member \
lists for each endpoint.
The items in the lists are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.
"""


def _member_id(inv: Invocation) -> int:
    if len(inv.args) != 1:
        raise CommandExit(ExitCode.BAD_ARGS, "member ID is not provided")
    try:
        return gofmt.parse_int(inv.args[0], 16, unsigned=True)
    except gofmt.GoSyntaxError as err:
        raise CommandExit(ExitCode.BAD_ARGS, f"bad member ID arg ({err}), expecting ID in Hex") from None


def _peer_urls(inv: Invocation) -> list[str]:
    text: str = inv.flag("peer-urls")
    if not text:
        raise CommandExit(ExitCode.BAD_ARGS, "member peer urls not provided")
    return text.split(",")


def _change(inv: Invocation, endpoint: str, call: Callable[[], T]) -> T:
    """One membership change; a peer URL the client refuses fails it before any request."""
    try:
        return inv.rpc(call, endpoint)
    except URLError as err:
        raise CommandExit(ExitCode.ERROR, str(err)) from None


def _add(inv: Invocation) -> None:
    if not inv.args:
        raise CommandExit(ExitCode.BAD_ARGS, "member name not provided")
    if len(inv.args) > 1:
        hints = "".join(f", did you mean --peer-urls={a}" for a in inv.args if a.lower().startswith("http"))
        raise CommandExit(ExitCode.BAD_ARGS, "too many arguments" + hints)
    urls = _peer_urls(inv)
    client = inv.client()
    learner: bool = inv.flag("learner")
    resp = _change(inv, client.endpoints[0], lambda: client.member_add(urls, learner=learner))
    inv.printer().member_add(resp, inv.args[0], inv.flag("peer-urls"))


def _remove(inv: Invocation) -> None:
    member_id = _member_id(inv)
    client = inv.client()
    inv.printer().member_remove(
        member_id, _change(inv, client.endpoints[0], lambda: client.member_remove(member_id))
    )


def _update(inv: Invocation) -> None:
    member_id = _member_id(inv)
    urls = _peer_urls(inv)
    client = inv.client()
    inv.printer().member_update(
        member_id, _change(inv, client.endpoints[0], lambda: client.member_update(member_id, urls))
    )


def _list(inv: Invocation) -> None:
    client = inv.client()
    inv.printer().member_list(inv.rpc(client.member_list, client.endpoints[0]))


def _promote(inv: Invocation) -> None:
    member_id = _member_id(inv)
    client = inv.client()
    inv.printer().member_promote(
        member_id, _change(inv, client.endpoints[0], lambda: client.member_promote(member_id))
    )


def _add_command() -> Command:
    return Command(
        "add <memberName> [options]",
        "Adds a member into the cluster",
        run=_add,
        flags=[
            Flag("peer-urls", Kind.STRING, "", "comma separated peer URLs for the new member."),
            Flag("learner", Kind.BOOL, False, "indicates if the new member is raft learner"),
        ],
    )


def _remove_command() -> Command:
    return Command("remove <memberID>", "Removes a member from the cluster", run=_remove)


def _update_command() -> Command:
    return Command(
        "update <memberID> [options]",
        "Updates a member in the cluster",
        run=_update,
        flags=[Flag("peer-urls", Kind.STRING, "", "comma separated peer URLs for the updated member.")],
    )


def list_command() -> Command:
    return Command("list", "Lists all members in the cluster", long=LIST_LONG, run=_list)


def _promote_command() -> Command:
    return Command(
        "promote <memberID>",
        "Promotes a non-voting member in the cluster",
        long="Promotes a non-voting learner member to a voting one in the cluster.\n",
        run=_promote,
    )


def command() -> Command:
    """The `member` group, subcommands in etcdctl's order."""
    return Command(
        "member <subcommand>",
        "Membership related commands",
        children=[_add_command(), _remove_command(), _update_command(), list_command(), _promote_command()],
    )
