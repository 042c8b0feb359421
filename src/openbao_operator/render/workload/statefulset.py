"""The StatefulSet `<name>`: the official OpenBao image as it is, one config for all pods, restricted security.

Pods run `/usr/bin/bao server -config=/etc/bao/config/config.hcl` directly (the path is the same in the
Alpine, UBI and distroless images): no shell, no init container, no helper binary, and `bao` is PID 1,
so it receives SIGTERM itself and steps down cleanly. With self-init, a second
`-config=/etc/bao/config-init/config.hcl` adds the `initialize` blocks from the Secret `<name>-config-init`.

Replica plan and pod management (why bootstrap cannot deadlock):
raft `auto_join` discovers peers through go-discover's k8s provider, which returns only Running pods
whose Ready condition is True, and a pod is Ready only when initialized and unsealed.
- Until the cluster is initialized (`facts.initialized`) the StatefulSet has **1 replica**: pod-0 alone
  is initialized (by the operator or by self-init, with no rival node that could self-initialize a
  second cluster), unseals itself, becomes Ready, and only then do the other pods exist. Each of them
  finds a Ready peer to join, joins, unseals and becomes Ready.
- `podManagementPolicy: Parallel`. With OrderedReady, pod-N+1 is not created until pod-N is Ready,
  which deadlocks whenever a low ordinal cannot become Ready by itself: e.g. after every pod restarted
  and pod-0 lost its volume (it needs a Ready peer to join, and the peers wait for it), or while a
  lone pod-0 of a 3-node cluster waits for quorum. Parallel starts every pod at once; any pod that is
  not ready waits for a Ready peer without blocking the others. Pods are never deleted by the
  StatefulSet controller for updates (OnDelete), so Parallel changes nothing about rollout order.
  (The field is immutable on a StatefulSet, which is another reason to choose the one that cannot wedge.)
- `updateStrategy: OnDelete`: the operator replaces pods itself, standbys first and the leader last
  after a step-down (never failing over to an older version); the StatefulSet controller never
  replaces a pod on its own.
- PVCs are retained on scale-down and StatefulSet deletion; only the deletion policy deletes them.

Rollout triggers on the pod template (a change marks pods out of date for the operator's rollout):
`openbao.org/config-hash` (the config renderer's hash of restart-relevant config), `openbao.org/restart-at`
(maintenance.restartAt), and `openbao.org/tls-cert-hash` for OpenBao versions that cannot reload
certificates by themselves (without a helper process nobody sends SIGHUP; `tls_auto_reload` exists
from 2.7.0). The maintenance annotation goes on the StatefulSet only: it must not restart pods.
"""

from __future__ import annotations

from typing import Any

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.render.config import self_init_enabled
from openbao_operator.render.config.version import TLS_AUTO_RELOAD, parse_version
from openbao_operator.render.facts import RenderFacts
from openbao_operator.render.workload.env import container_env
from openbao_operator.render.workload.meta import Manifest, object_meta, tls_files_mounted
from openbao_operator.render.workload.probes import probes
from openbao_operator.render.workload.scheduling import scheduling_fields
from openbao_operator.render.workload.security import container_security_context, pod_security_context
from openbao_operator.render.workload.volumes import volume_claim_template, volumes_and_mounts

BAO_BINARY = "/usr/bin/bao"
CONTAINER_NAME = "openbao"


def reloads_certificates(cluster: OpenBaoCluster) -> bool:
    """Does config.hcl turn on tls_auto_reload for this version (the config renderer's gate)?"""
    return parse_version(cluster.spec.version) >= TLS_AUTO_RELOAD


def image(cluster: OpenBaoCluster, facts: RenderFacts) -> str:
    """The verified digest when there is one, else spec.image, else the default for spec.version."""
    return facts.verified_image or cluster.spec.image or names.default_image(cluster)


def desired_replicas(cluster: OpenBaoCluster, facts: RenderFacts) -> int:
    """1 until OpenBao is initialized, then spec.replicas (see the module docstring); the controller's
    decision instead when it made one (``facts.replicas``)."""
    if facts.replicas is not None:
        return facts.replicas
    return cluster.spec.replicas if facts.initialized else 1


def pod_annotations(cluster: OpenBaoCluster, facts: RenderFacts, *, config_hash: str) -> dict[str, str]:
    """User pod annotations, then the operator's rollout triggers (which win)."""
    annotations = dict(cluster.spec.pod_annotations or {})
    annotations[names.ANNOTATION_CONFIG_HASH] = config_hash
    maintenance = cluster.spec.maintenance
    if maintenance is not None and maintenance.restart_at is not None and maintenance.restart_at.strip():
        annotations[names.ANNOTATION_RESTART_AT] = maintenance.restart_at.strip()
    if tls_files_mounted(cluster) and not reloads_certificates(cluster) and facts.tls_cert_sha256:
        annotations[names.ANNOTATION_TLS_HASH] = facts.tls_cert_sha256
    return annotations


def pod_labels(cluster: OpenBaoCluster) -> dict[str, str]:
    """User pod labels (minus the ones service registration writes at runtime), then the selector labels."""
    user = {k: v for k, v in (cluster.spec.pod_labels or {}).items() if k not in names.SERVICE_REGISTRATION_LABELS}
    return {**user, **names.infra_labels(cluster)}


def server_args(cluster: OpenBaoCluster) -> list[str]:
    """`bao server` with config.hcl, and the self-init file when there is one (OpenBao merges both)."""
    args = ["server", f"-config={names.CONFIG_FILE}"]
    if self_init_enabled(cluster):
        args.append(f"-config={names.SELF_INIT_FILE}")
    return args


def container(cluster: OpenBaoCluster, facts: RenderFacts, mounts: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": image(cluster, facts),
        "imagePullPolicy": "IfNotPresent",
        "command": [BAO_BINARY],
        "args": server_args(cluster),
        "env": container_env(cluster, facts),
        "ports": [
            {"name": "api", "containerPort": names.API_PORT, "protocol": "TCP"},
            {"name": "cluster", "containerPort": names.CLUSTER_PORT, "protocol": "TCP"},
        ],
        **probes(cluster),
        "securityContext": container_security_context(),
        "volumeMounts": mounts,
    }
    if cluster.spec.resources is not None:
        body["resources"] = cluster.spec.resources.to_json()
    return body


def pod_template(cluster: OpenBaoCluster, facts: RenderFacts, *, config_hash: str) -> dict[str, Any]:
    volumes, mounts = volumes_and_mounts(cluster, facts)
    spec: dict[str, Any] = {
        "serviceAccountName": names.service_account_name(cluster),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(cluster),
        "containers": [container(cluster, facts, mounts)],
        "volumes": volumes,
        **scheduling_fields(cluster),
    }
    if cluster.spec.image_pull_secrets:
        spec["imagePullSecrets"] = [ref.to_json() for ref in cluster.spec.image_pull_secrets]
    return {
        "metadata": {
            "labels": pod_labels(cluster),
            "annotations": pod_annotations(cluster, facts, config_hash=config_hash),
        },
        "spec": spec,
    }


def statefulset(cluster: OpenBaoCluster, facts: RenderFacts, *, config_hash: str) -> Manifest:
    """The StatefulSet; `config_hash` is the config renderer's restart hash of config.hcl."""
    maintenance = cluster.spec.maintenance
    # NB: the version is on the StatefulSet, not the pod template: it tells the upgrade step which version the
    # live template runs (controller/upgrades.py) without rolling a pod when it is first written
    annotations = {names.ANNOTATION_VERSION: cluster.spec.version}
    if maintenance is not None and maintenance.enabled:
        annotations[names.ANNOTATION_MAINTENANCE] = "true"
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": object_meta(cluster, facts, names.statefulset_name(cluster), annotations=annotations),
        "spec": {
            "serviceName": names.headless_service_name(cluster),
            "replicas": desired_replicas(cluster, facts),
            "podManagementPolicy": "Parallel",
            "updateStrategy": {"type": "OnDelete"},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "selector": {"matchLabels": names.infra_labels(cluster)},
            "template": pod_template(cluster, facts, config_hash=config_hash),
            "volumeClaimTemplates": [volume_claim_template(cluster)],
        },
    }
