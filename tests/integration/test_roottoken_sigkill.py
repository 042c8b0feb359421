"""An operator process SIGKILLed between ``PUT sys/init`` and storing the answer: the loss is reported.

Real peers all the way: pods run real `bao` (node agent), the operator runs as its own process with deploy/
RBAC, and the window is held open by the real API server itself: a ValidatingAdmissionPolicy refuses any
Secret named ``*-root-token`` that carries a ``token``. The placeholder (no data) passes, OpenBao is
initialized, the fill is refused, the operator keeps the answer in memory only; then it is SIGKILLed.
The policy is removed and a new operator process starts. It must find OpenBao initialized while the Secret
is still a placeholder, mark it ``lost``, send a Warning Event ``RootTokenLost``, and go on converging the
cluster (the static key unseals every pod; nothing needs the token).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from openbao_operator import kube
from openbao_operator.controller import kinds
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import crd, get_or_none
from tests.integration.test_controller_chaos import _probe_ready
from tests.integration.test_rollout_e2e import EVENT, wait_available
from tests.peers.controlplane import ControlPlane
from tests.peers.deploy import install_operator, operator_process
from tests.peers.nodeagent import NodeAgent
from tests.unit.render.config_cases import manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

POLICY = kube.resource_type("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy")
BINDING = kube.resource_type("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding")


def _policy(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["secrets"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": "!(object.metadata.name.endsWith('-root-token') && has(object.data) && "
                    "'token' in object.data)",
                    "message": "root tokens are refused here (injected by the test)",
                }
            ],
        },
    }


def _binding(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}},
        },
    }


async def _policy_in_force(client: kube.KubeClient, namespace: str) -> bool:
    probe = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "probe-root-token", "namespace": namespace},
        "data": {"token": "eA=="},
    }
    try:
        await client.create(probe, dry_run=True)
    except kube.KubeError as exc:
        return "injected by the test" in str(exc)
    return False


async def test_sigkill_between_init_and_fill_is_reported_not_silent(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    node_agent: NodeAgent,
    namespace: str,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    node_agent.adopt_namespace(namespace)
    name = "lost"
    policy = f"refuse-root-tokens-{namespace}"
    identity = install_operator(
        control_plane, namespace=namespace, mode="cluster", suffix=namespace, tenants=(namespace,)
    )
    client = kube_clients(field_manager="test-user")
    procs: list[Any] = []

    async def start(tag: str) -> None:
        proc, port = operator_process(identity, workdir=tmp_path, logs=peer_logs, name=f"lost-operator-{tag}")
        procs.append(proc)
        proc.start()
        await eventually(_probe_ready(port), what="operator ready", within=60, interval=0.1)

    try:
        await client.apply(_policy(policy))
        await client.apply(_binding(policy, namespace))
        await eventually(lambda: _policy_in_force(client, namespace), what="admission policy in force", within=30)
        await start("a")
        await client.apply(manifest(name=name, namespace=namespace, replicas=3))

        async def window_open() -> dict[str, Any] | None:
            secret = await get_or_none(client, kinds.SECRET, f"{name}-root-token", namespace)
            obj = await get_or_none(client, kinds.CLUSTER, name, namespace)
            degraded = [c for c in ((obj or {}).get("status") or {}).get("conditions") or () if c["type"] == "Degraded"]
            not_stored = bool(degraded) and degraded[0].get("reason") == "RootTokenNotStored"
            return secret if secret is not None and not secret.get("data") and not_stored else None

        # OpenBao is initialized, the answer lives only in the operator's memory: kill it there
        placeholder = await eventually(window_open, what="initialized, fill refused", within=240, interval=0.2)
        assert placeholder["metadata"]["annotations"]["openbao.org/root-token-state"] == "pending"
        procs[-1].kill()
        await client.delete(BINDING, policy)
        await client.delete(POLICY, policy)
        await start("b")

        async def marked_lost() -> dict[str, Any] | None:
            secret = await client.get(kinds.SECRET, f"{name}-root-token", namespace=namespace)
            state = secret["metadata"].get("annotations", {}).get("openbao.org/root-token-state")
            return secret if state == "lost" else None

        secret = await eventually(marked_lost, what="the placeholder marked lost", within=120, interval=0.2)
        assert not secret.get("data"), "nothing can fill it: the answer died with the process"
        events = await client.list(EVENT, namespace=namespace)
        lost = [e for e in events.items if e.get("reason") == "RootTokenLost"]
        assert lost, "the loss must be reported, not silent"
        assert lost[0]["type"] == "Warning"
        assert f"{name}-root-token" in lost[0]["note"]
        # the cluster converges all the same: three pods unsealed by the static key
        obj = await wait_available(client, namespace, name, within=300)
        assert obj["status"]["initialized"] is True
        degraded = [c for c in obj["status"]["conditions"] if c["type"] == "Degraded"]
        assert degraded[0]["reason"] != "RootTokenNotStored"
    finally:
        for proc in procs:
            proc.stop(grace=10)
        for rt, obj_name in ((BINDING, policy), (POLICY, policy)):
            with contextlib.suppress(kube.NotFound):
                await client.delete(rt, obj_name)
