"""Help text: etcdctl's own usage template, and cobra's default one (seen inside `txn`)."""

from __future__ import annotations

from collections.abc import Iterable

from etcdpy import version
from etcdpy.cli.etcdctl import tabwriter
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.flags import Flag, Kind
from etcdpy.pkg import goquote

ETCDCTL_VERSION = version.SERVER_VERSION


def _relative_name(cmd: Command, start: Command) -> str:
    parts = [cmd.name]
    node = cmd
    while node.parent is not None and node.parent.name != start.name:
        node = node.parent
        parts.insert(0, node.name)
    return " ".join(parts)


def _descendants(cmd: Command) -> list[Command]:
    out: list[Command] = []
    for child in cmd.sorted_children():
        out.append(child)
        out.extend(_descendants(child))
    return out


def use_line(cmd: Command) -> str:
    line = cmd.use if cmd.parent is None else f"{cmd.parent.path()} {cmd.use}"
    return line if "[flags]" in line else line + " [flags]"


def _etcd_flag_lines(flags: Iterable[Flag]) -> str:
    lines = []
    for flag in sorted(flags, key=lambda f: f.name):
        head = f"  -{flag.shorthand}, --{flag.name}" if flag.shorthand else f"      --{flag.name}"
        value = goquote.quote(flag.default_text) if flag.kind is Kind.STRING else flag.default_text
        value = f"[={value}]" if flag.no_opt_default else f"={value}"
        lines.append(f"{head}{value}\t{flag.usage}\n")
    return "".join(lines)


def etcdctl_usage(cmd: Command, *, help_flag: bool = True) -> str:
    """etcdctl's help for `cmd`, tab-aligned as etcdctl prints it. cobra adds the -h flag
    only to a command it runs: `help_flag=False` renders one it did not."""
    root = cmd.root()
    out = ["NAME:\n"]
    out.append(f"\t{cmd.name if cmd.parent is None else _relative_name(cmd, root)} - {cmd.short}\n")
    out.append(f"\nUSAGE:\n\t{use_line(cmd)}\n")
    if cmd.parent is None:
        out.append(f"\nVERSION:\n\t{ETCDCTL_VERSION}\n")
    if cmd.children:
        out.append(f"\nAPI VERSION:\n\t{version.API_VERSION}\n")
        out.append("\n\nCOMMANDS:\n")
        for sub in _descendants(cmd):
            if sub.runnable:
                out.append(f"\t{_relative_name(sub, cmd)}\t{sub.short}\n")
    if cmd.long:
        out.append("\nDESCRIPTION:\n")
        out.extend(f"\t{line}\n" for line in cmd.long.strip("\n\t ").split("\n"))
    local = cmd.local_flags() if help_flag else [f for f in cmd.local_flags() if f is not cmd.help_flag]
    if local:
        out.append("\nOPTIONS:\n" + _etcd_flag_lines(local))
    inherited = cmd.inherited_flags()
    if inherited:
        out.append("\nGLOBAL OPTIONS:\n" + _etcd_flag_lines(inherited))
    out.append("\n")
    return tabwriter.align("".join(out))


_PFLAG_TYPE_NAMES = {Kind.BOOL: "", Kind.STRING: "string", Kind.INT: "int", Kind.DURATION: "duration"}


def _is_zero_default(flag: Flag) -> bool:
    return flag.default_text in ("", "0", "0s", "false", "[]")


def _pflag_usages(flags: Iterable[Flag]) -> str:
    rows = []
    for flag in sorted(flags, key=lambda f: f.name):
        head = f"  -{flag.shorthand}, --{flag.name}" if flag.shorthand else f"      --{flag.name}"
        type_name = _PFLAG_TYPE_NAMES.get(flag.kind, "strings")
        if type_name:
            head += " " + type_name
        usage = flag.usage
        if not _is_zero_default(flag):
            shown = goquote.quote(flag.default_text) if flag.kind is Kind.STRING else flag.default_text
            usage += f" (default {shown})"
        rows.append((head, usage))
    width = max(len(head) for head, _ in rows)
    return "".join(f"{head} {' ' * (width - len(head) + 1)} {usage}\n" for head, usage in rows)


def cobra_usage(cmd: Command, path: str) -> str:
    """cobra's default usage text for a leaf command whose full path is `path`."""
    flags = _pflag_usages(cmd.local_flags()).rstrip()
    return f"Usage:\n  {path} {cmd.use} [flags]\n\nFlags:\n{flags}\n"
