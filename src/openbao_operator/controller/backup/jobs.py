"""What an executor Job says: running, succeeded or failed, and the executor's own report line.

Why its own module: both the backup and the restore decision read a Job the same way. A Job is finished only
by its ``Complete`` or ``Failed`` condition (kube-controller-manager sets them once the pod has ended and
been counted; ``SuccessCriteriaMet``/``FailureTarget`` come earlier and are not final). The executor prints
one JSON line (``openbao-operator backup|restore``: ``ok``, ``key``, ``size``, ``sha256``, ``deleted``, or
``reason`` and ``message``; never a secret); when the caller can read it (the pod's termination message),
it makes the status and Events precise, and without it the Job's own reason is used.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

JobPhase = Literal["Missing", "Running", "Succeeded", "Failed"]
REPORT_MESSAGE_LIMIT = 1024


@dataclass(frozen=True)
class JobView:
    name: str
    phase: JobPhase
    started: datetime | None = None
    finished: datetime | None = None
    reason: str = ""
    """The Failed condition's reason (BackoffLimitExceeded, DeadlineExceeded, ...)."""
    message: str = ""


@dataclass(frozen=True)
class ExecutorReport:
    """The executor's report line (see :mod:`openbao_operator.executor.program`)."""

    ok: bool
    key: str | None = None
    size: int | None = None
    sha256: str | None = None
    deleted: tuple[str, ...] = ()
    reason: str | None = None
    message: str | None = None


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 time as the API writes it (``...Z``), or None for anything else."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def job_view(name: str, job: Mapping[str, Any] | None) -> JobView:
    """The Job ``name`` as live (None: it does not exist)."""
    if job is None:
        return JobView(name=name, phase="Missing")
    status = job.get("status") or {}
    started = parse_time(status.get("startTime"))
    for cond in status.get("conditions") or []:
        if not isinstance(cond, Mapping) or cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            finished = parse_time(status.get("completionTime")) or parse_time(cond.get("lastTransitionTime"))
            return JobView(name=name, phase="Succeeded", started=started, finished=finished)
        if cond.get("type") == "Failed":
            return JobView(
                name=name,
                phase="Failed",
                started=started,
                finished=parse_time(cond.get("lastTransitionTime")),
                reason=str(cond.get("reason") or "JobFailed"),
                message=str(cond.get("message") or ""),
            )
    return JobView(name=name, phase="Running", started=started)


def parse_report(text: str | None) -> ExecutorReport | None:
    """The last JSON object line of ``text`` that looks like a report, else None (never raises)."""
    for line in reversed((text or "").strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
            continue
        size = data.get("size")
        deleted = data.get("deleted")
        message = data.get("message")
        return ExecutorReport(
            ok=data["ok"],
            key=data["key"] if isinstance(data.get("key"), str) else None,
            size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
            sha256=data["sha256"] if isinstance(data.get("sha256"), str) else None,
            deleted=tuple(k for k in deleted if isinstance(k, str)) if isinstance(deleted, list) else (),
            reason=data["reason"] if isinstance(data.get("reason"), str) else None,
            message=message[:REPORT_MESSAGE_LIMIT] if isinstance(message, str) else None,
        )
    return None
