"""Properties: every pod of any size is covered, decisions depend only on their inputs, the schedule moves
forward, and the SAN list agrees with what the renderer puts into config.hcl and the object labels."""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store
from hypothesis import given, settings
from hypothesis import strategies as st

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.pki import (
    TlsPlan,
    external_required_names,
    operator_managed_names,
    p256_key_from_seed,
    plan_operator_managed_tls,
    pod_dns_names,
    raft_tls_server_name,
    tls_secret_manifests,
)
from openbao_operator.render.config.context import Context
from openbao_operator.render.config.storage import raft_tls_server_name as render_raft_tls_server_name
from openbao_operator.render.facts import RenderFacts

NOW = datetime(2026, 1, 1, tzinfo=UTC)
label = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


def _cluster(name: str, replicas: int, spec: dict[str, Any] | None = None) -> OpenBaoCluster:
    return parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": name},
            "spec": {"version": "2.4.1", "replicas": replicas, "tls": {"enabled": True}, "storage": {"size": "1Gi"}}
            | (spec or {}),
        }
    )


def _plan(cluster: OpenBaoCluster, *, namespace: str, domain: str, now: datetime, seed: int = 1) -> TlsPlan:
    seeds = itertools.count(seed)
    serials = itertools.count(1)
    return plan_operator_managed_tls(
        cluster,
        namespace=namespace,
        cluster_domain=domain,
        now=now,
        ca_secret=None,
        server_secret=None,
        new_key=lambda: p256_key_from_seed(next(seeds)),
        new_serial=lambda: next(serials),
    )


@settings(max_examples=30, deadline=None)
@given(replicas=st.integers(1, 9), name=label, namespace=label, domain=st.sampled_from(["cluster.local", "k8s.corp"]))
def test_every_pod_dns_name_is_covered(replicas: int, name: str, namespace: str, domain: str) -> None:
    cluster = _cluster(name, replicas)
    plan = _plan(cluster, namespace=namespace, domain=domain, now=NOW)
    leaf = x509.load_pem_x509_certificates(plan.server_secret["tls.crt"])[0]
    bundle = x509.load_pem_x509_certificates(plan.server_secret["ca.crt"])
    builder = PolicyBuilder().store(Store(bundle)).time(NOW)
    pods = pod_dns_names(cluster, namespace=namespace) + pod_dns_names(
        cluster, namespace=namespace, cluster_domain=domain
    )
    assert len(pods) == 2 * replicas
    for pod in (*pods, raft_tls_server_name(name), f"{name}-active.{namespace}.svc"):
        builder.build_server_verifier(x509.DNSName(pod)).verify(leaf, [])


@settings(max_examples=25, deadline=None)
@given(offset_days=st.floats(0, 12 * 365), replicas=st.integers(1, 9))
def test_decisions_are_deterministic_for_a_given_now(offset_days: float, replicas: int) -> None:
    cluster = _cluster("bao", replicas)
    start = _plan(cluster, namespace="ns", domain="cluster.local", now=NOW)
    now = NOW + timedelta(days=offset_days)

    def decide() -> TlsPlan:
        seeds, serials = itertools.count(50), itertools.count(500)
        return plan_operator_managed_tls(
            cluster,
            namespace="ns",
            cluster_domain="cluster.local",
            now=now,
            ca_secret=start.ca_secret,
            server_secret=start.server_secret,
            new_key=lambda: p256_key_from_seed(next(seeds)),
            new_serial=lambda: next(serials),
        )

    first, second = decide(), decide()
    assert first == second
    assert first.next_check_at > now


@settings(max_examples=50, deadline=None)
@given(replicas=st.integers(1, 9), name=label, namespace=label)
def test_operator_names_include_what_external_material_must_cover(replicas: int, name: str, namespace: str) -> None:
    cluster = _cluster(name, replicas)
    mine, _ = operator_managed_names(cluster, namespace=namespace, cluster_domain="cluster.local")
    assert set(external_required_names(cluster, namespace=namespace).dns) <= set(mine.dns)
    assert len(set(mine.dns)) == len(mine.dns)


def test_raft_server_name_matches_the_renderer() -> None:
    for mode in ("OperatorManaged", "External"):
        cluster = _cluster("bao", 3, {"tls": {"enabled": True, "mode": mode}})
        ctx = Context.of(cluster, RenderFacts(namespace="ns"))
        assert render_raft_tls_server_name(ctx) == raft_tls_server_name("bao")


def test_repr_of_plan_hides_private_keys() -> None:
    plan = _plan(_cluster("bao", 3), namespace="ns", domain="cluster.local", now=NOW)
    text = repr(plan) + str(plan.ca_secret) + f"{plan.server_secret}"
    assert "PRIVATE KEY" not in text
    assert "ca.key: <" in text


def test_secret_manifests_shape() -> None:
    cluster = _cluster("bao", 3)
    plan = _plan(cluster, namespace="ns", domain="cluster.local", now=NOW)
    ca, server = tls_secret_manifests(cluster, plan, namespace="ns", owner_uid="uid-1")
    assert (ca["metadata"]["name"], ca["type"]) == ("bao-tls-ca", "Opaque")
    assert (server["metadata"]["name"], server["type"]) == ("bao-tls-server", "kubernetes.io/tls")
    assert set(server["data"]) == {"tls.crt", "tls.key", "ca.crt"}
    assert base64.b64decode(server["data"]["tls.crt"]) == plan.server_secret["tls.crt"]
    assert ca["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert ca["metadata"]["labels"]["openbao.org/cluster"] == "bao"
    unowned, _ = tls_secret_manifests(cluster, plan, namespace="ns", owner_uid=None)
    assert "ownerReferences" not in unowned["metadata"]
