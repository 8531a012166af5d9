"""How etcdctl prints the Auth API's responses in each output format.

The json and protobuf formats print the response message itself; the fields format its
header (and, for some, a little more); the simple format a sentence; the table format
nothing (`table not supported as output format`).
"""

from __future__ import annotations

from typing import Protocol

from etcdpy.api.pb.authpb import auth_pb2
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.cli.etcdctl import gojson
from etcdpy.cli.etcdctl.printers import FieldsPrinter, Printer
from etcdpy.client import prefix_end
from etcdpy.pkg import goquote

# The fields format has no rendering for these responses.
NO_FIELDS = None


class _Response(Protocol):
    """Every Auth API response: a message with a header."""

    @property
    def header(self) -> pb.ResponseHeader: ...

    def SerializeToString(self, *, deterministic: bool = ...) -> bytes: ...


def show(printer: Printer, resp: _Response, simple: str, fields: str | None = "") -> None:
    """Print `resp`: `simple` is the simple format's text, `fields` what the fields format adds
    after the header (NO_FIELDS: that format cannot print it)."""
    if printer.name == "simple":
        printer.write(simple)
    elif printer.name == "json":
        printer.write(gojson.value(resp) + "\n")
    elif printer.name == "protobuf":
        printer.write(resp.SerializeToString())
    elif isinstance(printer, FieldsPrinter) and fields is not NO_FIELDS:
        printer.header(resp.header)
        printer.write(fields)
    else:
        raise printer.unsupported()


def _range(key: bytes, end: bytes) -> str:
    """A permission's range as etcdctl shows it, `[key, end)`, marking prefixes."""
    text = f"[{_raw(key)}, <open ended>" if end == b"\0" else f"[{_raw(key)}, {_raw(end)})"
    if prefix_end(key) == end:
        text += f" (prefix {_raw(key)})"
    return text


def _raw(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _perm_lines(resp: pb.AuthRoleGetResponse, types: tuple[int, int]) -> str:
    return "".join(
        f"\t{_raw(p.key) if not p.range_end else _range(p.key, p.range_end)}\n"
        for p in resp.perm
        if p.permType in types
    )


def role_get(printer: Printer, role: str, resp: pb.AuthRoleGetResponse) -> None:
    read = (auth_pb2.Permission.READ, auth_pb2.Permission.READWRITE)
    write = (auth_pb2.Permission.WRITE, auth_pb2.Permission.READWRITE)
    simple = f"Role {role}\nKV Read:\n{_perm_lines(resp, read)}KV Write:\n{_perm_lines(resp, write)}"
    fields = "".join(
        f'"PermType" :  {auth_pb2.Permission.Type.Name(p.permType)}\n'
        f'"Key" : {goquote.quote(p.key)}\n"RangeEnd" : {goquote.quote(p.range_end)}\n'
        for p in resp.perm
    )
    show(printer, resp, simple, fields)


def role_list(printer: Printer, resp: pb.AuthRoleListResponse) -> None:
    simple = "".join(f"{role}\n" for role in resp.roles)
    fields = '"Roles" :' + "".join(f" {goquote.quote(role)}" for role in resp.roles) + "\n"
    show(printer, resp, simple, fields)


def role_revoke_permission(
    printer: Printer, role: str, key: bytes, end: bytes, resp: pb.AuthRoleRevokePermissionResponse
) -> None:
    if not end:
        what = f"key {_raw(key)}"
    elif end == b"\0":
        what = f"range [{_raw(key)}, <open ended>"
    else:
        what = f"range [{_raw(key)}, {_raw(end)})"
    show(printer, resp, f"Permission of {what} is revoked from role {role}\n")


def user_get(printer: Printer, name: str, resp: pb.AuthUserGetResponse) -> None:
    roles = "".join(f" {role}" for role in resp.roles)
    show(printer, resp, f"User: {name}\nRoles:{roles}\n", NO_FIELDS)


def user_list(printer: Printer, resp: pb.AuthUserListResponse) -> None:
    show(printer, resp, "".join(f"{user}\n" for user in resp.users), NO_FIELDS)


def auth_status(printer: Printer, resp: pb.AuthStatusResponse) -> None:
    enabled = "true" if resp.enabled else "false"
    show(printer, resp, f"Authentication Status: {enabled}\nAuthRevision: {resp.authRevision}\n", NO_FIELDS)
