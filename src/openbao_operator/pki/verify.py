"""Verifying a server certificate the way OpenBao's peers and clients will, before anyone relies on it.

Why: material is checked by cryptography's own path builder (`x509.verification`, the webpki rules:
validity at `now`, CA constraints, serverAuth, SAN matching including wildcards) rather than by
re-implementing those rules. The same function checks freshly issued material (a self-check before
the Secret is written) and existing or user-provided material.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from .names import IpAddress, ServerNames


@dataclass(frozen=True)
class ChainFailure:
    """The first name whose verification failed, and the verifier's explanation."""

    name: str
    detail: str


def san_sets(cert: x509.Certificate) -> tuple[frozenset[str], frozenset[IpAddress]]:
    """The DNS names (lower-cased) and IP addresses of a certificate's SAN extension (empty if none)."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return frozenset(), frozenset()
    dns = frozenset(n.lower() for n in ext.get_values_for_type(x509.DNSName))
    # IPAddress SANs may also hold networks (name constraints); a server certificate names hosts only.
    ips = frozenset(
        ip
        for ip in ext.get_values_for_type(x509.IPAddress)
        if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
    )
    return dns, ips


def verify_chain(
    leaf: x509.Certificate,
    *,
    intermediates: Sequence[x509.Certificate] = (),
    trust: Sequence[x509.Certificate],
    names: ServerNames,
    now: datetime,
) -> ChainFailure | None:
    """None when `leaf` verifies as a TLS server for every name in `names` against `trust` at `now`.

    Steps: (1) build one verifier per name with the trust anchors and the fixed time; (2) verify the leaf
    with the intermediates it came with; (3) stop at the first failure and return it. Wildcard entries of
    `names` are skipped: they are patterns a certificate carries, not names a client asks for.
    """
    if not trust:
        return ChainFailure(name="", detail="no trusted CA certificate")
    key = (leaf, tuple(intermediates), tuple(trust), names.verifiable_dns(), names.ips)
    window = _VERIFIED.get(key)
    at = now if now.tzinfo is not None else now.replace(tzinfo=UTC)  # the verifier reads a naive time as UTC
    if window is not None and window[0] <= at <= window[1]:
        return None
    builder = PolicyBuilder().store(Store(list(trust))).time(now)
    subjects: list[tuple[str, DNSName | IPAddress]] = [(n, DNSName(n)) for n in names.verifiable_dns()]
    subjects += [(str(ip), IPAddress(ip)) for ip in names.ips]
    for text, subject in subjects:
        try:
            builder.build_server_verifier(subject).verify(leaf, list(intermediates))
        except VerificationError as exc:
            return ChainFailure(name=text, detail=str(exc))
    if len(_VERIFIED) >= _VERIFIED_LIMIT:
        _VERIFIED.clear()
    chain = (leaf, *intermediates, *trust)
    _VERIFIED[key] = (max(c.not_valid_before_utc for c in chain), min(c.not_valid_after_utc for c in chain))
    return None


_VERIFIED: dict[tuple[object, ...], tuple[datetime, datetime]] = {}
"""Chains that verified, with the time window in which every certificate of them is valid.

Why: every pass checks its cluster's certificate again (about a millisecond per name, nine names), and the
answer can only change with the certificates, the names or the time. Everything the verifier checks but
validity is independent of ``now``, and validity holds throughout the window where each certificate is
valid, so a chain that verified once verifies at any ``now`` inside that window. Failures are not kept.
Bounded: emptied when full (pure; costs a re-verification, nothing else)."""
_VERIFIED_LIMIT = 4096
