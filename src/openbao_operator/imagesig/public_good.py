"""The public-good Sigstore trusted root, embedded: keyless verification works without a ConfigMap.

Why embedded: manifests written for the reference operator verify keyless (issuer + subject) against the
public-good Sigstore instance with no trusted root of their own (the reference embeds one too); without a
root of our own they could never verify. A ConfigMap named by
``spec.imageVerification.trustedRootConfigMapRef`` still overrides it (private Sigstore instances, offline
clusters, a newer root).

Provenance, pinned: ``public_good_trusted_root.json`` is the file
``sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json`` of the wheel
``sigstore-4.5.1-py3-none-any.whl`` (PyPI, sigstore-python, Apache-2.0; wheel sha256
02e000197b34980f1d382741d6f83c2fecbcef7debf7304f36a5253f3c892cd9), byte for byte (sha256
6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66). sigstore-python ships the TUF-distributed
root it bootstraps from; it is data only, so it is vendored instead of adding the package and its
dependencies. A root embedded in a release goes stale when Sigstore rotates keys: the status names the root
and its newest key's date, and docs/image-verification.md says how to refresh it or supply a ConfigMap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

SOURCE_PACKAGE = "sigstore 4.5.1"
"""Where the embedded file comes from (the wheel named in the module docstring)."""


@dataclass(frozen=True)
class EmbeddedRoot:
    """The embedded trusted root and how status names it."""

    data: bytes
    newest_key_date: str
    """The latest ``validFor.start`` (a date) of its authorities and logs: how recent the root is."""

    @property
    def label(self) -> str:
        return (
            f"the embedded public-good Sigstore root ({SOURCE_PACKAGE}, newest key valid from {self.newest_key_date})"
        )


def _newest_start(doc: dict[str, object]) -> str:
    starts: list[str] = []
    for field in ("certificateAuthorities", "tlogs", "ctlogs", "timestampAuthorities"):
        for entry in doc.get(field) or []:  # type: ignore[attr-defined]
            window = entry.get("validFor") or (entry.get("publicKey") or {}).get("validFor") or {}
            if isinstance(window.get("start"), str):
                starts.append(window["start"][:10])
    return max(starts) if starts else "unknown"


def load() -> EmbeddedRoot:
    data = resources.files(__package__).joinpath("public_good_trusted_root.json").read_bytes()
    return EmbeddedRoot(data=data, newest_key_date=_newest_start(json.loads(data)))


PUBLIC_GOOD_ROOT = load()
