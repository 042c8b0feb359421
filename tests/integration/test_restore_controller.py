"""The OpenBaoRestore controller end to end: the operator (in this event loop, as its ServiceAccount with
deploy/ RBAC only) restores a snapshot from MinIO into a cluster whose pods really run OpenBao (node agent).

Set-up: the operator creates and initialises a one-replica cluster; JWT auth is configured as selfInit.oidc
would (the API server's issuer and keys, the backup and restore roles bound to the executor
ServiceAccounts); a backup is taken by running the rendered backup Job directly (not through the cluster's
backup step). Then:

- rollback: a value changed after the backup; an OpenBaoRestore of the snapshot goes Pending/Validating →
  Running → Completed, its Job (created by the operator, owned by the restore) rolls the value back, and the
  cluster's operation lock is released;
- a truncated copy of the snapshot (its metadata still says the original's checksum): the restore goes
  Failed with the executor's reason, the cluster keeps serving its current data, the lock is released;
- no token or storage credential appears in the restores' status or in any Event of the namespace;
- disaster recovery: a fresh cluster created with the source's unseal key (its Secret copied first), and a
  forced restore into it (logging in with the fresh cluster's root token Secret) brings the source's data
  there, readable with the source's token. (A new cluster, not the same name again: the node agent keeps a
  deleted claim's data, so a cluster recreated under the same name would find the old data.)
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.api import names
from openbao_operator.api.operations import BackupTarget
from openbao_operator.controller import kinds
from openbao_operator.controller.backup.jobs import job_view, parse_report
from openbao_operator.executor.credentials import load_credentials
from openbao_operator.executor.naming import metadata_key
from openbao_operator.executor.storage import open_storage
from openbao_operator.render.config.identity import BACKUP_ROLE, RESTORE_ROLE
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.executor_job import backup_job, executor_service_account
from tests.integration.agent_cluster import AgentCluster
from tests.integration.backuphelp import target_for
from tests.integration.kubehelp import admin, eventually
from tests.integration.operatorhelp import crd, get_or_none, running_operator
from tests.integration.test_executor_job import _jwt_auth
from tests.integration.test_rollout_e2e import agent_view, wait_available
from tests.integration.test_tenancy import operator_namespace
from tests.peers.controlplane import ControlPlane
from tests.peers.nodeagent import NodeAgent
from tests.peers.objstore import ObjectStorePeer
from tests.unit.render.config_cases import cluster, manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900), pytest.mark.usefixtures("crd")]
__all__ = ["crd", "operator_namespace"]

EVENT = kube.resource_type("events.k8s.io/v1", "Event")
IMAGE = "registry.invalid/openbao-operator:test"
"""Not pulled: the node agent runs `openbao-operator` from this venv for any image it is not told to podman."""
CREDS = "minio-creds"


async def _token(client: kube.KubeClient, namespace: str) -> str:
    obj = await client.get(kinds.SECRET, "bao-root-token", namespace=namespace)
    return base64.b64decode(obj["data"]["token"]).decode()


async def _backup(client: kube.KubeClient, namespace: str, target: dict[str, Any]) -> str:
    """The rendered backup Job, applied directly; returns the key it stored."""
    model = cluster(
        manifest(
            name="bao",
            namespace=namespace,
            replicas=1,
            backup={"schedule": "0 3 * * *", "jwtAuthRole": BACKUP_ROLE, "target": target},
        )
    )
    facts = RenderFacts(namespace=namespace)
    await client.apply(executor_service_account(model, facts, "backup"))
    job_name = names.executor_job_name("bao", "backup", key=f"{namespace}/manual/1")
    await client.apply(backup_job(model, facts, job_name=job_name, operator_image=IMAGE))

    async def finished() -> dict[str, Any] | None:
        job = await client.get(kinds.JOB, job_name, namespace=namespace)
        return job if job_view(job_name, job).phase in ("Succeeded", "Failed") else None

    job = await eventually(finished, what="the backup Job finished", within=180, interval=1.0)
    assert job_view(job_name, job).phase == "Succeeded", job.get("status")
    pods = await client.list(kinds.POD, namespace=namespace, labels={"batch.kubernetes.io/job-name": job_name})
    message = pods.items[0]["status"]["containerStatuses"][0]["state"]["terminated"].get("message")
    report = parse_report(message)
    assert report is not None
    assert report.ok
    assert report.key is not None
    return report.key


def _restore(namespace: str, name: str, key: str, target: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "openbao.org/v1alpha1",
        "kind": "OpenBaoRestore",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "cluster": "bao",
            "jwtAuthRole": RESTORE_ROLE,
            "image": IMAGE,
            "source": {"target": target, "key": key},
        },
    }


async def _follow(client: kube.KubeClient, namespace: str, name: str, *, within: float) -> tuple[list[str], Any]:
    """The phases the restore went through (as polled) until a final one, and its last state."""
    seen: list[str] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        obj = await client.get(kinds.RESTORE, name, namespace=namespace)
        phase = str((obj.get("status") or {}).get("phase") or "")
        if phase and (not seen or seen[-1] != phase):
            seen.append(phase)
        if phase in ("Completed", "Failed"):
            return seen, obj
        await asyncio.sleep(0.3)
    raise AssertionError(f"restore {name} did not finish within {within} s; phases seen: {seen}")


async def _lock(client: kube.KubeClient, namespace: str, name: str = "bao") -> Any:
    obj = await client.get(kinds.CLUSTER, name, namespace=namespace)
    return (obj.get("status") or {}).get("operationLock")


def _in_order(seen: list[str]) -> bool:
    order = ["Pending", "Validating", "Running", "Completed", "Failed"]
    ranks = [order.index(p) for p in seen]
    return ranks == sorted(ranks)


async def test_restore_rolls_back_fails_cleanly_on_a_damaged_object_and_reveals_no_secret(
    control_plane: ControlPlane,
    node_agent: NodeAgent,
    minio: ObjectStorePeer,
    namespace: str,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    node_agent.adopt_namespace(namespace)
    node_agent.forward_host_port(int(minio.endpoint.rsplit(":", 1)[1]))
    client = admin(control_plane, field_manager="test-user")
    try:
        async with running_operator(control_plane, namespace, resync_seconds=30):
            doc = manifest(name="bao", namespace=namespace, replicas=1, deletionPolicy="DeleteAll")
            await client.apply(doc)
            await wait_available(client, namespace, "bao", within=240)
            token = await _token(client, namespace)
            c: AgentCluster = await agent_view(control_plane, node_agent, client, doc, tmp_path, peer_logs)
            await asyncio.to_thread(_jwt_auth, c, control_plane, token, tmp_path)

            def bao(*args: str, check: bool = True) -> Any:
                return c.bao(c.pod(0), *args, token=token, check=check)

            def value() -> str | None:
                res = bao("kv", "get", "-field=value", "kv/app", check=False)
                return res.stdout.strip() if res.returncode == 0 else None

            await asyncio.to_thread(bao, "secrets", "enable", "-path=kv", "kv-v2")
            await asyncio.to_thread(bao, "kv", "put", "kv/app", "value=before-backup")
            await client.apply(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": CREDS, "namespace": namespace},
                    "stringData": dict(minio.credentials),
                }
            )
            target = target_for(minio) | {"credentialsSecretRef": {"name": CREDS}}
            key = await _backup(client, namespace, target)
            await asyncio.to_thread(bao, "kv", "put", "kv/app", "value=after-backup")

            # (a) rollback
            await client.apply(_restore(namespace, "rollback", key, target))
            seen, done = await _follow(client, namespace, "rollback", within=240)
            status = done["status"]
            assert status["phase"] == "Completed", status
            assert "Running" in seen
            assert _in_order(seen), seen
            assert status["snapshotKey"] == key
            assert status["snapshotSize"] > 0
            assert status.get("startTime")
            assert status.get("completionTime")
            job_name = names.executor_job_name("bao", "restore", key=f"{done['metadata']['uid']}/restore")
            job = await client.get(kinds.JOB, job_name, namespace=namespace)
            assert job["metadata"]["ownerReferences"][0]["kind"] == "OpenBaoRestore"
            assert job["metadata"]["ownerReferences"][0]["uid"] == done["metadata"]["uid"]
            account = await client.get(kinds.SERVICEACCOUNT, "bao-restore-serviceaccount", namespace=namespace)
            assert account["automountServiceAccountToken"] is False
            await eventually(
                lambda: asyncio.to_thread(lambda: value() == "before-backup"),
                what="the value of the snapshot back",
                within=90,
                interval=2.0,
            )
            await eventually(
                lambda: _lock_free(client, namespace), what="the operation lock released", within=30, interval=0.5
            )

            # (b) a truncated object (its metadata keeps the original's checksum)
            await asyncio.to_thread(bao, "kv", "put", "kv/app", "value=current")
            creds = load_credentials(str(minio.write_credentials(tmp_path / "creds")), provider="s3")
            storage = open_storage(BackupTarget.model_validate(target), creds)
            _, _, chunks = await storage.download(key)
            data = b"".join([chunk async for chunk in chunks])
            damaged = key.replace(".snap", "-truncated.snap")
            await storage.put_small(damaged, data[: len(data) // 2], content_type="application/octet-stream")
            await storage.put_small(
                metadata_key(damaged), await storage.get_small(metadata_key(key)), content_type="application/json"
            )
            await client.apply(_restore(namespace, "damaged", damaged, target))
            seen, failed = await _follow(client, namespace, "damaged", within=240)
            assert failed["status"]["phase"] == "Failed", failed["status"]
            assert _in_order(seen), seen
            assert "truncated" in failed["status"]["message"], failed["status"]
            assert "nothing was sent to OpenBao" in failed["status"]["message"], failed["status"]
            await eventually(
                lambda: _lock_free(client, namespace), what="the operation lock released", within=30, interval=0.5
            )
            assert await asyncio.to_thread(value) == "current"  # still serving its current data
            events = list((await client.list(EVENT, namespace=namespace)).items)
            reasons = {
                (str(e.get("regarding", {}).get("name")), str(e.get("reason")))
                for e in events
                if e.get("regarding", {}).get("kind") == "OpenBaoRestore"
            }
            assert ("rollback", "RestoreStarted") in reasons
            assert ("rollback", "RestoreCompleted") in reasons
            assert ("damaged", "SnapshotVerificationFailed") in reasons, reasons

            # (c) no secret in the restores' status or in any Event
            restores = (await client.list(kinds.RESTORE, namespace=namespace)).items
            text = json.dumps([r.get("status") for r in restores]) + json.dumps(events)
            secrets = [token, *(v for v in minio.credentials.values() if len(v) >= 8)]
            assert all(s not in text for s in secrets), "a token or storage credential in a status or Event"

            # (d) disaster recovery into a new cluster: a fresh cluster (its own volume, keyring and root token)
            # with the source's unseal key (its Secret copied under the new cluster's name before the cluster
            # is created, as docs/backup-restore.md says); a forced restore brings the source's data, and its
            # tokens, into it.
            kept = await client.get(kinds.SECRET, "bao-unseal-key", namespace=namespace)
            labels = dict(kept["metadata"].get("labels") or {})
            labels |= {k: "dr" for k in (names.LABEL_CLUSTER, "app.kubernetes.io/instance") if k in labels}
            await client.create(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {
                        "name": "dr-unseal-key",
                        "namespace": namespace,
                        "labels": labels,
                        "annotations": kept["metadata"].get("annotations") or {},
                    },
                    "type": kept.get("type", "Opaque"),
                    "data": kept["data"],
                }
            )
            dr_doc = manifest(name="dr", namespace=namespace, replicas=1, deletionPolicy="DeleteAll")
            await client.apply(dr_doc)
            await wait_available(client, namespace, "dr", within=240)
            dr_root = await get_or_none(client, kinds.SECRET, "dr-root-token", namespace)
            assert dr_root is not None  # a fresh cluster: initialised by the operator, its own root token
            dr = await agent_view(control_plane, node_agent, client, dr_doc, tmp_path, peer_logs)

            def dr_value() -> str | None:
                res = dr.bao(dr.pod(0), "kv", "get", "-field=value", "kv/app", token=token, check=False)
                return res.stdout.strip() if res.returncode == 0 else None

            assert await asyncio.to_thread(dr_value) is None  # neither the source's token nor its data
            request = _restore(namespace, "disaster", key, target)
            request["spec"] |= {"cluster": "dr", "force": True, "tokenSecretRef": {"name": "dr-root-token"}}
            del request["spec"]["jwtAuthRole"]
            await client.apply(request)
            seen, recovered = await _follow(client, namespace, "disaster", within=240)
            assert recovered["status"]["phase"] == "Completed", recovered["status"]
            await eventually(
                lambda: asyncio.to_thread(lambda: dr_value() == "before-backup"),
                what="the source's value in the new cluster (read with the source's token)",
                within=90,
                interval=2.0,
            )
            await eventually(
                lambda: _lock_free(client, namespace, "dr"), what="the lock released", within=30, interval=0.5
            )
    finally:
        await client.close()


async def _lock_free(client: kube.KubeClient, namespace: str, name: str = "bao") -> bool:
    return await _lock(client, namespace, name) is None


async def test_a_restore_where_the_operator_was_not_invited_creates_nothing(
    control_plane: ControlPlane, namespace: str, operator_namespace: str
) -> None:
    client = admin(control_plane, field_manager="test-user")
    try:
        async with running_operator(control_plane, operator_namespace, cluster_wide=True):
            await client.apply(manifest(name="bao", namespace=namespace, replicas=1))
            target = {"provider": "s3", "bucket": "snapshots", "credentialsSecretRef": {"name": CREDS}}
            await client.apply(_restore(namespace, "uninvited", "backups/x.snap", target))

            async def told() -> dict[str, Any] | None:
                obj = await client.get(kinds.RESTORE, "uninvited", namespace=namespace)
                return obj if "has not opted in" in str((obj.get("status") or {}).get("message")) else None

            restore = await eventually(told, what="the restore told why nothing happens", within=30, interval=0.5)
            assert restore["status"]["phase"] == "Pending"
            assert f"OpenBaoTenant with spec.targetNamespace: {namespace}" in restore["status"]["message"]
            assert (await client.list(kinds.JOB, namespace=namespace)).items == []
            assert await get_or_none(client, kinds.SERVICEACCOUNT, "bao-restore-serviceaccount", namespace) is None
            events = await client.list(EVENT, namespace=namespace)
            assert events.items == [], "the operator may not write Events where it was not invited"
    finally:
        await client.close()
