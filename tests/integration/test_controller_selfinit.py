"""Self-init through the running operator: the requests reach the pods from the Secret `<name>-config-init`, the
ConfigMap `<name>-config` holds none of them, and the Secret costs no write once converged.

The operator runs as its ServiceAccount with deploy/namespace-mode RBAC (so the Secret is cached, as the
operator's own Secrets are); kwok plays the kubelet. That OpenBao itself runs the requests from the second
file is proven with real bao in test_config_boot.py::test_self_init_runs_the_rendered_requests.
"""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from openbao_operator import kube
from openbao_operator.api import names
from openbao_operator.controller import kinds
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import (
    cluster_manifest,
    converged,
    crd,
    get_or_none,
    reconciles,
    running_operator,
    writes,
)
from tests.peers.controlplane import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

PASSWORD = "alice-s3cret-from-the-spec"
SELF_INIT = {
    "enabled": True,
    "requests": [
        {"name": "userpass", "operation": "update", "path": "sys/auth/userpass", "authMethod": {"type": "userpass"}},
        {
            "name": "alice",
            "operation": "update",
            "path": "auth/userpass/users/alice",
            "data": {"password": PASSWORD, "token_policies": ["default"]},
        },
    ],
}


async def test_requests_reach_the_pods_from_a_secret_and_never_a_config_map(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    counter = kube.RequestCounter()
    async with running_operator(control_plane, namespace, counter=counter, resync_seconds=2) as operator:
        await client.apply(cluster_manifest("si", namespace, selfInit=SELF_INIT))
        done = await eventually(lambda: converged(client, "si", namespace), what="converged", within=30)
        uid = done["metadata"]["uid"]

        config_maps = await client.list(kinds.CONFIGMAP, namespace=namespace)
        for cm in config_maps.items:
            text = json.dumps(cm.get("data") or {})
            assert PASSWORD not in text, cm["metadata"]["name"]
            assert "initialize" not in text, cm["metadata"]["name"]

        secret = await get_or_none(client, kinds.SECRET, "si-config-init", namespace)
        assert secret is not None
        assert [r["uid"] for r in secret["metadata"]["ownerReferences"]] == [uid]
        text = base64.b64decode(secret["data"]["config.hcl"]).decode()
        assert PASSWORD in text
        assert 'initialize "alice"' in text

        sts = await client.get(kinds.STATEFULSET, "si", namespace=namespace)
        pod = sts["spec"]["template"]["spec"]
        assert pod["containers"][0]["args"][-1] == f"-config={names.SELF_INIT_FILE}"
        assert {"name": "config-init", "secret": {"secretName": "si-config-init", "defaultMode": 0o440}} in [
            {k: v for k, v in vol.items() if k in ("name", "secret")} for vol in pod["volumes"]
        ]

        # No write loop on the Secret (data is compared as the API server stores it).
        await asyncio.sleep(3)
        counter.reset()
        before = reconciles(operator)
        await asyncio.sleep(12)
        assert reconciles(operator) - before >= 3, "resync did not run"
        assert writes(counter) == [], f"writes while idle: {writes(counter)}"
