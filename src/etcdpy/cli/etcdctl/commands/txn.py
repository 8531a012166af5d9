"""txn: compares, then success and failure requests, read from stdin in etcdctl's grammar.

<target>("<key>") <op> "<value>"      target: c|create, m|mod, ver|version, val|value, lease
<blank line>
put|get|del request lines, as on the command line
<blank line>
failure requests
<blank line>
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import BinaryIO, TypeVar

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.cli.etcdctl import gofmt, usage
from etcdpy.cli.etcdctl.command import Command, find
from etcdpy.cli.etcdctl.commands import kv
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode, GoPanic
from etcdpy.cli.etcdctl.flags import Flag, FlagError, HelpRequested, Kind
from etcdpy.client import txn
from etcdpy.pkg import goquote

Item = TypeVar("Item")

_INVALID = ExitCode.INVALID_INPUT
_ARG_PATTERN = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'|[^'\"\s]\S*[^'\"\s]?")
_TARGETS: dict[str, type[txn.Version] | type[txn.CreateRevision] | type[txn.ModRevision]] = {
    "ver": txn.Version,
    "version": txn.Version,
    "c": txn.CreateRevision,
    "create": txn.CreateRevision,
    "m": txn.ModRevision,
    "mod": txn.ModRevision,
}
_OPS = {"=": pb.Compare.EQUAL, "!=": pb.Compare.NOT_EQUAL, "<": pb.Compare.LESS, ">": pb.Compare.GREATER}


def _read_line(stdin: BinaryIO) -> str:
    line = stdin.readline()
    if not line.endswith(b"\n"):
        raise CommandExit(_INVALID, "EOF")
    return line.decode("utf-8", "surrogateescape").strip()


def _scan_quoted(text: str) -> tuple[bytes, str] | None:
    text = text.lstrip(" \t\r")
    if text.startswith("`"):
        end = text.find("`", 1)
        return None if end < 0 else (text[1:end].encode("utf-8", "surrogateescape"), text[end + 1 :])
    return gofmt.unquote_prefix(text)


def _scan_compare(text: str) -> tuple[bytes, str, bytes] | tuple[bytes, str] | tuple[bytes] | tuple[()]:
    """fmt.Sscanf(text, "%q) %s %q"): the values scanned before the first mismatch."""
    scanned = _scan_quoted(text)
    if scanned is None:
        return ()
    key, rest = scanned
    if not rest.startswith(")") or (rest[1:] and not rest[1].isspace()):
        return (key,)
    op = re.match(r"\S+", rest[1:].lstrip(" \t\r"))
    if op is None:
        return (key,)
    rest = rest[1:].lstrip(" \t\r")[op.end() :]
    if rest and not rest[0].isspace():
        return (key, op.group())
    value = _scan_quoted(rest)
    if value is None:
        return (key, op.group())
    return (key, op.group(), value[0])


def parse_compare(line: str) -> pb.Compare:
    target, paren, rest = line.partition("(")
    if not paren:
        raise CommandExit(_INVALID, f"malformed comparison: {line}")
    got = _scan_compare(rest)
    if len(got) != 3:
        key = got[0] if len(got) > 0 else b""
        op = got[1] if len(got) > 1 else ""
        shown = f"{target}({goquote.quote(key)}) {op} {goquote.quote(b'')}"
        raise CommandExit(_INVALID, f"malformed comparison: {line}; got {shown}")
    key, op, value = got
    if target in _TARGETS:
        try:
            number = gofmt.parse_int(value.decode("utf-8", "surrogateescape"))
        except gofmt.GoSyntaxError:
            raise CommandExit(_INVALID, f"invalid txn compare request: {line}") from None
        if op not in _OPS:
            raise GoPanic("Unknown result op")
        return _TARGETS[target](key).compare(op, number)
    if target in ("val", "value"):
        if op not in _OPS:
            raise GoPanic("Unknown result op")
        return txn.Value(key).compare(op, value)
    if target == "lease":
        # etcdctl hands the value over as a string, which its client rejects.
        raise GoPanic("Unknown result op" if op not in _OPS else "bad value")
    raise CommandExit(_INVALID, f"malformed comparison: {line} (unknown target {target})")


def argify(line: str) -> list[str]:
    """Split a request line as etcdctl does, quirks included."""
    args = _ARG_PATTERN.findall(line)
    for i, arg in enumerate(args):
        if arg.startswith("'"):
            # etcdctl slices by the number of arguments, not the argument's length.
            end = len(args) - 1
            if end < 1 or end > len(arg):
                bounds = f"[1:{end}]" if end < 1 else f"[:{end}] with length {len(arg)}"
                raise GoPanic(f"runtime error: slice bounds out of range {bounds}")
            args[i] = arg[1:end]
        elif arg.startswith('"'):
            scanned = gofmt.unquote_prefix(arg)
            if scanned is None:
                raise CommandExit(_INVALID, "invalid syntax")
            args[i] = scanned[0].decode("utf-8", "surrogateescape")
    return args


def _request_commands() -> Command:
    return Command(
        "",
        "",
        children=[
            Command(kv.PUT_USE, "", flags=kv.put_flags(), run=lambda inv: None),
            Command(kv.GET_USE, "", flags=kv.get_flags(), run=lambda inv: None),
            Command(kv.DEL_USE, "", flags=kv.del_flags(), run=lambda inv: None),
        ],
    )


def parse_request(line: str, stderr: Callable[[str], None]) -> pb.RequestOp:
    args = argify(line)
    if len(args) < 2:
        raise CommandExit(_INVALID, f"invalid txn compare request: {line}")
    invalid = CommandExit(_INVALID, f"invalid txn request: {line}")
    cmd, rest = find(_request_commands(), args)
    if cmd.parent is None:
        raise invalid
    flags = cmd.flag_set()
    try:
        positional = flags.parse(rest)
    except HelpRequested:
        raise invalid from None
    except FlagError:
        stderr(usage.cobra_usage(cmd, "") + "\n")
        raise invalid from None
    if cmd.name == "put":
        return kv.put_op(positional, flags.value, lambda: b"")
    if cmd.name == "get":
        return kv.get_op(positional, flags.value)
    return kv.del_op(positional, flags.value)


def _read_section(inv: Invocation, prompt: str, parse: Callable[[str], Item]) -> list[Item]:
    if inv.flag("interactive"):
        inv.out(prompt + "\n")
    items = []
    while line := _read_line(inv.stdin):
        items.append(parse(line))
    return items


def _txn(inv: Invocation) -> None:
    if inv.args:
        raise CommandExit(ExitCode.BAD_ARGS, "txn command does not accept argument")
    client = inv.client()

    def request(line: str) -> pb.RequestOp:
        return parse_request(line, inv.err)

    compares = _read_section(inv, "compares:", parse_compare)
    success = _read_section(inv, "success requests (get, put, del):", request)
    failure = _read_section(inv, "failure requests (get, put, del):", request)
    resp = inv.rpc(lambda: client.txn(compares, success, failure), client.endpoints[0])
    inv.printer().txn(resp)


def command() -> Command:
    return Command(
        "txn [options]",
        "Txn processes all the requests in one transaction",
        run=_txn,
        flags=[Flag("interactive", Kind.BOOL, False, "Input transaction in interactive mode", shorthand="i")],
    )
