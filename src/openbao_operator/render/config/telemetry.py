"""``telemetry``: from spec.telemetry, plus the metrics defaults when observability.metrics is enabled.

Why: with metrics enabled, Prometheus needs the in-memory sink (``prometheus_retention_time``, default
"30s" here as in the reference) and per-pod series must not be split by host name (``disable_hostname``).
Explicit spec values win. The Circonus API token is a secret with no environment variable in OpenBao, so it
is never rendered (see :mod:`.secrets`).
"""

from __future__ import annotations

from openbao_operator.render.hcl import Attr, Block, Item

from .context import Context

PROMETHEUS_RETENTION_DEFAULT = "30s"


def telemetry(ctx: Context) -> list[Block]:
    t = ctx.spec.telemetry
    obs = ctx.spec.observability
    metrics = obs is not None and obs.metrics is not None and obs.metrics.enabled
    if t is None and not metrics:
        return []
    disable_hostname = t.disable_hostname if t is not None else None
    retention = t.prometheus_retention_time if t is not None else None
    if metrics:
        disable_hostname = True if disable_hostname is None else disable_hostname
        retention = retention or PROMETHEUS_RETENTION_DEFAULT
    pairs: list[tuple[str, str | int | bool | list[str] | None]] = [
        ("usage_gauge_period", t.usage_gauge_period if t else None),
        ("maximum_gauge_cardinality", t.maximum_gauge_cardinality if t else None),
        ("disable_hostname", disable_hostname),
        ("enable_hostname_label", t.enable_hostname_label if t else None),
        ("metrics_prefix", t.metrics_prefix if t else None),
        ("lease_metrics_epsilon", t.lease_metrics_epsilon if t else None),
        ("prometheus_retention_time", retention),
    ]
    if t is not None:
        pairs += [
            ("statsite_address", t.statsite_address),
            ("statsd_address", t.statsd_address),
            ("dogstatsd_addr", t.dog_statsd_address),
            ("dogstatsd_tags", list(t.dog_statsd_tags) if t.dog_statsd_tags else None),
            ("circonus_api_app", t.circonus_api_app),
            ("circonus_api_url", t.circonus_api_url),
            ("circonus_submission_interval", t.circonus_submission_interval),
            ("circonus_check_id", t.circonus_check_id),
            ("circonus_check_force_metric_activation", t.circonus_check_force_metric_activation),
            ("circonus_check_instance_id", t.circonus_check_instance_id),
            ("circonus_check_search_tag", t.circonus_check_search_tag),
            ("circonus_check_display_name", t.circonus_check_display_name),
            ("circonus_check_tags", t.circonus_check_tags),
            ("circonus_broker_id", t.circonus_broker_id),
            ("circonus_broker_select_tag", t.circonus_broker_select_tag),
            ("stackdriver_project_id", t.stackdriver_project_id),
            ("stackdriver_location", t.stackdriver_location),
            ("stackdriver_namespace", t.stackdriver_namespace),
            ("stackdriver_debug_logs", t.stackdriver_debug_logs),
        ]
    body: list[Item] = [Attr(k, v) for k, v in pairs if v is not None]
    return [Block("telemetry", (), tuple(body))]
