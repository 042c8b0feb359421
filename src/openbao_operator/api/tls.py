"""`spec.tls`: how the listener gets its certificate (operator-managed, external Secrets, or ACME)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel, Rule
from .types import GoDuration, Hostname, NonEmptyHclStr

TlsMode = Literal["OperatorManaged", "External", "ACME"]


class AcmeConfig(ApiModel):
    """OpenBao's built-in ACME client: the listener obtains its own certificate, no files are mounted."""

    rules = (
        Rule(
            cel="!(has(self.domain) && has(self.domains))",
            check=lambda m: not (m.domain is not None and m.domains is not None),
            message="set either domain (deprecated) or domains, not both",
            field="domains",
        ),
    )

    directory_url: NonEmptyHclStr = Field(alias="directoryURL")
    """The ACME directory URL of the certificate authority (tls_acme_ca_directory)."""
    domain: Annotated[Hostname, Field(min_length=1)] | None = None
    """Deprecated: one domain; use domains."""
    domains: Annotated[list[Hostname], Field(min_length=1, max_length=100)] | None = None
    """Domains the certificate is requested for (default <name>-acme.<namespace>.svc)."""
    email: NonEmptyHclStr | None = None
    """Contact e-mail registered with the ACME account (tls_acme_email)."""


class TlsConfig(ApiModel):
    """TLS of the OpenBao listener and of raft traffic between the pods."""

    rules = (
        Rule(
            cel="self.mode != 'ACME' || has(self.acme)",
            check=lambda m: m.mode != "ACME" or m.acme is not None,
            message="required when spec.tls.mode is ACME",
            field="acme",
        ),
        Rule(
            cel="self.enabled || self.mode != 'ACME'",
            check=lambda m: m.enabled or m.mode != "ACME",
            message="must be true when spec.tls.mode is ACME",
            field="enabled",
        ),
    )

    enabled: bool
    """Serve TLS. False disables TLS on the listener and between the pods (a security risk, reported as such)."""
    mode: TlsMode = "OperatorManaged"
    """OperatorManaged: the operator runs a CA and issues the server certificate. External: the Secrets
    <name>-tls-ca and <name>-tls-server are provided by someone else (for example cert-manager) and only
    read. ACME: OpenBao obtains its certificate itself."""
    acme: AcmeConfig | None = None
    """ACME settings; required when mode is ACME."""
    rotation_period: GoDuration = "720h"
    """OperatorManaged: reissue the server certificate when it expires within this period. The reference
    operator requires it; here it defaults to 720h."""
    extra_sans: Annotated[list[Annotated[str, Field(min_length=1, max_length=253)]], Field(max_length=100)] | None = (
        Field(default=None, alias="extraSANs")
    )
    """Extra subject alternative names for the server certificate; entries that parse as IP addresses become
    IP SANs."""
