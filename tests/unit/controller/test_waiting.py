"""The checks of a cluster waiting for pod-0: a few quick ones, then bounded doubling, reset by any change."""

from __future__ import annotations

from typing import Any

from openbao_operator.baoapi import Target
from openbao_operator.controller.waiting import REASON, WaitPolicy, Waits, observed
from openbao_operator.kube import ObjectKey

KEY = ObjectKey("team", "bao")
WAITING = "pod bao-0 to answer sys/init"


def obj(name: str, rv: str, uid: str = "u") -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": uid, "resourceVersion": rv}}


def delays(waits: Waits, n: int, *, sts: dict[str, Any], pods: list[dict[str, Any]]) -> list[float | None]:
    return [waits.check(KEY, waiting=WAITING, statefulset=sts, pods=pods).retry_after for _ in range(n)]


def test_unchanged_pods_back_off_exponentially_to_the_cap() -> None:
    got = delays(Waits(), 10, sts=obj("bao", "1"), pods=[obj("bao-0", "2")])
    assert got == [2.0, 2.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_any_change_of_a_pod_or_the_statefulset_starts_over() -> None:
    waits = Waits()
    delays(waits, 6, sts=obj("bao", "1"), pods=[obj("bao-0", "2")])
    assert waits.check(KEY, waiting=WAITING, statefulset=obj("bao", "1"), pods=[obj("bao-0", "3")]).retry_after == 2.0
    delays(waits, 6, sts=obj("bao", "1"), pods=[obj("bao-0", "3")])
    assert waits.check(KEY, waiting=WAITING, statefulset=obj("bao", "4"), pods=[obj("bao-0", "3")]).retry_after == 2.0
    replaced = obj("bao-0", "3", uid="other")
    delays(waits, 6, sts=obj("bao", "4"), pods=[replaced])
    assert waits.check(KEY, waiting=WAITING, statefulset=obj("bao", "4"), pods=[]).retry_after == 2.0


def test_a_pass_that_does_not_wait_forgets_the_cluster() -> None:
    waits = Waits()
    delays(waits, 6, sts=obj("bao", "1"), pods=[obj("bao-0", "2")])
    assert waits.attempts(KEY) == 5
    assert waits.check(KEY, waiting=None, statefulset=obj("bao", "1"), pods=[obj("bao-0", "2")]).retry_after is None
    assert waits.attempts(KEY) is None
    assert delays(waits, 1, sts=obj("bao", "1"), pods=[obj("bao-0", "2")]) == [2.0]


def test_only_a_wait_of_a_minute_is_reported_with_one_message_for_the_whole_wait() -> None:
    now = [0.0]
    waits = Waits(clock=lambda: now[0])
    checks = []
    for _ in range(10):
        check = waits.check(KEY, waiting=WAITING, statefulset=obj("bao", "1"), pods=[])
        checks.append(check)
        now[0] += check.retry_after or 0.0
    # checks at 0, 2, 4, 6, 10, 18, 34, 66, 126, 186 s: reported from 66 s on
    assert [c.problem is not None for c in checks] == [False] * 7 + [True] * 3
    reported = [c.problem for c in checks if c.problem is not None]
    assert {p.reason for p in reported} == {REASON}
    assert {p.message for p in reported} == {  # one message: one status write for the whole wait
        "waiting for pod bao-0 to answer sys/init; the operator asks again within 60 s, and at once when a pod "
        "or the StatefulSet changes"
    }
    # a pod change starts the checks over, not the wait: it stays reported
    again = waits.check(KEY, waiting=WAITING, statefulset=obj("bao", "2"), pods=[])
    assert again.retry_after == 2.0
    assert again.problem is not None


def test_a_wait_the_status_reports_stays_reported_when_the_checks_start_over() -> None:
    status = {"conditions": [{"type": "Degraded", "status": "True", "reason": REASON, "message": "..."}]}
    fresh = Waits()  # e.g. after an operator restart, or a pod event
    check = fresh.check(KEY, waiting=WAITING, statefulset=None, pods=[], live_status=status)
    assert check.retry_after == 2.0
    assert check.problem is not None
    assert check.problem.reason == REASON
    other = {"conditions": [{"type": "Degraded", "status": "True", "reason": "TLSNotReady"}]}
    assert fresh.check(KEY, waiting=WAITING, statefulset=None, pods=[], live_status=other).problem is None


def test_clusters_are_paced_independently_and_the_state_is_bounded() -> None:
    waits = Waits(limit=2)
    keys = [ObjectKey("team", f"c{i}") for i in range(3)]
    for key in keys:
        for _ in range(4):
            waits.check(key, waiting=WAITING, statefulset=None, pods=[])
    assert waits.attempts(keys[0]) is None  # the least recently waiting one was dropped
    assert waits.attempts(keys[1]) == 3
    assert waits.attempts(keys[2]) == 3


def test_policy_and_observation() -> None:
    policy = WaitPolicy(base=1.0, quick=1, cap=5.0)
    assert [policy.delay(i) for i in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert WaitPolicy().delay(10_000) == 60.0
    assert observed(None, [obj("b-1", "9"), obj("b-0", "8")]) == "b-0/u@8,b-1/u@9"


TARGET = Target(base_url="https://10.0.0.9:8200", server_name="bao-0.bao-internal.team.svc", ca_pem="CA")


def test_between_full_passes_only_pod_0_is_asked_and_a_full_pass_comes_within_the_bound() -> None:
    assert WaitPolicy().full_every == 300.0
    now = [0.0]
    waits = Waits(clock=lambda: now[0], policy=WaitPolicy(full_every=60.0))
    assert waits.quick(KEY) is None  # not waiting
    first = waits.check(KEY, waiting=WAITING, statefulset=obj("bao", "1"), pods=[], target=TARGET)
    waits.settle(KEY, waited=True, others=None)
    schedule, full = [], []
    delay = first.retry_after
    assert delay is not None
    for _ in range(12):
        now[0] += delay
        quick = waits.quick(KEY)
        if quick is not None:
            assert quick.target == TARGET
            got = waits.probed(KEY, live_status=None)
            assert got is not None
            delay = got
        else:
            full.append(now[0])
            check = waits.check(KEY, waiting=WAITING, statefulset=obj("bao", "1"), pods=[], target=TARGET)
            waits.settle(KEY, waited=True, others=None)
            assert check.retry_after is not None
            delay = check.retry_after
        schedule.append(now[0])
    # the same pacing as full passes (2, 2, 2, 4, 8, 16, ...), with a full pass at the latest full_every after the last
    assert schedule[:7] == [2.0, 4.0, 6.0, 10.0, 18.0, 34.0, 60.0]
    assert full[0] == 60.0
    assert all(b - a <= 60.0 for a, b in zip([0.0, *full], full, strict=False))
    assert waits.attempts(KEY) == 12


def test_other_work_due_sooner_brings_a_full_pass_in_time() -> None:
    now = [0.0]
    waits = Waits(clock=lambda: now[0])
    waits.check(KEY, waiting=WAITING, statefulset=None, pods=[], target=TARGET)
    waits.settle(KEY, waited=True, others=5.0)  # e.g. a certificate to renew in 5 s
    now[0] = 2.0
    assert waits.quick(KEY) is not None
    assert waits.probed(KEY, live_status=None) == 2.0
    now[0] = 4.0
    assert waits.quick(KEY) is not None
    assert waits.probed(KEY, live_status=None) == 1.0  # not 2: the other work is due at 5 s
    now[0] = 5.0
    assert waits.quick(KEY) is None


def test_no_quick_check_without_a_target_after_a_pass_that_did_not_wait_or_when_the_wait_becomes_news() -> None:
    now = [0.0]
    waits = Waits(clock=lambda: now[0])
    waits.check(KEY, waiting=WAITING, statefulset=None, pods=[])  # no target (e.g. TLS material missing)
    waits.settle(KEY, waited=True, others=None)
    assert waits.quick(KEY) is None
    waits.check(KEY, waiting=WAITING, statefulset=None, pods=[], target=TARGET)
    waits.settle(KEY, waited=False, others=None)  # the pass stopped before asking, or failed
    assert waits.quick(KEY) is None
    assert waits.attempts(KEY) is None
    # a wait that turns a minute old while only pod-0 is asked: the status must say so, a full pass's job
    policy = WaitPolicy(cap=600.0, report_after=60.0, full_every=600.0)
    waits = Waits(clock=lambda: now[0], policy=policy)
    waits.check(KEY, waiting=WAITING, statefulset=None, pods=[], target=TARGET)
    waits.settle(KEY, waited=True, others=None)
    now[0] = 61.0
    assert waits.quick(KEY) is not None
    assert waits.probed(KEY, live_status=None) is None
    reported = {"conditions": [{"type": "Degraded", "status": "True", "reason": REASON}]}
    assert waits.probed(KEY, live_status=reported) is not None  # already reported: nothing to write
