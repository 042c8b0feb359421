"""The scale-down decision (controller/scaling.prepare_scale_down) with an injected OpenBao client per pod.

Every branch is asserted, not only the common one: a leaving leader is stepped down first (and the
StatefulSet held until it is no longer active), the leaving raft peers are removed through a staying
leader before the shrink, and any failure or missing fact holds the StatefulSet where it is.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from openbao_operator.api import parse_cluster
from openbao_operator.baoapi import BaoApiError, BaoUnavailable, RaftPeer, Sensitive, Target
from openbao_operator.controller.scaling import ScaleDown, prepare_scale_down
from tests.unit.render.config_cases import manifest

CLUSTER = parse_cluster(manifest(name="bao", namespace="ns", replicas=3))
TOKEN = Sensitive("root-token-value")


def sts(replicas: int) -> dict[str, Any]:
    return {"metadata": {"name": "bao"}, "spec": {"replicas": replicas}}


def pod(i: int, *, active: bool = False, ready: bool = True) -> dict[str, Any]:
    return {
        "metadata": {"name": f"bao-{i}", "labels": {"openbao-active": "true" if active else "false"}},
        "status": {
            "phase": "Running",
            "podIP": f"10.0.0.{i + 1}",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def url(i: int) -> str:
    return f"https://10.0.0.{i + 1}:8200"


class FakeBao:
    """Answers per pod URL; records every call as (url, operation, argument)."""

    def __init__(self, peers: list[str] | None = None, fail: dict[str, Exception] | None = None) -> None:
        self.peers = list(peers or [])
        self.fail = fail or {}
        self.calls: list[tuple[str, str, str]] = []

    def connect(self, target: Target) -> FakeBao.Client:
        assert target.server_name is not None, "TLS is on: the pod's DNS name verifies its certificate"
        return FakeBao.Client(self, target.base_url)

    class Client:
        def __init__(self, fake: FakeBao, url: str) -> None:
            self.fake, self.url = fake, url

        def _call(self, op: str, token: Sensitive, arg: str = "") -> None:
            assert token == TOKEN
            self.fake.calls.append((self.url, op, arg))
            if op in self.fake.fail:
                raise self.fake.fail[op]

        async def step_down(self, token: Sensitive) -> None:
            self._call("step-down", token)

        async def raft_peers(self, token: Sensitive) -> list[RaftPeer]:
            self._call("peers", token)
            return [RaftPeer(node_id=p, address=f"{p}:8201", leader=False, voter=True) for p in self.fake.peers]

        async def remove_peer(self, token: Sensitive, node_id: str) -> None:
            self._call("remove", token, node_id)
            self.fake.peers.remove(node_id)


def decide(fake: FakeBao, live: dict[str, Any] | None, pods: list[dict[str, Any]], *, desired: int = 3,
           token: Sensitive | None = TOKEN) -> ScaleDown:  # fmt: skip
    return asyncio.run(
        prepare_scale_down(
            CLUSTER,
            live,
            pods,
            desired=desired,
            namespace="ns",
            ca_pem="CA",
            token=token,
            connect=fake.connect,  # type: ignore[arg-type]  # the three calls scaling makes, nothing else
        )
    )


FIVE = [pod(0), pod(1, active=True), pod(2), pod(3), pod(4)]
PEERS = [f"bao-{i}" for i in range(5)]


@pytest.mark.parametrize(("live", "desired"), [(None, 3), (sts(3), 3), (sts(3), 5)], ids=["no-sts", "same", "up"])
def test_nothing_to_do_unless_the_live_statefulset_shrinks(live: dict[str, Any] | None, desired: int) -> None:
    fake = FakeBao(PEERS)
    assert decide(fake, live, FIVE, desired=desired) == ScaleDown()
    assert fake.calls == []


def test_a_leaving_leader_is_stepped_down_first_and_the_statefulset_held() -> None:
    fake = FakeBao(PEERS)
    pods = [pod(0), pod(1), pod(2), pod(3), pod(4, active=True)]
    got = decide(fake, sts(5), pods)
    assert fake.calls == [(url(4), "step-down", "")], "only the leaving leader is asked, and only to step down"
    assert got.hold_at == 5
    assert got.event is not None
    assert got.event[0] == "SteppedDown"
    assert "bao-4" in got.event[1]
    assert got.retry_after == 2.0


def test_a_failed_step_down_holds_and_retries_without_an_event() -> None:
    fake = FakeBao(PEERS, fail={"step-down": BaoUnavailable("connection refused")})
    got = decide(fake, sts(5), [pod(0), pod(1), pod(2), pod(3, active=True), pod(4)])
    assert got == ScaleDown(hold_at=5, retry_after=5.0)


def test_leaving_peers_are_removed_through_the_staying_leader_then_the_shrink_proceeds() -> None:
    fake = FakeBao(PEERS)
    got = decide(fake, sts(5), FIVE)
    assert fake.calls == [(url(1), "peers", ""), (url(1), "remove", "bao-3"), (url(1), "remove", "bao-4")]
    assert got.hold_at is None, "the StatefulSet may shrink in this pass"
    assert got.event == ("RaftPeersRemoved", "removed raft peer(s) bao-3, bao-4 before scaling down from 5 to 3")
    assert fake.peers == ["bao-0", "bao-1", "bao-2"]


def test_peers_already_removed_let_the_shrink_proceed() -> None:
    fake = FakeBao(["bao-0", "bao-1", "bao-2"])
    assert decide(fake, sts(5), FIVE) == ScaleDown()
    assert fake.calls == [(url(1), "peers", "")]


@pytest.mark.parametrize(
    "pods",
    [
        [pod(0), pod(1), pod(2), pod(3), pod(4)],  # no leader at all (an election is running)
        [pod(0), pod(1, active=True, ready=False), pod(2), pod(3), pod(4)],  # the staying leader is not Ready
    ],
    ids=["no-leader", "leader-not-ready"],
)
def test_without_a_ready_staying_leader_the_statefulset_is_held(pods: list[dict[str, Any]]) -> None:
    fake = FakeBao(PEERS)
    assert decide(fake, sts(5), pods) == ScaleDown(hold_at=5, retry_after=2.0)
    assert fake.calls == []


@pytest.mark.parametrize("op", ["peers", "remove"])
def test_a_failed_peer_removal_holds_the_statefulset(op: str) -> None:
    fake = FakeBao(PEERS, fail={op: BaoApiError("raft", 500, ["internal error"])})
    assert decide(fake, sts(5), FIVE) == ScaleDown(hold_at=5, retry_after=5.0)


def test_without_a_token_nothing_is_asked_and_the_statefulset_shrinks() -> None:
    # selfInit: no stored root token; the leaving leader's graceful shutdown hands leadership over
    fake = FakeBao(PEERS)
    assert decide(fake, sts(5), [pod(0), pod(1), pod(2), pod(3, active=True), pod(4)], token=None) == ScaleDown()
    assert decide(fake, sts(5), FIVE, token=None) == ScaleDown()
    assert fake.calls == []


def test_a_token_openbao_refuses_is_said_so_that_a_held_operator_token_is_forgotten() -> None:
    denied = BaoApiError("step-down", 403, ["permission denied"])
    fake = FakeBao(PEERS, fail={"step-down": denied})
    leaving_leader = [pod(0), pod(1), pod(2), pod(3, active=True), pod(4)]
    assert decide(fake, sts(5), leaving_leader) == ScaleDown(hold_at=5, retry_after=5.0, token_refused=True)
    fake = FakeBao(PEERS, fail={"peers": BaoApiError("raft peers", 403, ["permission denied"])})
    assert decide(fake, sts(5), FIVE) == ScaleDown(hold_at=5, retry_after=5.0, token_refused=True)
    fake = FakeBao(PEERS, fail={"peers": BaoUnavailable("raft peers: ConnectError")})
    assert decide(fake, sts(5), FIVE) == ScaleDown(hold_at=5, retry_after=5.0, token_refused=False)
