"""user add|delete|get|list|passwd|grant-role|revoke-role."""

from __future__ import annotations

from functools import partial

from etcdpy.cli.etcdctl import auth_printers, password
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode
from etcdpy.cli.etcdctl.flags import Flag, Kind


def _args(inv: Invocation, count: int, message: str) -> list[str]:
    if len(inv.args) != count:
        raise CommandExit(ExitCode.BAD_ARGS, message)
    return inv.args


def _new_password(inv: Invocation, name: str) -> str:
    """The password for `name`: a word from stdin, or typed twice at a prompt (--interactive)."""
    if not inv.flag("interactive"):
        return password.scan_word(inv.stdin)
    first = inv.ask_password(f"Password of {name}: ")
    if not first:
        raise CommandExit(ExitCode.BAD_ARGS, "empty password")
    again = inv.ask_password(f"Type password of {name} again for confirmation: ")
    if first != again:
        raise CommandExit(ExitCode.BAD_ARGS, "given passwords are different")
    return first


def _add(inv: Invocation) -> None:
    (arg,) = _args(inv, 1, "user add command requires user name as its argument")
    inv.printer()
    no_password: bool = inv.flag("no-password")
    given: str = inv.flag("new-user-password")
    name, secret = arg, ""
    if no_password:
        pass
    elif given:
        secret = given
    elif ":" in arg:
        name, secret = arg.split(":", 1)
        if not name:
            raise CommandExit(ExitCode.BAD_ARGS, "empty user name is not allowed")
    else:
        secret = _new_password(inv, arg)
    client = inv.client()
    resp = inv.rpc(lambda: client.user_add(name, secret, no_password=no_password), client.endpoints[0])
    auth_printers.show(inv.printer(), resp, f"User {name} created\n")


def _delete(inv: Invocation) -> None:
    (name,) = _args(inv, 1, "user delete command requires user name as its argument")
    client = inv.client()
    resp = inv.rpc(lambda: client.user_delete(name), client.endpoints[0])
    auth_printers.show(inv.printer(), resp, f"User {name} deleted\n")


def _get(inv: Invocation) -> None:
    (name,) = _args(inv, 1, "user get command requires user name as its argument")
    client = inv.client()
    endpoint = client.endpoints[0]
    resp = inv.rpc(lambda: client.user_get(name), endpoint)
    if not inv.flag("detail"):
        auth_printers.user_get(inv.printer(), name, resp)
        return
    inv.out(f"User: {name}\n")
    for role in resp.roles:
        inv.out("\n")
        auth_printers.role_get(inv.printer(), role, inv.rpc(partial(client.role_get, role), endpoint))


def _list(inv: Invocation) -> None:
    _args(inv, 0, "user list command requires no arguments")
    client = inv.client()
    auth_printers.user_list(inv.printer(), inv.rpc(client.user_list, client.endpoints[0]))


def _passwd(inv: Invocation) -> None:
    (name,) = _args(inv, 1, "user passwd command requires user name as its argument")
    inv.printer()
    secret = _new_password(inv, name)
    client = inv.client()
    resp = inv.rpc(lambda: client.user_change_password(name, secret), client.endpoints[0])
    auth_printers.show(inv.printer(), resp, "Password updated\n")


def _grant_role(inv: Invocation) -> None:
    user, role = _args(inv, 2, "user grant command requires user name and role name as its argument")
    client = inv.client()
    resp = inv.rpc(lambda: client.user_grant_role(user, role), client.endpoints[0])
    auth_printers.show(inv.printer(), resp, f"Role {role} is granted to user {user}\n")


def _revoke_role(inv: Invocation) -> None:
    user, role = _args(inv, 2, "user revoke-role requires user name and role name as its argument")
    client = inv.client()
    resp = inv.rpc(lambda: client.user_revoke_role(user, role), client.endpoints[0])
    auth_printers.show(inv.printer(), resp, f"Role {role} is revoked from user {user}\n")


def _interactive(usage: str) -> Flag:
    return Flag("interactive", Kind.BOOL, True, usage)


def command() -> Command:
    return Command(
        "user <subcommand>",
        "User related commands",
        children=[
            Command(
                "add <user name or user:password> [options]",
                "Adds a new user",
                run=_add,
                flags=[
                    _interactive("Read password from stdin instead of interactive terminal"),
                    Flag("new-user-password", Kind.STRING, "", "Supply password from the command line flag"),
                    Flag(
                        "no-password", Kind.BOOL, False, "Create a user without password (CN based auth only)"
                    ),
                ],
            ),
            Command("delete <user name>", "Deletes a user", run=_delete),
            Command(
                "get <user name> [options]",
                "Gets detailed information of a user",
                run=_get,
                flags=[Flag("detail", Kind.BOOL, False, "Show permissions of roles granted to the user")],
            ),
            Command("list", "Lists all users", run=_list),
            Command(
                "passwd <user name> [options]",
                "Changes password of user",
                run=_passwd,
                flags=[_interactive("If true, read password from stdin instead of interactive terminal")],
            ),
            Command("grant-role <user name> <role name>", "Grants a role to a user", run=_grant_role),
            Command("revoke-role <user name> <role name>", "Revokes a role from a user", run=_revoke_role),
        ],
    )
