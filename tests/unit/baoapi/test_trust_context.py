"""The TLS context a request to a node trusts: built once per trust bundle, not per request (issue 20)."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

from openbao_operator.baoapi import client
from openbao_operator.pki.issue import issue_ca
from openbao_operator.pki.material import generate_p256_key
from openbao_operator.pki.policy import DEFAULT_POLICY


def _bundle(serial: int) -> str:
    ca = issue_ca(
        cluster_name="bao",
        now=datetime(2026, 1, 1, tzinfo=UTC),
        new_key=generate_p256_key,
        new_serial=lambda: serial,
        policy=DEFAULT_POLICY,
    )
    return ca.cert_pem.decode()


def test_one_context_per_bundle_verifying_with_it() -> None:
    first, second = _bundle(1), _bundle(2)
    context = client.trust_context(first)
    assert client.trust_context(first) is context
    assert client.trust_context(second) is not context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert len(context.get_ca_certs()) == 1


def test_bounded() -> None:
    bundles = [_bundle(10 + i) for i in range(client._CONTEXTS_LIMIT + 1)]
    contexts = [client.trust_context(b) for b in bundles]
    assert len(client._CONTEXTS) == client._CONTEXTS_LIMIT
    assert client.trust_context(bundles[-1]) is contexts[-1]
    assert client.trust_context(bundles[0]) is not contexts[0]  # the least recently used was dropped
