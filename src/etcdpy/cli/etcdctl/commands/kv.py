"""get, put and del; their argument handling is shared with `txn`'s request lines."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.cli.etcdctl import gofmt
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode
from etcdpy.cli.etcdctl.flags import Flag, Kind
from etcdpy.cli.etcdctl.printers import SimplePrinter
from etcdpy.client import txn
from etcdpy.pkg import goquote

FlagValue = Callable[[str], Any]

_SORT_ORDERS = {
    "ASCEND": pb.RangeRequest.ASCEND,
    "DESCEND": pb.RangeRequest.DESCEND,
    "": pb.RangeRequest.NONE,
}
_SORT_TARGETS = {
    "CREATE": pb.RangeRequest.CREATE,
    "KEY": pb.RangeRequest.KEY,
    "MODIFY": pb.RangeRequest.MOD,
    "VALUE": pb.RangeRequest.VALUE,
    "VERSION": pb.RangeRequest.VERSION,
    "": pb.RangeRequest.KEY,
}


def _bad_args(message: str) -> CommandExit:
    return CommandExit(ExitCode.BAD_ARGS, message)


def get_flags() -> list[Flag]:
    return [
        Flag("consistency", Kind.STRING, "l", "Linearizable(l) or Serializable(s)"),
        Flag("order", Kind.STRING, "", "Order of results; ASCEND or DESCEND (ASCEND by default)"),
        Flag("sort-by", Kind.STRING, "", "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION"),
        Flag("limit", Kind.INT, 0, "Maximum number of results"),
        Flag("prefix", Kind.BOOL, False, "Get keys with matching prefix"),
        Flag(
            "from-key",
            Kind.BOOL,
            False,
            "Get keys that are greater than or equal to the given key using byte compare",
        ),
        Flag("rev", Kind.INT, 0, "Specify the kv revision"),
        Flag("keys-only", Kind.BOOL, False, "Get only the keys"),
        Flag("count-only", Kind.BOOL, False, "Get only the count"),
        Flag("print-value-only", Kind.BOOL, False, 'Only write values when using the "simple" output format'),
    ]


def put_flags() -> list[Flag]:
    return [
        Flag("lease", Kind.STRING, "0", "lease ID (in hexadecimal) to attach to the key"),
        Flag("prev-kv", Kind.BOOL, False, "return the previous key-value pair before modification"),
        Flag("ignore-value", Kind.BOOL, False, "updates the key using its current value"),
        Flag("ignore-lease", Kind.BOOL, False, "updates the key using its current lease"),
    ]


def del_flags() -> list[Flag]:
    return [
        Flag("prefix", Kind.BOOL, False, "delete keys with matching prefix"),
        Flag("prev-kv", Kind.BOOL, False, "return deleted key-value pairs"),
        Flag(
            "from-key",
            Kind.BOOL,
            False,
            "delete keys that are greater than or equal to the given key using byte compare",
        ),
    ]


def _range_args(args: list[str], flag: FlagValue) -> tuple[bytes, bytes]:
    key = os.fsencode(args[0])
    if len(args) > 1:
        if flag("prefix") or flag("from-key"):
            raise _bad_args(
                "too many arguments, only accept one argument when `--prefix` or `--from-key` is set"
            )
        return key, os.fsencode(args[1])
    return key, b""


def _exclusive_range_flags(flag: FlagValue) -> None:
    if flag("prefix") and flag("from-key"):
        raise _bad_args("`--prefix` and `--from-key` cannot be set at the same time, choose one")


def get_options(args: list[str], flag: FlagValue) -> tuple[bytes, bytes, dict[str, Any]]:
    """etcdctl's getGetOp: (key, range_end, Client.get options), or the exit it demands."""
    if not args:
        raise _bad_args("get command needs one argument as key and an optional argument as range_end")
    _exclusive_range_flags(flag)
    if flag("keys-only") and flag("count-only"):
        raise _bad_args("`--keys-only` and `--count-only` cannot be set at the same time, choose one")
    consistency = flag("consistency")
    if consistency not in ("l", "s"):
        raise CommandExit(ExitCode.BAD_FEATURE, f"unknown consistency flag {goquote.quote(consistency)}")
    key, range_end = _range_args(args, flag)
    order = _SORT_ORDERS.get(flag("order").upper())
    if order is None:
        raise CommandExit(ExitCode.BAD_FEATURE, f"bad sort order {flag('order')}")
    target = _SORT_TARGETS.get(flag("sort-by").upper())
    if target is None:
        raise CommandExit(ExitCode.BAD_FEATURE, f"bad sort target {flag('sort-by')}")
    options = {
        "prefix": flag("prefix"),
        "from_key": flag("from-key"),
        "limit": flag("limit"),
        "revision": max(0, flag("rev")),
        "sort_order": order,
        "sort_target": target,
        "serializable": consistency == "s",
        "keys_only": flag("keys-only"),
        "count_only": flag("count-only"),
    }
    return key, range_end, options


def put_options(
    args: list[str], flag: FlagValue, stdin: Callable[[], bytes]
) -> tuple[bytes, bytes, dict[str, Any]]:
    """etcdctl's getPutOp: (key, value, Client.put options); the value may come from stdin."""
    needs = "put command needs 1 argument and input from stdin or 2 arguments"
    if not args:
        raise _bad_args(needs)
    if flag("ignore-value") and len(args) > 1:
        raise _bad_args("put command needs only 1 argument when 'ignore-value' is set")
    value = b""
    if not flag("ignore-value"):
        value = os.fsencode(args[1]) if len(args) > 1 else stdin()
        if len(args) < 2 and not value:
            raise _bad_args(needs)
    try:
        lease = gofmt.parse_int(flag("lease"), 16)
    except gofmt.GoSyntaxError as err:
        raise _bad_args(f"bad lease ID ({err}), expecting ID in Hex") from None
    options = {
        "lease": lease,
        "prev_kv": flag("prev-kv"),
        "ignore_value": flag("ignore-value"),
        "ignore_lease": flag("ignore-lease"),
    }
    return os.fsencode(args[0]), value, options


def del_options(args: list[str], flag: FlagValue) -> tuple[bytes, bytes, dict[str, Any]]:
    """etcdctl's getDelOp: (key, range_end, Client.delete options)."""
    if not args or len(args) > 2:
        raise _bad_args("del command needs one argument as key and an optional argument as range_end")
    _exclusive_range_flags(flag)
    key, range_end = _range_args(args, flag)
    return (
        key,
        range_end,
        {"prefix": flag("prefix"), "from_key": flag("from-key"), "prev_kv": flag("prev-kv")},
    )


def get_op(args: list[str], flag: FlagValue) -> pb.RequestOp:
    key, range_end, options = get_options(args, flag)
    return txn.get(key, range_end, **options)


def put_op(args: list[str], flag: FlagValue, stdin: Callable[[], bytes]) -> pb.RequestOp:
    key, value, options = put_options(args, flag, stdin)
    return txn.put(key, value, **options)


def del_op(args: list[str], flag: FlagValue) -> pb.RequestOp:
    key, range_end, options = del_options(args, flag)
    return txn.delete(key, range_end, **options)


def _get(inv: Invocation) -> None:
    key, range_end, options = get_options(inv.args, inv.flag)
    client = inv.client()
    endpoint = client.endpoints[0]
    resp = inv.rpc(lambda: client.get(key, range_end, **options), endpoint)
    printer = inv.printer()
    if inv.flag("count-only") and printer.name != "fields":
        raise _bad_args("--count-only is only for `--write-out=fields`")
    if inv.flag("print-value-only"):
        if not isinstance(printer, SimplePrinter):
            raise _bad_args("print-value-only is only for `--write-out=simple`")
        printer.value_only = True
    printer.get(resp)


def _put(inv: Invocation) -> None:
    key, value, options = put_options(inv.args, inv.flag, inv.stdin.read)
    client = inv.client()
    resp = inv.rpc(lambda: client.put(key, value, **options), client.endpoints[0])
    inv.printer().put(resp)


def _del(inv: Invocation) -> None:
    key, range_end, options = del_options(inv.args, inv.flag)
    client = inv.client()
    resp = inv.rpc(lambda: client.delete(key, range_end, **options), client.endpoints[0])
    inv.printer().delete(resp)


PUT_LONG = """
Puts the given key into the store.

When <value> begins with '-', <value> is interpreted as a flag.
Insert '--' for workaround:

$ put <key> -- <value>
$ put -- <key> <value>

If <value> isn't given as a command line argument and '--ignore-value' is not specified,
this command tries to read the value from standard input.

If <lease> isn't given as a command line argument and '--ignore-lease' is not specified,
this command tries to read the value from standard input.

For example,
$ cat file | put <key>
will store the content of the file to <key>.
"""

GET_USE = "get [options] <key> [range_end]"
PUT_USE = "put [options] <key> <value> (<value> can also be given from stdin)"
DEL_USE = "del [options] <key> [range_end]"


def commands() -> list[Command]:
    return [
        Command(GET_USE, "Gets the key or a range of keys", run=_get, flags=get_flags()),
        Command(PUT_USE, "Puts the given key into the store", long=PUT_LONG, run=_put, flags=put_flags()),
        Command(
            DEL_USE,
            "Removes the specified key or range of keys [key, range_end)",
            run=_del,
            flags=del_flags(),
        ),
    ]
