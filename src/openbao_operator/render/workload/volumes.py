"""Volumes and mounts: config (and the self-init file), data, writable scratch, a short-lived API token, TLS
files and seal material.

Why this set: the root filesystem is read-only and the official images (the distroless one has no
`/openbao` at all) provide no writable path, so every path OpenBao writes is a volume: `/tmp`, the
plugin directory, the raft data. The API token is a projected, expiring, audience-bound-by-default
ServiceAccount token mounted only into the OpenBao container at the standard path (where service
registration and go-discover look), instead of the automounted one. Secrets (TLS key, unseal key, seal
credentials, the self-init requests) are mounted read-only with mode 0440: readable by the pod's fsGroup,
by nobody else.
"""

from __future__ import annotations

from typing import Any

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.render.config import self_init_enabled
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.meta import tls_files_mounted
from openbao_operator.render.workload.unseal import uses_static_seal

DATA_VOLUME = "data"
SECRET_MODE = 0o440
TOKEN_EXPIRATION_SECONDS = 3600


def _secret_volume(name: str, secret: str) -> dict[str, Any]:
    return {"name": name, "secret": {"secretName": secret, "defaultMode": SECRET_MODE}}


def _mount(name: str, path: str, *, read_only: bool) -> dict[str, Any]:
    mount: dict[str, Any] = {"name": name, "mountPath": path}
    if read_only:
        mount["readOnly"] = True
    return mount


def _seal_volumes(cluster: OpenBaoCluster, facts: RenderFacts) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Static seal: the current key Secret (the seal plan's, else `<name>-unseal-key`) and, during a
    rotation, the previous one. Other seals: the credentials Secret, when there is one."""
    if uses_static_seal(cluster):
        current = facts.unseal_key.secret_name if facts.unseal_key else names.unseal_key_secret_name(cluster)
        pairs = [(_secret_volume("unseal", current), _mount("unseal", names.UNSEAL_DIR, read_only=True))]
        if facts.unseal_previous_key is not None:
            pairs.append(
                (
                    _secret_volume("unseal-previous", facts.unseal_previous_key.secret_name),
                    _mount("unseal-previous", names.UNSEAL_PREVIOUS_DIR, read_only=True),
                )
            )
        return pairs
    unseal = cluster.spec.unseal
    if unseal is not None and unseal.credentials_secret_ref is not None:
        return [
            (
                _secret_volume("seal-creds", unseal.credentials_secret_ref.name),
                _mount("seal-creds", names.SEAL_CREDS_DIR, read_only=True),
            )
        ]
    return []


def volumes_and_mounts(
    cluster: OpenBaoCluster, facts: RenderFacts
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(pod volumes, OpenBao container mounts), in a fixed order; `data` comes from the claim template."""
    volumes: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": names.config_map_name(cluster)}},
        {"name": "tmp", "emptyDir": {}},
        {"name": "plugins", "emptyDir": {}},
        {
            "name": "kube-api-access",
            "projected": {
                "defaultMode": SECRET_MODE,
                "sources": [
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": TOKEN_EXPIRATION_SECONDS}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {
                        "downwardAPI": {
                            "items": [
                                {
                                    "path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                }
                            ]
                        }
                    },
                ],
            },
        },
    ]
    mounts: list[dict[str, Any]] = [
        _mount("config", names.CONFIG_DIR, read_only=True),
        _mount(DATA_VOLUME, names.DATA_DIR, read_only=False),
        _mount("tmp", names.TMP_DIR, read_only=False),
        _mount("plugins", names.PLUGIN_DIR, read_only=False),
        _mount("kube-api-access", names.SERVICE_ACCOUNT_DIR, read_only=True),
    ]
    if self_init_enabled(cluster):
        volumes.append(_secret_volume("config-init", names.self_init_secret_name(cluster)))
        mounts.append(_mount("config-init", names.SELF_INIT_DIR, read_only=True))
    if tls_files_mounted(cluster):
        volumes.append(_secret_volume("tls", names.tls_server_secret_name(cluster)))
        mounts.append(_mount("tls", names.TLS_DIR, read_only=True))
    for volume, mount in _seal_volumes(cluster, facts):
        volumes.append(volume)
        mounts.append(mount)
    return volumes, mounts


def volume_claim_template(cluster: OpenBaoCluster) -> dict[str, Any]:
    """The `data` claim template; PVCs become `data-<name>-<ordinal>` and are deleted only by the deletion policy."""
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": cluster.spec.storage.size}},
    }
    if cluster.spec.storage.storage_class_name:
        spec["storageClassName"] = cluster.spec.storage.storage_class_name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": DATA_VOLUME, "labels": names.infra_labels(cluster)},
        "spec": spec,
    }
