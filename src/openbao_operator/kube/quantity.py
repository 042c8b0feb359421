"""Kubernetes resource quantities (``500m``, ``1Gi``, ``1e3``) as exact numbers.

Why: the API server canonicalises quantities it stores (``0.5`` becomes ``500m``, ``1024Mi`` becomes ``1Gi``),
so a diff comparing strings would see drift on every pass and write forever. Comparing the exact values
(``decimal.Decimal``, never float) makes ``0.5 == 500m`` while ``1G != 1Gi``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIX = {
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
# The grammar of k8s.io/apimachinery/pkg/api/resource: a signed decimal, then a binary or decimal SI suffix or
# a decimal exponent. NB: "1E" is exa while "1E3" is an exponent; the alternation order below keeps that.
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE]?)$")


def parse_quantity(value: object) -> Decimal | None:
    """The exact value of a quantity given as str, int or float; None when it is not a quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if match is None:
        return None
    number, suffix = match.groups()
    try:
        if suffix[:1] in ("e", "E") and len(suffix) > 1:
            return Decimal(number) * (Decimal(10) ** int(suffix[1:]))
        return Decimal(number) * _SUFFIX[suffix]
    except (InvalidOperation, KeyError):
        return None


def same_quantity(a: object, b: object) -> bool:
    """True when both are quantities of exactly the same value."""
    qa, qb = parse_quantity(a), parse_quantity(b)
    return qa is not None and qb is not None and qa == qb
