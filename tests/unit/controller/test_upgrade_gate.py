"""The health gate after each replaced pod of an upgrade (controller/upgrade/gate.py): wait, ok or stop."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbao_operator.controller.upgrade.gate import POLL, GatePolicy, PodHealth, Verdict, decide

TARGET = "2.7.2"
POLICY = GatePolicy(timeout=timedelta(minutes=10), max_index_lag=100, crash_restarts=3)
HEALTHY = PodHealth(
    pod="bao-1",
    reachable=True,
    version="2.7.2",
    initialized=True,
    sealed=False,
    raft_joined=True,
    voter=True,
    autopilot_healthy=True,
    applied_index=1_000,
    leader_index=1_050,
)
SOON = timedelta(seconds=30)


def test_a_healthy_pod_passes() -> None:
    d = decide(health=HEALTHY, target=TARGET, elapsed=SOON, policy=POLICY)
    assert (d.verdict, d.reason, d.pending, d.requeue_after) == (Verdict.OK, "Healthy", (), None)
    # build metadata and a leading v do not make another version
    assert (
        decide(health=replace(HEALTHY, version="v2.7.2+rebuild"), target=TARGET, elapsed=SOON, policy=POLICY).verdict
        is Verdict.OK
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"reachable": False}, "Unreachable"),
        ({"initialized": False, "sealed": True}, "Uninitialized"),
        ({"sealed": True}, "Sealed"),
        ({"raft_joined": False}, "NotJoined"),
        ({"voter": False}, "NotVoter"),
        ({"voter": None}, "NotVoter"),
        ({"applied_index": 800}, "Lagging"),
        ({"applied_index": None}, "Lagging"),
        ({"autopilot_healthy": False}, "AutopilotUnhealthy"),
        ({"autopilot_healthy": None}, "AutopilotUnhealthy"),
    ],
)
def test_each_unmet_check_waits_then_stops_at_the_bound(change: dict[str, object], reason: str) -> None:
    health = replace(HEALTHY, **change)  # type: ignore[arg-type]
    d = decide(health=health, target=TARGET, elapsed=SOON, policy=POLICY)
    assert (d.verdict, d.reason) == (Verdict.WAIT, reason)
    assert d.pending[0] == reason
    assert d.requeue_after == POLL
    late = decide(health=health, target=TARGET, elapsed=POLICY.timeout, policy=POLICY)
    assert (late.verdict, late.reason) == (Verdict.STOP, "HealthTimeout")
    assert reason in late.message
    assert "bao-1" in late.message


def test_the_lag_bound_is_inclusive() -> None:
    at_bound = replace(HEALTHY, applied_index=900, leader_index=1_000)
    assert decide(health=at_bound, target=TARGET, elapsed=SOON, policy=POLICY).verdict is Verdict.OK
    past = replace(at_bound, applied_index=899)
    d = decide(health=past, target=TARGET, elapsed=SOON, policy=POLICY)
    assert d.reason == "Lagging"
    assert "101 behind" in d.message


def test_autopilot_may_be_left_out() -> None:
    policy = replace(POLICY, require_autopilot=False)
    unknown = replace(HEALTHY, autopilot_healthy=None)
    assert decide(health=unknown, target=TARGET, elapsed=SOON, policy=policy).verdict is Verdict.OK


def test_a_crash_looping_build_stops_at_once() -> None:
    broken = PodHealth(pod="bao-2", reachable=False, restarts=3)
    d = decide(health=broken, target="2.7.99-broken", elapsed=timedelta(seconds=40), policy=POLICY)
    assert (d.verdict, d.reason) == (Verdict.STOP, "CrashLooping")
    assert "bao-2" in d.message
    assert "Unreachable" in d.message
    two = replace(broken, restarts=2)
    assert decide(health=two, target="2.7.99-broken", elapsed=SOON, policy=POLICY).verdict is Verdict.WAIT


def test_a_pod_back_on_another_version_stops_at_once() -> None:
    old = replace(HEALTHY, version="2.6.2")
    d = decide(health=old, target=TARGET, elapsed=SOON, policy=POLICY)
    assert (d.verdict, d.reason) == (Verdict.STOP, "WrongVersion")
    assert "2.6.2" in d.message
    # while sealed it may still be starting (the version is read from sys/health, which a sealed node answers)
    sealed = replace(old, sealed=True)
    assert decide(health=sealed, target=TARGET, elapsed=SOON, policy=POLICY).verdict is Verdict.WAIT


def test_waiting_never_overshoots_the_bound() -> None:
    d = decide(
        health=replace(HEALTHY, sealed=True),
        target=TARGET,
        elapsed=POLICY.timeout - timedelta(seconds=2),
        policy=POLICY,
    )
    assert d.verdict is Verdict.WAIT
    assert d.requeue_after == timedelta(seconds=2)


healths = st.builds(
    PodHealth,
    pod=st.just("bao-0"),
    reachable=st.booleans(),
    version=st.sampled_from([None, "2.6.2", "2.7.2", "2.7.99-broken"]),
    initialized=st.booleans(),
    sealed=st.booleans(),
    raft_joined=st.booleans(),
    voter=st.sampled_from([None, True, False]),
    autopilot_healthy=st.sampled_from([None, True, False]),
    applied_index=st.one_of(st.none(), st.integers(0, 2_000)),
    leader_index=st.one_of(st.none(), st.integers(0, 2_000)),
    restarts=st.integers(0, 5),
)


@given(healths, st.integers(0, 1_200))
def test_the_gate_is_bounded_and_ok_only_when_everything_holds(health: PodHealth, seconds: int) -> None:
    elapsed = timedelta(seconds=seconds)
    d = decide(health=health, target=TARGET, elapsed=elapsed, policy=POLICY)
    if elapsed >= POLICY.timeout:
        assert d.verdict is not Verdict.WAIT
    if d.verdict is Verdict.OK:
        assert health.reachable
        assert not health.sealed
        assert health.initialized
        assert health.raft_joined
        assert health.voter is True
        assert health.autopilot_healthy is True
        assert health.version == TARGET
        assert health.applied_index is not None
        assert health.leader_index is not None
        assert health.leader_index - health.applied_index <= POLICY.max_index_lag
    if d.verdict is Verdict.WAIT:
        assert d.requeue_after is not None
        assert timedelta(0) < d.requeue_after <= POLL
    else:
        assert d.requeue_after is None
