"""The operator's identity in OpenBao (spec.selfInit.oidc): JWT auth, minimal policies and bound roles.

Why at self-init: a self-initialised cluster never hands out a root token, so whatever the operator and its
executor Jobs may do in OpenBao has to be set up by the ``initialize`` requests themselves. One block,
``initialize "operator-bootstrap"``, runs first and (names and paths as the reference operator's):

- enables JWT auth at ``jwt-operator`` and configures it with the cluster's ServiceAccount issuer as
  ``bound_issuer`` and its signing keys as ``jwt_validation_pubkeys`` (read by the operator from the API
  server; OpenBao then validates tokens offline, see :mod:`openbao_operator.pki.jwks` for why);
- writes one policy and one role per identity. Every role accepts only a token whose ``sub`` is exactly
  ``system:serviceaccount:<namespace>:<name>`` and whose audience is the configured one, issues tokens that
  live at most an hour, and does not attach the ``default`` policy; each policy lists only the paths that
  identity calls (plus ``auth/token/revoke-self``, so a Job's token dies with the Job):

  - ``openbao-operator`` (the operator's ServiceAccount): step-down; raft configuration (read) and
    remove-peer; autopilot state and configuration (read);
  - ``openbao-operator-backup`` (``<name>-backup-serviceaccount``, only when spec.backup is set): raft
    snapshot (read);
  - ``openbao-operator-upgrade`` (``<name>-upgrade-serviceaccount``): step-down; raft snapshot (read);
    autopilot state (read);
  - ``openbao-operator-restore`` (``<name>-restore-serviceaccount``): raft snapshot and snapshot-force
    (update).

  ``spec.backup.jwtAuthRole``, ``spec.upgrade.jwtAuthRole`` and ``spec.restore.jwtAuthRole`` rename a role.
"""

from __future__ import annotations

import base64

from openbao_operator.api import names
from openbao_operator.render.facts import OperatorIdentity
from openbao_operator.render.hcl import Attr, Block, PemText, Value

from .context import Context
from .errors import ConfigRenderError

JWT_MOUNT = "jwt-operator"
BOOTSTRAP_BLOCK = "operator-bootstrap"
OPERATOR_ROLE = "openbao-operator"
BACKUP_ROLE = "openbao-operator-backup"
UPGRADE_ROLE = "openbao-operator-upgrade"
RESTORE_ROLE = "openbao-operator-restore"
TOKEN_TTL = "1h"  # noqa: S105 (a duration)

_REVOKE_SELF = 'path "auth/token/revoke-self" {\n  capabilities = ["update"]\n}\n'
OPERATOR_POLICY = (
    'path "sys/step-down" {\n  capabilities = ["update", "sudo"]\n}\n'
    'path "sys/storage/raft/configuration" {\n  capabilities = ["read"]\n}\n'
    'path "sys/storage/raft/remove-peer" {\n  capabilities = ["update"]\n}\n'
    'path "sys/storage/raft/autopilot/state" {\n  capabilities = ["read"]\n}\n'
    'path "sys/storage/raft/autopilot/configuration" {\n  capabilities = ["read"]\n}\n' + _REVOKE_SELF
)
BACKUP_POLICY = 'path "sys/storage/raft/snapshot" {\n  capabilities = ["read"]\n}\n' + _REVOKE_SELF
UPGRADE_POLICY = (
    'path "sys/step-down" {\n  capabilities = ["update", "sudo"]\n}\n'
    'path "sys/storage/raft/snapshot" {\n  capabilities = ["read"]\n}\n'
    'path "sys/storage/raft/autopilot/state" {\n  capabilities = ["read"]\n}\n' + _REVOKE_SELF
)
RESTORE_POLICY = (
    'path "sys/storage/raft/snapshot" {\n  capabilities = ["update"]\n}\n'
    'path "sys/storage/raft/snapshot-force" {\n  capabilities = ["update"]\n}\n' + _REVOKE_SELF
)


def subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def _request(name: str, path: str, data: dict[str, Value]) -> Block:
    return Block("request", (name,), (Attr("operation", "update"), Attr("path", path), Attr("data", data)))


def _role(audience: str, sub: str, policy: str) -> dict[str, Value]:
    return {
        "role_type": "jwt",
        "user_claim": "sub",
        "bound_subject": sub,
        "bound_audiences": [audience],
        "token_policies": [policy],
        "token_no_default_policy": True,
        "token_ttl": TOKEN_TTL,
        "token_max_ttl": TOKEN_TTL,
    }


def _pair(kind: str, role: str, policy_name: str, policy: str, audience: str, sub: str) -> list[Block]:
    return [
        _request(
            f"create-{kind}-policy",
            f"sys/policies/acl/{policy_name}",
            {"policy": base64.b64encode(policy.encode()).decode("ascii")},
        ),
        _request(f"create-{kind}-jwt-role" if kind != "operator" else "create-operator-role",
                 f"auth/{JWT_MOUNT}/role/{role}", _role(audience, sub, policy_name)),
    ]  # fmt: skip


def operator_bootstrap(ctx: Context) -> Block | None:
    """The ``initialize "operator-bootstrap"`` block, or None when spec.selfInit.oidc is not enabled."""
    si = ctx.spec.self_init
    if si is None or not si.enabled or si.oidc is None or not si.oidc.enabled:
        return None
    facts: OperatorIdentity | None = ctx.facts.operator_identity
    if facts is None:
        raise ConfigRenderError(
            "spec.selfInit.oidc.enabled",
            "the cluster's ServiceAccount issuer and signing keys are not known yet (the operator reads them "
            "from the API server's /.well-known/openid-configuration and /openid/v1/jwks); nothing is "
            "initialised without them, since self-initialisation would leave the operator no way in",
        )
    audience = si.oidc.audience or facts.audience
    issuer = si.oidc.issuer or facts.issuer
    ns, name = ctx.namespace, ctx.name
    requests: list[Block] = [
        _request(
            "enable-jwt-auth",
            f"sys/auth/{JWT_MOUNT}",
            {"type": "jwt", "description": "Auth method for OpenBao Operator"},
        ),
        _request(
            "config-jwt-auth",
            f"auth/{JWT_MOUNT}/config",
            {"bound_issuer": issuer, "jwt_validation_pubkeys": [PemText(p) for p in facts.pubkeys_pem]},
        ),
        *_pair(
            "operator",
            OPERATOR_ROLE,
            OPERATOR_ROLE,
            OPERATOR_POLICY,
            audience,
            subject(ctx.facts.operator_namespace, facts.operator_service_account),
        ),
    ]
    spec = ctx.spec
    if spec.backup is not None:
        role = spec.backup.jwt_auth_role or BACKUP_ROLE
        sub = subject(ns, names.executor_service_account_name(name, "backup"))
        requests += _pair("backup", role, BACKUP_ROLE, BACKUP_POLICY, audience, sub)
    role = (spec.upgrade.jwt_auth_role if spec.upgrade is not None else None) or UPGRADE_ROLE
    requests += _pair(
        "upgrade",
        role,
        UPGRADE_ROLE,
        UPGRADE_POLICY,
        audience,
        subject(ns, names.executor_service_account_name(name, "upgrade")),
    )
    role = (spec.restore.jwt_auth_role if spec.restore is not None else None) or RESTORE_ROLE
    requests += _pair(
        "restore",
        role,
        RESTORE_ROLE,
        RESTORE_POLICY,
        audience,
        subject(ns, names.executor_service_account_name(name, "restore")),
    )
    return Block("initialize", (BOOTSTRAP_BLOCK,), tuple(requests))
