"""Server configuration: etcd 3.5's flags, their defaults, and the parsed config.

One table (`FLAGS`) describes every flag once; the command line, `ETCD_*`
environment variables and the YAML config file are all read through it, so a
flag's name, default and meaning live in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from etcdpy.pkg import goduration
from etcdpy.pkg.tlsutil import TLSConfigError, TLSInfo, check_versions, cipher_suites

FlagKind = Literal["str", "int", "bool", "duration", "urls"]


@dataclass(frozen=True)
class Flag:
    name: str
    kind: FlagKind
    default: str
    help: str
    section: str
    # False: accepted for compatibility, but setting it to a non-default value is
    # refused at start-up, because the feature is not built yet.
    supported: bool = True


_S, _U = True, False
FLAGS: tuple[Flag, ...] = (
    # Member
    Flag("name", "str", "default", "Human-readable name for this member.", "Member"),
    Flag("data-dir", "str", "${name}.etcd", "Path to the data directory.", "Member"),
    Flag("wal-dir", "str", "", "Path to the dedicated wal directory.", "Member"),
    Flag("snapshot-count", "int", "100000", "Committed entries between two snapshots.", "Member"),
    Flag("heartbeat-interval", "int", "100", "Heartbeat interval in milliseconds.", "Member"),
    Flag("election-timeout", "int", "1000", "Election timeout in milliseconds.", "Member"),
    Flag("initial-election-tick-advance", "bool", "true", "Fast-forward election ticks on boot.", "Member"),
    Flag("listen-peer-urls", "urls", "http://localhost:2380", "URLs to listen on for peer traffic.",
         "Member"),
    Flag("listen-client-urls", "urls", "http://localhost:2379", "URLs to listen on for client traffic.",
         "Member"),
    Flag("max-snapshots", "int", "5", "Snapshot files to retain (0 is unlimited).", "Member"),
    Flag("max-wals", "int", "5", "WAL files to retain (0 is unlimited).", "Member"),
    Flag("quota-backend-bytes", "int", "0",
         "Raise the NOSPACE alarm when the backend exceeds this size (0: 2 GiB).", "Member"),
    Flag("backend-bbolt-freelist-type", "str", "map", "Accepted for compatibility (bbolt only).", "Member"),
    Flag("backend-batch-interval", "duration", "", "Longest time before a backend commit.", "Member"),
    Flag("backend-batch-limit", "int", "0", "Most operations before a backend commit.", "Member"),
    Flag("max-txn-ops", "int", "128", "Maximum number of operations in a transaction.", "Member"),
    Flag("max-request-bytes", "int", "1572864", "Largest client request, in bytes.", "Member"),
    Flag("grpc-keepalive-min-time", "duration", "5s", "Shortest interval a client may ping at.", "Member"),
    Flag("grpc-keepalive-interval", "duration", "2h", "Server-to-client ping interval (0: off).", "Member"),
    Flag("grpc-keepalive-timeout", "duration", "20s", "Wait for a ping answer before closing.", "Member"),
    # From etcd 3.5.2 on; 3.5.1 has no such flag.
    Flag("max-concurrent-streams", "int", "4294967295",
         "Maximum concurrent streams that each client can open at a time.", "Member"),
    Flag("socket-reuse-port", "bool", "false", "Set SO_REUSEPORT on listeners.", "Member"),
    Flag("socket-reuse-address", "bool", "false", "Set SO_REUSEADDR on listeners.", "Member"),
    # Clustering
    Flag("initial-advertise-peer-urls", "urls", "http://localhost:2380",
         "This member's peer URLs to advertise to the rest of the cluster.", "Clustering"),
    Flag("initial-cluster", "str", "default=http://localhost:2380",
         "Initial cluster configuration for bootstrapping (name=peer-url,...).", "Clustering"),
    Flag("initial-cluster-state", "str", "new", "Initial cluster state ('new' or 'existing').", "Clustering"),
    Flag("initial-cluster-token", "str", "etcd-cluster", "Initial cluster token for bootstrapping.",
         "Clustering"),
    Flag("advertise-client-urls", "urls", "http://localhost:2379",
         "This member's client URLs to advertise to the public.", "Clustering"),
    Flag("discovery", "str", "", "Discovery URL used to bootstrap the cluster.", "Clustering", _U),
    Flag("discovery-fallback", "str", "proxy", "Behaviour when discovery fails.", "Clustering"),
    Flag("discovery-proxy", "str", "", "HTTP proxy for the discovery service.", "Clustering", _U),
    Flag("discovery-srv", "str", "", "DNS SRV domain used to bootstrap the cluster.", "Clustering", _U),
    Flag("discovery-srv-name", "str", "", "Suffix to the DNS SRV name.", "Clustering", _U),
    Flag("strict-reconfig-check", "bool", "true", "Reject reconfigurations that might lose quorum.",
         "Clustering"),
    Flag("pre-vote", "bool", "true", "Enable Raft's pre-vote phase.", "Clustering"),
    Flag("auto-compaction-retention", "str", "0", "Auto compaction retention (0: off).", "Clustering", _U),
    Flag("auto-compaction-mode", "str", "periodic", "Auto compaction mode: periodic or revision.",
         "Clustering"),
    Flag("enable-v2", "bool", "false", "The v2 API is not offered by etcd-py.", "Clustering", _U),
    Flag("v2-deprecation", "str", "not-yet", "Accepted for compatibility.", "Clustering"),
    # Security
    Flag("cert-file", "str", "", "Client server TLS certificate file.", "Security"),
    Flag("key-file", "str", "", "Client server TLS key file.", "Security"),
    Flag("client-cert-auth", "bool", "false", "Require client certificates.", "Security"),
    Flag("client-crl-file", "str", "", "Client certificate revocation list.", "Security", _U),
    Flag("client-cert-allowed-hostname", "str", "", "Allowed TLS hostname for client auth.", "Security", _U),
    Flag("trusted-ca-file", "str", "", "Client server TLS trusted CA file.", "Security"),
    Flag("auto-tls", "bool", "false", "Client TLS with generated certificates.", "Security"),
    Flag("peer-cert-file", "str", "", "Peer server TLS certificate file.", "Security"),
    Flag("peer-key-file", "str", "", "Peer server TLS key file.", "Security"),
    Flag("peer-client-cert-auth", "bool", "false", "Require peer client certificates.", "Security"),
    Flag("peer-trusted-ca-file", "str", "", "Peer server TLS trusted CA file.", "Security"),
    Flag("peer-cert-allowed-cn", "str", "", "Required CN for peer client certificates.", "Security"),
    Flag("peer-cert-allowed-hostname", "str", "", "Allowed TLS hostname for peers.", "Security", _U),
    Flag("peer-auto-tls", "bool", "false", "Peer TLS with generated certificates.", "Security"),
    Flag("self-signed-cert-validity", "int", "1", "Validity of generated certificates, in years.",
         "Security"),
    Flag("peer-crl-file", "str", "", "Peer certificate revocation list.", "Security", _U),
    Flag("cipher-suites", "str", "", "Comma-separated TLS cipher suites.", "Security"),
    Flag("cors", "str", "*", "Comma-separated CORS origins.", "Security"),
    Flag("host-whitelist", "str", "*", "Acceptable hostnames from HTTP client requests.", "Security"),
    Flag("tls-min-version", "str", "TLS1.2", "Minimum TLS version.", "Security"),
    Flag("tls-max-version", "str", "", "Maximum TLS version.", "Security"),
    # Auth
    Flag("auth-token", "str", "simple", "Auth token type and options.", "Auth"),
    Flag("bcrypt-cost", "int", "10", "bcrypt cost for password hashing.", "Auth"),
    Flag("auth-token-ttl", "int", "300", "Lifetime of simple auth tokens, in seconds.", "Auth"),
    # Profiling and monitoring
    Flag("enable-pprof", "bool", "false", "Not offered by etcd-py.", "Profiling and Monitoring", _U),
    Flag("metrics", "str", "basic", "Metrics detail: basic or extensive.", "Profiling and Monitoring"),
    Flag("listen-metrics-urls", "urls", "", "Extra URLs serving /metrics and /health.",
         "Profiling and Monitoring", _U),
    # Logging
    Flag("logger", "str", "zap", "Logger: only 'zap' (structured JSON) is offered.", "Logging"),
    Flag("log-outputs", "str", "default", "Log outputs: default, stderr, stdout, or file paths.", "Logging"),
    Flag("log-level", "str", "info", "Log level: debug, info, warn, error, panic or fatal.", "Logging"),
    Flag("enable-log-rotation", "bool", "false", "Rotate log files.", "Logging", _U),
    Flag("log-rotation-config-json", "str",
         '{"maxsize": 100, "maxage": 0, "maxbackups": 0, "localtime": false, "compress": false}',
         "Log rotation configuration.", "Logging"),
    # Experimental and unsafe
    Flag("experimental-initial-corrupt-check", "bool", "false", "Check data corruption on boot.",
         "Experimental"),
    Flag("experimental-corrupt-check-time", "duration", "0s", "Period of corruption checks.", "Experimental"),
    Flag("experimental-enable-lease-checkpoint", "bool", "false", "Checkpoint lease remaining TTLs.",
         "Experimental"),
    # etcd 3.5 has the interval only in its embed config; etcd-py also takes it as a flag.
    Flag("experimental-lease-checkpoint-interval", "duration", "5m",
         "How often the leader checkpoints lease remaining TTLs.", "Experimental"),
    Flag("experimental-compaction-batch-limit", "int", "1000", "Keys deleted per compaction batch.",
         "Experimental"),
    Flag("experimental-watch-progress-notify-interval", "duration", "10m",
         "Interval of watch progress notifications.", "Experimental"),
    Flag("experimental-warning-apply-duration", "duration", "100ms",
         "Log a warning when applying a request takes longer.", "Experimental"),
    Flag("experimental-snapshot-catchup-entries", "int", "5000",
         "Entries kept after a snapshot for slow followers to catch up from (etcd 3.6's flag).",
         "Experimental"),
    Flag("experimental-txn-mode-write-with-shared-buffer", "bool", "true", "Accepted for compatibility.",
         "Experimental"),
    Flag("experimental-bootstrap-defrag-threshold-megabytes", "int", "0",
         "Defragment on boot when this much space could be freed.", "Experimental"),
    Flag("force-new-cluster", "bool", "false", "Force a new cluster of one member.", "Unsafe", _U),
    Flag("unsafe-no-fsync", "bool", "false", "Do not fsync (data loss on crash: tests only).", "Unsafe"),
)

FLAGS_BY_NAME: dict[str, Flag] = {f.name: f for f in FLAGS}



class ConfigError(ValueError):
    """A flag value or a combination of flags etcd would refuse."""


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration (as etcd's flags), in seconds; "" is 0."""
    if not text:
        return 0.0
    try:
        return goduration.parse_duration(text)
    except goduration.DurationError as e:
        raise ConfigError(str(e)) from None


def parse_bool(text: str) -> bool:
    """Go's strconv.ParseBool."""
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise ConfigError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def parse_urls(text: str) -> list[str]:
    urls = [u.strip() for u in text.split(",") if u.strip()]
    for u in urls:
        parts = urlsplit(u)
        if parts.scheme not in ("http", "https", "unix", "unixs") or not parts.netloc:
            raise ConfigError(f'URL scheme must be http, https, unix, or unixs: {u}')
        if parts.path not in ("", "/"):
            raise ConfigError(f'URL must not contain a path: {u}')
    return urls


def parse_initial_cluster(text: str) -> dict[str, list[str]]:
    """`name=url,name=url` into name -> peer URLs, in order of appearance."""
    members: dict[str, list[str]] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        name, sep, url = item.partition("=")
        if not sep or not url:
            raise ConfigError(f"couldn't parse initial-cluster item {item!r}: want name=url")
        members.setdefault(name, []).extend(parse_urls(url))
    return members


@dataclass
class ServerConfig:
    """A member's configuration, with every value parsed and every default applied."""

    name: str = "default"
    data_dir: str = "default.etcd"
    wal_dir: str = ""
    snapshot_count: int = 100000
    snapshot_catchup_entries: int = 5000
    max_wals: int = 5
    heartbeat_ms: int = 100
    election_ms: int = 1000
    listen_peer_urls: list[str] = field(default_factory=lambda: ["http://localhost:2380"])
    listen_client_urls: list[str] = field(default_factory=lambda: ["http://localhost:2379"])
    advertise_client_urls: list[str] = field(default_factory=lambda: ["http://localhost:2379"])
    initial_advertise_peer_urls: list[str] = field(default_factory=lambda: ["http://localhost:2380"])
    initial_cluster: dict[str, list[str]] = field(
        default_factory=lambda: {"default": ["http://localhost:2380"]}
    )
    initial_cluster_state: str = "new"
    initial_cluster_token: str = "etcd-cluster"
    quota_backend_bytes: int = 2 * 1024**3
    max_txn_ops: int = 128
    max_request_bytes: int = 1572864
    grpc_keepalive_min_time: float = 5.0
    grpc_keepalive_interval: float = 7200.0
    grpc_keepalive_timeout: float = 20.0
    max_concurrent_streams: int = 2**32 - 1
    socket_reuse_port: bool = False
    socket_reuse_address: bool = False
    cors: str = "*"
    logger: str = "zap"
    log_outputs: list[str] = field(default_factory=lambda: ["default"])
    log_level: str = "info"
    unsafe_no_fsync: bool = False
    warning_apply_duration: float = 0.1
    lease_checkpoint: bool = False
    lease_checkpoint_interval: float = 300.0
    auth_token: str = "simple"
    bcrypt_cost: int = 10
    auth_token_ttl: int = 300
    client_tls: TLSInfo = field(default_factory=TLSInfo)
    peer_tls: TLSInfo = field(default_factory=TLSInfo)
    self_signed_cert_validity: int = 1
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def member_dir(self) -> str:
        return f"{self.data_dir}/member"

    @property
    def wal_path(self) -> str:
        return self.wal_dir or f"{self.member_dir}/wal"

    @property
    def backend_path(self) -> str:
        return f"{self.member_dir}/snap/db"

    def to_log_fields(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "raw"}
        return out


DEFAULT_QUOTA_BYTES = 2 * 1024**3
MAX_QUOTA_BYTES = 8 * 1024**3


def _tls_config(
    raw: Mapping[str, str], get_bool: Callable[[str], bool], get_int: Callable[[str], int]
) -> dict[str, Any]:
    """The client and peer TLSInfo of the TLS flags (ConfigError for what etcd refuses)."""
    suites = [s.strip() for s in raw["cipher-suites"].split(",") if s.strip()]
    try:
        check_versions(raw["tls-min-version"], raw["tls-max-version"], suites)
        common = TLSInfo(
            cipher_suites=cipher_suites(suites), min_version=raw["tls-min-version"],
            max_version=raw["tls-max-version"],
        )
    except TLSConfigError as exc:
        raise ConfigError(str(exc)) from None
    validity = get_int("self-signed-cert-validity")
    if validity <= 0 and (get_bool("auto-tls") or get_bool("peer-auto-tls")):
        raise ConfigError("selfSignedCertValidity is invalid,it should be greater than 0")
    client = dataclasses.replace(
        common, cert_file=raw["cert-file"], key_file=raw["key-file"], trusted_ca_file=raw["trusted-ca-file"],
        client_cert_auth=get_bool("client-cert-auth"), auto_tls=get_bool("auto-tls"),
    )
    peer = dataclasses.replace(
        common, cert_file=raw["peer-cert-file"], key_file=raw["peer-key-file"],
        trusted_ca_file=raw["peer-trusted-ca-file"], client_cert_auth=get_bool("peer-client-cert-auth"),
        auto_tls=get_bool("peer-auto-tls"), allowed_cn=raw["peer-cert-allowed-cn"],
    )
    return {"client_tls": client, "peer_tls": peer, "self_signed_cert_validity": validity}


def build_config(values: Mapping[str, str]) -> ServerConfig:
    """Make a ServerConfig from flag name -> text (flags left out take their defaults).

    Raises ConfigError for a malformed value, an unknown flag, or a flag whose
    feature etcd-py does not offer yet.
    """
    raw = {f.name: f.default for f in FLAGS}
    for name, text in values.items():
        flag = FLAGS_BY_NAME.get(name)
        if flag is None:
            raise ConfigError(f"flag provided but not defined: -{name}")
        raw[name] = text
        if not flag.supported and text != flag.default:
            raise ConfigError(f"--{name} is not supported by etcd-py yet")

    def get_int(name: str) -> int:
        try:
            return int(raw[name])
        except ValueError:
            raise ConfigError(f'invalid value "{raw[name]}" for flag -{name}: parse error') from None

    def get_bool(name: str) -> bool:
        return parse_bool(raw[name])

    name = raw["name"]
    data_dir = raw["data-dir"] if "data-dir" in values else f"{name}.etcd"
    if "initial-cluster" in values:
        initial_cluster = parse_initial_cluster(raw["initial-cluster"])
    else:
        # etcd: with no --initial-cluster, this member alone, at its advertised peer URLs.
        initial_cluster = {name: parse_urls(raw["initial-advertise-peer-urls"])}
    state = raw["initial-cluster-state"]
    if state not in ("new", "existing"):
        raise ConfigError(f'invalid value "{state}" for flag -initial-cluster-state: '
                          'valid values are "new" or "existing"')
    quota = get_int("quota-backend-bytes")
    if raw["logger"] != "zap":
        raise ConfigError(f"unknown logger option {raw['logger']!r}; only 'zap' is supported")
    if raw["log-level"] not in ("debug", "info", "warn", "error", "dpanic", "panic", "fatal"):
        raise ConfigError(f'unrecognized level: "{raw["log-level"]}"')
    cfg = ServerConfig(
        name=name,
        data_dir=data_dir,
        wal_dir=raw["wal-dir"],
        snapshot_count=get_int("snapshot-count"),
        snapshot_catchup_entries=get_int("experimental-snapshot-catchup-entries"),
        max_wals=get_int("max-wals"),
        heartbeat_ms=get_int("heartbeat-interval"),
        election_ms=get_int("election-timeout"),
        listen_peer_urls=parse_urls(raw["listen-peer-urls"]),
        listen_client_urls=parse_urls(raw["listen-client-urls"]),
        advertise_client_urls=parse_urls(raw["advertise-client-urls"]),
        initial_advertise_peer_urls=parse_urls(raw["initial-advertise-peer-urls"]),
        initial_cluster=initial_cluster,
        initial_cluster_state=state,
        initial_cluster_token=raw["initial-cluster-token"],
        quota_backend_bytes=DEFAULT_QUOTA_BYTES if quota == 0 else quota,  # < 0: no quota
        max_txn_ops=get_int("max-txn-ops"),
        max_request_bytes=get_int("max-request-bytes"),
        grpc_keepalive_min_time=parse_duration(raw["grpc-keepalive-min-time"]),
        grpc_keepalive_interval=parse_duration(raw["grpc-keepalive-interval"]),
        grpc_keepalive_timeout=parse_duration(raw["grpc-keepalive-timeout"]),
        max_concurrent_streams=get_int("max-concurrent-streams"),
        socket_reuse_port=get_bool("socket-reuse-port"),
        socket_reuse_address=get_bool("socket-reuse-address"),
        cors=raw["cors"],
        logger=raw["logger"],
        log_outputs=[o.strip() for o in raw["log-outputs"].split(",") if o.strip()],
        log_level=raw["log-level"],
        unsafe_no_fsync=get_bool("unsafe-no-fsync"),
        warning_apply_duration=parse_duration(raw["experimental-warning-apply-duration"]),
        lease_checkpoint=get_bool("experimental-enable-lease-checkpoint"),
        lease_checkpoint_interval=parse_duration(raw["experimental-lease-checkpoint-interval"]),
        auth_token=raw["auth-token"],
        bcrypt_cost=get_int("bcrypt-cost"),
        auth_token_ttl=get_int("auth-token-ttl"),
        raw=raw,
        **_tls_config(raw, get_bool, get_int),
    )
    for f in FLAGS:
        if f.kind == "bool":
            get_bool(f.name)
        elif f.kind == "duration":
            parse_duration(raw[f.name])
    if cfg.election_ms < 5 * cfg.heartbeat_ms:
        raise ConfigError(
            f"--election-timeout[{cfg.election_ms}ms] should be at least as 5 times as "
            f"--heartbeat-interval[{cfg.heartbeat_ms}ms]"
        )
    if cfg.name not in cfg.initial_cluster:
        raise ConfigError(
            f"couldn't find local name {cfg.name!r} in the initial cluster configuration"
        )
    return cfg
