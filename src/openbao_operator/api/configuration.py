"""Server configuration rendered into config.hcl: `spec.configuration`, audit devices, plugins, telemetry.

Typed options only: there is no raw-HCL passthrough, so every value can be validated here and written
safely. Every user string that reaches config.hcl is an HclStr (see types.py).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from .base import ApiModel, Rule
from .types import EMPTY_IS_UNSET, HclStr, ImageRef, NonEmptyHclStr, Pattern, QuotableKey, Sha256, Ttl

Cidr = Annotated[
    str,
    Pattern(
        r"^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*)(?:/[0-9]{1,3})?$",
        "must be an IP address or CIDR such as 10.0.0.0/8",
        64,
    ),
]
HeaderName = Annotated[str, Pattern(r"^[A-Za-z0-9!#$&'*+.^_`|~-]+$", "must be an HTTP header name", 256)]


PROXY_PROTOCOL_BEHAVIORS = ("use_always", "allow_authorized", "deny_unauthorized")
"""OpenBao's proxy_protocol_behavior values; bao stops on any other ("unknown behavior type for proxy proto
config"), such as the reference operator's allow_any or use_proxy_protocol."""


class ListenerConfig(ApiModel):
    """Tuning of the TCP listener; addresses are managed by the operator."""

    rules = (
        Rule(
            cel="!has(self.proxyProtocolBehavior) || self.proxyProtocolBehavior in "
            "['use_always', 'allow_authorized', 'deny_unauthorized']",
            check=lambda m: m.proxy_protocol_behavior is None or m.proxy_protocol_behavior in PROXY_PROTOCOL_BEHAVIORS,
            message="must be use_always, allow_authorized or deny_unauthorized: OpenBao stops on any other value "
            '("unknown behavior type for proxy proto config"), such as allow_any or use_proxy_protocol',
            field="proxyProtocolBehavior",
        ),
        Rule(
            cel="!has(self.proxyProtocolBehavior) || !(self.proxyProtocolBehavior in "
            "['allow_authorized', 'deny_unauthorized']) || has(self.proxyProtocolAuthorizedAddrs)",
            check=lambda m: (
                m.proxy_protocol_behavior not in ("allow_authorized", "deny_unauthorized")
                or m.proxy_protocol_authorized_addrs is not None
            ),
            message="required when proxyProtocolBehavior is allow_authorized or deny_unauthorized: with "
            "deny_unauthorized and no trusted address, OpenBao's HTTP server exits at the first connection "
            '("upstream connection not trusted")',
            field="proxyProtocolAuthorizedAddrs",
        ),
    )

    tls_disable: bool | None = Field(default=None, alias="tlsDisable")
    """Disable TLS on the listener. Prefer spec.tls.enabled=false, which also fixes probes and joins."""
    proxy_protocol_behavior: Annotated[str, Field(max_length=64)] | None = None
    """PROXY protocol handling, for load balancers that send it: use_always, or allow_authorized /
    deny_unauthorized with proxyProtocolAuthorizedAddrs. The reference operator's enum also has allow_any,
    which is not an OpenBao behaviour (bao stops: "unknown behavior type for proxy proto config"), so it is
    refused."""
    proxy_protocol_authorized_addrs: Annotated[list[Cidr], Field(min_length=1, max_length=64)] | None = None
    """Addresses (CIDRs) of the proxies trusted to send PROXY headers (proxy_protocol_authorized_addrs)."""


AUTOPILOT_CLEANUP_DEAD_SERVERS = True
"""The reference operator's default (OpenBao's own is false)."""
AUTOPILOT_DEAD_SERVER_THRESHOLD = "5m"
"""The reference operator's default (OpenBao's own is 24h)."""


class AutopilotConfig(ApiModel):
    """Raft autopilot, applied once at self-initialization through the OpenBao API (not config.hcl). Without
    this block the same defaults apply (the reference operator's: dead servers cleaned up after 5m)."""

    cleanup_dead_servers: bool = AUTOPILOT_CLEANUP_DEAD_SERVERS
    """Remove raft peers that stay unreachable longer than deadServerLastContactThreshold (never below
    minQuorum voters)."""
    dead_server_last_contact_threshold: Ttl = AUTOPILOT_DEAD_SERVER_THRESHOLD
    """How long a peer may be unreachable before it counts as dead (OpenBao's minimum is 1m)."""
    min_quorum: Annotated[int, Field(ge=3)] | None = None
    """Dead servers are only removed while at least this many voters remain (default max(3, replicas/2+1))."""
    server_stabilization_time: Ttl | None = None
    """How long a new server must be healthy before it becomes a voter (OpenBao default 10s)."""
    last_contact_threshold: Ttl | None = None
    """How long a server may go without leader contact before it counts as unhealthy (OpenBao default 10s)."""
    max_trailing_logs: int | None = None
    """How many log entries a server may lag before it counts as unhealthy (OpenBao default 1000)."""


class RaftConfig(ApiModel):
    """Tuning of raft storage."""

    performance_multiplier: Annotated[int, Field(ge=0)] | None = None
    """Scales raft timing (0 means OpenBao's default of 5; 1 is for production hardware)."""
    autopilot: AutopilotConfig | None = None
    """Autopilot settings."""


class LoggingConfig(ApiModel):
    """Server log output."""

    format: Literal["standard", "json"] | None = None
    """log_format."""
    file: HclStr | None = None
    """log_file: also write logs to this path."""
    rotate_duration: Ttl | None = None
    """log_rotate_duration, such as 24h or 7d."""
    rotate_bytes: Annotated[int, Field(ge=0)] | None = None
    """log_rotate_bytes."""
    rotate_max_files: Annotated[int, Field(ge=0)] | None = None
    """log_rotate_max_files."""
    pid_file: HclStr | None = Field(default=None, alias="pidFile")
    """pid_file."""


OPENBAO_DOWNLOAD_BEHAVIORS = ("fail", "continue")
"""The values of OpenBao's plugin_download_behavior (bao 2.7.2 warns about anything else and uses fail)."""


class PluginSettings(ApiModel):
    """Plugin handling of the server (separate from spec.plugins, which declares plugins)."""

    file_uid: int | None = Field(default=None, alias="fileUID")
    """plugin_file_uid."""
    file_permissions: (
        Annotated[
            str, Pattern(r"^[0-7]{1,12}$", "must be octal permissions such as 0755 (OpenBao parses it in base 8)")
        ]
        | None
    ) = None
    """plugin_file_permissions, octal such as 0755 (bao stops on anything else: "strconv.ParseInt ... invalid
    syntax")."""
    auto_download: bool | None = None
    """plugin_auto_download: fetch declared OCI plugins (OpenBao >= 2.5.0)."""
    auto_register: bool | None = None
    """plugin_auto_register: register declared plugins in the catalog (OpenBao >= 2.5.0)."""
    download_behavior: Literal["standard", "direct", "fail", "continue"] | None = None
    """plugin_download_behavior (OpenBao >= 2.5.0): fail (OpenBao's default: stop when a plugin cannot be
    downloaded) or continue. standard and direct are the reference operator's values, which OpenBao does not
    know (it logs a warning and uses its default), so they are not written and are reported as ignored."""


class OpenBaoConfiguration(ApiModel):
    """Typed server options for config.hcl."""

    ui: bool = True
    """Serve the web UI."""
    log_level: Literal["trace", "debug", "info", "warn", "err"] = "info"
    """log_level."""
    listener: ListenerConfig | None = None
    """Listener tuning."""
    raft: RaftConfig | None = None
    """Raft tuning."""
    acme_ca_root: HclStr | None = Field(default=None, alias="acmeCARoot")
    """File with the CA that signs the ACME server's certificates (tls_acme_ca_root)."""
    logging: LoggingConfig | None = None
    """Log output."""
    plugin: PluginSettings | None = None
    """Plugin handling."""
    default_lease_ttl: Ttl | None = Field(default=None, alias="defaultLeaseTTL")
    """default_lease_ttl."""
    max_lease_ttl: Ttl | None = Field(default=None, alias="maxLeaseTTL")
    """max_lease_ttl."""
    cache_size: Annotated[int, Field(ge=0)] | None = None
    """cache_size, in entries."""
    disable_cache: bool | None = None
    """disable_cache."""
    detect_deadlocks: bool | None = None
    """detect_deadlocks (debugging)."""
    raw_storage_endpoint: bool | None = None
    """raw_storage_endpoint (dangerous: exposes raw storage)."""
    introspection_endpoint: bool | None = None
    """introspection_endpoint."""
    imprecise_lease_role_tracking: bool | None = None
    """imprecise_lease_role_tracking."""
    unsafe_allow_api_audit_creation: bool | None = Field(default=None, alias="unsafeAllowAPIAuditCreation")
    """unsafe_allow_api_audit_creation."""
    allow_audit_log_prefixing: bool | None = None
    """allow_audit_log_prefixing."""
    enable_response_header_hostname: bool | None = None
    """enable_response_header_hostname."""
    enable_response_header_raft_node_id: bool | None = Field(default=None, alias="enableResponseHeaderRaftNodeID")
    """enable_response_header_raft_node_id."""


class FileAuditOptions(ApiModel):
    """Options of a file audit device."""

    file_path: NonEmptyHclStr
    """Where the log is written (stdout and discard are special)."""
    mode: Annotated[str, Pattern(r"^[0-7]{3,4}$", "must be an octal file mode such as 0600")] | None = None
    """Octal file mode, such as 0600."""


class HttpAuditOptions(ApiModel):
    """Options of an HTTP audit device."""

    uri: NonEmptyHclStr
    """Where audit entries are sent."""
    headers: dict[HeaderName, list[HclStr]] | None = None
    """Headers sent with each entry: name to values."""


class SyslogAuditOptions(ApiModel):
    """Options of a syslog audit device."""

    facility: HclStr | None = None
    """Syslog facility (OpenBao default AUTH)."""
    tag: HclStr | None = None
    """Syslog tag (OpenBao default openbao)."""


class SocketAuditOptions(ApiModel):
    """Options of a socket audit device."""

    address: HclStr | None = None
    """Socket address."""
    socket_type: HclStr | None = None
    """tcp, udp or unix."""
    write_timeout: Ttl | None = None
    """Write deadline, such as 2s."""


AUDIT_OPTION_BLOCKS = (
    ("file", "fileOptions"),
    ("http", "httpOptions"),
    ("syslog", "syslogOptions"),
    ("socket", "socketOptions"),
)


def _scalar_options(value: Any) -> Any:
    """Name the option whose value is not a string, number or boolean, with OpenBao's reason."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) or item is None:
                raise PydanticCustomError(
                    "openbao_audit_option",
                    "option '{key}' must be a string, number or boolean: OpenBao's audit options are strings and "
                    'bao stops at startup on anything else ("unknown type for string")',
                    {"key": key},
                )
    return value


AUDIT_OPTION_ATTRS = {
    "fileOptions": "file_options",
    "httpOptions": "http_options",
    "syslogOptions": "syslog_options",
    "socketOptions": "socket_options",
}
"""Model attribute of each structured options block."""


class AuditDevice(ApiModel):
    """A declarative audit device (`audit "<type>" "<path>"` in config.hcl). Only the structured options
    block of its type is used (as in the reference operator); another one is reported as ignored."""

    type: Literal["file", "syslog", "socket", "http"]
    """Device type."""
    path: Annotated[NonEmptyHclStr, Field(max_length=256)]
    """Mount path of the device."""
    description: HclStr | None = None
    """Description."""
    file_options: FileAuditOptions | None = None
    """Options for type file."""
    http_options: HttpAuditOptions | None = Field(default=None, alias="httpOptions")
    """Options for type http."""
    syslog_options: SyslogAuditOptions | None = None
    """Options for type syslog."""
    socket_options: SocketAuditOptions | None = None
    """Options for type socket."""
    options: Annotated[dict[QuotableKey, HclStr | bool | int | float] | None, BeforeValidator(_scalar_options)] = None
    """Raw options (string, number or boolean values, written as strings), used only when the structured
    options block of the type is not given. OpenBao's audit options are strings: a nested object or list stops
    bao at startup ("unknown type for string"), so those are refused (by the operator: the CRD schema cannot
    say "string, number or boolean", so the API server admits them)."""


PLUGIN_TYPES = ("auth", "database", "kms", "secret")
"""The plugin types OpenBao's declarative plugin blocks take (bao 2.7.2 skips others with a warning)."""


class Plugin(ApiModel):
    """A declarative plugin (`plugin "<type>" "<name>"` in config.hcl).

    OpenBao does not stop on a plugin block it cannot use: it logs a warning and skips the plugin. Such an
    entry (see :func:`plugin_problem`) is accepted, not written, and reported as ignored.
    """

    type: NonEmptyHclStr
    """Plugin type: secret, auth, database or kms."""
    name: NonEmptyHclStr
    """Plugin name."""
    image: Annotated[ImageRef | None, EMPTY_IS_UNSET] = None
    """OCI image with the plugin; wins over command."""
    command: Annotated[NonEmptyHclStr | None, EMPTY_IS_UNSET] = None
    """Binary name in the plugin directory (used when image is not set)."""
    version: NonEmptyHclStr | None = None
    """Plugin version; OpenBao needs it."""
    binary_name: NonEmptyHclStr | None = None
    """Binary name inside the image."""
    sha256sum: Sha256 | None = Field(default=None, alias="sha256sum")
    """SHA-256 of the binary; OpenBao needs it unless the image is pinned by digest."""
    args: list[HclStr] | None = None
    """Arguments for the plugin."""
    env: list[HclStr] | None = None
    """Environment (KEY=VALUE) for the plugin."""


def plugin_problem(plugin: Plugin) -> str | None:
    """Why OpenBao would skip this plugin block (bao 2.7.2 logs the quoted warning and goes on), or None."""
    if plugin.type not in PLUGIN_TYPES:
        return f'"{plugin.type}" is not a supported plugin type (OpenBao takes {", ".join(PLUGIN_TYPES)})'
    if plugin.image is None and plugin.command is None:
        return "image and command cannot both be empty"
    if plugin.version is None:
        return "version cannot be empty"
    if plugin.image is not None and "@sha256:" not in plugin.image and plugin.sha256sum is None:
        return "sha256sum must be set if image is not pinned by digest"
    return None


class TelemetryConfig(ApiModel):
    """The telemetry stanza."""

    usage_gauge_period: Ttl | None = None
    """usage_gauge_period."""
    maximum_gauge_cardinality: int | None = None
    """maximum_gauge_cardinality."""
    disable_hostname: bool | None = None
    """disable_hostname."""
    enable_hostname_label: bool | None = None
    """enable_hostname_label."""
    metrics_prefix: HclStr | None = None
    """metrics_prefix."""
    lease_metrics_epsilon: Ttl | None = None
    """lease_metrics_epsilon."""
    prometheus_retention_time: Ttl | None = None
    """prometheus_retention_time."""
    statsite_address: HclStr | None = None
    """statsite_address."""
    statsd_address: HclStr | None = None
    """statsd_address."""
    dog_statsd_address: HclStr | None = Field(default=None, alias="dogStatsdAddress")
    """dogstatsd_addr."""
    dog_statsd_tags: list[HclStr] | None = Field(default=None, alias="dogStatsdTags")
    """dogstatsd_tags."""
    circonus_api_key: str | None = Field(default=None, alias="circonusAPIKey")
    """Deprecated here (a secret in the CR); not written into config.hcl."""
    circonus_api_app: HclStr | None = Field(default=None, alias="circonusAPIApp")
    """circonus_api_app."""
    circonus_api_url: HclStr | None = Field(default=None, alias="circonusAPIURL")
    """circonus_api_url."""
    circonus_submission_interval: HclStr | None = None
    """circonus_submission_interval (read only when Circonus is in use; bao does not check it at startup)."""
    circonus_check_id: HclStr | None = Field(default=None, alias="circonusCheckID")
    """circonus_submission_url check id."""
    circonus_check_force_metric_activation: HclStr | None = None
    """circonus_check_force_metric_activation."""
    circonus_check_instance_id: HclStr | None = Field(default=None, alias="circonusCheckInstanceID")
    """circonus_check_instance_id."""
    circonus_check_search_tag: HclStr | None = None
    """circonus_check_search_tag."""
    circonus_check_display_name: HclStr | None = None
    """circonus_check_display_name."""
    circonus_check_tags: HclStr | None = None
    """circonus_check_tags."""
    circonus_broker_id: HclStr | None = Field(default=None, alias="circonusBrokerID")
    """circonus_broker_id."""
    circonus_broker_select_tag: HclStr | None = None
    """circonus_broker_select_tag."""
    stackdriver_project_id: HclStr | None = Field(default=None, alias="stackdriverProjectID")
    """stackdriver_project_id."""
    stackdriver_location: HclStr | None = None
    """stackdriver_location."""
    stackdriver_namespace: HclStr | None = None
    """stackdriver_namespace."""
    stackdriver_debug_logs: bool | None = None
    """stackdriver_debug_logs."""


class ServiceMonitorConfig(ApiModel):
    """A Prometheus Operator ServiceMonitor for the cluster."""

    enabled: bool = True
    """Create the ServiceMonitor (when metrics are enabled)."""
    interval: str = "30s"
    """Scrape interval (Prometheus duration)."""
    scrape_timeout: str = "10s"
    """Scrape timeout (Prometheus duration)."""


class MetricsConfig(ApiModel):
    """Prometheus metrics of the OpenBao pods."""

    enabled: bool = False
    """Expose metrics (sets telemetry defaults such as prometheus_retention_time)."""
    service_monitor: ServiceMonitorConfig | None = None
    """ServiceMonitor settings."""


class ObservabilityConfig(ApiModel):
    """Observability of the OpenBao pods."""

    metrics: MetricsConfig | None = None
    """Metrics settings."""
