"""The rewrap decision of a static key rotation (controller/rotation.py), with injected observations.

The old key may stop being mounted only when every pod started with the template that mounts both keys and
an active, unsealed node answers: anything less leaves both keys mounted (waiting is always safe).
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from openbao_operator.api import parse_cluster
from openbao_operator.baoapi import BaoUnavailable, Health, Target
from openbao_operator.controller.rotation import observe_rewrap, rewrap_complete, rollout_converged
from openbao_operator.render.desired import render_desired
from openbao_operator.render.facts import RenderFacts, UnsealKeyRef
from tests.unit.render.config_cases import manifest

CLUSTER = parse_cluster(manifest(name="bao", namespace="ns", replicas=3))
OLD = UnsealKeyRef("bao-unseal-key", "operator-generated-v1")
NEW = UnsealKeyRef("bao-unseal-key-r1", "operator-rotated-r1")
REV = "bao-both"


def desired(current: UnsealKeyRef, previous: UnsealKeyRef | None) -> dict[str, Any]:
    facts = RenderFacts(namespace="ns", initialized=True, unseal_key=current, unseal_previous_key=previous)
    return next(o for o in render_desired(CLUSTER, facts=facts).objects if o["kind"] == "StatefulSet")


BOTH = desired(NEW, OLD)


def live(template_of: dict[str, Any] = BOTH, *, generation: int = 2, observed: int = 2) -> dict[str, Any]:
    """The StatefulSet as the API server shows it: the template applied, status from its controller."""
    sts = copy.deepcopy(template_of)
    sts["metadata"]["generation"] = generation
    sts["status"] = {"observedGeneration": observed, "updateRevision": REV, "replicas": 3}
    return sts


def pod(i: int, rev: str = REV, *, ready: bool = True, active: bool = False) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"bao-{i}",
            "labels": {"controller-revision-hash": rev, "openbao-active": "true" if active else "false"},
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.0.0.{i + 1}",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


ALL = [pod(0), pod(1, active=True), pod(2)]
ACTIVE = Health(initialized=True, sealed=False, standby=False, version="2.7.2")
STANDBY = Health(initialized=True, sealed=False, standby=True, version="2.7.2")


def test_every_pod_on_the_template_with_both_keys_and_an_active_node_is_complete() -> None:
    converged = rollout_converged(desired_sts=BOTH, live_sts=live(), pods=ALL)
    assert converged.ok
    assert converged.pods[0]["metadata"]["name"] == "bao-1"  # the labelled active pod is asked first
    assert rewrap_complete(converged, [ACTIVE]).complete
    assert rewrap_complete(converged, [None, STANDBY, ACTIVE]).complete


@pytest.mark.parametrize(
    ("live_sts", "pods", "waits_for"),
    [
        (None, ALL, "the StatefulSet to exist"),
        # the live template still mounts the old key only (the apply has not happened yet)
        (live(desired(OLD, None)), ALL, "the pod template with both keys"),
        # after the mark, the template without the previous key: never "complete" again
        (live(desired(NEW, None)), ALL, "the pod template with both keys"),
        # the StatefulSet controller has not seen the new template: updateRevision is the old one
        (live(generation=3, observed=2), ALL, "observe the new pod template"),
        ({**live(), "spec": {**live()["spec"], "replicas": 2}}, ALL, "replica count"),
        (live(), [pod(0), pod(1, active=True)], "pod ordinal 2"),
        (live(), [pod(0, "bao-old"), pod(1, active=True), pod(2)], "bao-0 to run revision bao-both"),
        (live(), [pod(0), pod(1, active=True), pod(2, ready=False)], "bao-2 to run revision bao-both and be Ready"),
    ],
    ids=["no-sts", "old-template", "new-only-template", "unobserved", "scaling", "missing", "stale-pod", "not-ready"],
)
def test_anything_less_keeps_both_keys(
    live_sts: dict[str, Any] | None, pods: list[dict[str, Any]], waits_for: str
) -> None:
    converged = rollout_converged(desired_sts=BOTH, live_sts=live_sts, pods=pods)
    assert not converged.ok
    verdict = rewrap_complete(converged, [ACTIVE, ACTIVE, ACTIVE])  # even a (stale) active answer does not count
    assert not verdict.complete
    assert waits_for in verdict.waiting_for


def test_a_terminating_pod_is_not_ready() -> None:
    leaving = pod(2)
    leaving["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert not rollout_converged(desired_sts=BOTH, live_sts=live(), pods=[pod(0), pod(1, active=True), leaving]).ok


def test_no_active_unsealed_node_is_not_complete() -> None:
    converged = rollout_converged(desired_sts=BOTH, live_sts=live(), pods=ALL)
    sealed = Health(initialized=True, sealed=True, standby=False, version="2.7.2")
    for answers in ([], [None, None, None], [STANDBY, STANDBY, STANDBY], [sealed, None, STANDBY]):
        verdict = rewrap_complete(converged, answers)
        assert not verdict.complete
        assert "active node" in verdict.waiting_for


class FakeBao:
    """sys/health per pod IP; counts the calls."""

    def __init__(self, answers: dict[str, Health | Exception]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def connect(self, target: Target) -> FakeBao.Client:
        return FakeBao.Client(self, target.base_url)

    class Client:
        def __init__(self, fake: FakeBao, url: str) -> None:
            self.fake, self.url = fake, url

        async def health(self) -> Health:
            self.fake.asked.append(self.url)
            answer = self.fake.answers[self.url]
            if isinstance(answer, Exception):
                raise answer
            return answer


def url(i: int) -> str:
    return f"https://10.0.0.{i + 1}:8200"


def observe(fake: FakeBao, pods: list[dict[str, Any]]) -> Any:
    return asyncio.run(
        observe_rewrap(
            CLUSTER,
            desired_sts=BOTH,
            live_sts=live(),
            pods=pods,
            namespace="ns",
            ca_pem="ca",
            connect=fake.connect,  # type: ignore[arg-type]
        )
    )


def test_observe_asks_the_labelled_active_pod_first_and_stops_at_the_first_active_answer() -> None:
    fake = FakeBao({url(0): STANDBY, url(1): ACTIVE, url(2): STANDBY})
    assert observe(fake, ALL).complete
    assert fake.asked == [url(1)]


def test_observe_confirms_leadership_with_the_node_not_the_label() -> None:
    # the label is stale: bao-1 says standby; bao-2 (unlabelled) is the active node
    fake = FakeBao({url(0): BaoUnavailable("down"), url(1): STANDBY, url(2): ACTIVE})
    assert observe(fake, ALL).complete
    assert fake.asked == [url(1), url(0), url(2)]
    fake = FakeBao({url(0): BaoUnavailable("down"), url(1): STANDBY, url(2): STANDBY})
    assert not observe(fake, ALL).complete


def test_observe_asks_nobody_before_the_pods_converged() -> None:
    fake = FakeBao({})
    verdict = observe(fake, [pod(0, "bao-old"), pod(1, active=True), pod(2)])
    assert not verdict.complete
    assert fake.asked == []


def test_the_seal_stanza_names_both_keys_during_a_rotation_and_only_the_new_one_after() -> None:
    facts = RenderFacts(namespace="ns", initialized=True, unseal_key=NEW, unseal_previous_key=OLD)
    text = render_desired(CLUSTER, facts=facts).config.text
    assert (
        'seal "static" {\n'
        '  current_key_id  = "operator-rotated-r1"\n'
        '  current_key     = "file:///etc/bao/unseal/key"\n'
        '  previous_key_id = "operator-generated-v1"\n'
        '  previous_key    = "file:///etc/bao/unseal-previous/key"\n'
        "}\n"
    ) in text
    after = render_desired(CLUSTER, facts=RenderFacts(namespace="ns", initialized=True, unseal_key=NEW))
    assert "previous_key" not in after.config.text
    assert "operator-rotated-r1" in after.config.text
    # the pods restart for each step: the restart hash changes both times
    before = render_desired(CLUSTER, facts=RenderFacts(namespace="ns", initialized=True, unseal_key=OLD))
    hashes = {before.config_hash, render_desired(CLUSTER, facts=facts).config_hash, after.config_hash}
    assert len(hashes) == 3
