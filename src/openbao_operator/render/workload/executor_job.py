"""The executor Jobs: ``openbao-operator backup`` and ``openbao-operator restore`` as Kubernetes objects.

Why a Job and why shaped like this (ARCHITECTURE.md: snapshot bytes never pass through the operator):
- it runs the **operator image** (or ``spec.backup.image`` / ``OpenBaoRestore.spec.image``) in the cluster's
  namespace under its **own ServiceAccount** ``<cluster>-backup-serviceaccount`` /
  ``<cluster>-restore-serviceaccount``: the JWT roles selfInit.oidc creates are bound to exactly these names,
  so a backup Job can read snapshots and nothing else, and a restore Job can restore and nothing else. The
  ServiceAccount needs **no RBAC**: the executor never calls the API server (it has no Kubernetes client), and
  its token for OpenBao is a projected one the kubelet obtains;
- the pod gets **no API token** (``automountServiceAccountToken: false``); its OpenBao login uses a
  projected ServiceAccount token with the JWT role's **audience** (``selfInit.oidc.audience``, default
  ``openbao-internal``) that lives :data:`TOKEN_SECONDS` and is bound to the pod; S3 web identity
  (``target.roleArn``) gets a second one with STS's audience;
- **no secret in the environment**: the configuration (``OPENBAO_EXECUTOR_CONFIG``) holds paths and settings
  only; the user's credentials Secret (``target.credentialsSecretRef``), an OpenBao token Secret
  (``tokenSecretRef``) and the cluster's CA (only ``ca.crt`` of ``<name>-tls-server``, never its key) are
  mounted read-only as files, mode 0440;
- **restricted** pod security: uid/gid 65532 (the operator image's non-root user), read-only root
  filesystem, no privilege escalation, every capability dropped, RuntimeDefault seccomp; a small ``/tmp``;
- **one try**: ``backoffLimit: 0`` (a failed backup is counted and the next slot runs; a failed restore needs
  a person), ``activeDeadlineSeconds`` :data:`ACTIVE_DEADLINE_SECONDS`, and the finished Job is kept for
  :data:`TTL_SECONDS` so its outcome and logs can be read, then garbage collected;
- the pod's labels carry ``openbao.org/cluster`` and ``openbao.org/component`` (the reference's selectors) but
  **not** the cluster's full infra labels, which the Services and the PodDisruptionBudget select on: an
  executor pod must never become an endpoint of the cluster's Services;
- owned by the OpenBaoCluster (a backup) or by the OpenBaoRestore (a restore), so deleting either deletes it.
The executor prints the report of its run on stdout and also writes it to the termination-message file
(``OPENBAO_EXECUTOR_REPORT_FILE``), so the operator reads the outcome from the pod's status
(``state.terminated.message``) without the pods/log right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from openbao_operator.api import API_VERSION, OpenBaoCluster, names
from openbao_operator.api.executor import CONFIG_ENV, REPORT_FILE_ENV, ExecutorAuth, ExecutorConfig, ExecutorOpenBao
from openbao_operator.api.operations import BackupRetention, BackupTarget
from openbao_operator.api.restore import RESTORE_KIND, OpenBaoRestore
from openbao_operator.render.config.identity import BACKUP_ROLE, RESTORE_ROLE
from openbao_operator.render.facts import DEFAULT_JWT_AUDIENCE, RenderFacts
from openbao_operator.render.workload.meta import (
    Manifest,
    api_scheme,
    listener_tls,
    object_meta,
    owner_reference,
    tls_files_mounted,
)

ExecutorKind = Literal["backup", "restore"]

EXECUTOR_UID = 65532
"""The operator image's non-root user and group."""
TOKEN_SECONDS = 600
"""Lifetime of the projected tokens (the API server's minimum; the kubelet refreshes them)."""
ACTIVE_DEADLINE_SECONDS = 3 * 3600
TTL_SECONDS = 24 * 3600
SECRET_MODE = 0o440
STS_AUDIENCE = "sts.amazonaws.com"

SECRETS_DIR = "/var/run/secrets/openbao.org"
JWT_DIR = f"{SECRETS_DIR}/jwt"
JWT_FILE = f"{JWT_DIR}/token"
WEB_IDENTITY_DIR = f"{SECRETS_DIR}/aws"
WEB_IDENTITY_FILE = f"{WEB_IDENTITY_DIR}/token"
CREDENTIALS_DIR = f"{SECRETS_DIR}/storage"
TOKEN_SECRET_DIR = f"{SECRETS_DIR}/openbao-token"
TOKEN_SECRET_KEY = "token"  # noqa: S105 (a key name)
CA_DIR = f"{SECRETS_DIR}/ca"
CA_FILE = f"{CA_DIR}/ca.crt"
TMP_DIR = "/tmp"  # noqa: S108 (an emptyDir mount point in the pod)
TERMINATION_LOG = "/dev/termination-log"


class ExecutorRenderError(ValueError):
    """The Job cannot be rendered; ``field`` names what to set."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class ExecutorLogin:
    """How the executor logs in: a JWT role (with the projected token's audience) or a token Secret."""

    role: str | None = None
    audience: str = DEFAULT_JWT_AUDIENCE
    token_secret: str | None = None


def _oidc(cluster: OpenBaoCluster) -> tuple[bool, str]:
    si = cluster.spec.self_init
    oidc = si.oidc if si is not None and si.enabled else None
    enabled = oidc is not None and oidc.enabled
    return enabled, (oidc.audience if oidc is not None and oidc.audience else DEFAULT_JWT_AUDIENCE)


def executor_login(
    cluster: OpenBaoCluster, kind: ExecutorKind, *, jwt_auth_role: str | None, token_secret: str | None, field: str
) -> ExecutorLogin:
    """A JWT role wins (the explicit one, else the role selfInit.oidc created); else the token Secret."""
    oidc, audience = _oidc(cluster)
    role = jwt_auth_role or ((BACKUP_ROLE if kind == "backup" else RESTORE_ROLE) if oidc else None)
    if role:
        return ExecutorLogin(role=role, audience=audience)
    if token_secret:
        return ExecutorLogin(token_secret=token_secret)
    raise ExecutorRenderError(
        f"{field}.jwtAuthRole",
        "the executor has no way to log in: set jwtAuthRole (a JWT role bound to "
        f"{names.executor_service_account_name(cluster.metadata.name, kind)}) or tokenSecretRef, or enable "
        "spec.selfInit.oidc",
    )


def executor_config(
    cluster: OpenBaoCluster,
    facts: RenderFacts,
    *,
    target: BackupTarget,
    login: ExecutorLogin,
    retention: BackupRetention | None = None,
) -> ExecutorConfig:
    """What the executor is told (no secret: paths to the mounted files)."""
    name = cluster.metadata.name
    auth = (
        {"method": "jwt", "role": login.role, "jwtFile": JWT_FILE}
        if login.role
        else {"method": "token", "tokenFile": f"{TOKEN_SECRET_DIR}/{TOKEN_SECRET_KEY}"}
    )
    data: dict[str, Any] = {
        "cluster": name,
        "namespace": facts.namespace,
        "openbao": ExecutorOpenBao.model_validate(
            {
                "address": f"{api_scheme(cluster)}://{names.headless_service_name(cluster)}.{facts.namespace}.svc:"
                f"{names.API_PORT}",
                **({"caFile": CA_FILE} if _mount_ca(cluster) else {}),
            }
        ).to_json(),
        "auth": ExecutorAuth.model_validate(auth).to_json(),
        "target": target.to_json(),
    }
    if target.credentials_secret_ref is not None:
        data["credentialsDir"] = CREDENTIALS_DIR
    if target.role_arn and target.credentials_secret_ref is None:
        data["webIdentityTokenFile"] = WEB_IDENTITY_FILE
    if retention is not None:
        data["retention"] = retention.to_json()
    return ExecutorConfig.model_validate(data)


def _mount_ca(cluster: OpenBaoCluster) -> bool:
    """The cluster's CA is mounted for TLS with certificate files (operator-managed or external); ACME
    certificates chain to a public CA the image trusts, and without TLS there is nothing to verify."""
    return listener_tls(cluster) and tls_files_mounted(cluster)


def _projected_token(name: str, audience: str) -> dict[str, Any]:
    return {
        "name": name,
        "projected": {
            "defaultMode": SECRET_MODE,
            "sources": [
                {"serviceAccountToken": {"path": "token", "audience": audience, "expirationSeconds": TOKEN_SECONDS}}
            ],
        },
    }


def _mount(name: str, path: str) -> dict[str, Any]:
    return {"name": name, "mountPath": path, "readOnly": True}


def _volumes(
    cluster: OpenBaoCluster, config: ExecutorConfig, login: ExecutorLogin
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": TMP_DIR}]
    if login.role:
        volumes.append(_projected_token("openbao-jwt", login.audience))
        mounts.append(_mount("openbao-jwt", JWT_DIR))
    else:
        assert login.token_secret is not None
        volumes.append(
            {
                "name": "openbao-token",
                "secret": {
                    "secretName": login.token_secret,
                    "defaultMode": SECRET_MODE,
                    "items": [{"key": TOKEN_SECRET_KEY, "path": TOKEN_SECRET_KEY}],
                },
            }
        )
        mounts.append(_mount("openbao-token", TOKEN_SECRET_DIR))
    if config.openbao.ca_file:
        volumes.append(
            {
                "name": "openbao-ca",
                "secret": {
                    "secretName": names.tls_server_secret_name(cluster),
                    "defaultMode": SECRET_MODE,
                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                },
            }
        )
        mounts.append(_mount("openbao-ca", CA_DIR))
    ref = config.target.credentials_secret_ref
    if ref is not None:
        volumes.append({"name": "storage-credentials", "secret": {"secretName": ref.name, "defaultMode": SECRET_MODE}})
        mounts.append(_mount("storage-credentials", CREDENTIALS_DIR))
    if config.web_identity_token_file:
        volumes.append(_projected_token("aws-web-identity", STS_AUDIENCE))
        mounts.append(_mount("aws-web-identity", WEB_IDENTITY_DIR))
    return volumes, mounts


def _pod_labels(cluster: OpenBaoCluster, kind: ExecutorKind) -> dict[str, str]:
    return {
        **names.executor_pod_selector(cluster.metadata.name),
        names.LABEL_MANAGED_BY: names.MANAGED_BY,
        names.LABEL_OPENBAO_COMPONENT: kind,
    }


def executor_service_account(cluster: OpenBaoCluster, facts: RenderFacts, kind: ExecutorKind) -> Manifest:
    """``<cluster>-<kind>-serviceaccount``: the identity the JWT role is bound to; no token is automounted and
    no Role is bound (the executor never calls the API server)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": object_meta(
            cluster,
            facts,
            names.executor_service_account_name(cluster.metadata.name, kind),
            extra_labels={names.LABEL_OPENBAO_COMPONENT: kind},
        ),
        "automountServiceAccountToken": False,
    }


def _job(
    cluster: OpenBaoCluster,
    facts: RenderFacts,
    *,
    kind: ExecutorKind,
    job_name: str,
    image: str,
    args: list[str],
    config: ExecutorConfig,
    login: ExecutorLogin,
    owner: dict[str, Any] | None,
    annotations: dict[str, str] | None,
) -> Manifest:
    volumes, mounts = _volumes(cluster, config, login)
    meta = object_meta(
        cluster,
        facts,
        job_name,
        owned=False,
        annotations=annotations,
        extra_labels={names.LABEL_OPENBAO_COMPONENT: kind},
    )
    if owner is not None:
        meta["ownerReferences"] = [owner]
    container = {
        "name": kind,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["openbao-operator", kind],
        "args": args,
        "env": [
            {"name": CONFIG_ENV, "value": config.model_dump_json(by_alias=True, exclude_none=True)},
            {"name": REPORT_FILE_ENV, "value": TERMINATION_LOG},
        ],
        "volumeMounts": mounts,
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
        },
    }
    pod_spec: dict[str, Any] = {
        "serviceAccountName": names.executor_service_account_name(cluster.metadata.name, kind),
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": EXECUTOR_UID,
            "runAsGroup": EXECUTOR_UID,
            "fsGroup": EXECUTOR_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
    if cluster.spec.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": s.name} for s in cluster.spec.image_pull_secrets]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta,
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "template": {"metadata": {"labels": _pod_labels(cluster, kind)}, "spec": pod_spec},
        },
    }


def backup_job(
    cluster: OpenBaoCluster,
    facts: RenderFacts,
    *,
    job_name: str,
    operator_image: str,
    annotations: dict[str, str] | None = None,
) -> Manifest:
    """The backup Job of ``spec.backup`` (which must be set), owned by the cluster."""
    backup = cluster.spec.backup
    if backup is None:
        raise ExecutorRenderError("spec.backup", "is not set")
    token_secret = backup.token_secret_ref.name if backup.token_secret_ref is not None else None
    login = executor_login(
        cluster, "backup", jwt_auth_role=backup.jwt_auth_role, token_secret=token_secret, field="spec.backup"
    )
    config = executor_config(cluster, facts, target=backup.target, login=login, retention=backup.retention)
    return _job(
        cluster,
        facts,
        kind="backup",
        job_name=job_name,
        image=backup.image or operator_image,
        args=[],
        config=config,
        login=login,
        owner=owner_reference(cluster, facts),
        annotations=annotations,
    )


def restore_owner(restore: OpenBaoRestore, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": RESTORE_KIND,
        "name": restore.metadata.name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def restore_job(
    cluster: OpenBaoCluster,
    facts: RenderFacts,
    restore: OpenBaoRestore,
    *,
    restore_uid: str,
    job_name: str,
    operator_image: str,
) -> Manifest:
    """The restore Job of an OpenBaoRestore into ``cluster``, owned by the OpenBaoRestore."""
    spec = restore.spec
    token_secret = spec.token_secret_ref.name if spec.token_secret_ref is not None else None
    login = executor_login(
        cluster, "restore", jwt_auth_role=spec.jwt_auth_role, token_secret=token_secret, field="spec"
    )
    config = executor_config(cluster, facts, target=spec.source.target, login=login)
    args = ["--key", spec.source.key, *(["--force"] if spec.force else [])]
    return _job(
        cluster,
        facts,
        kind="restore",
        job_name=job_name,
        image=spec.image or operator_image,
        args=args,
        config=config,
        login=login,
        owner=restore_owner(restore, restore_uid),
        annotations=None,
    )
