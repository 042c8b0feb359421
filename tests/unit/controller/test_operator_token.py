"""The operator's own OpenBao token (controller/operator_token.py): one login per cluster while it is fresh.

The TokenRequest and the login are injected (a recorded call each); the clock is injected. Asserted: what is
asked for (its own ServiceAccount, the audience, 600 s), that a held token is used until a minute before its
TTL, that a failed login is remembered for RETRY_SECONDS and reported once, that a refused token is
forgotten, that a cluster recreated under the same name logs in again, and that no token shows in a repr.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from openbao_operator.api import parse_cluster
from openbao_operator.baoapi import BaoApiError, BaoUnavailable, Login, Sensitive
from openbao_operator.controller.operator_token import (
    RENEW_MARGIN,
    RETRY_SECONDS,
    OperatorToken,
    OperatorTokens,
    audience,
    login_pod,
    oidc_enabled,
    refused,
)
from openbao_operator.kube.oidc import ServiceAccountToken, TokenRequestError
from tests.unit.render.config_cases import manifest


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Kube:
    """The TokenRequest: records what was asked; a JWT per call."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.asked: list[dict[str, Any]] = []
        self.fail = fail

    async def request_token(self, kube: object, **kw: Any) -> ServiceAccountToken:
        self.asked.append(kw)
        if self.fail is not None:
            raise self.fail
        return ServiceAccountToken(jwt=f"jwt-{len(self.asked)}", expires_at=None)


class Bao:
    """The login: records (mount, role, jwt); a token per call living ``ttl`` seconds."""

    def __init__(self, ttl: int = 3600, fail: Exception | None = None) -> None:
        self.logins: list[tuple[str, str, str]] = []
        self.ttl, self.fail = ttl, fail

    async def jwt_login(self, *, mount: str, role: str, jwt: Sensitive) -> Login:
        self.logins.append((mount, role, jwt.reveal()))
        if self.fail is not None:
            raise self.fail
        return Login(token=Sensitive(f"bao-token-{len(self.logins)}"), ttl_seconds=self.ttl)


KEY = ("ns", "bao", "uid-1")


def tokens(kube: Kube, clock: Clock) -> OperatorTokens:
    return OperatorTokens(None, monotonic=clock, request_token=kube.request_token)  # type: ignore[arg-type]


def get(t: OperatorTokens, bao: Bao, key: tuple[str, str, str] = KEY) -> OperatorToken:
    return asyncio.run(t.get(key, client=bao, namespace="op-ns", service_account="op-sa", audience="aud"))


def test_one_login_asks_for_its_own_serviceaccount_token_and_is_held_until_a_minute_before_the_ttl() -> None:
    kube, bao, clock = Kube(), Bao(ttl=3600), Clock()
    t = tokens(kube, clock)
    first = get(t, bao)
    assert first == OperatorToken(Sensitive("bao-token-1"), "operator")
    assert kube.asked == [
        {"namespace": "op-ns", "service_account": "op-sa", "audience": "aud", "expiration_seconds": 600}
    ]
    assert bao.logins == [("jwt-operator", "openbao-operator", "jwt-1")]
    clock.now += 3600 - RENEW_MARGIN - 1
    assert get(t, bao).token == Sensitive("bao-token-1")
    assert len(bao.logins) == 1
    clock.now += 1
    assert get(t, bao).token == Sensitive("bao-token-2")
    assert len(kube.asked) == 2


def test_a_short_ttl_is_used_for_half_of_it() -> None:
    kube, bao, clock = Kube(), Bao(ttl=60), Clock()
    t = tokens(kube, clock)
    get(t, bao)
    clock.now += 29
    get(t, bao)
    assert len(bao.logins) == 1
    clock.now += 1
    get(t, bao)
    assert len(bao.logins) == 2


def test_each_cluster_and_each_incarnation_has_its_own_token() -> None:
    kube, bao, clock = Kube(), Bao(), Clock()
    t = tokens(kube, clock)
    assert get(t, bao, ("ns", "a", "u1")).token == Sensitive("bao-token-1")
    assert get(t, bao, ("ns", "b", "u2")).token == Sensitive("bao-token-2")
    assert get(t, bao, ("ns", "a", "u3")).token == Sensitive("bao-token-3")  # recreated under the same name
    assert get(t, bao, ("ns", "a", "u1")).token == Sensitive("bao-token-1")


def test_a_refused_token_is_forgotten_and_the_next_pass_logs_in_again() -> None:
    kube, bao, clock = Kube(), Bao(), Clock()
    t = tokens(kube, clock)
    get(t, bao)
    t.forget(KEY)
    assert get(t, bao).token == Sensitive("bao-token-2")
    assert refused(BaoApiError("step-down", 403, ["permission denied"]))
    assert not refused(BaoApiError("step-down", 500, ["x"]))
    assert not refused(BaoUnavailable("step-down: ConnectError"))


@pytest.mark.parametrize(
    ("kube_fail", "bao_fail"),
    [
        (TokenRequestError("a token of ServiceAccount op-ns/op-sa: forbidden"), None),
        (None, BaoApiError("JWT login (role openbao-operator)", 400, ['role "openbao-operator" not found'])),
        (None, BaoUnavailable("JWT login: ConnectError")),
    ],
    ids=["token-request", "login-refused", "node-down"],
)
def test_a_failed_login_is_reported_once_and_tried_again_after_the_retry_delay(
    kube_fail: Exception | None, bao_fail: Exception | None
) -> None:
    kube, bao, clock = Kube(fail=kube_fail), Bao(fail=bao_fail), Clock()
    t = tokens(kube, clock)
    first = get(t, bao)
    assert first.token is None
    assert first.source == "operator"
    assert first.failure is not None
    assert "auth/jwt-operator" in first.failure
    assert "jwt-1" not in first.failure
    clock.now += RETRY_SECONDS - 1
    again = get(t, bao)
    assert again == OperatorToken(None, "operator")  # remembered, not reported again
    assert len(kube.asked) == 1
    clock.now += 1
    assert get(t, bao).failure is not None
    assert len(kube.asked) == 2


def test_no_token_shows_in_a_repr() -> None:
    kube, bao, clock = Kube(), Bao(), Clock()
    t = tokens(kube, clock)
    got = get(t, bao)
    text = f"{t!r} {got!r} {got} {ServiceAccountToken(jwt='jwt-secret', expires_at=None)!r}"
    assert "bao-token-1" not in text
    assert "jwt-secret" not in text


def test_describe_says_where_the_token_came_from() -> None:
    assert OperatorToken(Sensitive("t"), "operator").describe() == "with the operator's own token (JWT login)"
    assert OperatorToken(Sensitive("t"), "root-token").describe() == "with the stored root token"
    assert OperatorToken(None, "operator").describe() == "the operator could not log in to OpenBao"
    assert OperatorToken(None, "none").describe() == "no stored token"


def test_the_operator_identity_only_under_self_init_oidc_with_its_audience() -> None:
    plain = parse_cluster(manifest(name="bao", namespace="ns"))
    request = {"name": "r", "operation": "read", "path": "sys/health"}
    self_init = parse_cluster(manifest(name="bao", namespace="ns", selfInit={"enabled": True, "requests": [request]}))
    oidc = parse_cluster(manifest(name="bao", namespace="ns", selfInit={"enabled": True, "oidc": {"enabled": True}}))
    custom = parse_cluster(
        manifest(name="bao", namespace="ns", selfInit={"enabled": True, "oidc": {"enabled": True, "audience": "x"}})
    )
    assert [oidc_enabled(c) for c in (plain, self_init, oidc, custom)] == [False, False, True, True]
    assert audience(oidc) == "openbao-internal"
    assert audience(custom) == "x"


def _pod(i: int, *, active: bool = False, ready: bool = True, terminating: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"bao-{i}", "labels": {"openbao-active": "true" if active else "false"}}
    if terminating:
        meta["deletionTimestamp"] = "2026-12-03T10:00:00Z"
    return {
        "metadata": meta,
        "status": {
            "phase": "Running",
            "podIP": f"10.0.0.{i + 1}",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def test_the_login_goes_to_the_active_pod_else_any_ready_one() -> None:
    assert login_pod([_pod(0), _pod(1, active=True), _pod(2)])["metadata"]["name"] == "bao-1"  # type: ignore[index]
    chosen = login_pod([_pod(0, ready=False), _pod(1, terminating=True, active=True), _pod(2)])
    assert chosen is not None
    assert chosen["metadata"]["name"] == "bao-2"
    assert login_pod([_pod(0, ready=False)]) is None
