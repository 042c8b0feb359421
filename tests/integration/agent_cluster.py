"""A rendered OpenBao cluster running on the node agent, without the operator: for the agent's self-tests
and for end-to-end tests that want real pods before (or besides) the controller.

:func:`deploy_rendered` does what the operator's first reconcile does for a static-seal, operator-managed
TLS cluster: the TLS Secrets from :mod:`openbao_operator.pki`, the unseal key Secret from
:mod:`openbao_operator.seal`, then every object of ``render_desired`` server-side applied. The real
StatefulSet controller creates the pods, the binder sends them to the agent's node, and :class:`AgentCluster`
talks to them with the `bao` CLI at their pod IPs (TLS verified against the trust bundle, by pod DNS name).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openbao_operator.api import OpenBaoCluster
from openbao_operator.pki.manifests import tls_secret_manifests
from openbao_operator.pki.operator_managed import plan_operator_managed_tls
from openbao_operator.render.desired import render_desired
from openbao_operator.render.facts import RenderFacts
from openbao_operator.seal import initial_key_id, key_secret_manifest, key_secret_name
from openbao_operator.seal.key import generate_unseal_key
from tests.peers import pins
from tests.peers.controlplane import ControlPlane
from tests.peers.deploy import DEPLOY, apply, load_documents
from tests.peers.nodeagent import JSON, NodeAgent, pod_ready, wait_pod
from tests.peers.procs import run_checked, wait_until
from tests.unit.render.config_cases import cluster, manifest


@dataclass
class AgentCluster:
    """One rendered cluster in ``namespace`` whose pods run on ``agent``'s node."""

    plane: ControlPlane
    agent: NodeAgent
    namespace: str
    name: str
    ca_file: Path
    log: Path
    cluster: OpenBaoCluster

    def render(self, *, initialized: bool) -> None:
        """Apply the rendered objects again, e.g. with ``initialized=True`` once pod 0 is initialized: the
        StatefulSet then grows from 1 to spec.replicas, as the operator's bootstrap does."""
        for obj in render_desired(
            self.cluster, facts=RenderFacts(namespace=self.namespace, initialized=initialized)
        ).objects:
            apply(self.plane, dict(obj), manager="agent-cluster")

    def pod(self, ordinal: int) -> str:
        return f"{self.name}-{ordinal}"

    def pod_json(self, pod: str) -> JSON:
        return wait_pod(self.plane, self.namespace, pod, lambda _: True, what="exists", timeout=30)

    def bao(
        self, pod: str, *args: str, token: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``bao ARGS`` against ``pod`` at its pod IP, verifying its certificate by its pod DNS name."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_"))}
        env |= {
            "BAO_ADDR": f"https://{self.agent.pod_ip(self.namespace, pod)}:8200",
            "BAO_CACERT": str(self.ca_file),
            "BAO_TLS_SERVER_NAME": f"{pod}.{self.name}.{self.namespace}.svc",
            "HOME": str(self.ca_file.parent),
        }
        if token is not None:
            env["BAO_TOKEN"] = token
        return run_checked([str(pins.bao_binary()), *args], env=env, timeout=60, log=self.log, check=check)

    def status(self, pod: str) -> dict[str, Any] | None:
        res = self.bao(pod, "status", "-format=json", check=False)
        if res.returncode not in (0, 2):
            return None
        data: dict[str, Any] = json.loads(res.stdout)
        return data

    def init(self, pod: str) -> dict[str, Any]:
        """``bao operator init`` (PUT sys/init) with one recovery share, as the operator will do."""
        res = self.bao(pod, "operator", "init", "-recovery-shares=1", "-recovery-threshold=1", "-format=json")
        data: dict[str, Any] = json.loads(res.stdout)
        return data

    def wait_ready(self, pod: str, *, timeout: float = 90.0, extra: Any = None) -> JSON:
        """Wait until ``pod`` is Ready (and ``extra(pod_json)`` holds, when given)."""
        return wait_pod(
            self.plane,
            self.namespace,
            pod,
            lambda p: pod_ready(p) and (extra is None or extra(p)),
            what="Ready",
            timeout=timeout,
        )

    def labels(self, pod: str) -> dict[str, str]:
        return dict(self.pod_json(pod)["metadata"].get("labels") or {})

    def raft_voters(self, pod: str, token: str, *, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Wait until ``pod`` reports exactly ``count`` raft servers, all voters."""

        def voters() -> list[dict[str, Any]] | None:
            res = self.bao(pod, "operator", "raft", "list-peers", "-format=json", token=token, check=False)
            if res.returncode != 0:
                return None
            servers: list[dict[str, Any]] = json.loads(res.stdout)["data"]["config"]["servers"]
            return servers if len(servers) == count and all(s["voter"] for s in servers) else None

        return wait_until(voters, what=f"{count} raft voters", timeout=timeout, interval=1.0)


def deploy_rendered(
    plane: ControlPlane,
    agent: NodeAgent,
    namespace: str,
    *,
    workdir: Path,
    logs: Path,
    name: str = "bao",
    replicas: int = 1,
    **spec: Any,
) -> AgentCluster:
    """TLS and unseal Secrets plus every rendered object, applied to ``namespace`` (adopted by ``agent``).

    Rendered as before initialization (one replica); call :meth:`AgentCluster.render` with
    ``initialized=True`` after initializing pod 0 to grow to ``replicas``."""
    agent.adopt_namespace(namespace)
    # The pre-installed ClusterRoles the rendered RoleBinding names (openbao-server: service registration and
    # auto_join), as an install has them; without them the pods' API calls are refused.
    for role in load_documents(DEPLOY / "rbac-roles.yaml"):
        apply(plane, role, manager="agent-cluster")
    doc = manifest(name=name, namespace=namespace, replicas=replicas, **spec)
    c = cluster(doc)
    plan = plan_operator_managed_tls(
        c,
        namespace=namespace,
        cluster_domain="cluster.local",
        now=datetime.now(UTC),
        ca_secret=None,
        server_secret=None,
    )
    for secret in tls_secret_manifests(c, plan, namespace=namespace, owner_uid=None):
        apply(plane, secret, manager="agent-cluster")
    key = key_secret_manifest(
        c,
        namespace=namespace,
        name=key_secret_name(name),
        key=generate_unseal_key(),
        key_id=initial_key_id(c),
        predecessor=None,
        owner_uid=None,
    )
    apply(plane, key, manager="agent-cluster")
    workdir.mkdir(parents=True, exist_ok=True)
    ca_file = workdir / "trust-bundle.pem"
    ca_file.write_bytes(plan.trust_bundle)
    out = AgentCluster(
        plane=plane,
        agent=agent,
        namespace=namespace,
        name=name,
        ca_file=ca_file,
        log=logs / f"{namespace}-cli.log",
        cluster=c,
    )
    out.render(initialized=False)  # 1 replica until pod 0 is initialized
    return out
