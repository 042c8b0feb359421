"""The backup and restore executor Jobs as rendered (render/workload/executor_job.py), run for real (issue 18,
part B).

Nothing stands in for Kubernetes or OpenBao: the rendered ServiceAccount and Job are applied to the real API
server, kube-controller-manager's Job controller creates the pod, the binder puts it on the node agent's node,
and the agent runs its command (``openbao-operator backup``, this venv's console script) as a process in the
pod's network and mount namespaces with the pod's volumes: the projected ServiceAccount token (a TokenRequest
for the Job's ServiceAccount, audience ``openbao-internal``), the credentials Secret and the cluster's CA. The
OpenBao cluster is a rendered one on the same node (agent_cluster.py) with JWT auth configured as
selfInit.oidc would (the API server's issuer and keys, a role bound to ``bao-backup-serviceaccount``). MinIO
runs on the host; the agent makes its port answer at 127.0.0.1 inside the pod.

Proven: the Job completes; the snapshot and its metadata land in MinIO, the metadata's SHA-256 and size are
those of the stored bytes; the pod's termination message is the executor's report (the key stored), which is
what the operator will read; no token appears in the report. The restore Job of an OpenBaoRestore of that
key (as restore_job renders it, with the restore role's projected token) completes and rolls the cluster back:
a value written after the backup is replaced by the one before. A Job whose bucket does not exist fails (pod
Failed, Job Failed after one try) with the storage error as its report.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Pod

from openbao_operator.api import names
from openbao_operator.api.operations import BackupTarget
from openbao_operator.api.restore import OpenBaoRestore
from openbao_operator.controller.backup.jobs import job_view, parse_report
from openbao_operator.executor.credentials import load_credentials
from openbao_operator.executor.naming import metadata_key
from openbao_operator.executor.storage import open_storage
from openbao_operator.pki.jwks import jwks_to_pems
from openbao_operator.render.config.identity import BACKUP_POLICY, BACKUP_ROLE, JWT_MOUNT, RESTORE_POLICY, RESTORE_ROLE
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.executor_job import backup_job, executor_service_account, restore_job
from tests.integration.agent_cluster import AgentCluster, deploy_rendered
from tests.integration.backuphelp import target_for
from tests.peers.controlplane import SA_ISSUER, ControlPlane
from tests.peers.deploy import apply
from tests.peers.nodeagent import JSON, NodeAgent
from tests.peers.objstore import ObjectStorePeer
from tests.peers.procs import wait_until
from tests.unit.render.config_cases import cluster, manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

IMAGE = "registry.invalid/openbao-operator:test"
"""Not pulled: the node agent runs `openbao-operator` from this venv for any image it is not told to podman."""


def _jwt_auth(c: AgentCluster, plane: ControlPlane, token: str, workdir: Path) -> None:
    """What selfInit.oidc's operator-bootstrap block sets up, for the backup and restore roles."""
    jwks = plane.get_json("/openid/v1/jwks")
    pem = workdir / "sa-keys.pem"
    pem.write_text(jwks_to_pems(jwks)[0])
    pod = c.pod(0)
    c.bao(pod, "auth", "enable", f"-path={JWT_MOUNT}", "jwt", token=token)
    c.bao(
        pod, "write", f"auth/{JWT_MOUNT}/config", f"bound_issuer={SA_ISSUER}", f"jwt_validation_pubkeys=@{pem}",
        token=token,
    )  # fmt: skip
    for kind, role, text in (("backup", BACKUP_ROLE, BACKUP_POLICY), ("restore", RESTORE_ROLE, RESTORE_POLICY)):
        policy = workdir / f"{kind}-policy.hcl"
        policy.write_text(text)
        c.bao(pod, "policy", "write", role, str(policy), token=token)
        subject = f"system:serviceaccount:{c.namespace}:{names.executor_service_account_name(c.name, kind)}"
        c.bao(
            pod, "write", f"auth/{JWT_MOUNT}/role/{role}", "role_type=jwt", "user_claim=sub",
            f"bound_subject={subject}", "bound_audiences=openbao-internal", f"token_policies={role}",
            "token_no_default_policy=true", "token_ttl=1h",
            token=token,
        )  # fmt: skip


def _finished(plane: ControlPlane, ns: str, name: str, *, timeout: float = 180.0) -> JSON:
    def done() -> JSON | None:
        with plane.client() as client:
            job: JSON = client.get(Job, name, namespace=ns).to_dict()
        return job if job_view(name, job).phase in ("Succeeded", "Failed") else None

    return wait_until(done, what=f"Job {ns}/{name} finished", timeout=timeout, interval=1.0)


def _terminated(plane: ControlPlane, ns: str, job: str) -> JSON:
    with plane.client() as client:
        pods = [p.to_dict() for p in client.list(Pod, namespace=ns, labels={"batch.kubernetes.io/job-name": job})]
    assert len(pods) == 1, f"one pod for Job {job} (backoffLimit 0): {[p['metadata']['name'] for p in pods]}"
    state: JSON = pods[0]["status"]["containerStatuses"][0]["state"]
    assert "terminated" in state, state
    assert pods[0]["status"]["phase"] in ("Succeeded", "Failed")
    terminated: JSON = state["terminated"]
    terminated["phase"] = pods[0]["status"]["phase"]
    return terminated


def _backup_cluster(ns: str, target: dict[str, Any]) -> Any:
    return cluster(
        manifest(
            name="bao",
            namespace=ns,
            replicas=1,
            backup={
                "schedule": "0 3 * * *",
                "jwtAuthRole": BACKUP_ROLE,
                "target": target | {"credentialsSecretRef": {"name": "minio-creds"}},
            },
        )
    )


async def test_rendered_jobs_back_up_to_minio_and_restore_from_it(
    control_plane: ControlPlane,
    node_agent: NodeAgent,
    minio: ObjectStorePeer,
    ns: str,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    c = deploy_rendered(control_plane, node_agent, ns, workdir=tmp_path, logs=peer_logs, replicas=1)
    wait_until(lambda: c.status(c.pod(0)) is not None, what="bao-0 answers", timeout=120, interval=1.0)
    token = str(c.init(c.pod(0))["root_token"])
    c.wait_ready(c.pod(0), timeout=90)
    _jwt_auth(c, control_plane, token, tmp_path)
    c.bao(c.pod(0), "secrets", "enable", "-path=kv", "kv-v2", token=token)
    c.bao(c.pod(0), "kv", "put", "kv/app", "value=before-backup", token=token)
    node_agent.forward_host_port(int(minio.endpoint.rsplit(":", 1)[1]))

    target = target_for(minio)
    spec_cluster = _backup_cluster(ns, target)
    facts = RenderFacts(namespace=ns)
    apply(
        control_plane,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "minio-creds", "namespace": ns},
            "stringData": dict(minio.credentials),
        },
        manager="test",
    )
    for kind in ("backup", "restore"):
        apply(control_plane, executor_service_account(spec_cluster, facts, kind), manager="test")
    job_name = names.executor_job_name("bao", "backup", key=f"{ns}/manual/1")
    apply(control_plane, backup_job(spec_cluster, facts, job_name=job_name, operator_image=IMAGE), manager="test")

    job = _finished(control_plane, ns, job_name)
    terminated = _terminated(control_plane, ns, job_name)
    assert job_view(job_name, job).phase == "Succeeded", terminated
    assert (terminated["phase"], terminated["exitCode"]) == ("Succeeded", 0)
    report = parse_report(terminated.get("message"))
    assert report is not None, terminated
    assert report.ok
    assert report.key is not None
    assert report.key.startswith(f"backups/{ns}/bao/")
    assert token not in json.dumps(terminated)

    # The object and its metadata are in MinIO, and the checksum is the stored bytes'.
    creds = load_credentials(str(minio.write_credentials(tmp_path / "creds")), provider="s3")
    storage = open_storage(BackupTarget.model_validate(target), creds)
    listed = sorted(o.key for o in await storage.list(f"backups/{ns}/bao/"))
    assert listed == [report.key, metadata_key(report.key)]
    _, _, chunks = await storage.download(report.key)
    data = b"".join([chunk async for chunk in chunks])
    meta = json.loads(await storage.get_small(metadata_key(report.key)))
    assert meta["sha256"] == hashlib.sha256(data).hexdigest() == report.sha256
    assert meta["size"] == len(data) == report.size
    assert (meta["cluster"], meta["namespace"]) == ("bao", ns)
    assert data[:2] == b"\x1f\x8b"

    # The restore Job of an OpenBaoRestore of that key (the same cluster: a rollback): a later write is gone.
    c.bao(c.pod(0), "kv", "put", "kv/app", "value=after-backup", token=token)
    restore = OpenBaoRestore.model_validate(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoRestore",
            "metadata": {"name": "rollback", "namespace": ns},
            "spec": {
                "cluster": "bao",
                "jwtAuthRole": RESTORE_ROLE,
                "source": {"target": target | {"credentialsSecretRef": {"name": "minio-creds"}}, "key": report.key},
            },
        }
    )
    restoring = names.executor_job_name("bao", "restore", key=f"{ns}/rollback")
    rendered = restore_job(
        spec_cluster, facts, restore, restore_uid=str(uuid.uuid4()), job_name=restoring, operator_image=IMAGE
    )
    rendered["metadata"].pop("ownerReferences")  # no OpenBaoRestore object exists here to own it
    apply(control_plane, rendered, manager="test")
    restored_job = _finished(control_plane, ns, restoring)
    restored = _terminated(control_plane, ns, restoring)
    assert job_view(restoring, restored_job).phase == "Succeeded", restored
    restored_report = parse_report(restored.get("message"))
    assert restored_report is not None
    assert restored_report.ok
    assert restored_report.key == report.key

    def value() -> str | None:
        res = c.bao(c.pod(0), "kv", "get", "-field=value", "kv/app", token=token, check=False)
        return res.stdout.strip() if res.returncode == 0 else None

    wait_until(lambda: value() == "before-backup", what="the value of the snapshot back", timeout=90, interval=2.0)

    # A bucket that does not exist: the pod fails once, the Job fails, the report says why.
    missing = _backup_cluster(ns, target | {"bucket": f"missing-{uuid.uuid4().hex[:6]}"})
    failing = names.executor_job_name("bao", "backup", key=f"{ns}/manual/2")
    apply(control_plane, backup_job(missing, facts, job_name=failing, operator_image=IMAGE), manager="test")
    failed_job = _finished(control_plane, ns, failing)
    view = job_view(failing, failed_job)
    bad = _terminated(control_plane, ns, failing)
    assert view.phase == "Failed", bad
    assert (bad["phase"], bad["exitCode"]) == ("Failed", 1)
    failure = parse_report(bad.get("message"))
    assert failure is not None
    assert not failure.ok
    assert failure.reason == "ObjectStorageFailed"
