"""What the Hardened profile demands of a spec, as admission rules and as the controller's own check.

Beyond the reference, Hardened refuses seal credentials written inline into the resource (the deprecated
``transit.token``, ``awskms.secretKey``, ... fields, see ``seal.INLINE_CREDENTIALS``): they are never used,
and a secret in the resource is readable by everyone who may read it. It also refuses pod security overrides
that leave Pod Security "restricted" (``podsecurity.POD_SECURITY_RISKS``).

Why here: the reference operator enforces Hardened at admission (a ValidatingAdmissionPolicy). Written as
`Rule`s on the spec, the same requirements become CEL in the CRD (a violating Hardened cluster is rejected
when it is applied, naming the field) and the controller's check (`controller/profile.py`), which still
refuses to apply a violating object stored before the rule existed (CRD validation ratcheting lets such an
object through while the offending fields do not change).
"""

from __future__ import annotations

from typing import Any

from .base import Rule
from .podsecurity import POD_SECURITY_RISKS, PodSecurityRisk
from .seal import INLINE_CREDENTIALS, InlineCredential

# NB: has() first: CEL fails with "no such key" on an absent optional field (profile has no default).
_HARDENED = "!has(self.profile) || self.profile != 'Hardened' || "


def _hardened(m: Any) -> bool:
    return bool(m.profile == "Hardened")


def _seal_type(m: Any) -> str:
    return str(m.unseal.type) if m.unseal is not None else "static"


def _verified_seal_server(block: str) -> Rule:
    """``unseal.<block>.tlsSkipVerify`` must not be true under Hardened (transit and kmip have the field)."""

    def check(m: Any) -> bool:
        settings = getattr(m.unseal, block, None) if m.unseal is not None else None
        return not _hardened(m) or settings is None or not settings.tls_skip_verify

    return Rule(
        cel=_HARDENED + f"!has(self.unseal) || !has(self.unseal.{block}) || "
        f"!has(self.unseal.{block}.tlsSkipVerify) || !self.unseal.{block}.tlsSkipVerify",
        check=check,
        message="must not be true under the Hardened profile",
        field=f"unseal.{block}.tlsSkipVerify",
    )


def _no_inline_credential(cred: InlineCredential) -> Rule:
    """A secret written into the resource is readable by everyone who may read the OpenBaoCluster (and sits
    in etcd, backups and GitOps repositories); it was never used anyway (credentialsSecretRef is)."""

    def check(m: Any) -> bool:
        return not _hardened(m) or not cred.value(m.unseal)

    return Rule(
        cel=_HARDENED + f"!has(self.unseal) || !has(self.unseal.{cred.block}) || "
        f"!has(self.unseal.{cred.block}.{cred.field}) || size(self.unseal.{cred.block}.{cred.field}) == 0",
        check=check,
        message="a secret written into the resource is refused under the Hardened profile: remove it and put it "
        f"in the Secret named by spec.unseal.credentialsSecretRef, key {cred.secret_key}",
        field=cred.path,
    )


def _restricted_pod(risk: PodSecurityRisk) -> Rule:
    def check(m: Any) -> bool:
        return not _hardened(m) or m.security_context is None or risk.safe(m.security_context)

    return Rule(
        cel=_HARDENED + f"!has(self.securityContext) || {risk.cel_safe}",
        check=check,
        message=f"{risk.problem}; the Hardened profile keeps pods within Pod Security 'restricted': remove the "
        "override",
        field=risk.field,
    )


HARDENED_RULES: tuple[Rule, ...] = (
    Rule(
        cel=_HARDENED
        + "((self.tls.enabled || self.tls.mode == 'ACME') && has(self.tls.mode) && self.tls.mode != 'OperatorManaged')",
        check=lambda m: not _hardened(m) or (m.tls.serves and m.tls.mode != "OperatorManaged"),
        message="Hardened needs External or ACME certificates (and tls.enabled=true)",
        field="tls.mode",
    ),
    Rule(
        cel=_HARDENED + "(has(self.unseal) && has(self.unseal.type) && self.unseal.type != 'static')",
        check=lambda m: not _hardened(m) or _seal_type(m) != "static",
        message="Hardened needs a KMS, HSM or transit seal, not the static key",
        field="unseal.type",
    ),
    Rule(
        cel=_HARDENED + "(has(self.selfInit) && self.selfInit.enabled)",
        check=lambda m: not _hardened(m) or (m.self_init is not None and m.self_init.enabled),
        message="Hardened needs self-initialization (no root token is kept)",
        field="selfInit.enabled",
    ),
    Rule(
        cel=_HARDENED + "(has(self.replicas) && self.replicas >= 3)",
        check=lambda m: not _hardened(m) or m.replicas >= 3,
        message="Hardened needs at least 3 replicas",
        field="replicas",
    ),
    _verified_seal_server("transit"),
    _verified_seal_server("kmip"),
    *(_no_inline_credential(cred) for cred in INLINE_CREDENTIALS),
    *(_restricted_pod(risk) for risk in POD_SECURITY_RISKS),
)
