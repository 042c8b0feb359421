"""Prometheus metrics of backups, per cluster: what status.backup says, for alerting without reading CRs.

Why from the backup step: it is where an attempt starts and ends, so the counters count attempts exactly once
(the step that records an outcome is the one that releases the lock), and the gauges are set from the same
status it writes. Labels are the cluster's namespace and name only; nothing secret can reach a label.
The registry is the process' own (injected), as for the runtime's metrics.

- ``openbao_operator_backup_attempts_total{namespace,cluster,trigger}``: Jobs started (schedule or manual);
- ``openbao_operator_backup_results_total{namespace,cluster,result}``: finished attempts (success/failure);
- ``openbao_operator_backup_consecutive_failures{namespace,cluster}``;
- ``openbao_operator_backup_last_success_timestamp_seconds{namespace,cluster}``;
- ``openbao_operator_backup_last_size_bytes{namespace,cluster}``;
- ``openbao_operator_backup_next_scheduled_timestamp_seconds{namespace,cluster}``.
A deleted cluster's series are removed (:meth:`BackupMetrics.forget`).
"""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge

from openbao_operator.api.status import BackupStatus

from .backup.jobs import parse_time

_LABELS = ("namespace", "cluster")


class BackupMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "openbao_operator_backup_attempts_total",
            "Backup executor Jobs started, by trigger (schedule or manual)",
            [*_LABELS, "trigger"],
            registry=registry,
        )
        self.results = Counter(
            "openbao_operator_backup_results_total",
            "Backup attempts that finished, by result (success or failure)",
            [*_LABELS, "result"],
            registry=registry,
        )
        self.failures = Gauge(
            "openbao_operator_backup_consecutive_failures",
            "Backup attempts that failed in a row (0 after a success)",
            _LABELS,
            registry=registry,
        )
        self.last_success = Gauge(
            "openbao_operator_backup_last_success_timestamp_seconds",
            "When the last successful backup finished (Unix time)",
            _LABELS,
            registry=registry,
        )
        self.last_size = Gauge(
            "openbao_operator_backup_last_size_bytes", "Size of the last successful backup", _LABELS, registry=registry
        )
        self.next_run = Gauge(
            "openbao_operator_backup_next_scheduled_timestamp_seconds",
            "When the next scheduled backup starts, jitter included (Unix time)",
            _LABELS,
            registry=registry,
        )

    def started(self, namespace: str, cluster: str, *, trigger: str) -> None:
        self.attempts.labels(namespace, cluster, trigger).inc()

    def finished(self, namespace: str, cluster: str, *, success: bool) -> None:
        self.results.labels(namespace, cluster, "success" if success else "failure").inc()

    def observe(self, namespace: str, cluster: str, status: BackupStatus) -> None:
        """The gauges from status.backup as this pass writes it."""
        self.failures.labels(namespace, cluster).set(status.consecutive_failures or 0)
        for gauge, when in (
            (self.last_success, status.last_backup_time),
            (self.next_run, status.next_scheduled_backup),
        ):
            at = parse_time(when)
            if at is not None:
                gauge.labels(namespace, cluster).set(at.timestamp())
        if status.last_backup_size is not None:
            self.last_size.labels(namespace, cluster).set(status.last_backup_size)

    def forget(self, namespace: str, cluster: str) -> None:
        for gauge in (self.failures, self.last_success, self.last_size, self.next_run):
            with contextlib.suppress(KeyError):
                gauge.remove(namespace, cluster)
