"""End to end, the operator drives TLS on pods that really run OpenBao 2.7.2 (node agent):

- the cluster serves the operator-issued certificate at every pod IP, verified by the pod DNS names;
- raft joins verify ``leader_tls_servername``: followers join the leader at its pod IP (go-discover), and the
  certificate has no IP SAN for that address, so the verified join can only have used the server name;
- a rotation at its scheduled time (a short :class:`pki.RotationPolicy`, real clock, the operator's own
  requeue at ``next_check_at``) writes a new server certificate; the node agent switches the Secret volume
  like the kubelet (``..data``), and ``tls_auto_reload`` (rendered for >= 2.7) makes the *same* ``bao``
  process serve the new serial: no restart, no new pod, no pod template change.

Run alone (it takes a few minutes)::

    uv run pytest -m integration tests/integration/test_tls_rotation_e2e.py -s
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import ipaddress
import re
import socket
import ssl
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from openbao_operator import kube, pki
from openbao_operator.controller import kinds
from tests.integration.kubehelp import admin, eventually
from tests.integration.operatorhelp import crd, running_operator
from tests.integration.test_rollout_e2e import EVENT, _pods, agent_view, check_one_raft_cluster, wait_available
from tests.peers.controlplane import ControlPlane
from tests.peers.nodeagent import NodeAgent
from tests.unit.render.config_cases import manifest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

LEAF_LIFETIME = timedelta(seconds=240)
"""Renewed at half its life (the spec's rotationPeriod of 720h is longer), so about every two minutes."""
SERVE_BOUND = 75.0
"""Secret write -> served: the agent's volume sync (3 s) + bao's reload interval (30 s default) + slack."""


def _served(ip: str, *, cafile: Path, hostname: str) -> x509.Certificate:
    """The certificate the pod serves, verified against the trust bundle for ``hostname``."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    with (
        socket.create_connection((ip, 8200), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


async def _secret_cert(client: kube.KubeClient, namespace: str, name: str) -> x509.Certificate:
    secret = await client.get(kinds.SECRET, f"{name}-tls-server", namespace=namespace)
    return x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))


def _identity(pods: list[dict[str, Any]], agent: NodeAgent, namespace: str) -> dict[str, tuple[str, int | None, int]]:
    """Per pod: uid, the pid of its bao process, the container's restart count."""
    out = {}
    for p in pods:
        name = str(p["metadata"]["name"])
        restarts = int(p["status"]["containerStatuses"][0]["restartCount"])
        out[name] = (str(p["metadata"]["uid"]), agent.pid(namespace, name), restarts)
    return out


async def test_operator_rotation_is_served_by_the_same_process(
    control_plane: ControlPlane, node_agent: NodeAgent, namespace: str, tmp_path: Path, peer_logs: Path
) -> None:
    node_agent.adopt_namespace(namespace)
    name = "rot"
    doc = manifest(name=name, namespace=namespace, replicas=3, version="2.7.2")
    client = admin(control_plane, field_manager="test-user")
    try:
        async with running_operator(control_plane, namespace, resync_seconds=30) as op:
            policy = pki.RotationPolicy(leaf_lifetime=LEAF_LIFETIME, backdate=timedelta(seconds=5))
            op.reconciler.config = dataclasses.replace(op.reconciler.config, tls_policy=policy)
            await client.apply(doc)
            await wait_available(client, namespace, name, within=300)
            token = base64.b64decode(
                (await client.get(kinds.SECRET, f"{name}-root-token", namespace=namespace))["data"]["token"]
            ).decode()
            c = await agent_view(control_plane, node_agent, client, doc, tmp_path, peer_logs)
            leader = await check_one_raft_cluster(c, client, token, replicas=3)

            # What the operator rendered: reload in place, joins verified by name.
            config = (await client.get(kinds.CONFIGMAP, f"{name}-config", namespace=namespace))["data"]["config.hcl"]
            assert re.search(r"\btls_auto_reload\s*=\s*true\b", config)
            raft_name = f"openbao-cluster-{name}.local"
            assert re.search(rf'\bleader_tls_servername\s*=\s*"{re.escape(raft_name)}"', config)
            assert re.search(r'\bleader_ca_cert_file\s*=\s*"/etc/bao/tls/ca.crt"', config)
            sts = await client.get(kinds.STATEFULSET, name, namespace=namespace)
            assert "openbao.org/tls-cert-hash" not in sts["spec"]["template"]["metadata"]["annotations"]

            # Served: the Secret's certificate, at every pod IP, for the pod's DNS name and the raft name.
            issued = await _secret_cert(client, namespace, name)
            ips = {c.pod(i): node_agent.pod_ip(namespace, c.pod(i)) for i in range(3)}
            for pod, ip in ips.items():
                for hostname in (f"{pod}.{name}.{namespace}.svc", raft_name):
                    served = await asyncio.to_thread(_served, ip, cafile=c.ca_file, hostname=hostname)
                    assert served.serial_number == issued.serial_number, (pod, hostname)
            ip_sans = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            cert_ips = {str(a) for a in ip_sans.get_values_for_type(x509.IPAddress)}
            assert not cert_ips & set(ips.values()), "pod IPs must not be SANs: the join verifies the name"
            assert ipaddress.ip_address("127.0.0.1") in ip_sans.get_values_for_type(x509.IPAddress)
            # Followers joined the leader at its pod IP (discovered), so TLS verified leader_tls_servername.
            for pod in ips:
                if pod == leader:
                    continue
                log = await asyncio.to_thread(node_agent.log_path(namespace, pod).read_text)
                assert "successfully joined the raft cluster: leader_addr=https://" in log, pod
                joined = log.split("successfully joined the raft cluster: leader_addr=https://", 1)[1].split(":")[0]
                assert joined in ips.values(), (pod, joined)

            before = _identity(await _pods(client, namespace, name), node_agent, namespace)
            assert all(pid is not None and restarts == 0 for _, pid, restarts in before.values()), before
            revision = sts["status"]["updateRevision"]

            # The scheduled rotation: the operator's requeue at next_check_at, real clock.
            async def rotated() -> x509.Certificate | None:
                now = await _secret_cert(client, namespace, name)
                return now if now.serial_number != issued.serial_number else None

            renewed = await eventually(rotated, what="the operator reissues at the scheduled time", within=240)
            written_at = time.monotonic()
            assert renewed.issuer == issued.issuer, "same CA: only the leaf rotates"

            async def served_everywhere() -> bool:
                for pod, ip in ips.items():
                    served = await asyncio.to_thread(
                        _served, ip, cafile=c.ca_file, hostname=f"{pod}.{name}.{namespace}.svc"
                    )
                    if served.serial_number != renewed.serial_number:
                        return False
                return True

            await eventually(served_everywhere, what="every pod serves the new serial", within=SERVE_BOUND)
            took = time.monotonic() - written_at

            # The same processes: same pod uids, same pids, no restart, no template change, no rollout.
            after = _identity(await _pods(client, namespace, name), node_agent, namespace)
            assert after == before
            sts = await client.get(kinds.STATEFULSET, name, namespace=namespace)
            assert sts["status"]["updateRevision"] == revision
            assert "openbao.org/tls-cert-hash" not in sts["spec"]["template"]["metadata"]["annotations"]
            for pod in ips:
                log = await asyncio.to_thread(node_agent.log_path(namespace, pod).read_text)
                assert "tls auto-reload: reloaded TLS certificate" in log, pod
                assert "reload triggered" not in log, pod  # no SIGHUP was needed
            events = (await client.list(EVENT, namespace=namespace)).items
            assert any(e.get("reason") == "CertificateIssued" for e in events)
            assert not [e for e in events if e.get("reason") in ("PodReplaced", "RolloutStalled")]
            await check_one_raft_cluster(c, client, token, replicas=3)
            print(
                f"\nrotation: serial {issued.serial_number:x} -> {renewed.serial_number:x}; served by all 3 pods "
                f"{took:.1f} s after the Secret changed; pids {[pid for _, pid, _ in after.values()]} unchanged"
            )
    finally:
        await client.close()
