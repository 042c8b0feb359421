"""API failures become one domain error each; callers never see httpx2 or lightkube exceptions."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from openbao_operator import kube
from openbao_operator.kube.errors import from_status, translate


def _status(code: int, reason: str, **details: Any) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason,
            "message": f"{reason} happened", "details": details}  # fmt: skip


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (404, "NotFound", kube.NotFound),
        (409, "Conflict", kube.Conflict),
        (409, "AlreadyExists", kube.AlreadyExists),
        (410, "Expired", kube.Gone),
        (410, "Gone", kube.Gone),
        (403, "Forbidden", kube.Forbidden),
        (401, "Unauthorized", kube.Forbidden),
        (422, "Invalid", kube.Invalid),
        (400, "BadRequest", kube.Invalid),
        (429, "TooManyRequests", kube.Transient),
        (500, "InternalError", kube.Transient),
        (503, "ServiceUnavailable", kube.Transient),
        (504, "Timeout", kube.Transient),
        (418, "Teapot", kube.KubeError),
    ],
)
def test_status_codes(code: int, reason: str, expected: type[kube.KubeError]) -> None:
    err = from_status(_status(code, reason))
    assert type(err) is expected
    assert err.code == code


def test_invalid_carries_field_paths() -> None:
    causes = [{"reason": "FieldValueInvalid", "message": "must be >= 0", "field": "spec.replicas"}]
    err = from_status(_status(422, "Invalid", causes=causes))
    assert isinstance(err, kube.Invalid)
    assert err.fields == ("spec.replicas",)
    assert "spec.replicas: must be >= 0" in str(err)


def test_schema_violating_apply_is_invalid_not_transient() -> None:
    status = _status(500, "", causes=[])
    status["message"] = "failed to create typed patch object (ns/a; /v1, Kind=ConfigMap): .spec: field not declared"
    assert isinstance(from_status(status), kube.Invalid)


def test_retry_after_from_details_or_header() -> None:
    assert from_status(_status(429, "TooManyRequests", retryAfterSeconds=3)).retry_after == 3.0
    request = httpx2.Request("GET", "https://api/x")
    body = json.dumps(_status(429, "TooManyRequests")).encode()
    response = httpx2.Response(429, content=body, headers={"Retry-After": "7"}, request=request)
    err = translate(httpx2.HTTPStatusError("x", request=request, response=response))
    assert isinstance(err, kube.Transient)
    assert err.retry_after == 7.0


def test_non_status_bodies_and_transport_failures() -> None:
    request = httpx2.Request("GET", "https://api/x")
    response = httpx2.Response(502, content=b"<html>bad gateway</html>", request=request)
    err = translate(httpx2.HTTPStatusError("x", request=request, response=response))
    assert isinstance(err, kube.Transient)
    assert "bad gateway" in str(err)
    assert isinstance(translate(httpx2.ConnectError("refused", request=request)), kube.Transient)
    assert isinstance(translate(httpx2.ReadTimeout("slow", request=request)), kube.Transient)
    assert type(translate(RuntimeError("?"))) is kube.KubeError


def test_a_missing_kind_is_told_apart_from_a_missing_object() -> None:
    """A CRD that is not installed answers the plain-text "404 page not found"; a missing object a Status."""
    request = httpx2.Request("GET", "https://api/apis/gateway.networking.k8s.io/v1/namespaces/ns/gateways/gw")
    plain = httpx2.Response(404, content=b"404 page not found\n", request=request)
    kind_missing = translate(httpx2.HTTPStatusError("x", request=request, response=plain))
    assert isinstance(kind_missing, kube.NotFound)
    assert kind_missing.api_missing
    object_missing = from_status(_status(404, "NotFound"))
    assert isinstance(object_missing, kube.NotFound)
    assert not object_missing.api_missing
