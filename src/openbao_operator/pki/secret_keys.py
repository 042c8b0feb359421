"""Key names and types of the two TLS Secrets (reference-operator.md §3.11), in one place.

`<name>-tls-ca` (Opaque) holds the signing CA and, during a CA rollover, the staged successor; it is
never mounted into pods. `<name>-tls-server` (kubernetes.io/tls) is what the pods mount at
/etc/bao/tls: the server certificate, its key and the trust bundle (`ca.crt`, one or more CAs).
"""

from __future__ import annotations

from typing import Final

CA_SECRET_TYPE: Final = "Opaque"  # noqa: S105 - a Secret type, not a password
SERVER_SECRET_TYPE: Final = "kubernetes.io/tls"  # noqa: S105 - a Secret type, not a password

CA_CERT: Final = "ca.crt"
"""In `<name>-tls-ca`: the signing CA (exactly the certificate of `ca.key`)."""
CA_KEY: Final = "ca.key"
NEXT_CA_CERT: Final = "next-ca.crt"
"""In `<name>-tls-ca`, during a CA rollover only: the successor, already trusted, not yet signing."""
NEXT_CA_KEY: Final = "next-ca.key"

TLS_CERT: Final = "tls.crt"
"""In `<name>-tls-server`: the server certificate (leaf first, then any intermediates)."""
TLS_KEY: Final = "tls.key"
TRUST_BUNDLE: Final = "ca.crt"
"""In `<name>-tls-server`: every CA a pod must trust right now (signer, staged successor, retired)."""

CA_SECRET_KEYS: Final = (CA_CERT, CA_KEY, NEXT_CA_CERT, NEXT_CA_KEY)
SERVER_SECRET_KEYS: Final = (TLS_CERT, TLS_KEY, TRUST_BUNDLE)


def ca_secret_name(cluster_name: str) -> str:
    return f"{cluster_name}-tls-ca"


def server_secret_name(cluster_name: str) -> str:
    return f"{cluster_name}-tls-server"
