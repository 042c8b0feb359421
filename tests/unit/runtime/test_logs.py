"""Secrets never reach a log line: redaction by key name at any depth, and of tokens and keys in text."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
import structlog

from openbao_operator.runtime import configure_logging, get_logger, reconcile_context, redact_value
from openbao_operator.runtime.logs import REDACTED, is_secret_key

JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlX2hlcmU"
PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----"


@pytest.mark.parametrize(
    "name",
    ["token", "unseal_key", "unsealKey", "stringData", "data", "password", "client-secret", "Authorization",
     "privateKey", "api.key", "root_token"],
)  # fmt: skip
def test_secret_looking_keys(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name", ["metadata", "name", "namespace", "event", "kind", "resourceVersion", "secret_name", "reason"]
)
def test_innocent_keys(name: str) -> None:
    assert not is_secret_key(name)


def test_nested_values_and_text_are_redacted() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bao-unseal-key"}, "data": {"k": "c2VjcmV0"}}
    out: Any = redact_value({"objects": [secret], "header": f"Bearer {JWT}", "note": f"saw {JWT} and {PEM} end"})
    assert out["objects"][0]["data"] == REDACTED
    assert out["objects"][0]["metadata"]["name"] == "bao-unseal-key"
    assert out["header"] == REDACTED
    assert JWT not in out["note"]
    assert "MHcCAQEEIB" not in out["note"]
    assert out["note"].endswith("end")


def _lines(stream: io.StringIO, *loggers: str) -> list[dict[str, Any]]:
    """Our lines only: the root handler also receives stray records (e.g. asyncio's, from garbage
    collection of earlier tests' objects), which must not make these tests order-dependent."""
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if line.get("logger") in loggers]


@pytest.fixture
def json_logs() -> Any:
    stream = io.StringIO()
    configure_logging(json=True, level="DEBUG", stream=stream)
    yield stream
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def test_json_lines_carry_reconcile_context_and_no_secrets(json_logs: io.StringIO) -> None:
    log = get_logger("test")
    with reconcile_context(controller="c", namespace="ns", name="bao", new_id=lambda: "r-1") as rid:
        assert rid == "r-1"
        log.info("applied", unseal_key="AAAA", objects={"data": {"x": "y"}}, count=3)
        logging.getLogger("httpx2.sub").warning("sent Authorization: Bearer %s", JWT)
    log.info("outside")
    inside, stdlib, outside = _lines(json_logs, "test", "httpx2.sub")
    assert inside["controller"] == "c"
    assert inside["namespace"] == "ns"
    assert inside["name"] == "bao"
    assert inside["reconcile_id"] == "r-1"
    assert inside["unseal_key"] == REDACTED
    assert inside["objects"] == {"data": REDACTED}
    assert inside["count"] == 3
    assert inside["level"] == "info"
    assert stdlib["reconcile_id"] == "r-1", "stdlib records get the same context"
    assert JWT not in json.dumps(stdlib)
    assert "reconcile_id" not in outside


def test_tracebacks_are_redacted(json_logs: io.StringIO) -> None:
    log = get_logger("test")
    try:
        raise RuntimeError(f"token was {JWT}")
    except RuntimeError:
        log.exception("boom")
    (line,) = _lines(json_logs, "test")
    assert "RuntimeError" in line["exception"]
    assert JWT not in line["exception"]
