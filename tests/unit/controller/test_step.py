"""The step shape (controller/step.py): how reports fold and what the runtime is told, and the order of STEPS."""

from __future__ import annotations

from openbao_operator.controller import deletion, reconciler, summary, tenancy, validate
from openbao_operator.controller.step import Outcome, Report


def test_a_pass_that_asked_nothing_waits_for_events() -> None:
    assert Report().outcome() == Outcome()


def test_the_shortest_requeue_wins_and_backoff_overrides_it() -> None:
    folded = Report()
    first, second = Report(), Report()
    first.after(600.0)
    second.after(5.0)
    second.after(-1.0)  # a time already past: at once
    folded.fold(first)
    folded.fold(second)
    assert folded.outcome() == Outcome(requeue_after=0.0)
    folded.fold(Report(backoff=True))
    assert folded.outcome() == Outcome(requeue=True)


def test_folding_keeps_order_holds_and_stops_and_the_last_status() -> None:
    folded = Report()
    a = Report(status={"phase": "A"})
    a.problem("First", "first problem")
    a.event("Normal", "A", "Act", "a")
    b = Report(hold_statefulset=True, stop=True, status={"phase": "B"})
    b.problem("Second", "second problem")
    b.event("Warning", "B", "Act", "b")
    folded.fold(a)
    folded.fold(b)
    folded.fold(Report())
    assert [p.reason for p in folded.problems] == ["First", "Second"]
    assert [e[1] for e in folded.events] == ["A", "B"]
    assert folded.hold_statefulset
    assert folded.stop
    assert folded.status == {"phase": "B"}


def test_a_foreign_object_is_a_problem_an_event_a_recheck_and_maybe_a_hold() -> None:
    report = Report()
    report.foreign("Secret x is not ours", hold=False)
    assert not report.hold_statefulset
    report.foreign("StatefulSet y is not ours", hold=True)
    assert report.hold_statefulset
    assert [p.reason for p in report.problems] == ["ForeignObject", "ForeignObject"]
    assert all(e[0] == "Warning" for e in report.events)
    assert report.requeue_at


def test_tenancy_comes_first_then_deletion_then_validation_and_status_last() -> None:
    steps = reconciler.STEPS
    assert steps[:3] == (tenancy.step, deletion.step, validate.parse)
    assert steps[-1] is summary.step
    assert steps.index(validate.paused) < steps.index(validate.step)
