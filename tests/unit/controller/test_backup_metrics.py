"""controller/backup_metrics.py: the gauges follow status.backup, and a gone cluster's series go."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from openbao_operator.api.status import BackupStatus
from openbao_operator.controller.backup_metrics import BackupMetrics

LABELS = {"namespace": "ns", "cluster": "c"}


def test_gauges_follow_the_status_and_go_with_the_cluster() -> None:
    registry = CollectorRegistry()
    metrics = BackupMetrics(registry)
    status = BackupStatus.model_validate(
        {
            "lastBackupTime": "2026-12-03T03:00:12Z",
            "lastBackupSize": 4096,
            "consecutiveFailures": 0,
            "nextScheduledBackup": "2026-12-04T03:00:12Z",
        }
    )
    metrics.started("ns", "c", trigger="schedule")
    metrics.finished("ns", "c", success=True)
    metrics.observe("ns", "c", status)
    value = registry.get_sample_value
    assert value("openbao_operator_backup_attempts_total", LABELS | {"trigger": "schedule"}) == 1.0
    assert value("openbao_operator_backup_results_total", LABELS | {"result": "success"}) == 1.0
    assert value("openbao_operator_backup_last_success_timestamp_seconds", LABELS) == 1796266812.0
    assert value("openbao_operator_backup_next_scheduled_timestamp_seconds", LABELS) == 1796353212.0
    assert value("openbao_operator_backup_last_size_bytes", LABELS) == 4096.0
    assert value("openbao_operator_backup_consecutive_failures", LABELS) == 0.0

    metrics.observe("ns", "c", status.model_copy(update={"consecutive_failures": 3}))
    assert value("openbao_operator_backup_consecutive_failures", LABELS) == 3.0
    metrics.forget("ns", "c")
    metrics.forget("ns", "c")  # twice: a cluster without series is no error
    assert value("openbao_operator_backup_consecutive_failures", LABELS) is None
    assert value("openbao_operator_backup_last_size_bytes", LABELS) is None
