"""elect: campaign in a named election until interrupted, or (`-l`) print its leader changes."""

from __future__ import annotations

import os

from etcdpy.api import errors
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.commands._signals import interruptible
from etcdpy.cli.etcdctl.commands.lock import CANCELED
from etcdpy.cli.etcdctl.context import Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode
from etcdpy.cli.etcdctl.flags import Flag, Kind
from etcdpy.client import Client
from etcdpy.client.concurrency import ConcurrencyError, Election, Session


def _bad_args(message: str) -> CommandExit:
    return CommandExit(ExitCode.BAD_ARGS, message)


def _observe(inv: Invocation, client: Client, name: bytes) -> None:
    election = Election(Session(client), name)
    printer = inv.printer()
    try:
        for leader in election.observe():
            printer.get(leader)
            inv.stdout.flush()
    except KeyboardInterrupt:
        return
    raise CommandExit(ExitCode.ERROR, "elect: observer lost")


def _campaign(inv: Invocation, client: Client, name: bytes, proposal: bytes) -> None:
    session = Session(client)
    election = Election(session, name)
    try:
        election.campaign(proposal)
    except KeyboardInterrupt:
        raise CommandExit(ExitCode.ERROR, CANCELED) from None
    inv.printer().get(client.get(election.key))
    inv.stdout.flush()
    try:
        while not session.wait(1.0):
            pass
    except KeyboardInterrupt:
        election.resign()
        return
    raise CommandExit(ExitCode.ERROR, "elect: session expired")


def _elect(inv: Invocation) -> None:
    if len(inv.args) not in (1, 2):
        raise _bad_args("elect takes one election name argument and an optional proposal argument")
    client = inv.client()
    listen: bool = inv.flag("listen")
    name = os.fsencode(inv.args[0])
    if len(inv.args) == 1 and not listen:
        raise _bad_args("no proposal argument but -l not set")
    if len(inv.args) == 2 and listen:
        raise _bad_args("proposal given but -l is set")
    try:
        with interruptible():
            if listen:
                _observe(inv, client, name)
            else:
                _campaign(inv, client, name, os.fsencode(inv.args[1]))
    except (errors.EtcdError, ConcurrencyError) as err:
        raise CommandExit(ExitCode.ERROR, str(err)) from None


def command() -> Command:
    return Command(
        "elect <election-name> [proposal]",
        "Observes and participates in leader election",
        run=_elect,
        flags=[Flag("listen", Kind.BOOL, False, "observation mode", shorthand="l")],
    )
