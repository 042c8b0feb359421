"""Manifests for the config.hcl renderer's tests: one per stanza, seal type, TLS mode and error.

Shared by the golden test, the property tests and the integration boots, so every case that is read as
a golden file is also the one real OpenBao is shown.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from openbao_operator.api import OpenBaoCluster, parse_cluster

ROOT = Path(__file__).parents[3]
FULL_FEATURED = ROOT / "tests" / "data" / "render" / "full-featured.yaml"
SHA = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


def manifest(name: str = "bao", namespace: str = "prod", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"version": "2.7.2", "tls": {"enabled": True}, "storage": {"size": "1Gi"}}
    base.update(spec)
    return {
        "apiVersion": "openbao.org/v1alpha1",
        "kind": "OpenBaoCluster",
        "metadata": {"name": name, "namespace": namespace},
        "spec": base,
    }


def cluster(doc: dict[str, Any]) -> OpenBaoCluster:
    return parse_cluster(copy.deepcopy(doc))


def full_featured() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(FULL_FEATURED.read_text())
    return doc


def kms_plugin(**extra: Any) -> dict[str, Any]:
    return {"command": "openbao-plugin-kms", "sha256sum": SHA, **extra}


SEAL_BLOCKS: dict[str, tuple[str, dict[str, Any]]] = {
    "awskms": ("awskms", {"region": "eu-west-1", "kmsKeyID": "alias/openbao", "secretKey": "never-rendered-aws"}),
    "gcpckms": (
        "gcpCloudKMS",
        {"project": "p1", "region": "global", "keyRing": "openbao", "cryptoKey": "unseal"},
    ),
    "azurekeyvault": (
        "azureKeyVault",
        {
            "vaultName": "bao-vault",
            "keyName": "bao-key",
            "tenantID": "00000000-0000-0000-0000-000000000000",
            "clientID": "11111111-1111-1111-1111-111111111111",
            "clientSecret": "never-rendered-azure",
            "environment": "AZUREPUBLICCLOUD",
        },
    ),
    "ocikms": (
        "ocikms",
        {
            "keyID": "ocid1.key.oc1.example",
            "cryptoEndpoint": "https://crypto.kms.example.com",
            "managementEndpoint": "https://management.kms.example.com",
            "authType": "apikey",
            "compartmentID": "ocid1.compartment.oc1.example",
        },
    ),
    "pkcs11": (
        "pkcs11",
        {
            "lib": "/usr/lib/softhsm/libsofthsm2.so",
            "tokenLabel": "openbao",
            "pin": "never-rendered-pin",
            "keyLabel": "bao-key",
            "keyID": "01",
            "mechanism": "0x1087",
            "rsaOAEPHash": "sha256",
            "disableSoftwareEncryption": False,
            "hmacKeyLabel": "not-an-openbao-option",
            "generateKey": True,
        },
    ),
}

TRANSIT = {
    "address": "https://transit.example.com:8200",
    "token": "never-rendered-transit",
    "keyName": "autounseal",
    "mountPath": "transit/",
    "namespace": "ns1",
    "disableRenewal": False,
    "tlsCACert": "/etc/bao/seal-creds/ca.crt",
    "tlsServerName": "transit.example.com",
    "tlsSkipVerify": False,
}

KMIP = {
    "address": "kmip.example.com:5696",
    "kmsKeyID": "key-1",
    "certificate": "/etc/bao/seal-creds/client.crt",
    "key": "/etc/bao/seal-creds/client.key",
    "caCert": "/etc/bao/seal-creds/ca.crt",
    "tlsServerName": "kmip.example.com",
    "tlsSkipVerify": False,
    "timeout": 10,
    "encryptAlg": "AES_GCM",
}

ACME = {
    "enabled": True,
    "mode": "ACME",
    "acme": {
        "directoryURL": "https://acme.example.com/directory",
        "domains": ["bao.example.com", "bao-acme.prod.svc", "bao.example.com"],
        "email": "ops@example.com",
    },
}


def _vendor(seal_type: str, version: str, plugin: dict[str, Any] | None) -> dict[str, Any]:
    block, options = SEAL_BLOCKS[seal_type]
    unseal: dict[str, Any] = {"type": seal_type, block: options, "credentialsSecretRef": {"name": "seal-creds"}}
    if plugin is not None:
        unseal["kmsPlugin"] = plugin
    return manifest(version=version, unseal=unseal)


GOLDEN: dict[str, dict[str, Any]] = {
    "minimal": manifest(),
    "full-featured": full_featured(),
    "tls-disabled": manifest(tls={"enabled": False}),
    "tls-operator-managed-2.6": manifest(version="2.6.2"),
    "tls-external": manifest(tls={"enabled": True, "mode": "External"}),
    "tls-acme": manifest(tls=ACME, configuration={"acmeCARoot": "/etc/bao/acme/ca.pem"}),
    "tls-acme-default-domain": manifest(tls={"enabled": True, "mode": "ACME", "acme": {"directoryURL": "https://a/d"}}),
    "seal-static-custom": manifest(
        unseal={"type": "static", "static": {"currentKey": "env://BAO_UNSEAL_KEY", "currentKeyID": "key-2"}}
    ),
    "seal-transit": manifest(unseal={"type": "transit", "transit": TRANSIT, "credentialsSecretRef": {"name": "c"}}),
    "seal-kmip": manifest(unseal={"type": "kmip", "kmip": KMIP}),
    **{f"seal-{t}-builtin-2.6": _vendor(t, "2.6.2", None) for t in SEAL_BLOCKS},
    **{f"seal-{t}-plugin-2.7": _vendor(t, "2.7.2", kms_plugin()) for t in SEAL_BLOCKS},
    "seal-gcpckms-plugin-image": _vendor(
        "gcpckms",
        "2.7.2",
        {"name": "gcp", "image": "ghcr.io/openbao/openbao-plugin-kms-gcpckms:v0.1.0", "sha256sum": SHA},
    ),
    "metrics-defaults": manifest(observability={"metrics": {"enabled": True}}),
    "metrics-without-service-monitor": manifest(
        observability={"metrics": {"enabled": True, "serviceMonitor": {"enabled": False}}},
        telemetry={"prometheusRetentionTime": "1h", "disableHostname": False},
    ),
    "telemetry-empty": manifest(telemetry={}),
    "proxy-authorized-addrs": manifest(
        configuration={
            "listener": {
                "proxyProtocolBehavior": "deny_unauthorized",
                "proxyProtocolAuthorizedAddrs": ["10.0.0.0/8", "192.168.1.7"],
            }
        }
    ),
    # Reference compatibility: fields with no effect on the chosen version, or that OpenBao would skip, are
    # left out (and reported in FieldsIgnored), not refused.
    "plugins-before-2.5-left-out": manifest(
        version="2.4.1",
        configuration={"plugin": {"autoRegister": True, "autoDownload": True, "downloadBehavior": "fail"}},
        plugins=[{"type": "secret", "name": "kv", "command": "kv", "version": "v1.0.0"}],
    ),
    "plugins-openbao-would-skip-left-out": manifest(
        version="2.7.2",
        configuration={"plugin": {"downloadBehavior": "direct"}},
        plugins=[
            {"type": "secrets", "name": "wrong-type", "command": "kv", "version": "v1.0.0"},
            {"type": "secret", "name": "no-version", "command": "kv"},
            {"type": "secret", "name": "unpinned", "image": "ghcr.io/x/kv:v1", "version": "v1"},
            {"type": "auth", "name": "kept", "command": "auth-bin", "version": "v2.0.0"},
            {
                "type": "database",
                "name": "image-wins",
                "image": "ghcr.io/x/db@sha256:" + SHA,
                "command": "db",
                "version": "v1",
            },
        ],
    ),
    "raft-and-proxy": manifest(
        configuration={"raft": {"performanceMultiplier": 1}, "listener": {"proxyProtocolBehavior": "use_always"}}
    ),
    "selfinit-audit-allowed": manifest(
        configuration={"unsafeAllowAPIAuditCreation": True},
        selfInit={
            "enabled": True,
            "requests": [
                {
                    "name": "enable-audit",
                    "operation": "update",
                    "path": "sys/audit/stdout",
                    "auditDevice": {"type": "file", "description": "stdout", "fileOptions": {"filePath": "stdout"}},
                },
                {
                    "name": "configure-autopilot",
                    "operation": "update",
                    "path": "sys/storage/raft/autopilot/configuration",
                    "data": {"cleanup_dead_servers": False},
                },
            ],
        },
    ),
}
"""Case name -> manifest; each has a golden file tests/unit/render/golden/config/<name>.hcl."""

ERRORS: dict[str, tuple[dict[str, Any], str, str]] = {
    "static-seal-before-2.4": (manifest(version="2.3.1"), "spec.unseal.type", "requires OpenBao >= 2.4.0"),
    "vendor-seal-2.7-without-plugin": (
        _vendor("awskms", "2.7.0", None),
        "spec.unseal.kmsPlugin",
        "removed the built-in awskms seal",
    ),
    "kms-plugin-before-2.6": (
        _vendor("pkcs11", "2.5.3", kms_plugin()),
        "spec.unseal.kmsPlugin",
        "requires OpenBao >= 2.6.0",
    ),
    "selfinit-before-2.4": (
        manifest(
            version="2.3.1",
            unseal={"type": "transit", "transit": TRANSIT},
            selfInit={"enabled": True, "requests": [{"name": "r", "operation": "read", "path": "sys/health"}]},
        ),
        "spec.selfInit.enabled",
        "requires OpenBao >= 2.4.0",
    ),
    "kmip-without-key-id": (
        manifest(unseal={"type": "kmip", "kmip": {"address": "kmip:5696"}}),
        "spec.unseal.kmip.kmsKeyID",
        "key id",
    ),
    "tls-disable-contradiction": (
        manifest(configuration={"listener": {"tlsDisable": True}}),
        "spec.configuration.listener.tlsDisable",
        "contradicts spec.tls.enabled=true",
    ),
    "kms-image-without-auto-download": (
        manifest(
            configuration={"plugin": {"autoDownload": False}},
            unseal={
                "type": "awskms",
                "awskms": SEAL_BLOCKS["awskms"][1],
                "kmsPlugin": {"image": "ghcr.io/openbao/openbao-plugin-kms-awskms:v0.1.0"},
            },
        ),
        "spec.configuration.plugin.autoDownload",
        "must not be false",
    ),
    "selfinit-audit-through-api": (
        manifest(
            selfInit={
                "enabled": True,
                "requests": [
                    {
                        "name": "a",
                        "operation": "update",
                        "path": "sys/audit/x",
                        "auditDevice": {"type": "file", "fileOptions": {"filePath": "stdout"}},
                    }
                ],
            }
        ),
        "spec.selfInit.requests[0].auditDevice",
        "unsafeAllowAPIAuditCreation",
    ),
    "selfinit-audit-raw-data-through-api": (
        manifest(
            selfInit={
                "enabled": True,
                "requests": [
                    {"name": "a", "operation": "update", "path": "sys/audit/x", "data": {"type": "file"}},
                ],
            }
        ),
        "spec.selfInit.requests[0].path",
        "cannot enable audit device via API",
    ),
}
"""Case name -> (manifest, the field the error names, a phrase of the reason)."""

SECRETS = (
    "never-rendered-aws",
    "never-rendered-azure",
    "never-rendered-pin",
    "never-rendered-transit",
    "inline-secret-never-rendered",
    "circonus-secret-never-rendered",
)
"""Values of Secret-backed (inline, deprecated) fields used in the cases: none may reach the text."""
