"""The rollout planner (controller/rollout.py): order, waiting, stalls, recovery after a spec fix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from openbao_operator.baoapi import AutopilotServer, AutopilotState, Sensitive
from openbao_operator.controller.rollout import plan_rollout, quorum_hold, upgrade_pending

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
OLD, NEW = "bao-old", "bao-new"


def sts(replicas: int = 3, target: str = NEW) -> dict[str, Any]:
    return {"metadata": {"name": "bao"}, "spec": {"replicas": replicas}, "status": {"updateRevision": target}}


def pod(
    i: int, rev: str = OLD, *, ready: bool = True, active: bool = False, since: datetime | None = None
) -> dict[str, Any]:
    when = (since or NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "metadata": {
            "name": f"bao-{i}",
            "uid": f"u{i}-{rev}",
            "creationTimestamp": when,
            "labels": {"controller-revision-hash": rev, "openbao-active": "true" if active else "false"},
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.0.0.{i + 1}",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": when}],
        },
    }


def plan(pods: list[dict[str, Any]], **kw: Any) -> Any:
    return plan_rollout(sts(**kw), pods, now=NOW, ready_timeout=300)


def test_up_to_date_does_nothing() -> None:
    assert plan([pod(i, NEW) for i in range(3)]).action == "none"
    assert plan_rollout(None, [], now=NOW, ready_timeout=300).action == "none"


def test_standbys_highest_ordinal_first_then_the_leader() -> None:
    p = plan([pod(0, active=True), pod(1), pod(2)])
    assert (p.action, p.victim["metadata"]["name"], p.role) == ("replace", "bao-2", "standby")
    assert p.out_of_date == ("bao-0", "bao-1", "bao-2")
    p = plan([pod(0, active=True), pod(1), pod(2, NEW)])
    assert p.victim["metadata"]["name"] == "bao-1"
    p = plan([pod(0, active=True), pod(1, NEW), pod(2, NEW)])
    assert (p.victim["metadata"]["name"], p.role) == ("bao-0", "active")
    # the leader may be any ordinal: it still goes last
    p = plan([pod(0), pod(1, active=True), pod(2, NEW)])
    assert (p.victim["metadata"]["name"], p.role) == ("bao-0", "standby")


def test_waits_for_a_replacement_to_be_ready_or_created() -> None:
    p = plan([pod(0, active=True), pod(1), pod(2, NEW, ready=False, since=NOW - timedelta(seconds=10))])
    assert (p.action, p.waiting_for) == ("wait", "bao-2 to become Ready")
    p = plan([pod(0, active=True), pod(1)])
    assert (p.action, p.waiting_for) == ("wait", "pod ordinal 2 to be created")


def test_a_replacement_never_ready_halts_the_rollout() -> None:
    p = plan([pod(0, active=True), pod(1), pod(2, NEW, ready=False, since=NOW - timedelta(seconds=301))])
    assert p.action == "stalled"
    assert p.problem is not None
    assert p.problem.reason == "RolloutStalled"
    assert "bao-2" in p.problem.message


def test_fixing_the_spec_replaces_the_broken_pod_first() -> None:
    # bao-2 runs the broken revision (now out of date too) and is not Ready: it goes first
    broken = pod(2, "bao-broken", ready=False, since=NOW - timedelta(hours=1))
    p = plan([pod(0, active=True), pod(1), broken])
    assert (p.action, p.victim["metadata"]["name"], p.role) == ("replace", "bao-2", "not-ready")


def test_never_two_pods_down() -> None:
    p = plan([pod(0, active=True), pod(1, ready=False), pod(2, ready=False)])
    assert p.action == "wait"


def test_sensitive_never_shows_its_value() -> None:
    s = Sensitive("s.root-token-value")
    assert "root-token-value" not in repr(s)
    assert "root-token-value" not in str(s)
    assert "root-token-value" not in f"{s!r} {s}"
    assert s.reveal() == "s.root-token-value"


def test_an_upgrade_is_complete_only_when_every_pod_is_ready_in_kubernetes_too() -> None:
    # the gate (OpenBao's view) passes a few seconds before the readiness probe does
    assert upgrade_pending(sts(), [pod(0, NEW), pod(1, NEW), pod(2, NEW, ready=False)]) == "bao-2 to become Ready"
    assert upgrade_pending(sts(), [pod(0, NEW), pod(2, NEW)]) == "pod ordinal 1 to be created"
    assert upgrade_pending(sts(), [pod(0, NEW), pod(1, NEW), pod(2, NEW)]) is None


def _autopilot(**servers: tuple[str, bool]) -> AutopilotState:
    return AutopilotState(
        healthy=all(h for _, h in servers.values()),
        leader=next((n for n, (st, _) in servers.items() if st == "leader"), ""),
        servers={n: AutopilotServer(node_id=n, status=st, healthy=h, last_index=10) for n, (st, h) in servers.items()},
    )


def test_the_only_voter_waits_for_autopilot_to_promote_the_others() -> None:
    # right after a bootstrap: pod-0 leads, the two that joined are non-voters until autopilot promotes them
    state = _autopilot(**{"b-0": ("leader", True), "b-1": ("non-voter", True), "b-2": ("non-voter", True)})
    held = quorum_hold(state, "b-0")
    assert held is not None
    assert "0 other healthy voter(s), 1 needed of 1" in held
    assert "b-1, b-2" in held
    assert quorum_hold(state, "b-2") is None, "a non-voter costs no quorum"


def test_a_voter_goes_when_the_other_healthy_voters_keep_a_quorum() -> None:
    three = _autopilot(**{"b-0": ("leader", True), "b-1": ("voter", True), "b-2": ("voter", True)})
    assert quorum_hold(three, "b-0") is None
    assert quorum_hold(three, "b-2") is None
    one_down = _autopilot(**{"b-0": ("leader", True), "b-1": ("voter", False), "b-2": ("voter", True)})
    held = quorum_hold(one_down, "b-0")
    assert held is not None
    assert "1 other healthy voter(s), 2 needed of 3" in held
    five = _autopilot(
        **{"b-0": ("leader", True), "b-1": ("voter", True), "b-2": ("voter", True), "b-3": ("voter", False),
           "b-4": ("voter", True)}
    )  # fmt: skip
    assert quorum_hold(five, "b-0") is None, "3 healthy of 5 without it is a quorum"


def test_two_healthy_voters_are_not_held_for_ever() -> None:
    # two servers cannot keep a quorum without either; nothing that waiting could change: go, as before
    two = _autopilot(**{"b-0": ("leader", True), "b-1": ("voter", True)})
    assert quorum_hold(two, "b-0") is None
    assert quorum_hold(two, "b-1") is None
    two_one_sick = _autopilot(**{"b-0": ("leader", True), "b-1": ("voter", False)})
    assert quorum_hold(two_one_sick, "b-0") is not None, "b-1 may recover: wait for it"


def test_nothing_holds_a_single_server_or_an_unknown_state() -> None:
    assert quorum_hold(_autopilot(**{"b-0": ("leader", True)}), "b-0") is None
    assert quorum_hold(None, "b-0") is None
    assert quorum_hold(_autopilot(**{"b-0": ("leader", True), "b-1": ("non-voter", True)}), "b-9") is None
