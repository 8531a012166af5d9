"""`etcd`: start a member, with etcd 3.5's flags, environment variables and config file.

Flags follow Go's flag syntax, as etcd's do: `--name value`, `--name=value`,
`-name value`; a boolean flag alone means true (`--flag=false` to unset).
Every flag may also come from `ETCD_<NAME>` (upper case, '-' as '_'); the
command line wins over the environment. With `--config-file`, the file's YAML
keys (the flag names) are used and the command line and environment ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import signal
import sys
from collections.abc import Sequence

import yaml

from etcdpy.pkg import zaplog
from etcdpy.server.config import FLAGS, FLAGS_BY_NAME, ConfigError, ServerConfig, build_config
from etcdpy.version import PROJECT_VERSION, SERVER_VERSION

log = zaplog.get("etcdmain")

_TLS_SECTIONS = {
    "client-transport-security": "",
    "peer-transport-security": "peer-",
}


class UsageError(Exception):
    pass


def usage() -> str:
    lines = [
        "Usage:",
        "",
        "  etcd [flags]",
        "    Start an etcd member (etcd-py).",
        "",
        "  etcd --version",
        "    Show the version of etcd.",
        "",
        "  etcd -h | --help",
        "    Show this help.",
        "",
        "  etcd --config-file",
        "    Read the configuration from a YAML file whose keys are the flag names;",
        "    other flags and environment variables are then ignored.",
        "",
        "Every flag can also be set by an environment variable ETCD_<FLAG>, e.g. ETCD_DATA_DIR.",
    ]
    section = ""
    for f in FLAGS:
        if f.section != section:
            section = f.section
            lines += ["", f"{section}:"]
        note = "" if f.supported else " (not supported by etcd-py yet)"
        lines.append(f"  --{f.name} '{f.default}'")
        lines.append(f"    {f.help}{note}")
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str]) -> tuple[dict[str, str], dict[str, bool]]:
    """Go-style flags -> (flag values, special switches: help/version/config-file)."""
    values: dict[str, str] = {}
    special: dict[str, bool] = {"help": False, "version": False}
    i = 0
    args = list(argv)
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            raise UsageError(f"'{arg}' is not a valid flag")
        name, eq, value = arg.lstrip("-").partition("=")
        if name in ("h", "help"):
            special["help"] = True
            continue
        if name == "version":
            special["version"] = True
            continue
        if name == "config-file":
            if not eq:
                if i >= len(args):
                    raise UsageError(f"flag needs an argument: -{name}")
                value = args[i]
                i += 1
            values["config-file"] = value
            continue
        flag = FLAGS_BY_NAME.get(name)
        if flag is None:
            raise UsageError(f"flag provided but not defined: -{name}")
        if not eq:
            if flag.kind == "bool":
                value = "true"
            else:
                if i >= len(args):
                    raise UsageError(f"flag needs an argument: -{name}")
                value = args[i]
                i += 1
        values[name] = value
    if i < len(args):
        raise UsageError(f"'{args[i]}' is not a valid flag")
    return values, special


def env_values(environ: dict[str, str]) -> dict[str, str]:
    out = {}
    for f in FLAGS:
        key = "ETCD_" + f.name.upper().replace("-", "_")
        if key in environ:
            out[f.name] = environ[key]
            log.info(
                "recognized and used environment variable",
                **{"variable-name": key, "variable-value": environ[key]},
            )
    return out


def file_values(path: str) -> dict[str, str]:
    """etcd's YAML config: flag names as keys; lists joined by commas; TLS sections flattened."""
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    if not isinstance(doc, dict):
        raise ConfigError(f"config file {path} is not a YAML mapping")
    out: dict[str, str] = {}
    for key, value in doc.items():
        if key in _TLS_SECTIONS and isinstance(value, dict):
            prefix = _TLS_SECTIONS[key]
            for sub, subval in value.items():
                out[prefix + str(sub)] = _yaml_text(subval)
            continue
        if value is None:
            continue
        out[str(key)] = _yaml_text(value)
    return out


def _yaml_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_yaml_text(v) for v in value)
    return str(value)


def version_text() -> str:
    arch = "amd64" if platform.machine() == "x86_64" else platform.machine()
    return (
        f"etcd Version: {SERVER_VERSION}\nGit SHA: etcd-py-{PROJECT_VERSION}\n"
        f"Go Version: python{platform.python_version()}\n"
        f"Go OS/Arch: {sys.platform}/{arch}\n"
    )


async def _serve(cfg: ServerConfig) -> int:
    from etcdpy.embed.etcd import Etcd

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # A signal must also stop a member still starting (e.g. waiting for peers that never answer).
    starting = asyncio.ensure_future(Etcd.start(cfg))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait((starting, stopped), return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():
        log.info("received signal; shutting down")
        starting.cancel()  # Etcd.start stops what it started before re-raising
        with contextlib.suppress(asyncio.CancelledError):
            await starting
        return 0
    etcd = starting.result()
    failed = asyncio.ensure_future(etcd.wait_failed())
    await asyncio.wait((failed, stopped), return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if failed.done():
        await etcd.stop()
        if failed.exception() is not None:
            log.fatal("cannot serve clients; shutting down", error=str(failed.exception()))
            return 1
        return 0
    failed.cancel()
    log.info("received signal; shutting down")
    await etcd.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    zaplog.configure(["default"], "info")
    try:
        values, special = parse_args(argv)
    except UsageError as e:
        sys.stderr.write(f"{e}\n{usage()}")
        return 2
    if special["help"]:
        sys.stdout.write(usage())
        return 0
    if special["version"]:
        sys.stdout.write(version_text())
        return 0
    log.info("Running: ", args=[sys.argv[0], *argv])
    try:
        if "config-file" in values:
            log.info(
                "loaded server configuration, other configuration command line flags "
                "and environment variables will be ignored if provided",
                path=values["config-file"],
            )
            merged = file_values(values["config-file"])
        else:
            merged = {**env_values(dict(os.environ)), **values}
        cfg = build_config(merged)
        zaplog.configure(cfg.log_outputs, cfg.log_level)
        if "data-dir" not in merged:
            log.warning("'data-dir' was empty; using default", **{"data-dir": cfg.data_dir})
    except (ConfigError, OSError, yaml.YAMLError) as e:
        log.fatal("failed to verify flags", error=str(e))
        return 1
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    from etcdpy.embed.etcd import ListenerError

    try:
        return asyncio.run(_serve(cfg))
    except KeyboardInterrupt:
        return 0
    except ListenerError as e:
        log.fatal("listener failed", error=str(e))
        return 1
    except Exception as e:
        log.fatal("failed to start etcd", error=str(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
