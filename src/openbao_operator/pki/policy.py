"""How long certificates live and when they are renewed: one place for every lifetime and window.

Why a separate module: the decision (`operator_managed`) and the issuers (`issue`) must agree on the
numbers, and tests and the controller's integration tests shorten them (a rotation "at the scheduled
time" is only testable when the schedule is minutes, not months). Nothing here reads the clock; every
instant is computed from a certificate's own validity, so a policy change never churns certificates
that were issued under the previous one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from cryptography import x509

_GO_UNITS_NS: Final = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_GO_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")


def parse_go_duration(text: str) -> timedelta:
    """A Go `time.ParseDuration` string without sign ("720h", "1h30m", "1.5h") as a timedelta.

    The API already restricts `spec.tls.rotationPeriod` to this alphabet (api.types.GoDuration); a
    string that still does not parse raises ValueError, which the decision reports as a condition.
    """
    pos, total_ns = 0, 0.0
    for match in _GO_PART.finditer(text):
        if match.start() != pos:
            break
        total_ns += float(match.group(1)) * _GO_UNITS_NS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f"not a duration such as 720h or 1h30m: {text!r}")
    return timedelta(microseconds=total_ns / 1000)


@dataclass(frozen=True, kw_only=True)
class RotationPolicy:
    """Lifetimes and renewal windows of the operator-managed CA and server certificate."""

    leaf_lifetime: timedelta = timedelta(days=90)
    """Validity of a server certificate (short-lived, renewed automatically)."""
    leaf_renew_fraction: float = 2 / 3
    """A server certificate is renewed once this fraction of its own lifetime has passed..."""
    leaf_min_life_fraction: float = 1 / 2
    """...or when it expires within spec.tls.rotationPeriod, but never before this fraction of its life:
    a rotationPeriod as long as the lifetime would otherwise reissue on every reconcile."""
    ca_lifetime: timedelta = timedelta(days=3650)
    """Validity of the self-signed CA (10 years)."""
    ca_renew_before: timedelta = timedelta(days=365)
    """A successor CA is staged when the signing CA expires within this period."""
    ca_trust_overlap: timedelta = timedelta(days=30)
    """How long a CA sits in the trust bundle before it signs (staged -> promoted), and how long a retired
    CA stays in the bundle after the first server certificate of its successor was issued. Long enough
    for every pod's Secret volume, and for clients that copied ca.crt, to pick up the bundle."""
    backdate: timedelta = timedelta(hours=1)
    """notBefore is `now - backdate`, so nodes whose clocks lag still accept fresh certificates."""

    def __post_init__(self) -> None:
        # (1) a staged CA must be promoted, and its predecessor dropped, long before the predecessor expires
        if self.ca_renew_before <= 2 * self.ca_trust_overlap + self.leaf_lifetime:
            raise ValueError("ca_renew_before must exceed two trust overlaps plus one leaf lifetime")
        # (2) a CA must outlive its renewal window, and a leaf must fit inside a CA's signing period
        if self.ca_lifetime <= self.ca_renew_before + self.leaf_lifetime:
            raise ValueError("ca_lifetime must exceed ca_renew_before plus one leaf lifetime")
        if not 0 < self.leaf_min_life_fraction <= self.leaf_renew_fraction < 1:
            raise ValueError("need 0 < leaf_min_life_fraction <= leaf_renew_fraction < 1")

    def leaf_renew_at(self, cert: x509.Certificate, *, rotation_period: timedelta) -> datetime:
        """When a server certificate is due: at 2/3 of its life or rotation_period before it expires,
        whichever is first, but not before half of its life."""
        start, end = not_before(cert), not_after(cert)
        life = end - start
        by_fraction = start + life * self.leaf_renew_fraction
        by_period = end - rotation_period
        floor = start + life * self.leaf_min_life_fraction
        return max(min(by_fraction, by_period), floor)

    def ca_renew_at(self, cert: x509.Certificate) -> datetime:
        """When a successor of this signing CA is staged."""
        return not_after(cert) - self.ca_renew_before

    def issued_at(self, cert: x509.Certificate) -> datetime:
        """When the operator issued a certificate (its notBefore plus the backdate)."""
        return not_before(cert) + self.backdate


DEFAULT_POLICY: Final = RotationPolicy()


def not_before(cert: x509.Certificate) -> datetime:
    return cert.not_valid_before_utc


def not_after(cert: x509.Certificate) -> datetime:
    return cert.not_valid_after_utc


def as_utc(now: datetime) -> datetime:
    """The injected clock value as an aware UTC datetime; a naive value is a programming error."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)
