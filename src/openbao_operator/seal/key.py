"""The static unseal key: 32 bytes from a CSPRNG, held in a type that never prints them.

Why a type: losing or leaking this key loses or exposes every secret in OpenBao.
`UnsealKey` refuses anything but 32 bytes (AES-256-GCM, what the static seal expects) and its repr and
str are constant, so an f-string, a dataclass repr, a traceback's locals or a structlog event cannot
reveal it. The random source is injected for tests; production uses `secrets.token_bytes`.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Final

KEY_BYTES: Final = 32
"""OpenBao's static seal key length (AES-256-GCM-96)."""

TokenBytes = Callable[[int], bytes]
"""A CSPRNG: n -> n random bytes (`secrets.token_bytes` by default)."""


class UnsealKeyError(ValueError):
    """Key material of the wrong shape. The message never contains the material."""


class UnsealKey:
    """32 secret bytes. `repr`/`str` hide them; `material` is for the Secret's data and nothing else."""

    __slots__ = ("_material",)

    def __init__(self, material: bytes) -> None:
        if not isinstance(material, bytes | bytearray) or len(material) != KEY_BYTES:
            size = len(material) if isinstance(material, bytes | bytearray) else type(material).__name__
            raise UnsealKeyError(f"a static unseal key is exactly {KEY_BYTES} bytes, got {size}")
        self._material = bytes(material)

    @property
    def material(self) -> bytes:
        return self._material

    def __repr__(self) -> str:
        return f"UnsealKey(<{KEY_BYTES} bytes redacted>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UnsealKey):
            return NotImplemented
        return hmac.compare_digest(self._material, other._material)

    def __hash__(self) -> int:
        # NB: a hash derived from the bytes would leak a little about them into dict/set internals and
        # debug dumps; identity is not needed for keys, so all keys share one bucket.
        return hash(UnsealKey)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("UnsealKey cannot be pickled")


def generate_unseal_key(*, token_bytes: TokenBytes = secrets.token_bytes) -> UnsealKey:
    """A new key from the CSPRNG. Call it only when the decision says `create`: never for a cluster whose
    key Secret exists (see plan.py)."""
    return UnsealKey(token_bytes(KEY_BYTES))
