"""The client port in a child process of its own.

Why: relaying gRPC connections and serving HTTP/1.1 costs Python time per
request; in the member's process that time is taken from the event loop that
runs the server, in a child it runs on the other core (docs/design.md has the
measurements). The member binds the client sockets itself, so that a port in
use fails its start and port 0 is resolved before the child exists, and hands
them to the child, which serves them with a `ClientListener` in front of the
member's private gRPC socket.

Lifecycle: the child reports readiness by writing one byte to a pipe; it dies
with the member (Linux's parent-death signal, and an exit at once if the
member is already gone when that is armed); it exits on SIGTERM and ignores
SIGINT, which the member handles for both. The member watches the child's
exit through a pidfd: an exit it did not ask for is an error, for without the
child nobody can reach the member.

TLS: sockets of https:// URLs are passed as --listen-tls-fd and served with
the TLS settings given as JSON (--tls); the member's secret that vouches for
client certificate CNs arrives in the environment (`tls_identity.SECRET_ENV`).

usage (by `ClientPortProcess` only):
    python -m etcdpy.api.gateway.process --upstream unix:/path --listen-fd 5 --ready-fd 7
        --parent-pid 123 [--listen-tls-fd 6 --tls JSON] [--max-request-bytes N] [--cors ORIGINS]
        [--log-output OUT]... [--log-level L]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from typing import Final

from etcdpy.api.gateway.listener import DEFAULT_MAX_REQUEST_BYTES, ClientListener
from etcdpy.api.v3rpc import tls_identity
from etcdpy.pkg import timeouts, zaplog
from etcdpy.pkg.tlsutil import CLIENT_PORT_ALPN, TLSInfo

log = zaplog.get("embed")

READY: Final = b"R"
START_TIMEOUT: Final = 30.0
STOP_TIMEOUT: Final = 5.0
_PR_SET_PDEATHSIG: Final = 1


class ClientPortError(RuntimeError):
    """The client port process failed to start or exited on its own."""


class ClientPortProcess:
    """The parent's handle on the child serving `sockets` in front of `upstream` (a gRPC target);
    `tls_sockets` are served with TLS as `tls` says."""

    def __init__(
        self,
        sockets: Sequence[socket.socket],
        upstream: str,
        *,
        tls_sockets: Sequence[socket.socket] = (),
        tls: TLSInfo | None = None,
        max_request_bytes: int,
        cors: str,
        log_outputs: Sequence[str],
        log_level: str,
    ) -> None:
        self._sockets = [*sockets, *tls_sockets]
        self._argv = [sys.executable, "-m", __name__, "--upstream", upstream,
                      "--parent-pid", str(os.getpid()), "--max-request-bytes", str(max_request_bytes),
                      "--cors", cors, "--log-level", log_level]
        for out in log_outputs:
            self._argv += ["--log-output", out]
        for sock in sockets:
            self._argv += ["--listen-fd", str(sock.fileno())]
        for sock in tls_sockets:
            self._argv += ["--listen-tls-fd", str(sock.fileno())]
        if tls_sockets:
            assert tls is not None
            self._argv += ["--tls", json.dumps(dataclasses.asdict(tls))]
        self._proc: subprocess.Popen[bytes] | None = None
        self._pidfd = -1
        self._stopping = False
        self.exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def start(self) -> None:
        """Spawn the child and return once it serves; ClientPortError if it does not."""
        loop = asyncio.get_running_loop()
        ready_r, ready_w = os.pipe()
        try:
            self._proc = subprocess.Popen(
                [*self._argv, "--ready-fd", str(ready_w)],
                pass_fds=[ready_w, *(s.fileno() for s in self._sockets)],
                stdin=subprocess.DEVNULL,
                env={**os.environ, tls_identity.SECRET_ENV: tls_identity.member_secret().hex()},
            )
            os.close(ready_w)
            ready_w = -1
            self._pidfd = os.pidfd_open(self._proc.pid)
            loop.add_reader(self._pidfd, self._reap)
            got = await timeouts.wait_for(_read_byte(ready_r), START_TIMEOUT)
        except TimeoutError:
            await self.stop()
            raise ClientPortError(f"the client port process did not start in {START_TIMEOUT:.0f}s") from None
        finally:
            os.close(ready_r)
            if ready_w >= 0:
                os.close(ready_w)
        if got != READY:
            code = await self.exited
            raise ClientPortError(f"the client port process exited with code {code} before serving")
        log.info("client port process serving", pid=self._proc.pid)

    async def stop(self) -> None:
        """Ask the child to exit (SIGTERM, then SIGKILL after STOP_TIMEOUT) and wait for it."""
        self._stopping = True
        if self._proc is None or self.exited.done():
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            await timeouts.wait_for(asyncio.shield(self.exited), STOP_TIMEOUT)
        except TimeoutError:
            self._proc.kill()
            await self.exited

    async def wait_failed(self) -> None:
        """Return only by raising ClientPortError, when the child exits without being asked to."""
        code = await asyncio.shield(self.exited)
        if not self._stopping:
            raise ClientPortError(f"the client port process exited unexpectedly with code {code}")
        await asyncio.Event().wait()

    def _reap(self) -> None:
        assert self._proc is not None
        code = self._proc.poll()
        if code is None:
            return
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        if not self._stopping:
            log.error("client port process exited", pid=self._proc.pid, code=code)
        self.exited.set_result(code)


async def _read_byte(fd: int) -> bytes:
    """One byte from `fd`, or b"" at end of file, without blocking the loop."""
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()

    def readable() -> None:
        if not got.done():
            got.set_result(os.read(fd, 1))

    loop.add_reader(fd, readable)
    try:
        return await got
    finally:
        loop.remove_reader(fd)


def _die_with_parent(parent_pid: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)


async def _serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    context = None
    if args.listen_tls_fd:
        fields = json.loads(args.tls)
        tls = TLSInfo(**{**fields, "cipher_suites": tuple(fields["cipher_suites"])})
        context = tls.server_context(CLIENT_PORT_ALPN)
    secret = tls_identity.secret_from_env()
    listeners = [
        ClientListener("", 0, args.upstream, sock=socket.socket(fileno=fd),
                       max_request_bytes=args.max_request_bytes, cors_origins=args.cors.split(","),
                       ssl_context=ssl_context, identity_secret=secret)
        for fds, ssl_context in ((args.listen_fd, None), (args.listen_tls_fd, context))
        for fd in fds
    ]
    try:
        for listener in listeners:
            await listener.start()
        os.write(args.ready_fd, READY)
        os.close(args.ready_fd)
        await stop.wait()
    finally:
        for listener in listeners:
            with contextlib.suppress(Exception):
                await listener.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="etcdpy.api.gateway.process", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", required=True, help="the member's gRPC target")
    p.add_argument("--listen-fd", type=int, action="append", default=[], help="a listening socket")
    p.add_argument("--listen-tls-fd", type=int, action="append", default=[], help="a socket served with TLS")
    p.add_argument("--tls", default="{}", help="TLS settings (JSON of TLSInfo)")
    p.add_argument("--ready-fd", type=int, required=True, help="where to write one byte once serving")
    p.add_argument("--parent-pid", type=int, required=True, help="the member's process ID")
    p.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES)
    p.add_argument("--cors", default="*", help="comma-separated CORS origins")
    p.add_argument("--log-output", action="append", default=[])
    p.add_argument("--log-level", default="info")
    args = p.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(args.parent_pid)
    zaplog.configure(args.log_output or ["default"], args.log_level)
    try:
        import uvloop
    except ImportError:
        asyncio.run(_serve(args))
    else:
        uvloop.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
