"""Scheduled and manual backups through the running operator (issue 18): the backup step, its executor Jobs,
the operation lock and status.backup, against real peers only.

The operator runs in this process as its ServiceAccount with deploy/ RBAC; the cluster is operator-made on
the node agent (real `bao`), self-initialised with only ``selfInit.oidc`` (no root token anywhere): the
backup executor logs in with its Job's projected ServiceAccount token through the JWT role the self-init
created. kube-controller-manager's Job controller makes the pods, the node agent runs their
``openbao-operator backup`` as a process; the snapshots go to MinIO (and, in one test each, to Azurite and
fake-gcs-server).

Proven: a scheduled backup starts in its slot (within the cluster's jitter) and its object lands in the
bucket with its metadata and a SHA-256 of the stored bytes; a manual trigger (the annotation) makes another,
and retention (maxCount 1) deletes the older; a target that fails gives BackupHealthy=False and a
BackupFailed Event, consecutive failures are counted, and the next scheduled slot still runs; the lock is
free between attempts; no credential or token appears in the status, the Events or a ConfigMap; the
operator's metrics count the attempts and results and show the last success.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from openbao_operator import kube
from openbao_operator.api.operations import BackupTarget
from openbao_operator.controller import kinds
from openbao_operator.controller.backup.jobs import parse_time
from openbao_operator.controller.backup.plan import TRIGGER_ANNOTATION
from openbao_operator.executor.credentials import load_credentials
from openbao_operator.executor.naming import metadata_key
from openbao_operator.executor.storage import ObjectStorage, open_storage
from tests.integration.backuphelp import target_for
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import condition, crd, running_operator
from tests.integration.test_rollout_e2e import wait_available
from tests.peers.controlplane import ControlPlane
from tests.peers.nodeagent import NodeAgent
from tests.peers.objstore import ObjectStorePeer
from tests.unit.render.config_cases import manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

EVENT = kube.resource_type("events.k8s.io/v1", "Event")
CREDENTIALS = "store-creds"
ORACLE_OIDC = {"enabled": True, "oidc": {"enabled": True}}


def _port(peer: ObjectStorePeer) -> int:
    port = urlsplit(peer.endpoint).port
    assert port is not None, peer.endpoint
    return port


def _backup_status(obj: dict[str, Any]) -> dict[str, Any]:
    return dict((obj.get("status") or {}).get("backup") or {})


async def _cluster(client: kube.KubeClient, name: str, namespace: str) -> dict[str, Any]:
    return await client.get(kinds.CLUSTER, name, namespace=namespace)


async def _credentials_secret(client: kube.KubeClient, namespace: str, peer: ObjectStorePeer) -> None:
    await client.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": CREDENTIALS, "namespace": namespace},
            "stringData": dict(peer.credentials),
        }
    )


def _storage(peer: ObjectStorePeer, target: dict[str, Any], tmp_path: Path) -> ObjectStorage:
    creds = load_credentials(str(peer.write_credentials(tmp_path / "creds")), provider=peer.provider)
    return open_storage(BackupTarget.model_validate(target), creds)


async def _verified(storage: ObjectStorage, key: str, *, cluster: str, namespace: str) -> dict[str, Any]:
    """The snapshot at ``key`` and its metadata agree (SHA-256 and size of the stored bytes)."""
    _, _, chunks = await storage.download(key)
    data = b"".join([chunk async for chunk in chunks])
    meta: dict[str, Any] = json.loads(await storage.get_small(metadata_key(key)))
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()
    assert meta["size"] == len(data) > 0
    assert (meta["cluster"], meta["namespace"]) == (cluster, namespace)
    assert data[:2] == b"\x1f\x8b", "a raft snapshot is a gzip archive"
    return meta


async def _no_secrets_shown(client: kube.KubeClient, namespace: str, name: str, secrets: list[str]) -> None:
    obj = await _cluster(client, name, namespace)
    events = (await client.list(EVENT, namespace=namespace)).items
    config_maps = (await client.list(kinds.CONFIGMAP, namespace=namespace)).items
    shown = json.dumps([obj.get("status"), obj["metadata"].get("annotations"), events, config_maps])
    for secret in secrets:
        assert secret not in shown


def _events(events: list[dict[str, Any]], reason: str) -> list[str]:
    return [str(e.get("note") or "") for e in events if e.get("reason") == reason]


def _backup_spec(target: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"target": target | {"credentialsSecretRef": {"name": CREDENTIALS}}, **extra}


async def test_scheduled_and_manual_backups_land_in_minio_with_retention_and_failures_counted(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    node_agent: NodeAgent,
    minio: ObjectStorePeer,
    namespace: str,
    tmp_path: Path,
) -> None:
    node_agent.adopt_namespace(namespace)
    node_agent.forward_host_port(_port(minio))
    client = kube_clients(field_manager="test-user")
    target = target_for(minio)
    storage = _storage(minio, target, tmp_path)
    prefix = f"backups/{namespace}/bk/"
    await _credentials_secret(client, namespace, minio)
    doc = manifest(
        name="bk",
        namespace=namespace,
        replicas=1,
        selfInit=ORACLE_OIDC,
        backup=_backup_spec(target, schedule="* * * * *", retention={"maxCount": 1}),
    )
    async with running_operator(control_plane, namespace, resync_seconds=30) as operator:
        await client.apply(doc)
        await wait_available(client, namespace, "bk", within=240)
        assert await _secret_names(client, namespace, "root-token") == [], "selfInit.oidc: no root token Secret"

        # (1) The scheduled backup: in its slot (plus this cluster's jitter, at most 15 s for a 1-minute gap).
        async def first_success() -> dict[str, Any] | None:
            status = _backup_status(await _cluster(client, "bk", namespace))
            return status if status.get("lastBackupName") else None

        first = await eventually(first_success, what="the first scheduled backup", within=200, interval=1.0)
        slot = parse_time(first["lastAttemptScheduledTime"])
        attempt = parse_time(first["lastAttemptTime"])
        assert slot is not None
        assert attempt is not None
        assert slot <= attempt <= slot + timedelta(seconds=15 + 5), (slot, attempt)
        assert first["consecutiveFailures"] == 0
        assert first["lastBackupSize"] > 0
        key = str(first["lastBackupName"])
        assert key.startswith(prefix)
        meta = await _verified(storage, key, cluster="bk", namespace=namespace)
        assert meta["openbaoVersion"].startswith("2.")
        obj = await _cluster(client, "bk", namespace)
        assert condition(obj, "BackupHealthy")["status"] == "True"
        assert "operationLock" not in (obj.get("status") or {}), "the lock is free between attempts"
        next_run = parse_time(first["nextScheduledBackup"])
        assert next_run is not None
        assert next_run > slot

        # (2) A manual backup; retention keeps one snapshot.
        await client.merge_patch(
            kinds.CLUSTER, "bk", {"metadata": {"annotations": {TRIGGER_ANNOTATION: "manual-1"}}}, namespace=namespace
        )

        async def manual_done() -> dict[str, Any] | None:
            status = _backup_status(await _cluster(client, "bk", namespace))
            done = status.get("lastHandledManualTrigger") == "manual-1" and not status.get("jobName")
            return status if done and status.get("lastBackupName") not in (None, key) else None

        second = await eventually(manual_done, what="the manual backup", within=120, interval=1.0)
        newest = str(second["lastBackupName"])
        await _verified(storage, newest, cluster="bk", namespace=namespace)

        async def retained() -> list[str] | None:
            keys = sorted(o.key for o in await storage.list(prefix))
            return keys if keys == sorted([newest, metadata_key(newest)]) else None

        await eventually(retained, what="retention keeps the newest snapshot only", within=60, interval=1.0)
        events = (await client.list(EVENT, namespace=namespace)).items
        assert any(newest in n for n in _events(events, "BackupSucceeded"))
        assert any("manual-1" in n for n in _events(events, "BackupStarted"))

        # (3) A failing target (a bucket that does not exist): counted, told, and the next slot still runs.
        broken = _backup_spec(target | {"bucket": "no-such-bucket"}, schedule="* * * * *")
        await client.merge_patch(
            kinds.CLUSTER,
            "bk",
            {"metadata": {"annotations": {TRIGGER_ANNOTATION: "manual-2"}}, "spec": {"backup": broken}},
            namespace=namespace,
        )

        async def failures(at_least: int) -> dict[str, Any] | None:
            obj = await _cluster(client, "bk", namespace)
            status = _backup_status(obj)
            return obj if (status.get("consecutiveFailures") or 0) >= at_least and not status.get("jobName") else None

        failed = await eventually(lambda: failures(1), what="a failed backup counted", within=120, interval=1.0)
        healthy = condition(failed, "BackupHealthy")
        assert healthy["status"] == "False"
        assert healthy["reason"] == "ObjectStorageFailed", healthy
        status = _backup_status(failed)
        assert status["lastBackupName"] == newest, "a failure keeps the last success"
        events = (await client.list(EVENT, namespace=namespace)).items
        assert _events(events, "BackupFailed"), "a BackupFailed Event"
        slot_before = parse_time(status.get("lastAttemptScheduledTime"))
        again = await eventually(lambda: failures(2), what="the next slot still runs", within=120, interval=1.0)
        slot_after = parse_time(_backup_status(again).get("lastAttemptScheduledTime"))
        assert slot_before is not None
        assert slot_after is not None
        assert slot_after > slot_before
        assert slot_after <= datetime.now(UTC)

        creds = dict(minio.credentials)
        await _no_secrets_shown(client, namespace, "bk", [v for v in creds.values() if len(v) >= 8])

        # (4) The same facts as metrics.
        registry = operator.manager.metrics.registry
        labels = {"namespace": namespace, "cluster": "bk"}

        def sample(name: str, **extra: str) -> float | None:
            return registry.get_sample_value(f"openbao_operator_backup_{name}", labels | extra)

        assert sample("results_total", result="success") == 2.0
        assert (sample("results_total", result="failure") or 0) >= 2.0
        assert sample("attempts_total", trigger="manual") == 2.0
        assert (sample("attempts_total", trigger="schedule") or 0) >= 2.0
        assert (sample("consecutive_failures") or 0) >= 2.0
        last_success = parse_time(status["lastBackupTime"])
        assert last_success is not None
        assert sample("last_success_timestamp_seconds") == last_success.timestamp()
        assert (sample("last_size_bytes") or 0) > 0


async def _secret_names(client: kube.KubeClient, namespace: str, suffix: str) -> list[str]:
    found = (await client.list(kinds.SECRET, namespace=namespace)).items
    return [str(s["metadata"]["name"]) for s in found if str(s["metadata"]["name"]).endswith(suffix)]


@pytest.mark.parametrize("provider", ["azurite", "fake_gcs"])
async def test_a_manual_backup_lands_in_azure_blob_and_gcs(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    node_agent: NodeAgent,
    namespace: str,
    tmp_path: Path,
    provider: str,
    request: pytest.FixtureRequest,
) -> None:
    peer: ObjectStorePeer = request.getfixturevalue(provider)
    node_agent.adopt_namespace(namespace)
    node_agent.forward_host_port(_port(peer))
    client = kube_clients(field_manager="test-user")
    target = target_for(peer)
    storage = _storage(peer, target, tmp_path)
    await _credentials_secret(client, namespace, peer)
    # NB: a schedule that is never due within the test: only the annotation starts a backup
    doc = manifest(
        name="bk", namespace=namespace, replicas=1, selfInit=ORACLE_OIDC,
        backup=_backup_spec(target, schedule="0 0 1 1 *"),
    )  # fmt: skip
    doc["metadata"]["annotations"] = {TRIGGER_ANNOTATION: "now"}
    async with running_operator(control_plane, namespace, resync_seconds=30):
        await client.apply(doc)
        await wait_available(client, namespace, "bk", within=240)

        async def done() -> dict[str, Any] | None:
            status = _backup_status(await _cluster(client, "bk", namespace))
            return status if status.get("lastBackupName") or status.get("consecutiveFailures") else None

        status = await eventually(done, what=f"a backup into {provider}", within=150, interval=1.0)
        assert status.get("consecutiveFailures") == 0, status
        key = str(status["lastBackupName"])
        await _verified(storage, key, cluster="bk", namespace=namespace)
        secret = await client.get(kinds.SECRET, CREDENTIALS, namespace=namespace)
        values = [base64.b64decode(v).decode() for v in (secret.get("data") or {}).values()]
        await _no_secrets_shown(client, namespace, "bk", [v for v in values if len(v) >= 8])
