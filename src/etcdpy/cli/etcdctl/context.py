"""What a running command sees: its arguments and flags, the global settings resolved
from flags and ETCDCTL_* variables, the output printer and the etcd client."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, TypeVar

from etcdpy.api import errors
from etcdpy.cli.etcdctl import password, zaplog
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode, SilentExit
from etcdpy.cli.etcdctl.flags import FlagError, FlagSet
from etcdpy.cli.etcdctl.printers import Printer, new_printer
from etcdpy.client import Client, TLSConfig, TransportError
from etcdpy.client._endpoints import grpc_target
from etcdpy.client._status import GO_CODE_NAMES

T = TypeVar("T")

ENV_PREFIX = "ETCDCTL_"


def env_name(flag_name: str) -> str:
    return ENV_PREFIX + flag_name.upper().replace("-", "_")


@dataclass(frozen=True)
class ClientConfig:
    endpoints: list[str]
    dial_timeout: float
    user: str | None
    password: str
    tls: TLSConfig | None


def go_error_text(err: errors.EtcdError, endpoint: str) -> str:
    """The `rpc error: ...` text Go's gRPC gives for a failed call."""
    cause = err.__cause__
    if isinstance(cause, TransportError) and "refused" in cause.message.lower():
        dial = f"dial tcp {grpc_target(endpoint)}: connect: connection refused"
        desc = (
            "latest balancer error: last connection error: connection error: "
            f'desc = "transport: Error while dialing {dial}"'
        )
        return f"rpc error: code = {GO_CODE_NAMES[err.code]} desc = {desc}"
    return f"rpc error: code = {GO_CODE_NAMES[err.code]} desc = {err.message}"


class Invocation:
    """One command run."""

    def __init__(
        self,
        cmd: Command,
        args: list[str],
        flags: FlagSet,
        *,
        stdin: BinaryIO,
        stdout: BinaryIO,
        stderr: BinaryIO,
        environ: Mapping[str, str],
        argv: list[str] | None = None,
    ) -> None:
        self.cmd = cmd
        self.args = args
        # The whole command line (without the program name), `--` included.
        self.argv = argv or []
        self.flags = flags
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.environ = environ
        self._printer: Printer | None = None
        self._env_applied = False

    # -- output -----------------------------------------------------------------------------

    def out(self, text: str | bytes) -> None:
        self.stdout.write(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
        self.stdout.flush()

    def err(self, text: str) -> None:
        self.stderr.write(text.encode("utf-8", "surrogateescape"))
        self.stderr.flush()

    def log(self, level: str, msg: str, **kwargs: Any) -> None:
        self.err(zaplog.line(level, msg, **kwargs))

    # -- flags --------------------------------------------------------------------------------

    def flag(self, name: str) -> Any:
        return self.flags.value(name)

    def flag_changed(self, name: str) -> bool:
        return self.flags[name].changed

    def apply_env(self) -> None:
        """Set unset inherited (global) flags from ETCDCTL_<FLAG>, as etcdctl does when it
        builds its client; an unknown ETCDCTL_ variable is warned about, one shadowed by a
        flag given on the command line is fatal."""
        if self._env_applied:
            return
        self._env_applied = True
        names = {env_name(f.name): f for f in self.cmd.inherited_flags()}
        for key, value in self.environ.items():
            flag = names.get(key)
            if flag is not None and flag.changed:
                self.log(
                    "fatal",
                    "conflicting environment variable is shadowed by corresponding command-line flag "
                    "(either unset environment variable or disable flag))",
                    caller="flags/flag.go:85",
                    fields={"environment-variable": key},
                )
                raise SilentExit(ExitCode.ERROR)
            if flag is not None and value:
                # etcdctl ignores a value its flag rejects.
                with contextlib.suppress(FlagError):
                    flag.set(value)
            elif key.startswith(ENV_PREFIX):
                self.log(
                    "warn",
                    "unrecognized environment variable",
                    caller="flags/flag.go:93",
                    fields={"environment-variable": f"{key}={value}"},
                )

    def printer(self) -> Printer:
        if self._printer is None:
            self._printer = new_printer(self.flag("write-out"), self.flag("hex"), self.stdout, self.stderr)
        return self._printer

    @property
    def command_timeout(self) -> float:
        return float(self.flag("command-timeout"))

    def endpoints(self) -> list[str]:
        return [ep.strip() for ep in self.flag("endpoints")]

    def client_config(self) -> ClientConfig:
        """Global settings for a client (etcdctl's clientConfigFromCmd): env applied, output
        format checked, TLS flags validated, credentials resolved (prompting for a password
        --user leaves out), TLS files read."""
        self.apply_env()
        self.printer()
        for name in ("cert", "key", "cacert"):
            if self.flag_changed(name) and not self.flag(name):
                raise CommandExit(ExitCode.BAD_ARGS, f"empty string is passed to --{name} option")
        user, secret = self._credentials()
        try:
            tls = self._tls()
        except ValueError as err:
            raise CommandExit(ExitCode.BAD_ARGS, str(err)) from None
        return ClientConfig(self.endpoints(), float(self.flag("dial-timeout")), user, secret, tls)

    def _credentials(self) -> tuple[str | None, str]:
        user: str = self.flag("user")
        if not user:
            return None, ""
        secret: str = self.flag("password")
        if secret:
            return user, secret
        name, sep, secret = user.partition(":")
        if sep:
            return name, secret
        return user, self.ask_password("Password: ")

    def ask_password(self, prompt: str) -> str:
        return password.ask(prompt, self.stdin, self.stdout, self.stderr)

    def _tls(self) -> TLSConfig | None:
        """TLS when a certificate, key or CA is given or --insecure-transport=false (https://
        endpoints use TLS regardless); --insecure-skip-tls-verify only applies then."""
        cert, key, cacert = self.flag("cert"), self.flag("key"), self.flag("cacert")
        if not (cert or key or cacert) and self.flag("insecure-transport"):
            return None
        return TLSConfig(
            ca_file=cacert or None,
            cert_file=cert or None,
            key_file=key or None,
            insecure_skip_verify=self.flag("insecure-skip-tls-verify"),
        )

    def client(self, endpoints: list[str] | None = None, config: ClientConfig | None = None) -> Client:
        """A client for the configured endpoints (etcdctl's mustClient: exit 2 if it cannot be made)."""
        cfg = config or self.client_config()
        try:
            client = Client(
                endpoints or cfg.endpoints,
                timeout=self.command_timeout,
                dial_timeout=cfg.dial_timeout,
                tls=cfg.tls,
            )
        except ValueError as err:
            raise CommandExit(ExitCode.BAD_ARGS, str(err)) from None
        # clientv3 logs in only with both a name and a password, and goes on without a token
        # when the server has authentication disabled.
        if cfg.user and cfg.password:
            try:
                client.authenticate(cfg.user, cfg.password)
            except errors.EtcdError as err:
                self.log_rpc_failure(err, client.endpoints[0])
                if err != errors.AUTH_NOT_ENABLED:
                    client.close()
                    raise CommandExit(ExitCode.BAD_CONNECTION, err.message) from None
        return client

    def rpc(self, call: Callable[[], T], endpoint: str, *, logger: str = "etcd-client") -> T:
        """Run one client call; a failure is logged as etcd's retry interceptor does and
        re-raised as the error etcdctl shows (exit 1)."""
        try:
            return call()
        except errors.EtcdError as err:
            self.log_rpc_failure(err, endpoint, logger=logger)
            raise CommandExit(ExitCode.ERROR, err.message) from None

    def log_rpc_failure(self, err: errors.EtcdError, endpoint: str, *, logger: str = "etcd-client") -> None:
        self.log(
            "warn",
            "retrying of unary invoker failed",
            logger=logger,
            caller="v3/retry_interceptor.go:62",
            iso_time=logger == "etcd-client",
            fields={
                "target": f"etcd-endpoints://0xc000{id(self) & 0xFFFFFF:06x}/{endpoint}",
                "attempt": 0,
                "error": go_error_text(err, endpoint),
            },
        )
