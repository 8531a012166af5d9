"""`etcdctl`: etcd's command line client, as etcdctl 3.5 behaves."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import BinaryIO

from etcdpy.cli.etcdctl import tree, usage
from etcdpy.cli.etcdctl.command import Command, find, strip_flags, suggestions
from etcdpy.cli.etcdctl.context import Invocation, env_name
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode, GoPanic, SilentExit
from etcdpy.cli.etcdctl.flags import FlagError, HelpRequested


class _Streams:
    def __init__(self, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> None:
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr

    def out(self, text: str) -> None:
        self.stdout.write(text.encode("utf-8", "surrogateescape"))
        self.stdout.flush()

    def err(self, text: str) -> None:
        self.stderr.write(text.encode("utf-8", "surrogateescape"))
        self.stderr.flush()


def _unknown_command(root: Command, word: str, io: _Streams) -> int:
    message = f'unknown command "{word}" for "{root.name}"'
    close = suggestions(root, word)
    if close:
        message += "\n\nDid you mean this?\n" + "".join(f"\t{name}\n" for name in close)
    io.err(f"Error: {message}\nRun '{root.name} --help' for usage.\n")
    io.err(f"Error: {message}\n")
    return ExitCode.ERROR


def _help_topic(root: Command, args: list[str], io: _Streams) -> int:
    target, rest = find(root, args)
    if target is root and strip_flags(rest, root.flag_set()):
        io.err("Unknown help topic [" + " ".join(f"`{a}`" for a in args) + "]\n")
        io.out(usage.etcdctl_usage(root, help_flag=False))
    else:
        io.out(usage.etcdctl_usage(target))
    return ExitCode.SUCCESS


def _debug_env(cmd: Command, io: _Streams) -> None:
    """--debug: etcdctl echoes each global flag as the ETCDCTL_* variable that sets it."""
    for flag in sorted(cmd.inherited_flags(), key=lambda f: f.name):
        io.err(f"{env_name(flag.name)}={flag.value_text}\n")


def run(
    argv: Sequence[str],
    *,
    stdin: BinaryIO,
    stdout: BinaryIO,
    stderr: BinaryIO,
    environ: Mapping[str, str],
) -> int:
    """Run etcdctl with `argv` (without the program name); returns the exit status."""
    io = _Streams(stdin, stdout, stderr)
    env = dict(environ)
    api = env.pop("ETCDCTL_API", "")
    if api == "2":
        io.err("Error: etcd-py's etcdctl speaks only the v3 API; unset ETCDCTL_API or set it to 3\n")
        return ExitCode.ERROR
    if api not in ("", "3"):
        io.err(f"unsupported API version: {api}\n")
        return ExitCode.ERROR

    root = tree.build()
    cmd, rest = find(root, argv)
    words = strip_flags(rest, cmd.flag_set())
    if cmd is root and words:
        return _unknown_command(root, words[0], io)
    flags = cmd.flag_set()
    try:
        args = flags.parse(rest)
    except HelpRequested:
        io.out(usage.etcdctl_usage(cmd))
        return ExitCode.SUCCESS
    except FlagError as err:
        io.err(f"Error: {err}\n")
        io.out(usage.etcdctl_usage(cmd))
        io.err(f"\nError: {err}\n")
        return ExitCode.ERROR
    if flags.value("help") or cmd.run is None:
        io.out(usage.etcdctl_usage(cmd))
        return ExitCode.SUCCESS
    if cmd.parent is root and cmd.name == "help":
        return _help_topic(root, args, io)

    inv = Invocation(
        cmd, args, flags, stdin=stdin, stdout=stdout, stderr=stderr, environ=env, argv=list(argv)
    )
    try:
        if flags.value("debug"):
            inv.apply_env()
            _debug_env(cmd, io)
        cmd.run(inv)
    except CommandExit as exit_:
        io.err(f"Error: {exit_.message}\n")
        return exit_.code
    except SilentExit as exit_:
        return exit_.code
    except GoPanic as panic:
        io.err(f"panic: {panic}\n\ngoroutine 1 [running]:\nmain.main()\n")
        return ExitCode.BAD_CONNECTION
    return ExitCode.SUCCESS


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = run(
            args,
            stdin=sys.stdin.buffer,
            stdout=sys.stdout.buffer,
            stderr=sys.stderr.buffer,
            environ=os.environ,
        )
    except KeyboardInterrupt:
        # Die of the signal, as Go's default SIGINT handling does.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 130
    except BrokenPipeError:
        code = ExitCode.IO
    sys.exit(code)


if __name__ == "__main__":
    main()
