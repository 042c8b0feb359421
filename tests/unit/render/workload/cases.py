"""Representative clusters for the workload render tests: TLS modes, seal types, entry points, scheduling.

Each case is a manifest (as a user would write it) plus the facts the controller would observe. The
golden files under golden/ hold what each renders to; they are read by people, so the cases are small
and each shows one idea.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.render.facts import RenderFacts, UnsealKeyRef

NAMESPACE = "vault"
OWNER_UID = "5f0c3a52-1b7e-4c1e-9d57-6a3f2c0d9e11"
CONFIG_TEXT = 'ui = true\nstorage "raft" {\n  path = "/bao/data"\n}\n'
CONFIG_HASH = "0" * 63 + "1"
SELF_INIT_TEXT = 'initialize "kv" {\n  request "kv-request" {\n    operation = "update"\n  }\n}\n'
"""What the self-init Secret carries in these cases (the config renderer's part, tested on its own)."""
CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


def manifest(name: str = "bao", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": "2.7.2",
        "replicas": 3,
        "tls": {"enabled": True},
        "storage": {"size": "10Gi"},
    }
    base.update(spec)
    return {
        "apiVersion": "openbao.org/v1alpha1",
        "kind": "OpenBaoCluster",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": base,
    }


def facts(**overrides: Any) -> RenderFacts:
    values: dict[str, Any] = {
        "namespace": NAMESPACE,
        "owner_uid": OWNER_UID,
        "api_server_cidr": "10.96.0.1/32",
        "initialized": True,
    }
    values.update(overrides)
    return RenderFacts(**values)


@dataclass(frozen=True)
class Case:
    name: str
    """Golden file stem."""
    doc: dict[str, Any]
    """The OpenBaoCluster manifest."""
    facts: RenderFacts = field(default_factory=facts)

    def cluster(self) -> OpenBaoCluster:
        return parse_cluster(copy.deepcopy(self.doc))


SCHEDULING: dict[str, Any] = {
    "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": "pool", "operator": "In", "values": ["vault"]}]}]
            }
        }
    },
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "vault", "effect": "NoSchedule"}],
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}
    ],
    "priorityClassName": "vault-critical",
    "podLabels": {"team": "platform", "openbao-active": "true"},
    "podAnnotations": {"example.com/scrape": "true", "openbao.org/config-hash": "user-cannot-win"},
    "imagePullSecrets": [{"name": "regcred"}],
}

CASES: tuple[Case, ...] = (
    # Fresh cluster: operator-managed TLS, static seal, not initialized yet -> 1 replica, unseal key to create.
    Case("operator-managed-static-bootstrap", manifest(), facts(initialized=False)),
    # Old version (no tls_auto_reload) with a certificate fingerprint -> tls-cert-hash on the template.
    Case(
        "operator-managed-old-version-cert-hash",
        manifest(version="2.6.2", maintenance={"enabled": True, "restartAt": "2026-11-27T10:00:00Z"}),
        facts(tls_cert_sha256="ab" * 32, unseal_key=UnsealKeyRef("bao-unseal-key", "operator-generated-v1")),
    ),
    # A static key rotation in progress: the seal plan's current and previous key Secrets are both mounted.
    Case(
        "static-key-rotation",
        manifest(),
        facts(
            unseal_key=UnsealKeyRef("bao-unseal-key-r2", "operator-rotated-r2"),
            unseal_previous_key=UnsealKeyRef("bao-unseal-key", "operator-generated-v1"),
        ),
    ),
    # External TLS, transit seal with credentials, LoadBalancer Service, Ingress.
    Case(
        "external-transit-ingress",
        manifest(
            tls={"enabled": True, "mode": "External"},
            unseal={
                "type": "transit",
                "transit": {"address": "https://transit:8200", "keyName": "unseal", "mountPath": "transit/"},
                "credentialsSecretRef": {"name": "transit-creds"},
            },
            service={"type": "LoadBalancer", "annotations": {"lb.example.com/internal": "true"}},
            ingress={"enabled": True, "className": "nginx", "host": "bao.example.com"},
        ),
    ),
    # ACME, Gateway with TLS passthrough, AWS KMS with credentials.
    Case(
        "acme-gateway-passthrough-awskms",
        manifest(
            tls={"enabled": True, "mode": "ACME", "acme": {"directoryURL": "https://acme.example.com/dir"}},
            unseal={
                "type": "awskms",
                "awskms": {"region": "eu-west-1", "kmsKeyID": "alias/bao"},
                "credentialsSecretRef": {"name": "aws-creds"},
            },
            gateway={
                "enabled": True,
                "gatewayRef": {"name": "edge", "namespace": "gateways"},
                "hostname": "bao.example.com",
                "tlsPassthrough": True,
            },
        ),
    ),
    # Gateway HTTPRoute with BackendTLSPolicy and the CA ConfigMap; GCP KMS.
    Case(
        "gateway-httproute-backendtls-gcpckms",
        manifest(
            unseal={
                "type": "gcpckms",
                "gcpCloudKMS": {"project": "p", "region": "global", "keyRing": "r", "cryptoKey": "k"},
                "credentialsSecretRef": {"name": "gcp-creds"},
            },
            gateway={
                "enabled": True,
                "listenerName": "https",
                "gatewayRef": {"name": "edge"},
                "hostname": "bao.example.com",
                "path": "/v1",
            },
        ),
        facts(tls_ca_pem=CA_PEM),
    ),
    # TLS disabled, single replica (no PDB), Azure Key Vault.
    Case(
        "tls-disabled-single-azure",
        manifest(
            replicas=1,
            tls={"enabled": False},
            unseal={
                "type": "azurekeyvault",
                "azureKeyVault": {"vaultName": "v", "keyName": "k"},
                "credentialsSecretRef": {"name": "azure-creds"},
            },
        ),
    ),
    # PKCS#11 without a credentials Secret, and network settings with user rules.
    Case(
        "pkcs11-network-rules",
        manifest(
            unseal={"type": "pkcs11", "pkcs11": {"lib": "/usr/lib/softhsm.so", "keyLabel": "bao"}},
            network={
                "apiServerCIDR": "10.0.0.1/24",
                "apiServerEndpointIPs": ["172.18.0.2", "fd00::2"],
                "dnsNamespace": "dns",
                "egressRules": [{"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"port": 5696}]}],
                "ingressRules": [
                    {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "apps"}}}]}
                ],
            },
        ),
    ),
    # Every scheduling field, 5 replicas, a custom ServiceAccount, security overrides and AppArmor; kmip seal.
    Case(
        "scheduling-kmip-5-replicas",
        manifest(
            replicas=5,
            image="registry.example.com/openbao/openbao-distroless:2.7.2",
            unseal={
                "type": "kmip",
                "kmip": {"address": "kmip:5696", "kmsKeyID": "k1"},
                "credentialsSecretRef": {"name": "kmip-creds"},
            },
            serviceAccount={"name": "bao-sa", "annotations": {"iam.example.com/role": "bao"}},
            securityContext={"fsGroupChangePolicy": "Always", "supplementalGroups": [3000]},
            workloadHardening={"appArmorEnabled": True},
            deletionPolicy="DeleteAll",
            **SCHEDULING,
        ),
        facts(verified_image="registry.example.com/openbao/openbao-distroless@sha256:" + "c" * 64),
    ),
)

CASES_BY_NAME = {case.name: case for case in CASES}
