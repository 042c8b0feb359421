"""The executor Jobs as the controllers see them: create one for an attempt, read how it ended.

Why shared: the cluster's backup step and the OpenBaoRestore controller both start an executor Job
(render/workload/executor_job.py) under its own ServiceAccount and both read its outcome the same way:
the Job from the informer cache (controller/backup/jobs.py says what its conditions mean) and, once it has
finished, the executor's report line from its pod's termination message. The pod is listed directly, once
per finished attempt: the pod cache keeps no container statuses (controller/cache.py), and reading the
report from the pod's status needs no ``pods/log`` right.
"""

from __future__ import annotations

from openbao_operator.kube import AlreadyExists, KubeClient, Manifest, ObjectKey

from .backup.jobs import ExecutorReport, JobView, job_view, parse_report
from .kinds import JOB, POD
from .sources import Reader

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
"""The label the Job controller puts on a Job's pods (Kubernetes ≥ 1.27)."""


async def observe_job(
    *, reader: Reader, kube: KubeClient, namespace: str, name: str
) -> tuple[JobView, ExecutorReport | None]:
    """The Job ``name`` as live, and the executor's report once it has finished (None while it runs, or when
    no pod says anything readable)."""
    view = job_view(name, await reader.get(JOB, ObjectKey(namespace, name)))
    if view.phase not in ("Succeeded", "Failed"):
        return view, None
    return view, await executor_report(kube=kube, namespace=namespace, job_name=name)


async def executor_report(*, kube: KubeClient, namespace: str, job_name: str) -> ExecutorReport | None:
    """The report line in the termination message of the Job's (last) pod."""
    pods = await kube.list(POD, namespace=namespace, labels={JOB_NAME_LABEL: job_name})
    found: ExecutorReport | None = None
    newest = ""
    for pod in pods.items:
        created = str((pod.get("metadata") or {}).get("creationTimestamp") or "")
        for status in (pod.get("status") or {}).get("containerStatuses") or ():
            terminated = ((status or {}).get("state") or {}).get("terminated") or {}
            report = parse_report(terminated.get("message"))
            if report is not None and created >= newest:
                found, newest = report, created
    return found


async def create_job(*, kube: KubeClient, reader: Reader, job: Manifest) -> bool:
    """Create ``job`` unless a Job of its name exists (a pass that crashed after creating it); True when created.

    A Job of that name is the same attempt: names are derived from the attempt (cluster uid and trigger, or the
    restore's uid), and a Job is never updated (its pod template is immutable)."""
    meta = job["metadata"]
    key = ObjectKey(str(meta["namespace"]), str(meta["name"]))
    try:
        created = await kube.create(job)
    except AlreadyExists:
        return False
    reader.wrote(JOB, key, created)
    return True
