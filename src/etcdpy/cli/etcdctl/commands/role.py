"""role add|delete|get|list|grant-permission|revoke-permission."""

from __future__ import annotations

from etcdpy.cli.etcdctl import auth_printers
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode
from etcdpy.cli.etcdctl.flags import Flag, Kind
from etcdpy.client import prefix_end
from etcdpy.client.auth import permission_type

_EXCLUSIVE = "--from-key and --prefix flags are mutually exclusive"


def _name(inv: Invocation, message: str) -> str:
    if len(inv.args) != 1:
        raise CommandExit(ExitCode.BAD_ARGS, message)
    return inv.args[0]


def _arg_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _perm_range(inv: Invocation, args: list[str]) -> tuple[bytes, bytes]:
    """(key, range_end) of a permission from `<key> [endkey]` and --prefix/--from-key.

    An empty key stands for b"\\0" (the lowest key); with either flag, for every key.
    """
    prefix: bool = inv.flag("prefix")
    from_key: bool = inv.flag("from-key")
    key = _arg_bytes(args[0])
    if not key:
        if prefix and from_key:
            raise CommandExit(ExitCode.BAD_ARGS, _EXCLUSIVE)
        return b"\0", b"\0" if prefix or from_key else b""
    if len(args) == 1:
        if prefix and from_key:
            raise CommandExit(ExitCode.BAD_ARGS, _EXCLUSIVE)
        if prefix:
            return key, prefix_end(key)
        return key, b"\0" if from_key else b""
    for flag, given in (("prefix", prefix), ("from-key", from_key)):
        if given:
            raise CommandExit(ExitCode.BAD_ARGS, f"unexpected endkey argument with --{flag} flag")
    return key, _arg_bytes(args[1])


def _add(inv: Invocation) -> None:
    role = _name(inv, "role add command requires role name as its argument")
    client = inv.client()
    resp = inv.rpc(lambda: client.role_add(role), client.endpoints[0])
    auth_printers.show(inv.printer(), resp, f"Role {role} created\n")


def _delete(inv: Invocation) -> None:
    role = _name(inv, "role delete command requires role name as its argument")
    client = inv.client()
    resp = inv.rpc(lambda: client.role_delete(role), client.endpoints[0])
    auth_printers.show(inv.printer(), resp, f"Role {role} deleted\n")


def _get(inv: Invocation) -> None:
    role = _name(inv, "role get command requires role name as its argument")
    client = inv.client()
    auth_printers.role_get(inv.printer(), role, inv.rpc(lambda: client.role_get(role), client.endpoints[0]))


def _list(inv: Invocation) -> None:
    if inv.args:
        raise CommandExit(ExitCode.BAD_ARGS, "role list command requires no arguments")
    client = inv.client()
    auth_printers.role_list(inv.printer(), inv.rpc(client.role_list, client.endpoints[0]))


def _grant(inv: Invocation) -> None:
    if len(inv.args) < 3:
        raise CommandExit(
            ExitCode.BAD_ARGS,
            "role grant command requires role name, permission type, and key [endkey] as its argument",
        )
    role, kind = inv.args[:2]
    try:
        perm = permission_type(kind)
    except ValueError as err:
        raise CommandExit(ExitCode.BAD_ARGS, str(err)) from None
    key, end = _perm_range(inv, inv.args[2:])
    client = inv.client()
    resp = inv.rpc(lambda: client.role_grant_permission(role, perm, key, end), client.endpoints[0])
    auth_printers.show(inv.printer(), resp, f"Role {role} updated\n")


def _revoke(inv: Invocation) -> None:
    if len(inv.args) < 2:
        raise CommandExit(
            ExitCode.BAD_ARGS,
            "role revoke-permission command requires role name and key [endkey] as its argument",
        )
    role = inv.args[0]
    key, end = _perm_range(inv, inv.args[1:])
    client = inv.client()
    resp = inv.rpc(lambda: client.role_revoke_permission(role, key, end), client.endpoints[0])
    auth_printers.role_revoke_permission(inv.printer(), role, _arg_bytes(inv.args[1]), end, resp)


def _range_flags(verb: str) -> list[Flag]:
    return [
        Flag("prefix", Kind.BOOL, False, f"{verb} a prefix permission"),
        Flag(
            "from-key",
            Kind.BOOL,
            False,
            f"{verb} a permission of keys that are greater than or equal to the given key using byte compare",
        ),
    ]


def command() -> Command:
    return Command(
        "role <subcommand>",
        "Role related commands",
        children=[
            Command("add <role name>", "Adds a new role", run=_add),
            Command("delete <role name>", "Deletes a role", run=_delete),
            Command("get <role name>", "Gets detailed information of a role", run=_get),
            Command("list", "Lists all roles", run=_list),
            Command(
                "grant-permission [options] <role name> <permission type> <key> [endkey]",
                "Grants a key to a role",
                run=_grant,
                flags=_range_flags("grant"),
            ),
            Command(
                "revoke-permission <role name> <key> [endkey]",
                "Revokes a key from a role",
                run=_revoke,
                flags=_range_flags("revoke"),
            ),
        ],
    )
