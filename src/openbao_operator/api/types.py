"""Constrained scalar types shared by the models, each enforced identically in Python and the CRD.

Each constraint is a regular expression written in the common subset of Python `re` and RE2 (the API
server's engine): no lookaround, no backreferences. Python matches the whole string (`fullmatch`), as
the anchors do in RE2. The Python check raises a message that says what is allowed, instead of
pydantic's generic "should match pattern".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from .constants import ROTATION_ID_REGEX as ROTATION_ID_REGEX

PATTERN_ERROR_TYPE = "openbao_pattern"


@dataclass(frozen=True)
class Pattern:
    """Annotated metadata: the string must match `regex`; `message` explains the rule to a person."""

    regex: str
    message: str
    max_length: int | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        compiled = re.compile(self.regex)
        message, max_length = self.message, self.max_length

        def check(value: str) -> str:
            if max_length is not None and len(value) > max_length:
                raise PydanticCustomError(PATTERN_ERROR_TYPE, "must be at most {max} characters", {"max": max_length})
            if compiled.fullmatch(value) is None:
                raise PydanticCustomError(PATTERN_ERROR_TYPE, "{message}", {"message": message})
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = self.regex
        json_schema["x-message"] = self.message
        if self.max_length is not None:
            json_schema["maxLength"] = self.max_length
        return json_schema


CONTROL_CHARS = r"\x00-\x1f\x7f-\x9f"
"""C0 controls (tab and newline included), DEL and C1 controls, as a regex character-class body."""


def no_interpolation_pattern(*, forbidden: str) -> str:
    """A regex (RE2, ECMA-262 and Python read it alike) for strings without the ``forbidden`` characters
    (a character-class body) and without ``${`` or ``%{``.

    RE2 (the API server) has no lookahead, so the ``${`` / ``%{`` ban is spelled out: every maximal run of
    ``$``/``%`` is followed by a character other than ``{``, or ends the string. The admission rule below and
    the HCL writer's own guard (``render.hcl.SAFE_STRING_PATTERN``) are both made here, so they cannot drift.
    """
    return rf"^(?:[^{forbidden}$%]|[$%]+[^{forbidden}$%{{])*[$%]*$"


HCL_SAFE_REGEX = no_interpolation_pattern(forbidden=CONTROL_CHARS)
"""A string that OpenBao's HCL v1 parser reads back exactly as written between quotes.

No control characters and no `${` or `%{` (HCL v1 would start an interpolation and does not undo HCL2's
`$${` escape). A `$` or `%` followed by anything else is fine, and so are `"` and `\\`: the writer escapes
those two, and OpenBao reads them back unchanged (render/hcl.py, proven against bao). It is the writer's own
rule (render.hcl.SAFE_STRING_PATTERN), so what admission lets through can always be written.
"""

HCL_SAFE_MESSAGE = "must not contain control characters, '${' or '%{' (the value is written into config.hcl)"

HclStr = Annotated[str, Pattern(HCL_SAFE_REGEX, HCL_SAFE_MESSAGE)]
"""A user string that is written into config.hcl."""

NonEmptyHclStr = Annotated[str, StringConstraints(min_length=1), Pattern(HCL_SAFE_REGEX, HCL_SAFE_MESSAGE)]
"""Like HclStr, and required to be non-empty."""

QuotableKey = NonEmptyHclStr
"""An object key written into config.hcl: any non-empty HclStr. The writer leaves a plain identifier bare
and quotes anything else (``"kubernetes.io/namespace" = ...``), which OpenBao stores exactly as written."""

VERSION_REGEX = r"^v?[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.+-]+)?$"
OpenBaoVersion = Annotated[
    str,
    Pattern(VERSION_REGEX, "must be an OpenBao version MAJOR.MINOR.PATCH, e.g. 2.4.1 (a leading v is allowed)"),
]

IMAGE_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$"
ImageRef = Annotated[
    str,
    Pattern(IMAGE_REGEX, "must be a container image reference such as quay.io/openbao/openbao:2.4.1", 512),
]

QUANTITY_REGEX = r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$"
Quantity = Annotated[str, Pattern(QUANTITY_REGEX, "must be a Kubernetes quantity such as 10Gi or 500M", 64)]

GO_DURATION_REGEX = r"^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$"
GoDuration = Annotated[
    str, Pattern(GO_DURATION_REGEX, "must be a duration such as 720h, 90m or 1h30m (units ns, us, ms, s, m, h)", 64)
]

TTL_REGEX = r"^(?:[0-9]+|(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h|d))+)$"
Ttl = Annotated[str, Pattern(TTL_REGEX, "must be a duration such as 768h, 30m or 7d, or a number of seconds", 64)]
"""A duration as OpenBao parses its own (parseutil.ParseDurationSecond): Go units plus d, or bare seconds.
Anything else stops bao at startup ("time: invalid duration"), or fails the API request that carries it."""

SHA256_REGEX = r"^[0-9a-fA-F]{64}$"
Sha256 = Annotated[str, Pattern(SHA256_REGEX, "must be 64 hexadecimal characters (a SHA-256 digest)")]

DNS_SUBDOMAIN_REGEX = r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$"
ObjectName = Annotated[
    str,
    Pattern(
        DNS_SUBDOMAIN_REGEX,
        "must be a Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending "
        "with a letter or digit",
        253,
    ),
]

DNS_LABEL_REGEX = r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$"
DnsLabel = Annotated[
    str,
    Pattern(
        DNS_LABEL_REGEX,
        "must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit",
        63,
    ),
]

HOSTNAME_REGEX = r"^(?:\*\.)?[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$"
Hostname = Annotated[
    str,
    Pattern(HOSTNAME_REGEX, "must be a lower-case DNS name such as bao.example.com (a leading '*.' is allowed)", 253),
]

ROTATION_ID_MESSAGE = "must be 1-20 lower-case letters, digits or '-', starting and ending with a letter or digit"
RotationId = Annotated[str, Pattern(ROTATION_ID_REGEX, ROTATION_ID_MESSAGE, 20)]

HTTP_PATH_REGEX = r"^/[^\x00-\x1f\x7f\s\"\\]*$"
HttpPath = Annotated[str, Pattern(HTTP_PATH_REGEX, "must be an absolute URL path starting with '/'", 1024)]


@dataclass(frozen=True)
class EmptyIsUnset:
    """Annotated metadata for an optional field: an empty string means the field is not set.

    Why: the reference operator's CRD admits ``""`` for these fields and its code treats it as "not set"
    (``if x != ""``), so manifests carry it. Here ``""`` parses as None (the default then applies), and the
    CRD schema admits ``""`` besides what the type allows (no minLength, an optional pattern, ``""`` in an
    enum). CEL rules that ask ``has(self.x)`` of such a field must also ask ``self.x != ''``.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_wrap_validator_function(
            lambda value, inner: None if value == "" else inner(value), handler(source)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        for option in json_schema.get("anyOf", [json_schema]):
            if option.get("type") != "string":
                continue
            option.pop("minLength", None)
            if "pattern" in option:
                option["pattern"] = "^(?:" + option["pattern"].removeprefix("^").removesuffix("$") + ")?$"
            if "enum" in option and "" not in option["enum"]:
                option["enum"] = ["", *option["enum"]]
            if "const" in option:
                option["enum"] = ["", option.pop("const")]
        return json_schema


EMPTY_IS_UNSET = EmptyIsUnset()
