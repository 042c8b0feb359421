"""The restore controller's own decisions around the phase machine (controller/restores.py).

The Restorer reads from stores standing in for informer caches; its kube client points nowhere, so a pass
that tried to call the API server would fail: the passes tested here are the ones that must not write.
What it writes is proven against the real API server in tests/integration/test_restore_controller.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.api.load import parse_as
from openbao_operator.api.restore import RESTORE_KIND, OpenBaoRestore, OpenBaoRestoreStatus
from openbao_operator.controller import Reader, ReconcilerConfig, kinds
from openbao_operator.controller.backup.lock import make_lock
from openbao_operator.controller.backup.restore import RestorePlan
from openbao_operator.controller.restores import (
    Restorer,
    _failed,
    _normal,
    oidc_restore_role,
    rolling_out,
)
from openbao_operator.kube import Manifest, ObjectKey
from openbao_operator.render.workload.executor_job import ExecutorRenderError
from tests.unit.controller.test_sources import nowhere
from tests.unit.render.config_cases import manifest

NS = "vault"
T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Store:
    def __init__(self, *objs: Manifest) -> None:
        self.items = {ObjectKey.of(o): o for o in objs}

    def get(self, key: ObjectKey) -> Manifest | None:
        return self.items.get(key)

    def list(self, *, namespace: str | None = None, labels: Mapping[str, str] | None = None) -> list[Manifest]:
        return [o for k, o in self.items.items() if namespace in (None, k.namespace)]


class Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str]] = []

    async def record(
        self, regarding: Manifest, *, type: str, reason: str, action: str, note: str, once: str | None = None
    ) -> None:
        self.recorded.append((type, reason))


class View:
    mode = "namespace"

    def __init__(self, *, onboarded: bool = True, synced: bool = True) -> None:
        self._onboarded, self._synced = onboarded, synced

    def onboarded(self, namespace: str) -> bool:
        return self._onboarded

    def synced(self, namespace: str) -> bool:
        return self._synced


def restore(name: str = "r1", phase: str | None = None, **spec: Any) -> Manifest:
    body: dict[str, Any] = {
        "cluster": "bao",
        "jwtAuthRole": "role",
        "source": {"target": {"bucket": "snaps"}, "key": "k.snap"},
    } | spec
    obj: dict[str, Any] = {
        "apiVersion": "openbao.org/v1alpha1",
        "kind": "OpenBaoRestore",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "creationTimestamp": "2026-12-03T11:59:00Z"},
        "spec": body,
    }
    if phase:
        obj["status"] = {"phase": phase}
    return obj


def cluster(**status: Any) -> Manifest:
    doc = manifest(name="bao", namespace=NS)
    doc["metadata"] |= {"uid": "cluster-uid", "resourceVersion": "7"}
    doc["status"] = status
    return doc


def restorer(*objs: Manifest, view: View | None = None, image: str = "") -> tuple[Restorer, Events]:
    caches: dict[kube.ResourceType, Store] = {kinds.RESTORE: Store(), kinds.CLUSTER: Store(), kinds.JOB: Store()}
    for obj in objs:
        caches[{"OpenBaoRestore": kinds.RESTORE, "OpenBaoCluster": kinds.CLUSTER, "Job": kinds.JOB}[obj["kind"]]].items[
            ObjectKey.of(obj)
        ] = obj
    events = Events()
    r = Restorer(
        kube=nowhere(),
        reader=Reader(nowhere(), caches=caches),
        events=events,
        config=ReconcilerConfig(executor_image=image),
        tenancy_view=view or View(),
        clock=lambda: T0,
    )
    return r, events


async def test_a_finished_restore_whose_lock_is_gone_costs_nothing() -> None:
    r, events = restorer(restore(phase="Completed"), cluster())
    assert (await r.reconcile(ObjectKey(NS, "r1"))).requeue_after is None
    assert events.recorded == []


async def test_a_finished_restore_of_another_holders_lock_costs_nothing() -> None:
    lock = make_lock(operation="Backup", holder="backup/job-1", acquired_at="2026-12-03T11:00:00Z")
    r, _ = restorer(restore(phase="Failed"), cluster(operationLock=lock.to_json()))
    assert (await r.reconcile(ObjectKey(NS, "r1"))).requeue_after is None


async def test_a_gone_restore_is_forgotten() -> None:
    r, _ = restorer()
    assert (await r.reconcile(ObjectKey(NS, "r1"))).requeue_after is None


async def test_an_onboarded_namespace_whose_caches_are_not_synced_is_waited_for_without_a_write() -> None:
    r, events = restorer(restore(), cluster(), view=View(synced=False))
    outcome = await r.reconcile(ObjectKey(NS, "r1"))
    assert outcome.requeue_after == 2.0
    assert events.recorded == []


async def test_the_target_view_reads_availability_rollout_oidc_and_the_lock_holder() -> None:
    lock = make_lock(operation="Backup", holder="backup/job-1", acquired_at="2026-12-03T11:00:00Z")
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "job-1", "namespace": NS}}
    live = cluster(
        conditions=[{"type": "Available", "status": "False", "message": "0 of 1 pods ready"}],
        operationLock=lock.to_json(),
    )
    live["spec"]["selfInit"] = {"enabled": True, "oidc": {"enabled": True}}
    r, _ = restorer(live, job)
    view = await r._target(live, NS)
    assert (view.found, view.available, view.unavailable_message) == (True, False, "0 of 1 pods ready")
    assert view.oidc_restore_role
    assert not view.rolling_out
    assert view.lock is not None
    assert view.lock.holder == "backup/job-1"
    assert view.lock_holder_alive is True

    r, _ = restorer(live)  # the backup Job is gone
    assert (await r._target(live, NS)).lock_holder_alive is False
    assert (await r._target(None, NS)).found is False


async def test_a_restore_lock_holder_is_alive_while_its_request_exists() -> None:
    r, _ = restorer(restore("other"))
    assert await r._holder_alive("restore/other", NS) is True
    assert await r._holder_alive("restore/gone", NS) is False
    assert await r._holder_alive("upgrade/x", NS) is None
    assert await r._holder_alive(None, NS) is None


def test_a_rollout_is_seen_from_waiting_for_or_progressing() -> None:
    assert rolling_out(cluster(rollout={"waitingFor": "bao-1 to be replaced"}))
    assert rolling_out(cluster(conditions=[{"type": "Progressing", "status": "True"}]))
    assert not rolling_out(cluster(rollout={"targetRevision": "r1"}, conditions=[{"type": "Progressing",
                                                                                     "status": "False"}]))  # fmt: skip


def test_the_oidc_restore_role_needs_self_init_and_oidc_enabled() -> None:
    def spec(self_init: Any) -> Manifest:
        return {"spec": {"selfInit": self_init}}

    assert oidc_restore_role(spec({"enabled": True, "oidc": {"enabled": True}}))
    assert not oidc_restore_role(spec({"enabled": False, "oidc": {"enabled": True}}))
    assert not oidc_restore_role(spec({"enabled": True, "oidc": {"enabled": False}}))
    assert not oidc_restore_role(spec({"enabled": True}))
    assert not oidc_restore_role({"spec": {}})


def test_without_an_executor_image_the_job_is_not_rendered_and_the_field_is_named() -> None:
    r, _ = restorer()
    model = parse_as(restore(), OpenBaoRestore, kind=RESTORE_KIND)
    with pytest.raises(ExecutorRenderError) as err:
        r._render(cluster(), model, uid="u", job_name="j")
    assert err.value.field == "spec.image"
    account, job = restorer(image="registry.example/op:1")[0]._render(cluster(), model, uid="u", job_name="j")
    assert account["metadata"]["name"] == "bao-restore-serviceaccount"
    # owned by the restore: the cluster's prune step deletes what the cluster controls and does not render
    assert [(o["kind"], o["uid"]) for o in account["metadata"]["ownerReferences"]] == [("OpenBaoRestore", "u")]
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/op:1"
    assert job["metadata"]["ownerReferences"][0]["kind"] == "OpenBaoRestore"
    image = parse_as(restore(image="mine:2"), OpenBaoRestore, kind=RESTORE_KIND)
    _, own = r._render(cluster(), image, uid="u", job_name="j")
    assert own["spec"]["template"]["spec"]["containers"][0]["image"] == "mine:2"


def test_a_render_failure_fails_the_restore_without_lock_or_job() -> None:
    running = RestorePlan(status=OpenBaoRestoreStatus(), job_name="j", requeue_after=15.0)
    failed = _failed(running, None, "spec.image: no executor image", reason="InvalidRestoreJob", now=T0)
    assert (failed.phase, failed.lock, failed.job_name, failed.requeue_after) == ("Failed", None, None, None)
    assert failed.status.completion_time == "2026-12-03T12:00:00Z"
    assert failed.events == (("Warning", "InvalidRestoreJob", "spec.image: no executor image"),)


def test_statuses_compare_as_the_model_writes_them() -> None:
    assert _normal({"phase": "Running", "startTime": None}) == _normal({"phase": "Running"})
    assert _normal({"phase": "Running"}) != _normal({"phase": "Completed"})
    assert _normal({"phase": "Bogus"}) == {"phase": "Bogus"}
