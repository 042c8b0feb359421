"""OpenBao versions and the options each one introduced or removed (the version gates), in one place.

Why in the API package: what a spec *means* depends on the chosen OpenBao version. The renderer refuses a
file the version cannot read (render/config/version.py raises on these gates), and the list of fields that
have no effect on that version (ignored.py, the FieldsIgnored condition and the CLI warnings) is computed
from the same gates, so the two cannot disagree. Each gate says which OpenBao release introduced or removed the option.
"""

from __future__ import annotations

import re
from typing import Final

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


def parse_version(text: str) -> Version | None:
    """``2.7.2``, ``v2.7.2`` or ``2.7.0-rc1`` -> ``(2, 7, 0)`` (a pre-release counts as its release); None if
    ``text`` is not a version."""
    m = _VERSION.match(text.strip())
    return None if m is None else (int(m[1]), int(m[2]), int(m[3]))


def show(v: Version) -> str:
    return ".".join(map(str, v))
