"""Status: conditions keep their transition time while unchanged, and an unchanged world writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from openbao_operator.controller.conditions import Cond
from openbao_operator.controller.reconciler import status_differs
from openbao_operator.controller.status import Problem, StatusInput, Workload, build_status, out_of_date

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def inp(*, live: dict[str, Any] | None = None, now: datetime = T0, **kw: Any) -> StatusInput:
    args: dict[str, Any] = {
        "generation": 2,
        "now": now,
        "live_status": live or {},
        "workload": Workload(
            exists=True,
            spec_replicas=3,
            target_replicas=3,
            ready=3,
            updated=3,
            pods=3,
            update_revision="r1",
            initialized=True,
        ),
        "configuration": Cond("ConfigurationValid", "True", "Valid", "ok"),
        "fields_ignored": Cond("FieldsIgnored", "False", "NoneIgnored", "none"),
        "paused": False,
        "tls": Cond("TLSReady", "True", "Ready", "fine"),
        "production_ready": Cond("ProductionReady", "False", "DevelopmentProfile", "dev"),
        "security_risk": Cond("SecurityRisk", "True", "DevelopmentProfile", "dev"),
        "image": None,
        "problem": None,
        "verified_image": None,
        "keep_verified_image": False,
    }
    args.update(kw)
    return StatusInput(**args)


def test_running_cluster_status() -> None:
    status = build_status(inp())
    conds = {c["type"]: c for c in status["conditions"]}
    assert status["phase"] == "Running"
    assert status["observedGeneration"] == 2
    assert conds["Available"]["status"] == "True"
    assert conds["Degraded"]["status"] == "False"
    assert conds["Progressing"]["reason"] == "UpToDate"
    assert all(c["observedGeneration"] == 2 for c in status["conditions"])


def test_same_world_later_is_not_a_write() -> None:
    first = build_status(inp())
    again = build_status(inp(live=first, now=T0 + timedelta(hours=1)))
    assert again == first
    assert not status_differs(again, first)


def test_transition_time_moves_only_on_status_change() -> None:
    first = build_status(inp())
    later = T0 + timedelta(minutes=5)
    degraded = build_status(inp(live=first, now=later, problem=Problem("ApplyRejected", "x")))
    conds = {c["type"]: c for c in degraded["conditions"]}
    assert conds["Degraded"]["lastTransitionTime"] == "2026-01-01T00:05:00Z"
    assert conds["Available"]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert degraded["workload"]["lastError"]["reason"] == "ApplyRejected"
    assert status_differs(degraded, first)
    healed = build_status(inp(live=degraded, now=later + timedelta(minutes=1)))
    assert "workload" not in healed
    assert status_differs(healed, degraded), "a cleared lastError must be written"


def test_removed_condition_is_a_difference() -> None:
    with_image = build_status(inp(image=Cond("ImageVerified", "True", "ImageVerified", "signed")))
    without = build_status(inp(live=with_image))
    assert status_differs(without, with_image)


def test_bootstrap_and_out_of_date_pods() -> None:
    boot = Workload(exists=True, spec_replicas=3, target_replicas=1, ready=1, updated=1, pods=1, update_revision="r")
    status = build_status(inp(workload=boot))
    conds = {c["type"]: c for c in status["conditions"]}
    assert status["phase"] == "Initializing"
    assert conds["Available"]["reason"] == "WaitingForInitialization"
    stale = Workload(
        exists=True,
        spec_replicas=3,
        target_replicas=3,
        ready=3,
        updated=1,
        pods=3,
        update_revision="r2",
        initialized=True,
    )
    assert out_of_date(stale) == 2
    status = build_status(inp(workload=stale))
    conds = {c["type"]: c for c in status["conditions"]}
    assert status["phase"] == "Upgrading"
    assert conds["Progressing"]["reason"] == "PodsOutOfDate"
    assert status["rollout"] == {
        "targetRevision": "r2",
        "updatedReplicas": 1,
        "waitingFor": "2 out-of-date pod(s) to be replaced by the rollout",
    }


def test_blocked_image_keeps_the_recorded_digest() -> None:
    live = build_status(inp(verified_image="repo@sha256:aa"))
    assert live["verifiedImageDigest"] == "repo@sha256:aa"
    blocked = build_status(inp(live=live, keep_verified_image=True))
    assert blocked["verifiedImageDigest"] == "repo@sha256:aa"
    off = build_status(inp(live=live))
    assert "verifiedImageDigest" not in off
    assert status_differs(off, live)
