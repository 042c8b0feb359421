"""OpenBao versions and the options each one introduced or removed (the version gates).

Why: the same spec must not render a file that the chosen OpenBao cannot read. Each gate below is the
first release that has (or, for removals, no longer has) a feature; sources are in
spec/openbao-server.md. A gate that fails is a :class:`ConfigRenderError` naming the spec field.
"""

from __future__ import annotations

import re
from typing import Final

from .errors import ConfigRenderError

Version = tuple[int, int, int]

STATIC_SEAL: Final[Version] = (2, 4, 0)
"""seal "static" (GH-1425)."""
SELF_INIT: Final[Version] = (2, 4, 0)
"""initialize blocks (declarative self-initialization)."""
DECLARATIVE_PLUGINS: Final[Version] = (2, 5, 0)
"""plugin "<type>" "<name>" blocks and plugin_auto_download / plugin_auto_register / plugin_download_behavior."""
KMS_PLUGINS: Final[Version] = (2, 6, 0)
"""plugin "kms" "<name>" + seal "<name>" (vendor seals as plugins, GH-2586)."""
BUILTIN_VENDOR_SEALS_REMOVED: Final[Version] = (2, 7, 0)
"""awskms, gcpckms, azurekeyvault, ocikms and pkcs11 are no longer built in ("unknown wrapper")."""
TLS_AUTO_RELOAD: Final[Version] = (2, 7, 0)
"""listener tls_auto_reload (openbao PR#3530, merged after v2.6.2; accepted by 2.7.2)."""

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$")


def parse_version(text: str) -> Version:
    """``2.7.2``, ``v2.7.2`` or ``2.7.0-rc1`` -> ``(2, 7, 0)``; a pre-release counts as its release."""
    m = _VERSION.match(text.strip())
    if m is None:
        raise ConfigRenderError("spec.version", f"{text!r} is not an OpenBao version MAJOR.MINOR.PATCH")
    return int(m[1]), int(m[2]), int(m[3])


def show(v: Version) -> str:
    return ".".join(map(str, v))


def require(version: Version, minimum: Version, field: str, what: str) -> None:
    """Raise unless ``version`` has the feature that appeared in ``minimum``."""
    if version < minimum:
        raise ConfigRenderError(field, f"{what} requires OpenBao >= {show(minimum)} (spec.version is {show(version)})")
