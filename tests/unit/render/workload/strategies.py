"""Hypothesis strategies: valid OpenBaoCluster manifests across TLS modes, seals, entry points and scheduling,
with a unique sentinel in every field that holds a secret, plus the facts a controller could observe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.render.facts import RenderFacts, UnsealKeyRef

VENDOR_SEALS = frozenset({"awskms", "gcpckms", "azurekeyvault", "ocikms", "pkcs11"})
SEAL_TYPES = ("static", "transit", "awskms", "gcpckms", "azurekeyvault", "kmip", "ocikms", "pkcs11")


@dataclass(frozen=True)
class Drawn:
    cluster: OpenBaoCluster
    facts: RenderFacts
    secrets: tuple[str, ...]
    """Every secret value placed in the spec; none may appear in a ConfigMap, annotation or env literal."""


def _seal_blocks(secret: list[str]) -> dict[str, Any]:
    return {
        "transit": {"address": "https://transit:8200", "keyName": "k", "mountPath": "transit/", "token": secret[0]},
        "awskms": {
            "region": "eu-west-1",
            "kmsKeyID": "alias/k",
            "accessKey": secret[1],
            "secretKey": secret[2],
            "sessionToken": secret[3],
        },
        "azureKeyVault": {"vaultName": "v", "keyName": "k", "clientSecret": secret[4]},
        "gcpCloudKMS": {"project": "p", "region": "global", "keyRing": "r", "cryptoKey": "k"},
        "kmip": {"address": "kmip:5696", "kmsKeyID": "k1"},
        "ocikms": {"keyID": "ocid1.key", "cryptoEndpoint": "https://c", "managementEndpoint": "https://m"},
        "pkcs11": {"lib": "/usr/lib/p11.so", "keyLabel": "k", "pin": secret[5]},
    }


@st.composite
def drawn_clusters(draw: st.DrawFn) -> Drawn:
    secrets = [f"S3CRET{draw(st.integers(0, 10**6))}x{i}" for i in range(6)]
    name = draw(st.sampled_from(["bao", "vault-a", "x1"]))
    namespace = draw(st.sampled_from(["vault", "ns-b"]))
    tls_enabled = draw(st.booleans())
    mode = draw(st.sampled_from(["OperatorManaged", "External", "ACME"])) if tls_enabled else "OperatorManaged"
    tls: dict[str, Any] = {"enabled": tls_enabled, "mode": mode}
    if mode == "ACME":
        tls["acme"] = {"directoryURL": draw(st.sampled_from(["https://acme.example/dir", "https://acme:14000/dir"]))}
    seal_type = draw(st.sampled_from(SEAL_TYPES))
    unseal: dict[str, Any] = {"type": seal_type, **_seal_blocks(secrets)}
    if seal_type != "static" and draw(st.booleans()):
        unseal["credentialsSecretRef"] = {"name": "seal-creds"}
    # Built-in vendor seals are gone from OpenBao 2.7 (the config renderer then needs a kmsPlugin).
    versions = ["2.4.1", "2.6.2"] if seal_type in VENDOR_SEALS else ["2.4.1", "2.6.2", "2.7.2"]
    spec: dict[str, Any] = {
        "version": draw(st.sampled_from(versions)),
        "replicas": draw(st.integers(1, 7)),
        "tls": tls,
        "storage": {"size": draw(st.sampled_from(["1Gi", "10Gi", "500Mi"]))},
        "unseal": unseal,
        "deletionPolicy": draw(st.sampled_from(["Retain", "DeletePVCs", "DeleteAll"])),
    }
    if draw(st.booleans()):
        spec["storage"]["storageClassName"] = "fast"
    if draw(st.booleans()):
        spec["image"] = draw(
            st.sampled_from(["quay.io/openbao/openbao:2.7.2", "ghcr.io/openbao/openbao-distroless:2.7.2"])
        )
    if draw(st.booleans()):
        spec["service"] = draw(st.sampled_from([{}, {"type": "LoadBalancer"}, {"type": "NodePort"}]))
    if draw(st.booleans()):
        spec["ingress"] = {"enabled": draw(st.booleans()), "host": "bao.example.com"}
    if draw(st.booleans()):
        spec["gateway"] = {
            "enabled": True,
            "gatewayRef": {"name": "gw", "namespace": draw(st.sampled_from(["gateways", namespace]))},
            "hostname": "bao.example.com",
            "tlsPassthrough": mode == "ACME" or draw(st.booleans()),
            "backendTLS": {"enabled": draw(st.booleans())},
        }
    if draw(st.booleans()):
        spec["network"] = {"apiServerCIDR": "10.96.0.1/32", "apiServerEndpointIPs": ["172.18.0.2"]}
    if draw(st.booleans()):
        spec["maintenance"] = {"enabled": draw(st.booleans()), "restartAt": draw(st.sampled_from(["r1", "r2"]))}
    if draw(st.booleans()):
        spec["resources"] = {"requests": {"cpu": "100m", "memory": "128Mi"}}
    if draw(st.booleans()):
        spec["affinity"] = {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname"}]
            }
        }
    if draw(st.booleans()):
        spec["tolerations"] = [{"operator": "Exists"}]
    if draw(st.booleans()):
        spec["nodeSelector"] = {"disk": "ssd"}
    if draw(st.booleans()):
        spec["topologySpreadConstraints"] = [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway"}
        ]
    if draw(st.booleans()):
        spec["priorityClassName"] = "high"
    if draw(st.booleans()):
        spec["podLabels"] = {"team": "a", "openbao-sealed": "false"}
    if draw(st.booleans()):
        spec["podAnnotations"] = {"a.example.com/x": "y"}
    if draw(st.booleans()):
        spec["serviceAccount"] = {"name": "custom-sa", "annotations": {"iam.example.com/role": "r"}}
    if draw(st.booleans()):
        spec["securityContext"] = {"fsGroupChangePolicy": "Always", "supplementalGroups": [5000]}
    if draw(st.booleans()):
        spec["workloadHardening"] = {"appArmorEnabled": True}
    doc = {
        "apiVersion": "openbao.org/v1alpha1",
        "kind": "OpenBaoCluster",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    facts = RenderFacts(
        namespace=namespace,
        owner_uid=draw(st.sampled_from([None, "uid-1"])),
        api_server_cidr=draw(st.sampled_from([None, "10.0.0.1/32"])),
        verified_image=draw(st.sampled_from([None, "quay.io/openbao/openbao@sha256:" + "a" * 64])),
        tls_cert_sha256=draw(st.sampled_from([None, "b" * 64])),
        initialized=draw(st.booleans()),
        unseal_key=draw(st.sampled_from([None, UnsealKeyRef(f"{name}-unseal-key", "operator-generated-v1")])),
        tls_ca_pem=draw(st.sampled_from([None, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"])),
    )
    return Drawn(parse_cluster(doc), facts, tuple(secrets))
