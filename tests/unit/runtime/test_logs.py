"""Secrets never reach a log line: redaction by key name at any depth, and of tokens and keys in text."""

from __future__ import annotations

import base64
import io
import json
import logging
import random
import string
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


# OpenBao's own token formats (sdk/helper/consts: "s.", "b.", "r."; the "hv?." forms are what Vault-derived
# tooling prints): 24 base62 characters, optionally ".<namespace id>"; batch tokens are long base64url.
SERVICE = "s.Xk3vT9pQ2mLr8WzA1bC4dE5f"
SERVICE_NS = "s.Xk3vT9pQ2mLr8WzA1bC4dE5f.aB3cD"
HVS = "hvs.CAESIJ7x2mQ9vKpL3rT8wZy4AbCdEfGhIjKlMnOp"
RECOVERY = "r.Qw8Er7Ty6Ui5Op4As3Df2Gh1J"
HVR = "hvr.Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk"
BATCH = "b.AAAAAQKx9vT3pQ2mLr8WzA1bC4dE5fGh6Ij7Kl8Mn9Op0Qr1St2Uv3Wx4Yz5Ab6Cd7Ef8Gh9Ij0Kl1Mn2Op3Qr4St5Uv6Wx7Yz8-_Ab"
HVB = "hvb.AAAAAQKx9vT3pQ2mLr8WzA1bC4dE5fGh6Ij7Kl8Mn9Op0Qr1St2Uv3Wx4Yz5Ab6Cd7Ef8Gh9Ij0Kl1Mn2Op3Qr4St5Uv6Wx7Yz8"
KEY_B64 = "q3Jv8xN2pL0sT7wYbE4kRz1mC9dF6gH5jA8uQ2eW1iO="  # 32 bytes, standard base64 (the Secret's data form)
KEY_B64_URL = "q3Jv8xN2pL0sT7wYbE4kRz1mC9dF6gH5jA8uQ2eW1i-_"  # url-safe, unpadded


@pytest.mark.parametrize("secret", [SERVICE, SERVICE_NS, HVS, RECOVERY, HVR, BATCH, HVB, KEY_B64, KEY_B64_URL])
def test_openbao_tokens_and_raw_keys_in_text_are_redacted(secret: str) -> None:
    out = redact_value(f'bao said: root_token={secret}, then "{secret}" and ({secret}) end')
    assert secret not in out
    assert secret[4:-4] not in out, "no long fragment of the secret survives"
    assert out.startswith("bao said: root_token=")
    assert out.endswith(" end")


@pytest.mark.parametrize(
    "text",
    [
        # sha256 digests (config-hash annotations, image digests) are not secrets and must stay readable
        "openbao.org/config-hash: 3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea",
        "quay.io/openbao/openbao@sha256:6b3a0d8e4f1c2a9b7e5d3c1f0a8b6c4d2e0f9a7b5c3d1e8f6a4b2c0d9e7f5a3b",
        # object names, uids, paths and resource versions
        "applied StatefulSet t-0123456789/s.very-long-cluster-name-with-many-parts-x",
        "uid 4b1f6a2e-9c3d-4e8f-a1b2-c3d4e5f60718 resourceVersion 123456789012",
        "GET /apis/openbao.org/v1alpha1/namespaces/ns/openbaoclusters/b.some-cluster-name-long-enough-to-matter",
        "/api/v1/namespaces/default/configmaps/kube-root-ca.crt?watch=true&resourceVersion=4711",
        "rolling out pod bao-2: standbys first (s.leader-election-and-rollout-state)",
        "reason=ImageVerificationFailed note=RolloutBlockedByUnreadyStandby",
    ],
)
def test_ordinary_log_content_is_not_redacted(text: str) -> None:
    assert redact_value(text) == text


def test_every_random_key_and_token_shape_is_redacted() -> None:
    """Seeded CSPRNG-like material in every encoding the operator or OpenBao prints: none slips through."""
    rng = random.Random(20261202)
    base62 = string.ascii_letters + string.digits
    for _ in range(500):
        key = rng.randbytes(32)
        for text in (
            base64.b64encode(key).decode(),
            base64.urlsafe_b64encode(key).decode().rstrip("="),
            base64.b64encode(rng.randbytes(rng.choice([30, 48, 64, 96]))).decode(),
            rng.choice(["s.", "r.", "hvs.", "hvr."]) + "".join(rng.choice(base62) for _ in range(24)),
            rng.choice(["b.", "hvb."]) + base64.urlsafe_b64encode(rng.randbytes(rng.randint(60, 160))).decode(),
        ):
            assert text not in redact_value(f"x {text} y"), text
