"""watch: print events as they happen, run a command per event (`-- cmd args`), or take
`watch ...` / `progress` lines from stdin (`-i`)."""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.mvccpb import kv_pb2
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.commands.txn import argify
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode, SilentExit
from etcdpy.cli.etcdctl.flags import Flag, FlagError, FlagSet, Kind
from etcdpy.client import Client, is_progress_notify
from etcdpy.client.watch import Watch
from etcdpy.pkg import goquote

USE = "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]"

BAD_ARGS_NUM = "bad number of arguments"
BAD_ARGS_CONFLICT_ENV = "bad number of arguments (found conflicting environment key)"
BAD_ARGS_SEPARATOR = "bad number of arguments (found separator --, but no commands)"


def watch_flags() -> list[Flag]:
    return [
        Flag("interactive", Kind.BOOL, False, "Interactive mode", shorthand="i"),
        Flag("prefix", Kind.BOOL, False, "Watch on a prefix if prefix is set"),
        Flag("rev", Kind.INT, 0, "Revision to start watching"),
        Flag("prev-kv", Kind.BOOL, False, "get the previous key-value pair before the event happens"),
        Flag("progress-notify", Kind.BOOL, False, "get periodic watch progress notification from server"),
    ]


@dataclass(frozen=True)
class Options:
    prefix: bool
    rev: int
    prev_kv: bool
    progress_notify: bool

    @classmethod
    def of(cls, flags: FlagSet) -> Options:
        return cls(
            flags.value("prefix"), flags.value("rev"), flags.value("prev-kv"), flags.value("progress-notify")
        )


class _BadArgs(Exception):
    pass


def _index(items: list[str], word: str) -> int:
    return items.index(word) if word in items else -1


def _with_env_key(args: list[str], env_key: str, env_range: str) -> list[str]:
    """ETCDCTL_WATCH_KEY (and _RANGE_END) stand for the leading arguments."""
    if not env_key:
        return args
    return [env_key, *([env_range] if env_range else []), *args]


def _drop_exec_args(watch_args: list[str], exec_args: list[str]) -> list[str]:
    """Positional arguments before the command (flag parsing mixed both)."""
    for end in range(len(watch_args) - 1, -1, -1):
        if watch_args[end] == exec_args[0]:
            return watch_args[:end]
    return []


def parse_command_line(
    argv: list[str], args: list[str], env_key: str, env_range: str
) -> tuple[list[str], list[str]]:
    """(watch arguments, command to run per event) from the command line, as etcdctl's parseWatchArgs."""
    at = _index(argv, "watch")
    raw = argv[at + 1 :] if at >= 0 else list(argv)
    sep = _index(raw, "--")
    if sep >= 0 and sep == len(raw) - 1:
        raise _BadArgs(BAD_ARGS_SEPARATOR)
    if sep < 0 and not raw and not env_key:
        raise _BadArgs(BAD_ARGS_NUM)
    if sep >= 0 and env_key:
        # Any argument before `--` conflicts with the key from the environment.
        r = len(raw) - 1
        for w in range(len(args) - 1, -1, -1):
            if args[w] == raw[r]:
                r -= 1
            elif r == sep:
                raise _BadArgs(BAD_ARGS_CONFLICT_ENV)
    if sep < 0 and args and env_key:
        raise _BadArgs(BAD_ARGS_CONFLICT_ENV)
    watch_args = _with_env_key(list(args), env_key, env_range)
    if sep < 0:
        return watch_args, []
    exec_args = raw[sep + 1 :]
    return _drop_exec_args(watch_args, exec_args), exec_args


def parse_line(words: list[str], env_key: str, env_range: str) -> tuple[list[str], list[str], Options]:
    """An interactive `watch ...` line's arguments, command and its own flags."""
    line_args = words[1:]
    sep = _index(line_args, "--")
    if sep >= 0 and sep == len(line_args) - 1:
        raise _BadArgs(BAD_ARGS_SEPARATOR)
    flags = FlagSet(watch_flags())
    try:
        positional = flags.parse(line_args)
    except FlagError as err:
        raise _BadArgs(str(err)) from None
    if sep < 0 and not env_key and not positional:
        raise _BadArgs(BAD_ARGS_NUM)
    if sep < 0 and positional and env_key:
        raise _BadArgs(BAD_ARGS_CONFLICT_ENV)
    watch_args = _with_env_key(positional, env_key, env_range)
    if sep < 0:
        return watch_args, [], Options.of(flags)
    exec_args = line_args[sep + 1 :]
    return _drop_exec_args(watch_args, exec_args), exec_args, Options.of(flags)


def open_watch(client: Client, args: list[str], opts: Options) -> Watch:
    """etcdctl's getWatchChan; a ValueError for arguments it refuses."""
    if not args:
        raise ValueError(BAD_ARGS_NUM)
    key, range_end = os.fsencode(args[0]), b""
    if len(args) == 2:
        if opts.prefix:
            raise ValueError("`range_end` and `--prefix` are mutually exclusive")
        range_end = os.fsencode(args[1])
    return client.watch(
        key,
        range_end,
        prefix=opts.prefix,
        start_revision=max(0, opts.rev),
        prev_kv=opts.prev_kv,
        progress_notify=opts.progress_notify,
        timeout=None,
    )


def cancel_reason(resp: pb.WatchResponse) -> str:
    """clientv3's WatchResponse.Err() text for a canceled watch."""
    if resp.compact_revision:
        return errors.COMPACTED.message
    if not resp.cancel_reason:
        return errors.FUTURE_REV.message
    known = errors.BY_MESSAGE.get(resp.cancel_reason)
    if known is not None:
        return known.message
    return f"rpc error: code = FailedPrecondition desc = {resp.cancel_reason}"


def _go_quote_list(items: list[str]) -> str:
    return "[" + " ".join(goquote.quote(item) for item in items) + "]"


class Printer:
    """Prints one or more watches' responses; a lock keeps their output whole."""

    def __init__(self, inv: Invocation) -> None:
        self.inv = inv
        self.lock = threading.Lock()

    def follow(self, watch: Watch, exec_args: list[str]) -> None:
        """Print every response until the watch ends."""
        for resp in watch:
            with self.lock:
                self._show(resp, exec_args)

    def follow_or_exit(self, watch: Watch, exec_args: list[str]) -> None:
        """`follow` on a thread of its own: ending the command there ends the process."""
        try:
            self.follow(watch, exec_args)
        except CommandExit as exit_:
            self.inv.err(f"Error: {exit_.message}\n")
            os._exit(exit_.code)
        except SilentExit as exit_:
            os._exit(exit_.code)

    def _show(self, resp: pb.WatchResponse, exec_args: list[str]) -> None:
        inv = self.inv
        if resp.canceled:
            inv.err(f"watch was canceled ({cancel_reason(resp)})\n")
        if is_progress_notify(resp):
            inv.out(f"progress notify: {resp.header.revision}\n")
        inv.printer().watch(resp)
        inv.stdout.flush()
        for event in resp.events if exec_args else ():
            self._run(exec_args, resp.header.revision, event)

    def _run(self, exec_args: list[str], revision: int, event: kv_pb2.Event) -> None:
        env = dict(self.inv.environ)
        env["ETCD_WATCH_REVISION"] = str(revision)
        env["ETCD_WATCH_EVENT_TYPE"] = goquote.quote(kv_pb2.Event.EventType.Name(event.type))
        env["ETCD_WATCH_KEY"] = goquote.quote(event.kv.key)
        env["ETCD_WATCH_VALUE"] = goquote.quote(event.kv.value)
        try:
            done = subprocess.run(
                exec_args, env=env, stdout=self.inv.stdout, stderr=self.inv.stderr, check=False
            )
            error = f"exit status {done.returncode}" if done.returncode else ""
        except FileNotFoundError:
            error = f"exec: {goquote.quote(exec_args[0])}: executable file not found in $PATH"
        except OSError as err:
            error = f"fork/exec {exec_args[0]}: {err.strerror}"
        if error:
            self.inv.err(f"command {_go_quote_list(exec_args)} error ({error})\n")
            raise SilentExit(ExitCode.ERROR)


def _run(inv: Invocation) -> None:
    env_key = inv.environ.get("ETCDCTL_WATCH_KEY", "")
    env_range = inv.environ.get("ETCDCTL_WATCH_RANGE_END", "")
    if not env_key and env_range:
        raise CommandExit(
            ExitCode.BAD_ARGS,
            f"ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END={goquote.quote(env_range)}",
        )
    if inv.flag("interactive"):
        _interactive(inv, env_key, env_range)
        return
    try:
        args, exec_args = parse_command_line(inv.argv, inv.args, env_key, env_range)
    except _BadArgs as err:
        raise CommandExit(ExitCode.BAD_ARGS, str(err)) from None
    client = inv.client()
    try:
        watch = open_watch(client, args, Options.of(inv.flags))
    except ValueError as err:
        raise CommandExit(ExitCode.BAD_ARGS, str(err)) from None
    except errors.EtcdError as err:
        raise CommandExit(ExitCode.ERROR, err.message) from None
    Printer(inv).follow(watch, exec_args)
    client.close()
    raise CommandExit(ExitCode.INTERRUPTED, "watch is canceled by the server")


def _interactive(inv: Invocation, env_key: str, env_range: str) -> None:
    client = inv.client()
    printer = Printer(inv)
    watches: list[Watch] = []
    while True:
        raw = inv.stdin.readline()
        if not raw.endswith(b"\n"):
            raise CommandExit(ExitCode.INVALID_INPUT, "error reading watch request line: EOF")
        line = raw[:-1].decode("utf-8", "surrogateescape")
        words = argify(line)
        if not words:
            inv.err(f"Invalid command: {line} (watch and progress supported)\n")
        elif words[0] == "watch":
            if len(words) < 2 and not env_key:
                inv.err(f"Invalid command {line} (command type or key is not provided)\n")
                continue
            try:
                args, exec_args, opts = parse_line(words, env_key, env_range)
            except _BadArgs as err:
                raise CommandExit(ExitCode.BAD_ARGS, str(err)) from None
            try:
                watch = open_watch(client, args, opts)
            except (ValueError, errors.EtcdError) as err:
                inv.err(f"Invalid command {line} ({err})\n")
                continue
            watches.append(watch)
            threading.Thread(target=printer.follow_or_exit, args=(watch, exec_args), daemon=True).start()
        elif words[0] == "progress":
            for watch in watches:
                watch.request_progress()
        else:
            inv.err(f"Invalid command {line} (only support watch)\n")


def command() -> Command:
    return Command(USE, "Watches events stream on keys or prefixes", run=_run, flags=watch_flags())
