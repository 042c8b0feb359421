"""Targeted checks of single decisions the golden files only show: each test names the rule it guards."""

from __future__ import annotations

from typing import Any

import pytest

from openbao_operator.api import names, parse_cluster
from openbao_operator.render.workload import is_optional_kind, workload_objects
from openbao_operator.render.workload.disruption import pod_disruption_budget
from openbao_operator.render.workload.env import seal_env
from openbao_operator.render.workload.networkpolicy import NetworkRenderError, network_policy
from openbao_operator.render.workload.probes import probes
from openbao_operator.render.workload.routes import backend_tls_policy, http_route, tls_route
from openbao_operator.render.workload.services import acme_service, public_service
from openbao_operator.render.workload.statefulset import statefulset

from .cases import CONFIG_HASH, facts, manifest


def sts(doc: dict[str, Any], **fact_overrides: Any) -> dict[str, Any]:
    return statefulset(parse_cluster(doc), facts(**fact_overrides), config_hash=CONFIG_HASH)


def container(doc: dict[str, Any], **fact_overrides: Any) -> dict[str, Any]:
    c: dict[str, Any] = sts(doc, **fact_overrides)["spec"]["template"]["spec"]["containers"][0]
    return c


def test_one_replica_until_initialized_then_spec_replicas() -> None:
    assert sts(manifest(replicas=5), initialized=False)["spec"]["replicas"] == 1
    assert sts(manifest(replicas=5), initialized=True)["spec"]["replicas"] == 5


def test_parallel_pods_on_delete_updates_and_retained_claims() -> None:
    spec = sts(manifest())["spec"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert spec["updateStrategy"] == {"type": "OnDelete"}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}


def test_official_image_runs_bao_directly_without_shell_or_init_container() -> None:
    pod = sts(manifest())["spec"]["template"]["spec"]
    assert "initContainers" not in pod
    assert pod["containers"][0]["command"] == ["/usr/bin/bao"]
    assert pod["containers"][0]["args"] == ["server", "-config=/etc/bao/config/config.hcl"]
    assert pod["containers"][0]["image"] == "quay.io/openbao/openbao:2.7.2"
    digest = "quay.io/openbao/openbao@sha256:" + "d" * 64
    assert container(manifest(image="x.io/bao:1.0.0"), verified_image=digest)["image"] == digest
    assert container(manifest(image="x.io/bao:1.0.0"))["image"] == "x.io/bao:1.0.0"


@pytest.mark.parametrize(
    ("tls", "scheme"),
    [
        ({"enabled": True}, "HTTPS"),
        ({"enabled": True, "mode": "External"}, "HTTPS"),
        ({"enabled": True, "mode": "ACME", "acme": {"directoryURL": "https://a/dir"}}, "HTTPS"),
        ({"enabled": False}, "HTTP"),
    ],
)
def test_probes_never_fail_sealed_or_uninitialized_pods_and_follow_the_listener_scheme(
    tls: dict[str, Any], scheme: str
) -> None:
    got = probes(parse_cluster(manifest(tls=tls)))
    for kind in ("startupProbe", "livenessProbe"):
        get = got[kind]["httpGet"]
        assert get["path"] == "/v1/sys/health?standbyok=true&sealedcode=204&uninitcode=204"
        assert get["scheme"] == scheme
    ready = got["readinessProbe"]["httpGet"]
    assert ready["path"] == "/v1/sys/health?standbyok=true"  # 501 uninit, 503 sealed fail; standby 200
    assert ready["scheme"] == scheme


def test_tls_cert_hash_only_where_the_version_cannot_reload_certificates() -> None:
    fingerprint = "ab" * 32
    old = sts(manifest(version="2.6.2"), tls_cert_sha256=fingerprint)["spec"]["template"]["metadata"]["annotations"]
    new = sts(manifest(version="2.7.2"), tls_cert_sha256=fingerprint)["spec"]["template"]["metadata"]["annotations"]
    acme_tls = {"enabled": True, "mode": "ACME", "acme": {"directoryURL": "https://a/dir"}}
    acme = sts(manifest(version="2.6.2", tls=acme_tls), tls_cert_sha256=fingerprint)
    assert old[names.ANNOTATION_TLS_HASH] == fingerprint
    assert names.ANNOTATION_TLS_HASH not in new
    assert names.ANNOTATION_TLS_HASH not in acme["spec"]["template"]["metadata"]["annotations"]


def test_restart_at_annotation_and_maintenance_only_on_the_statefulset() -> None:
    got = sts(manifest(maintenance={"enabled": True, "restartAt": " 2026-01-01 "}))
    assert got["metadata"]["annotations"] == {names.ANNOTATION_MAINTENANCE: "true", names.ANNOTATION_VERSION: "2.7.2"}
    template = got["spec"]["template"]["metadata"]["annotations"]
    assert template[names.ANNOTATION_RESTART_AT] == "2026-01-01"
    assert names.ANNOTATION_MAINTENANCE not in template
    # the version is on the StatefulSet only: writing it first rolls no pod
    assert names.ANNOTATION_VERSION not in template
    assert sts(manifest())["metadata"]["annotations"] == {names.ANNOTATION_VERSION: "2.7.2"}


def test_operator_labels_and_annotations_win_and_runtime_labels_are_never_rendered() -> None:
    doc = manifest(
        podLabels={names.LABEL_CLUSTER: "other", "openbao-active": "true", "team": "a"},
        podAnnotations={names.ANNOTATION_CONFIG_HASH: "mine", "x.example.com/y": "z"},
    )
    meta = sts(doc)["spec"]["template"]["metadata"]
    assert meta["labels"][names.LABEL_CLUSTER] == "bao"
    assert meta["labels"]["team"] == "a"
    assert "openbao-active" not in meta["labels"]
    assert meta["annotations"][names.ANNOTATION_CONFIG_HASH] == CONFIG_HASH
    assert meta["annotations"]["x.example.com/y"] == "z"


def test_default_soft_anti_affinity_is_replaced_only_by_a_user_pod_anti_affinity() -> None:
    default = sts(manifest())["spec"]["template"]["spec"]["affinity"]
    term = default["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    node_only: dict[str, Any] = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}}
    assert (
        sts(manifest(affinity=node_only))["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
        == (default["podAntiAffinity"])
    )
    hard = {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "topology.kubernetes.io/zone"}]}
    got = sts(manifest(affinity={"podAntiAffinity": hard}))["spec"]["template"]["spec"]["affinity"]
    assert got == {"podAntiAffinity": hard}


def test_volumes_follow_tls_mode_and_seal_type() -> None:
    def mounts(doc: dict[str, Any]) -> dict[str, str]:
        return {m["name"]: m["mountPath"] for m in container(doc)["volumeMounts"]}

    assert mounts(manifest())["tls"] == names.TLS_DIR
    assert mounts(manifest())["unseal"] == names.UNSEAL_DIR
    assert "tls" not in mounts(manifest(tls={"enabled": False}))
    assert "tls" not in mounts(manifest(tls={"enabled": True, "mode": "ACME", "acme": {"directoryURL": "https://a"}}))
    transit = {"type": "transit", "transit": {"address": "https://t", "keyName": "k", "mountPath": "t/"}}
    assert "unseal" not in mounts(manifest(unseal=transit))
    assert "seal-creds" not in mounts(manifest(unseal=transit))
    with_creds = {**transit, "credentialsSecretRef": {"name": "c"}}
    assert mounts(manifest(unseal=with_creds))["seal-creds"] == names.SEAL_CREDS_DIR
    assert all(m.get("readOnly") for m in container(manifest())["volumeMounts"] if m["name"] in ("tls", "unseal"))


@pytest.mark.parametrize(
    ("seal", "expected"),
    [
        (
            {"type": "awskms", "awskms": {"region": "r", "kmsKeyID": "k"}},
            ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"],
        ),
        (
            {"type": "azurekeyvault", "azureKeyVault": {"vaultName": "v", "keyName": "k"}},
            ["AZURE_CLIENT_SECRET"],
        ),
        ({"type": "pkcs11", "pkcs11": {"lib": "/l.so", "keyLabel": "k"}}, ["BAO_HSM_PIN"]),
        (
            {"type": "transit", "transit": {"address": "https://t", "keyName": "k", "mountPath": "t/"}},
            ["VAULT_TRANSIT_SEAL_TOKEN"],
        ),
        (
            {"type": "gcpckms", "gcpCloudKMS": {"project": "p", "region": "r", "keyRing": "k", "cryptoKey": "c"}},
            ["GOOGLE_APPLICATION_CREDENTIALS"],
        ),
        ({"type": "kmip", "kmip": {"address": "k:5696"}}, []),
    ],
)
def test_seal_credentials_wiring_per_provider(seal: dict[str, Any], expected: list[str]) -> None:
    with_ref = {**seal, "credentialsSecretRef": {"name": "creds"}}
    env = seal_env(parse_cluster(manifest(unseal=with_ref)))
    assert [e["name"] for e in env] == expected
    for e in env:
        assert "valueFrom" in e or e["value"].startswith(names.SEAL_CREDS_DIR)
    assert seal_env(parse_cluster(manifest(unseal=seal))) == []


def test_pdb_from_three_replicas_with_unhealthy_pods_evictable() -> None:
    assert pod_disruption_budget(parse_cluster(manifest(replicas=2)), facts()) is None
    pdb = pod_disruption_budget(parse_cluster(manifest(replicas=3)), facts())
    assert pdb is not None
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_public_and_acme_services_exist_only_when_asked_for() -> None:
    assert public_service(parse_cluster(manifest()), facts()) is None
    assert public_service(parse_cluster(manifest(service={})), facts()) is not None
    assert public_service(parse_cluster(manifest(ingress={"enabled": True, "host": "h.example"})), facts()) is not None
    assert acme_service(parse_cluster(manifest()), facts()) is None
    acme = acme_service(
        parse_cluster(manifest(tls={"enabled": True, "mode": "ACME", "acme": {"directoryURL": "https://a"}})), facts()
    )
    assert acme is not None
    assert acme["spec"]["publishNotReadyAddresses"] is True


def test_gateway_route_kind_follows_passthrough_and_backend_tls_needs_tls() -> None:
    gw = {"enabled": True, "gatewayRef": {"name": "g"}, "hostname": "h.example"}
    plain = parse_cluster(manifest(gateway=gw))
    assert http_route(plain, facts()) is not None
    assert tls_route(plain, facts()) is None
    assert backend_tls_policy(plain, facts()) is not None
    passthrough = parse_cluster(manifest(gateway={**gw, "tlsPassthrough": True}))
    assert http_route(passthrough, facts()) is None
    assert tls_route(passthrough, facts()) is not None
    assert backend_tls_policy(passthrough, facts()) is None
    assert backend_tls_policy(parse_cluster(manifest(gateway=gw, tls={"enabled": False})), facts()) is None


def test_network_policy_api_server_address_from_spec_then_facts_then_port_fallback() -> None:
    def egress(doc: dict[str, Any], **fact_overrides: Any) -> list[dict[str, Any]]:
        rules: list[dict[str, Any]] = network_policy(parse_cluster(doc), facts(**fact_overrides))["spec"]["egress"]
        return rules

    spec_cidr = egress(manifest(network={"apiServerCIDR": "10.0.0.7/24"}))
    assert {"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"protocol": "TCP", "port": 443}]} in spec_cidr
    from_facts = egress(manifest())
    assert {"to": [{"ipBlock": {"cidr": "10.96.0.1/32"}}], "ports": [{"protocol": "TCP", "port": 443}]} in from_facts
    unknown = egress(manifest(), api_server_cidr=None)
    assert {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]} in unknown
    with pytest.raises(NetworkRenderError, match=r"spec\.network\.apiServerEndpointIPs\[0\]"):
        egress(manifest(network={"apiServerEndpointIPs": ["not-an-ip"]}))


def test_network_policy_appends_user_rules_after_the_operators() -> None:
    user_in = {"from": [{"ipBlock": {"cidr": "192.168.0.0/16"}}]}
    user_out = {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 5696}]}
    spec = network_policy(
        parse_cluster(manifest(network={"ingressRules": [user_in], "egressRules": [user_out]})), facts()
    )["spec"]
    assert spec["ingress"][-1] == user_in
    assert spec["egress"][-1] == user_out
    assert spec["policyTypes"] == ["Ingress", "Egress"]


def test_only_gateway_api_kinds_are_optional_and_they_come_last() -> None:
    gw = {"enabled": True, "gatewayRef": {"name": "g"}, "hostname": "h.example"}
    objects = workload_objects(
        parse_cluster(manifest(gateway=gw)),
        facts(tls_ca_pem="pem"),
        config_text="x",
        config_hash=CONFIG_HASH,
        self_init_text="",
    )
    flags = [is_optional_kind(o) for o in objects]
    assert [o["kind"] for o, f in zip(objects, flags, strict=True) if f] == ["HTTPRoute", "BackendTLSPolicy"]
    assert flags == sorted(flags)  # required objects first: a missing CRD cannot hold them back


def test_object_order_is_stable_and_unique() -> None:
    doc = manifest(service={}, ingress={"enabled": True, "host": "h.example"})
    objects = workload_objects(parse_cluster(doc), facts(), config_text="x", config_hash=CONFIG_HASH, self_init_text="")
    keys = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(set(keys)) == len(keys)
    assert keys[:4] == [
        ("ServiceAccount", "bao-serviceaccount"),
        ("RoleBinding", "bao-serviceaccount-openbao-server"),
        ("ConfigMap", "bao-config"),
        ("Service", "bao"),
    ]


def test_pods_identity_binds_the_preinstalled_server_cluster_role_and_grants_nothing_itself() -> None:
    """The pods get their rights from the pre-installed ClusterRole openbao-server through one RoleBinding:
    no rendered Role, so the operator never needs to hold (or escalate to) the pods' rights to grant them."""
    objects = workload_objects(
        parse_cluster(manifest()), facts(), config_text="x", config_hash=CONFIG_HASH, self_init_text=""
    )
    rbac = [o for o in objects if o["apiVersion"].startswith("rbac.authorization.k8s.io/")]
    assert [(o["kind"], o["metadata"]["name"]) for o in rbac] == [("RoleBinding", "bao-serviceaccount-openbao-server")]
    (binding,) = rbac
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "openbao-server"}
    assert binding["roleRef"] == role_ref
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "bao-serviceaccount", "namespace": "vault"}]
