"""The version gates, as render errors: a gate that fails is a :class:`ConfigRenderError` naming the field.

Why: the same spec must not render a file that the chosen OpenBao cannot read. The gates themselves live
in :mod:`openbao_operator.api.versions`, next to the list of fields that have no effect on a version.
"""

from __future__ import annotations

from openbao_operator.api.versions import (
    BUILTIN_VENDOR_SEALS_REMOVED,
    DECLARATIVE_PLUGINS,
    KMS_PLUGINS,
    SELF_INIT,
    STATIC_SEAL,
    TLS_AUTO_RELOAD,
    Version,
    show,
)
from openbao_operator.api.versions import parse_version as _parse

from .errors import ConfigRenderError

__all__ = [
    "BUILTIN_VENDOR_SEALS_REMOVED",
    "DECLARATIVE_PLUGINS",
    "KMS_PLUGINS",
    "SELF_INIT",
    "STATIC_SEAL",
    "TLS_AUTO_RELOAD",
    "Version",
    "parse_version",
    "require",
    "show",
]


def parse_version(text: str) -> Version:
    """``2.7.2``, ``v2.7.2`` or ``2.7.0-rc1`` -> ``(2, 7, 0)``; a pre-release counts as its release."""
    version = _parse(text)
    if version is None:
        raise ConfigRenderError("spec.version", f"{text!r} is not an OpenBao version MAJOR.MINOR.PATCH")
    return version


def require(version: Version, minimum: Version, field: str, what: str) -> None:
    """Raise unless ``version`` has the feature that appeared in ``minimum``."""
    if version < minimum:
        raise ConfigRenderError(field, f"{what} requires OpenBao >= {show(minimum)} (spec.version is {show(version)})")
