"""Errors of the API server, translated once, at the client boundary, into what they mean.

Why: callers (the controller, the runtime) must branch on meaning ("someone else owns this field",
"the object is gone", "try again later"), not on HTTP codes or lightkube/httpx2 exception types. Every
request made by :mod:`openbao_operator.kube.client` goes through :func:`translate`, so no other package
ever sees an ``httpx2`` or ``lightkube`` exception.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx2


@dataclass(frozen=True)
class Cause:
    """One cause from a Status' ``details.causes``: which field, why, and the server's words."""

    field: str
    reason: str
    message: str


class KubeError(Exception):
    """Any failure talking to the API server; ``code`` is the HTTP status (0 when none was received)."""

    def __init__(
        self,
        message: str,
        *,
        code: int = 0,
        reason: str = "",
        causes: tuple[Cause, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.reason = reason
        self.causes = causes
        self.retry_after = retry_after

    def __str__(self) -> str:
        head = f"{self.code} {self.reason}: {self.message}" if self.code else self.message
        if self.causes:
            return head + " [" + "; ".join(f"{c.field}: {c.message}" for c in self.causes) + "]"
        return head


class NotFound(KubeError):  # noqa: N818 - named by meaning, as callers read them
    """404: the object (or its namespace, or its kind) does not exist."""

    @property
    def api_missing(self) -> bool:
        """The kind itself is not served (its CRD is absent): the API server answered with its plain-text
        "404 page not found" instead of a Status with reason NotFound, which it sends for a missing object."""
        return self.reason != "NotFound"


class Conflict(KubeError):  # noqa: N818 - named by meaning, as callers read them
    """409 other than AlreadyExists: a stale resourceVersion, or a field owned by another field manager.

    For server-side apply conflicts, ``causes`` names each contested field and its manager.
    """


class AlreadyExists(KubeError):  # noqa: N818 - named by meaning, as callers read them
    """409 AlreadyExists: a create found an object of that name."""


class Gone(KubeError):  # noqa: N818 - named by meaning, as callers read them
    """410: the resourceVersion is too old (compacted); a watch must relist."""


class Forbidden(KubeError):  # noqa: N818 - named by meaning, as callers read them
    """403 (RBAC) or 401 (bad credentials): retrying without a change elsewhere does not help."""


class Invalid(KubeError):  # noqa: N818 - named by meaning, as callers read them
    """422 Invalid or 400 BadRequest: the object was refused; ``causes`` carry the field paths."""

    @property
    def fields(self) -> tuple[str, ...]:
        """The field paths the API server named, e.g. ``spec.replicas``."""
        return tuple(c.field for c in self.causes if c.field)


class Transient(KubeError):  # noqa: N818 - named by meaning, as callers read them
    """429, 5xx, timeouts and connection failures: retry later (``retry_after`` when the server said)."""


class Undecodable(KubeError):  # noqa: N818 - named by meaning, as callers read them
    """A response (or one object in it) that cannot be decoded: malformed, or nested too deeply for Python.

    Retrying does not help until the object changes; the caller reports it and carries on without it.
    """


_TYPED_PATCH_FAILURE = "failed to create typed patch object"

_BY_CODE: dict[int, type[KubeError]] = {
    400: Invalid,
    401: Forbidden,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
}


def from_status(status: dict[str, Any], *, retry_after_header: str | None = None) -> KubeError:
    """The domain error for a ``meta/v1`` Status body (an HTTP error or a watch ERROR event)."""
    code = int(status.get("code") or 0)
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or reason or f"HTTP {code}")
    details = status.get("details") or {}
    causes = tuple(
        Cause(field=str(c.get("field") or ""), reason=str(c.get("reason") or ""), message=str(c.get("message") or ""))
        for c in details.get("causes") or ()
    )
    retry_after: float | None = None
    if details.get("retryAfterSeconds"):
        retry_after = float(details["retryAfterSeconds"])
    elif retry_after_header and retry_after_header.isdigit():
        retry_after = float(retry_after_header)
    if reason == "AlreadyExists":
        cls: type[KubeError] = AlreadyExists
    elif reason in ("Expired", "Gone"):
        cls = Gone
    elif code == 500 and _TYPED_PATCH_FAILURE in message:
        # NB: the API server answers an apply body that does not fit the schema with 500, not 422. It is the
        # request that is wrong, so retrying would loop forever: report it as Invalid.
        cls = Invalid
    elif code == 429 or code >= 500:
        cls = Transient
    else:
        cls = _BY_CODE.get(code, KubeError)
    return cls(message, code=code, reason=reason, causes=causes, retry_after=retry_after)


def _status_of(response: httpx2.Response) -> dict[str, Any]:
    """The Status body of an error response, or a synthetic one when the body is not a Status."""
    try:
        body = json.loads(response.content or b"null")
    except (ValueError, RecursionError):
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        body.setdefault("code", response.status_code)
        return body
    text = response.content[:200].decode(errors="replace").strip()
    return {"code": response.status_code, "reason": response.reason_phrase, "message": text or response.reason_phrase}


def translate(exc: BaseException) -> KubeError:
    """Map an ``httpx2`` (or lightkube ``ApiError``, which is an ``HTTPStatusError``) exception to a KubeError."""
    if isinstance(exc, KubeError):
        return exc
    if isinstance(exc, httpx2.HTTPStatusError):
        response = exc.response
        try:
            response.content  # noqa: B018 - a streamed response must be read before its body is used
        except httpx2.StreamError:
            return from_status({"code": response.status_code, "reason": response.reason_phrase})
        return from_status(_status_of(response), retry_after_header=response.headers.get("Retry-After"))
    if isinstance(exc, httpx2.TimeoutException):
        return Transient(f"timeout talking to the API server: {exc!r}")
    if isinstance(exc, httpx2.TransportError):
        return Transient(f"cannot reach the API server: {exc!r}")
    return KubeError(f"unexpected error talking to the API server: {exc!r}")
