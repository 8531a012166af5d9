"""endpoint health|status|hashkv, and the endpoint list `--cluster` widens to every member."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

from etcdpy.api import errors
from etcdpy.cli.etcdctl import gofmt
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.context import ClientConfig, Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode, SilentExit
from etcdpy.cli.etcdctl.flags import Flag, Kind
from etcdpy.cli.etcdctl.printers import EndpointHashKV, EndpointHealth, EndpointStatus

CLUSTER_FLAG_USAGE = "use all endpoints from the cluster member list"
_ALARM_NAMES = {1: "NOSPACE", 2: "CORRUPT"}


def endpoints_from_cluster(inv: Invocation) -> list[str]:
    """The --endpoints list, or with --cluster the client URLs of every member."""
    if not inv.flag("cluster"):
        return list(inv.flag("endpoints"))
    cfg = inv.client_config()
    client = inv.client(config=dataclasses.replace(cfg, user=None, password=""))
    try:
        members = inv.rpc(lambda: client.member_list(), cfg.endpoints[0])
    except CommandExit as exit_:
        raise CommandExit(
            ExitCode.ERROR, f"failed to fetch endpoints from etcd cluster member list: {exit_.message}"
        ) from None
    finally:
        client.close()
    return [url for member in members.members for url in member.clientURLs]


def _check_health(inv: Invocation, cfg: ClientConfig, endpoint: str) -> EndpointHealth:
    try:
        client = inv.client([endpoint], cfg)
    except CommandExit as exit_:
        return EndpointHealth(endpoint, False, "", exit_.message)
    try:
        started = time.monotonic()
        error = ""
        try:
            client.get("health")
        except errors.EtcdError as err:
            if err != errors.PERMISSION_DENIED:
                inv.log_rpc_failure(err, endpoint, logger="client")
                error = err.message
        took = gofmt.format_duration(time.monotonic() - started)
        if not error:
            try:
                alarms = client.alarm_list().alarms
            except errors.EtcdError:
                error = "Unable to fetch the alarm list"
            else:
                if alarms:
                    error = "Active Alarm(s): " + "".join(
                        _ALARM_NAMES.get(a.alarm, "UNKNOWN") + " " for a in alarms
                    )
        return EndpointHealth(endpoint, not error, took, error)
    finally:
        client.close()


def _health(inv: Invocation) -> None:
    inv.apply_env()
    printer = inv.printer()
    cfg = inv.client_config()
    endpoints = endpoints_from_cluster(inv)
    with ThreadPoolExecutor(max_workers=max(1, len(endpoints))) as pool:
        results = list(pool.map(lambda ep: _check_health(inv, cfg, ep), endpoints))
    printer.endpoint_health(results)
    if any(h.error for h in results):
        raise CommandExit(ExitCode.ERROR, "unhealthy cluster")


def _status(inv: Invocation) -> None:
    client = inv.client()
    results: list[EndpointStatus] = []
    failed = False
    for endpoint in endpoints_from_cluster(inv):
        try:
            results.append(EndpointStatus(endpoint, client.status(endpoint)))
        except errors.EtcdError as err:
            inv.log_rpc_failure(err, endpoint)
            inv.err(f"Failed to get the status of endpoint {endpoint} ({err.message})\n")
            failed = True
    inv.printer().endpoint_status(results)
    if failed:
        raise SilentExit(ExitCode.ERROR)


def _hashkv(inv: Invocation) -> None:
    client = inv.client()
    results: list[EndpointHashKV] = []
    last_error: errors.EtcdError | None = None
    for endpoint in endpoints_from_cluster(inv):
        try:
            results.append(EndpointHashKV(endpoint, client.hash_kv(inv.flag("rev"), endpoint)))
        except errors.EtcdError as err:
            inv.log_rpc_failure(err, endpoint)
            inv.err(f"Failed to get the hash of endpoint {endpoint} ({err.message})\n")
            last_error = err
    inv.printer().endpoint_hashkv(results)
    if last_error is not None:
        raise CommandExit(ExitCode.ERROR, last_error.message)


STATUS_LONG = """When --write-out is set to simple, this command prints out comma-separated status \
lists for each endpoint.
The items in the lists are endpoint, ID, version, db size, is leader, is learner, raft term, raft \
index, raft applied index, errors.
"""


def command() -> Command:
    return Command(
        "endpoint <subcommand>",
        "Endpoint related commands",
        persistent=[Flag("cluster", Kind.BOOL, False, CLUSTER_FLAG_USAGE)],
        children=[
            Command(
                "health", "Checks the healthiness of endpoints specified in `--endpoints` flag", run=_health
            ),
            Command(
                "status",
                "Prints out the status of endpoints specified in `--endpoints` flag",
                long=STATUS_LONG,
                run=_status,
            ),
            Command(
                "hashkv",
                "Prints the KV history hash for each endpoint in --endpoints",
                run=_hashkv,
                persistent=[Flag("rev", Kind.INT, 0, "maximum revision to hash (default: all revisions)")],
            ),
        ],
    )
