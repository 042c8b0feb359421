"""Turn model validation failures into field errors a person can act on: `spec.tls.acme: <what to do>`.

The CLI prints the first as one line; the operator puts them into the ConfigurationValid condition.
The path uses the manifest's JSON names, the same path the API server names for the same mistake.

Every piece of the input that a message echoes (a value, a map key in a path) goes through :func:`brief`:
an error about a 100 kB string, or about a list that YAML aliases expand to millions of items, must stay
one short line and cost no more than reading its first few elements.
"""

from __future__ import annotations

import re
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .base import RULE_ERROR_TYPE

ECHO_LIMIT = 80
"""Characters of the input an error message may quote."""

_REPR = reprlib.Repr()  # NB: keyword arguments to Repr() need Python 3.12
_REPR.maxlevel = 2
_REPR.maxdict = _REPR.maxlist = _REPR.maxtuple = _REPR.maxset = 4
_REPR.maxstring = _REPR.maxother = ECHO_LIMIT


def brief(value: Any) -> str:
    """A short repr of ``value``: bounded in length and in the work done, whatever its size or depth."""
    text = _REPR.repr(value)
    return text if len(text) <= ECHO_LIMIT else text[: ECHO_LIMIT - 3] + "..."


# pydantic puts validator and union-member tags into `loc`; they are not part of the manifest's path.
_TAG = re.compile(r"^(?:[a-z-]+\[.*\]|str|int|float|bool|list|dict|none|json-or-python\[.*\])$")


@dataclass(frozen=True)
class FieldError:
    """One problem with the manifest, at a JSON path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidClusterError(ValueError):
    """The manifest is not a valid OpenBaoCluster; `errors` lists every problem found."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__(self.summary())

    def summary(self) -> str:
        """The first error, on one line, with a count of the others."""
        first = str(self.errors[0]) if self.errors else "invalid OpenBaoCluster"
        more = len(self.errors) - 1
        return first if more <= 0 else f"{first} (and {more} more: {', '.join(e.path for e in self.errors[1:4])})"


def _join(loc: Sequence[int | str]) -> str:
    # A bad map key comes as (..., "<key>", "[key]"): the path is the map, the key goes into the message.
    if len(loc) >= 2 and loc[-1] == "[key]":
        loc = loc[:-2]
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not _TAG.match(part):
            part = part if len(part) <= ECHO_LIMIT else brief(part)  # a user's map key can be any length
            path += f".{part}" if path else part
    return path


def _message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"unsupported value {brief(error.get('input'))}: must be one of {expected}"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{error['msg'].lower()} (got {brief(error.get('input'))})"
    message: str = error["msg"]
    message = message.removeprefix("Value error, ")
    # NB: a validator's own message may quote the input; keep the line short whatever it quoted
    return message if len(message) <= 4 * ECHO_LIMIT else message[: 4 * ECHO_LIMIT - 3] + "..."


def field_errors(exc: ValidationError) -> list[FieldError]:
    """The field errors of a pydantic ValidationError, one per path, in document order."""
    seen: dict[str, FieldError] = {}
    for error in exc.errors(include_url=False):
        path = _join(error["loc"])
        message = _message(error)
        if error["loc"][-1:] == ("[key]",):
            message = f"key {brief(error['loc'][-2])} {message}"
        if error["type"] == RULE_ERROR_TYPE:
            rel = error.get("ctx", {}).get("field", "")
            if rel:
                path = f"{path}.{rel}" if path else rel
        # Unions report one error per member; the first one is the most useful.
        seen.setdefault(path, FieldError(path=path, message=message))
    return list(seen.values())
