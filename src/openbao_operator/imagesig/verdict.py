"""The result of verifying one image: Verified, Failed, or NotRequired (verification off)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import FailureReason

SignatureFormat = Literal["cosign-v2", "sigstore-bundle"]


@dataclass(frozen=True)
class Verified:
    """A signature by the configured key (or identity) names ``digest``; apply ``image`` (`name@digest`)."""

    image: str
    """The pinned reference to put in the StatefulSet and in status.verifiedImageDigest."""
    digest: str
    signer: str
    """Who signed, for messages: `key sha256:<16 hex of the fingerprint>` or `oidc <issuer>|<subject>`."""
    signature_format: SignatureFormat
    cached: bool = False
    """True when the verdict came from the verdict cache (no signature fetched this time)."""


@dataclass(frozen=True)
class Failed:
    """Verification did not succeed; ``reason`` says why, ``message`` says it for a person (no secrets)."""

    reason: FailureReason
    message: str
    image: str
    """The image as given."""
    digest: str | None = None
    """What the tag resolved to, when it got that far (Warn pins it, so what runs is what was checked)."""

    @property
    def pinned(self) -> str | None:
        """`name@digest` of the resolved, unverified image, when known."""
        if self.digest is None:
            return None
        name = self.image.split("@", 1)[0]
        last_slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > last_slash:
            name = name[:colon]
        return f"{name}@{self.digest}"


@dataclass(frozen=True)
class NotRequired:
    """Verification is off (absent or enabled=false): no registry call was made; apply ``image`` as given."""

    image: str


Verdict = Verified | Failed | NotRequired
