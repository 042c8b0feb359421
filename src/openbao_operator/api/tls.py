"""`spec.tls`: how the listener gets its certificate (operator-managed, external Secrets, or ACME)."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import Field

from .base import ApiModel, Rule
from .types import EMPTY_IS_UNSET, GoDuration, Hostname, NonEmptyHclStr

TlsMode = Literal["OperatorManaged", "External", "ACME"]


class EffectiveTlsMode(enum.Enum):
    """What the listener really does: ``spec.tls.mode``, unless TLS is off (:attr:`TlsConfig.effective_mode`)."""

    DISABLED = "Disabled"
    """No TLS on the listener nor between the pods."""
    OPERATOR_MANAGED = "OperatorManaged"
    """Files from ``<name>-tls-server``, written by the operator from its own CA."""
    EXTERNAL = "External"
    """Files from ``<name>-tls-server``, provided by someone else and only read."""
    ACME = "ACME"
    """OpenBao obtains its certificate itself; no files are mounted."""

    @property
    def files(self) -> bool:
        """The certificate is mounted from ``<name>-tls-server``."""
        return self in (EffectiveTlsMode.OPERATOR_MANAGED, EffectiveTlsMode.EXTERNAL)


DEFAULT_ROTATION_PERIOD = "720h"
"""spec.tls.rotationPeriod when it is not set (or empty)."""


class AcmeConfig(ApiModel):
    """OpenBao's built-in ACME client: the listener obtains its own certificate, no files are mounted."""

    rules = (
        Rule(
            # The reference operator's rule: an empty domains list counts as not set.
            cel="!(has(self.domain) && has(self.domains) && size(self.domains) > 0)",
            check=lambda m: not (m.domain is not None and m.domains),
            message="set either domain (deprecated) or domains, not both",
            field="domains",
        ),
    )

    directory_url: NonEmptyHclStr = Field(alias="directoryURL")
    """The ACME directory URL of the certificate authority (tls_acme_ca_directory)."""
    domain: Annotated[Hostname, Field(min_length=1)] | None = None
    """Deprecated: one domain; use domains."""
    domains: list[Hostname] | None = None
    """Domains the certificate is requested for (default: domain, else <name>-acme.<namespace>.svc). An empty
    list counts as not set, as in the reference operator."""
    email: Annotated[NonEmptyHclStr | None, EMPTY_IS_UNSET] = None
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
    )

    enabled: bool
    """Serve TLS. False disables TLS on the listener and between the pods (a security risk, reported as such);
    with mode ACME it is ignored (and reported), as in the reference operator: OpenBao then still obtains its
    certificate by ACME."""
    mode: TlsMode = "OperatorManaged"
    """OperatorManaged: the operator runs a CA and issues the server certificate. External: the Secrets
    <name>-tls-ca and <name>-tls-server are provided by someone else (for example cert-manager) and only
    read. ACME: OpenBao obtains its certificate itself."""
    acme: AcmeConfig | None = None
    """ACME settings; required when mode is ACME."""
    rotation_period: Annotated[GoDuration | None, EMPTY_IS_UNSET] = DEFAULT_ROTATION_PERIOD
    """OperatorManaged: reissue the server certificate when it expires within this period. The reference
    operator requires it; here it defaults to 720h."""

    @property
    def serves(self) -> bool:
        """Whether the listener serves TLS: enabled, or mode ACME. With ACME the reference operator never looks
        at ``enabled`` (OpenBao obtains its certificate either way), so ``enabled: false`` is ignored there."""
        return self.enabled or self.mode == "ACME"

    @property
    def effective_mode(self) -> EffectiveTlsMode:
        """The one answer to "how does the listener get TLS?" that every layer asks (``mode``, with
        ``enabled: false`` meaning Disabled except under ACME, see :attr:`serves`)."""
        return EffectiveTlsMode(self.mode) if self.serves else EffectiveTlsMode.DISABLED

    extra_sans: list[Annotated[str, Field(max_length=253)]] | None = Field(default=None, alias="extraSANs")
    """Extra subject alternative names for the server certificate; entries that parse as IP addresses become
    IP SANs, empty entries are skipped (and reported)."""
