"""lock: hold a named lock (clientv3/concurrency's Mutex) until interrupted, or while a command runs."""

from __future__ import annotations

import os
import subprocess

from etcdpy.api import errors
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.commands._signals import deferred, interruptible
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode
from etcdpy.cli.etcdctl.flags import Flag, Kind
from etcdpy.client.concurrency import ConcurrencyError, Mutex, Session
from etcdpy.pkg import goquote

# What etcdctl reports when a wait is cut short by a signal.
CANCELED = "context canceled"


def _failed(message: str) -> CommandExit:
    return CommandExit(ExitCode.ERROR, message)


def run_command(args: list[str], env: dict[str, str], inv: Invocation) -> str:
    """Run `args` with the command's output streams; the error etcdctl reports, or ""."""
    try:
        with deferred():
            done = subprocess.run(args, env=env, stdout=inv.stdout, stderr=inv.stderr, check=False)
    except FileNotFoundError:
        return f"exec: {goquote.quote(args[0])}: executable file not found in $PATH"
    except OSError as err:
        return f"fork/exec {args[0]}: {err.strerror}"
    return f"exit status {done.returncode}" if done.returncode else ""


def _lock(inv: Invocation) -> None:
    if not inv.args:
        raise CommandExit(
            ExitCode.BAD_ARGS, "lock takes a lock name argument and an optional command to execute"
        )
    name, command = os.fsencode(inv.args[0]), inv.args[1:]
    client = inv.client()
    ttl: int = inv.flag("ttl")
    try:
        with interruptible():
            session = Session(client, ttl=ttl)
            mutex = Mutex(session, name)
            mutex.lock()
            assert mutex.header is not None
            if command:
                env = {"ETCD_LOCK_KEY": os.fsdecode(mutex.key), "ETCD_LOCK_REV": str(mutex.header.revision)}
                error = run_command(command, {**env, **inv.environ}, inv)
                mutex.unlock()
                if error:
                    raise _failed(error)
                return
            held = client.get(mutex.key)
            if not held.kvs:
                raise _failed("lock lost on init")
            inv.printer().get(held)
            inv.stdout.flush()
            try:
                while not session.wait(1.0):
                    pass
            except KeyboardInterrupt:
                mutex.unlock()
                return
    except KeyboardInterrupt:
        raise _failed(CANCELED) from None
    except (errors.EtcdError, ConcurrencyError) as err:
        raise _failed(str(err)) from None
    raise _failed("session expired")


def command() -> Command:
    return Command(
        "lock <lockname> [exec-command arg1 arg2 ...]",
        "Acquires a named lock",
        run=_lock,
        flags=[Flag("ttl", Kind.INT, 10, "timeout for session")],
    )
