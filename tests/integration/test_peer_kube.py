"""Self-tests of the control-plane peers: they prove the harness is a real Kubernetes, not a fake.

Each test exercises a behaviour only a real API server or a real controller has: StatefulSet pods that
become Running and Ready (statefulset controller + binder + kwok), ownerReference garbage collection,
server-side-apply field ownership conflicts, Pod Security admission, TokenRequest + RBAC, and version
stamping of the locally built binaries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import pytest
from lightkube import ApiError, AsyncClient, KubeConfig
from lightkube.models.apps_v1 import StatefulSetSpec
from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec, SecurityContext
from lightkube.models.meta_v1 import LabelSelector, ObjectMeta, OwnerReference
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import ConfigMap, Namespace, Pod, ServiceAccount
from lightkube.resources.rbac_authorization_v1 import Role, RoleBinding

from tests.peers import pins
from tests.peers.controlplane import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, what: str, within: float = 60.0, interval: float = 0.5
) -> T:
    """Await ``probe`` until it returns a truthy value; bounded in time (and so in count)."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {within:.0f}s waiting for {what} (last: {last!r})")


def _pod_template(labels: dict[str, str]) -> PodTemplateSpec:
    return PodTemplateSpec(
        metadata=ObjectMeta(labels=labels),
        spec=PodSpec(containers=[Container(name="app", image="registry.invalid/app:1")]),
    )


def test_version_is_stamped(control_plane: ControlPlane) -> None:
    """The wrapper build stamped the real release (not v0.0.0-master)."""
    version = control_plane.get_json("/version")
    assert version["gitVersion"] == pins.peer("kubernetes").version


async def test_statefulset_gets_three_ready_pods(kube: AsyncClient, namespace: str) -> None:
    labels: dict[str, Any] = {"app": "web"}
    sts = StatefulSet(
        metadata=ObjectMeta(name="web", namespace=namespace),
        spec=StatefulSetSpec(
            replicas=3,
            serviceName="web",
            selector=LabelSelector(matchLabels=labels),
            template=_pod_template(labels),
        ),
    )
    await kube.create(sts)

    async def three_ready() -> list[str] | None:
        ready = []
        async for pod in kube.list(Pod, namespace=namespace, labels=labels):
            status = pod.status
            conditions = (status.conditions if status else None) or []
            if (
                status
                and status.phase == "Running"
                and any(c.type == "Ready" and c.status == "True" for c in conditions)
            ):
                assert pod.metadata is not None
                assert pod.metadata.name is not None
                ready.append(pod.metadata.name)
        return sorted(ready) if len(ready) == 3 else None

    names = await eventually(three_ready, what="3 Running+Ready pods", within=150)
    assert names == ["web-0", "web-1", "web-2"]

    async def sts_ready() -> bool:
        got = await kube.get(StatefulSet, "web", namespace=namespace)
        return got.status is not None and got.status.readyReplicas == 3

    await eventually(sts_ready, what="StatefulSet status.readyReplicas == 3")


async def test_deleting_owner_garbage_collects_dependent(kube: AsyncClient, namespace: str) -> None:
    owner = await kube.create(ConfigMap(metadata=ObjectMeta(name="owner", namespace=namespace), data={"a": "1"}))
    assert owner.metadata is not None
    assert owner.metadata.uid is not None
    ref = OwnerReference(apiVersion="v1", kind="ConfigMap", name="owner", uid=owner.metadata.uid)
    await kube.create(
        ConfigMap(metadata=ObjectMeta(name="child", namespace=namespace, ownerReferences=[ref]), data={"b": "2"})
    )
    await kube.delete(ConfigMap, "owner", namespace=namespace)

    async def child_gone() -> bool:
        try:
            await kube.get(ConfigMap, "child", namespace=namespace)
        except ApiError as exc:
            return exc.status.code == 404
        return False

    await eventually(child_gone, what="the garbage collector to delete the dependent ConfigMap", within=90)


async def test_server_side_apply_conflict_between_field_managers(kube: AsyncClient, namespace: str) -> None:
    def cm(value: str) -> ConfigMap:
        return ConfigMap(metadata=ObjectMeta(name="shared", namespace=namespace), data={"key": value})

    await kube.apply(cm("from-a"), field_manager="manager-a")
    with pytest.raises(ApiError) as err:
        await kube.apply(cm("from-b"), field_manager="manager-b")
    assert err.value.status.code == 409
    assert "manager-a" in str(err.value.status.message)

    forced = await kube.apply(cm("from-b"), field_manager="manager-b", force=True)
    assert forced.data == {"key": "from-b"}
    assert forced.metadata is not None
    managers = {m.manager for m in forced.metadata.managedFields or []}
    assert "manager-b" in managers


async def test_pod_security_restricted_rejects_privileged_pod(kube: AsyncClient, namespace: str) -> None:
    await kube.patch(
        Namespace,
        namespace,
        {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}},
    )
    bad = Pod(
        metadata=ObjectMeta(name="privileged", namespace=namespace),
        spec=PodSpec(
            containers=[
                Container(name="c", image="registry.invalid/app:1", securityContext=SecurityContext(privileged=True))
            ]
        ),
    )
    with pytest.raises(ApiError) as err:
        await kube.create(bad)
    assert err.value.status.code == 403
    assert 'violates PodSecurity "restricted' in str(err.value.status.message)

    good = cast(
        Pod,
        Pod.from_dict(
            {
                "metadata": {"name": "compliant", "namespace": namespace},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": "c",
                            "image": "registry.invalid/app:1",
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"]},
                                "readOnlyRootFilesystem": True,
                            },
                        }
                    ],
                },
            }
        ),
    )
    await kube.create(good)  # the same namespace admits a pod that meets "restricted"


async def test_service_account_kubeconfig_is_subject_to_rbac(
    kube: AsyncClient, namespace: str, sa_kubeconfig: Callable[..., dict[str, Any]]
) -> None:
    await kube.create(ServiceAccount(metadata=ObjectMeta(name="robot", namespace=namespace)))
    config = sa_kubeconfig(namespace=namespace, name="robot")
    robot = AsyncClient(KubeConfig.from_dict(config))
    try:
        with pytest.raises(ApiError) as err:
            await robot.get(ConfigMap, "kube-root-ca.crt", namespace=namespace)
        assert err.value.status.code == 403

        await kube.create(
            Role(
                metadata=ObjectMeta(name="read-cm", namespace=namespace),
                rules=[PolicyRule(apiGroups=[""], resources=["configmaps"], verbs=["get", "list"])],
            )
        )
        await kube.create(
            RoleBinding(
                metadata=ObjectMeta(name="robot-read-cm", namespace=namespace),
                roleRef=RoleRef(apiGroup="rbac.authorization.k8s.io", kind="Role", name="read-cm"),
                subjects=[Subject(kind="ServiceAccount", name="robot", namespace=namespace)],
            )
        )

        async def allowed() -> ConfigMap | None:
            # also proves root-ca-certificate-publisher-controller published the CA
            try:
                return await robot.get(ConfigMap, "kube-root-ca.crt", namespace=namespace)
            except ApiError as exc:
                if exc.status.code in (403, 404):
                    return None
                raise

        root_ca = await eventually(allowed, what="RBAC to allow the ServiceAccount", within=30)
        assert root_ca.data is not None
        assert "BEGIN CERTIFICATE" in root_ca.data["ca.crt"]
    finally:
        await robot.close()
