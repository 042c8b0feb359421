"""Judging user-provided TLS material (spec.tls.mode External): read, never written.

Why distinct reasons: the user fixes their Secret (or their cert-manager Certificate) from the
TLSReady=False condition alone, so each failure says exactly what is wrong: a missing Secret, a key
that does not belong to the certificate, an expired certificate, names the pods need, or a chain the
CA bundle does not verify. The checks run in the order a person would fix them.

"Renamed", as the issue puts it, has two faces here. A Secret renamed away from ``<name>-tls-server`` is, to
an operator that may only GET that name (no list permission on Secrets), simply missing: TLSSecretMissing,
whose message names the exact Secret expected. A certificate made for another cluster name (a cluster
re-created under a new name with its old Secret copied over) is recognized by its raft server name and gets
its own reason, TLSCertificateForOtherCluster, instead of a list of uncovered names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from openbao_operator.api import OpenBaoCluster
from openbao_operator.api import names as k

from .material import fingerprint, key_matches, load_certs, load_key
from .names import external_required_names
from .policy import as_utc, not_after, not_before
from .verify import san_sets, verify_chain


class ExternalTlsReason(StrEnum):
    """Condition reasons for TLSReady with External material."""

    VALID = "ExternalCertificateValid"
    SECRET_MISSING = "TLSSecretMissing"  # noqa: S105 - a condition reason, not a password
    SECRET_INCOMPLETE = "TLSSecretIncomplete"  # noqa: S105 - a condition reason, not a password
    CERTIFICATE_INVALID = "TLSCertificateInvalid"
    KEY_INVALID = "TLSKeyInvalid"
    KEY_MISMATCH = "TLSKeyMismatch"
    CA_INVALID = "TLSCAInvalid"
    NOT_YET_VALID = "TLSCertificateNotYetValid"
    EXPIRED = "TLSCertificateExpired"
    NAMES_NOT_COVERED = "TLSNamesNotCovered"
    OTHER_CLUSTER = "TLSCertificateForOtherCluster"
    """The names are another cluster's (a Secret copied or kept across a cluster rename)."""
    CHAIN_INVALID = "TLSChainInvalid"


@dataclass(frozen=True, kw_only=True)
class ExternalTlsCheck:
    """The verdict on `<name>-tls-server` as the user provided it."""

    reason: ExternalTlsReason
    message: str
    """A sentence for the TLSReady condition: what is wrong and what to do."""
    recheck_at: datetime | None = None
    """When the verdict changes by itself (the certificate becomes valid or expires); None if never."""
    leaf_fingerprint: str | None = None
    """sha256 of the served certificate's DER, when it parsed: content changes propagate like a rotation."""

    @property
    def ok(self) -> bool:
        return self.reason is ExternalTlsReason.VALID


def validate_external_tls(
    cluster: OpenBaoCluster,
    *,
    namespace: str,
    server_secret: Mapping[str, bytes] | None,
    now: datetime,
) -> ExternalTlsCheck:
    """Check the user's `<name>-tls-server` (decoded data; None when the Secret does not exist).

    Steps: (1) the Secret and its three keys exist; (2) tls.crt, tls.key and ca.crt parse; (3) the key is
    the certificate's; (4) the certificate is valid at `now`; (5) it names every pod and the raft
    server name; (6) it chains to ca.crt as a TLS server certificate for each of those names.
    """
    now = as_utc(now)
    secret = k.tls_server_secret_name(cluster.metadata.name)
    R = ExternalTlsReason  # noqa: N806 - a short alias keeps each verdict on one line
    # (1)
    if server_secret is None:
        return ExternalTlsCheck(
            reason=R.SECRET_MISSING,
            message=f"Secret {secret} does not exist; create it (type kubernetes.io/tls with tls.crt, tls.key, ca.crt)",
        )
    absent = [key for key in k.SERVER_SECRET_KEYS if not server_secret.get(key)]
    if absent:
        return ExternalTlsCheck(
            reason=R.SECRET_INCOMPLETE, message=f"Secret {secret} lacks {', '.join(absent)}; add the missing keys"
        )
    # (2)
    chain = load_certs(server_secret[k.TLS_CERT])
    if chain is None:
        return ExternalTlsCheck(
            reason=R.CERTIFICATE_INVALID, message=f"{secret}: tls.crt is not a PEM certificate (chain)"
        )
    leaf, fp = chain[0], fingerprint(chain[0])
    key = load_key(server_secret[k.TLS_KEY])
    if key is None:
        return ExternalTlsCheck(
            reason=R.KEY_INVALID,
            message=f"{secret}: tls.key is not an unencrypted PEM private key",
            leaf_fingerprint=fp,
        )
    cas = load_certs(server_secret[k.TRUST_BUNDLE])
    if cas is None:
        return ExternalTlsCheck(
            reason=R.CA_INVALID, message=f"{secret}: ca.crt is not a PEM CA certificate bundle", leaf_fingerprint=fp
        )
    # (3)
    if not key_matches(leaf, key):
        return ExternalTlsCheck(
            reason=R.KEY_MISMATCH,
            message=f"{secret}: tls.key is not the private key of the certificate in tls.crt",
            leaf_fingerprint=fp,
        )
    # (4)
    if now < not_before(leaf):
        return ExternalTlsCheck(
            reason=R.NOT_YET_VALID,
            message=f"{secret}: the certificate is valid only from {not_before(leaf).isoformat()}",
            recheck_at=not_before(leaf),
            leaf_fingerprint=fp,
        )
    if now >= not_after(leaf):
        return ExternalTlsCheck(
            reason=R.EXPIRED,
            message=f"{secret}: the certificate expired at {not_after(leaf).isoformat()}; renew it",
            leaf_fingerprint=fp,
        )
    # (5)
    required = external_required_names(cluster, namespace=namespace)
    dns, _ = san_sets(leaf)
    missing = [name for name in required.dns if not _covered(name, dns)]
    if missing:
        other = _issued_for(dns, exclude=cluster.metadata.name)
        if other is not None:
            reason, message = (
                R.OTHER_CLUSTER,
                f"{secret}: the certificate was issued for cluster {other!r}, not {cluster.metadata.name!r} "
                f"(a renamed cluster or a copied Secret?); issue one covering {', '.join(missing)}",
            )
        else:
            reason, message = (
                R.NAMES_NOT_COVERED,
                f"{secret}: the certificate does not cover {', '.join(missing)}; add them (or a wildcard "
                f"*.{cluster.metadata.name}.{namespace}.svc for the pods) as DNS SANs",
            )
        return ExternalTlsCheck(reason=reason, message=message, recheck_at=not_after(leaf), leaf_fingerprint=fp)
    # (6)
    failure = verify_chain(leaf, intermediates=chain[1:], trust=cas, names=required, now=now)
    if failure is not None:
        return ExternalTlsCheck(
            reason=R.CHAIN_INVALID,
            message=f"{secret}: the certificate does not verify against ca.crt for {failure.name}: {failure.detail}",
            recheck_at=not_after(leaf),
            leaf_fingerprint=fp,
        )
    return ExternalTlsCheck(
        reason=R.VALID,
        message=f"{secret} is valid until {not_after(leaf).isoformat()}",
        recheck_at=not_after(leaf),
        leaf_fingerprint=fp,
    )


def _issued_for(dns: frozenset[str], *, exclude: str) -> str | None:
    """The cluster a certificate was made for, judged by its raft server name (``openbao-cluster-<name>.local``,
    which every certificate for this operator or the reference carries); None when it names no other cluster."""
    prefix, suffix = k.RAFT_TLS_SERVER_NAME_PREFIX, k.RAFT_TLS_SERVER_NAME_SUFFIX
    found = sorted(n[len(prefix) : -len(suffix)] for n in dns if n.startswith(prefix) and n.endswith(suffix))
    others = [n for n in found if n and n != exclude]
    return others[0] if others and exclude not in found else None


def _covered(name: str, dns: frozenset[str]) -> bool:
    """RFC 6125 matching: an exact SAN, or a wildcard SAN for the leftmost label (one label only)."""
    if name in dns:
        return True
    head, _, rest = name.partition(".")
    return bool(head and rest) and f"*.{rest}" in dns
