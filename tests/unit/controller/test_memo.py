"""The memo of parses and renders: the same object and facts give the very same result, any change a new one."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from openbao_operator.api import InvalidClusterError
from openbao_operator.controller.memo import Memo
from openbao_operator.render.config import ConfigRenderError
from openbao_operator.render.desired import render_desired
from openbao_operator.render.facts import RenderFacts


def raw(rv: str = "10", uid: str = "u-1", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "openbao.org/v1alpha1",
        "kind": "OpenBaoCluster",
        "metadata": {"name": "bao", "namespace": "team", "uid": uid, "resourceVersion": rv},
        "spec": {
            "version": "2.4.1",
            "replicas": 3,
            "tls": {"enabled": True, "mode": "OperatorManaged"},
            "storage": {"size": "1Gi"},
            **spec,
        },
    }


FACTS = RenderFacts(namespace="team", owner_uid="u-1")


def test_a_parse_is_remembered_per_uid_and_resource_version() -> None:
    memo = Memo()
    first = memo.parse(raw())
    assert memo.parse(copy.deepcopy(raw())) is first
    assert memo.parses == 1
    changed = memo.parse(raw(rv="11", replicas=5))
    assert changed is not first
    assert changed.spec.replicas == 5
    assert memo.parse(raw(uid="u-2")) is not changed
    assert memo.parses == 3


def test_an_invalid_spec_is_parsed_again_every_time_and_leaves_the_last_good_one_alone() -> None:
    memo = Memo()
    good = memo.parse(raw())
    for _ in range(2):
        with pytest.raises(InvalidClusterError):
            memo.parse(raw(rv="11", replicas="many"))
    assert memo.parses == 3
    assert memo.parse(raw()) is good


def test_renders_are_remembered_per_facts_for_the_remembered_model_only() -> None:
    memo = Memo()
    cluster = memo.parse(raw())
    desired = memo.render("u-1", cluster, facts=FACTS)
    assert desired == render_desired(cluster, facts=FACTS)
    assert memo.render("u-1", cluster, facts=dataclasses.replace(FACTS)) is desired
    initialized = memo.render("u-1", cluster, facts=dataclasses.replace(FACTS, initialized=True))
    assert initialized is not desired
    assert initialized == render_desired(cluster, facts=dataclasses.replace(FACTS, initialized=True))
    assert memo.renders == 2
    # another model (another version of the cluster) is another render
    other = memo.parse(raw(rv="12", replicas=5))
    assert memo.render("u-1", other, facts=FACTS) is not desired
    assert memo.render("u-1", other, facts=FACTS) is memo.render("u-1", other, facts=FACTS)


def test_bounded_in_models_and_in_renders() -> None:
    memo = Memo(limit=2, render_limit=3)
    cluster = memo.parse(raw())
    facts = [dataclasses.replace(FACTS, tls_cert_sha256=str(i)) for i in range(4)]
    first = memo.render("u-1", cluster, facts=facts[0])
    for f in facts[1:]:
        memo.render("u-1", cluster, facts=f)
    assert memo.render("u-1", cluster, facts=facts[0]) is not first  # the oldest render was dropped
    last = memo.render("u-1", cluster, facts=facts[3])
    assert memo.render("u-1", cluster, facts=facts[3]) is last
    memo.forget("u-1")
    assert memo.render("u-1", cluster, facts=facts[3]) is not last
    memo.parse(raw(uid="u-2"))
    memo.parse(raw(uid="u-3"))
    before = memo.parses
    memo.parse(raw())  # u-1 was forgotten: parsed again
    assert memo.parses == before + 1


def test_a_successful_trial_render_is_remembered_without_its_objects() -> None:
    memo = Memo(render_limit=0)
    cluster = memo.parse(raw())
    for _ in range(3):
        memo.check_render("u-1", "10", cluster, facts=FACTS)
    assert memo.renders == 1
    assert len(memo._rendered) == 0  # only the answer is kept
    memo.check_render("u-1", "11", memo.parse(raw(rv="11", replicas=5)), facts=FACTS)  # a new version renders
    memo.check_render("u-1", "10", cluster, facts=dataclasses.replace(FACTS, initialized=True))  # new facts too
    assert memo.renders == 3


def test_a_failed_trial_render_raises_every_time() -> None:
    memo = Memo()
    oidc = {"enabled": True, "oidc": {"enabled": True}}
    cluster = memo.parse(raw(selfInit=oidc))
    for _ in range(2):
        with pytest.raises(ConfigRenderError):
            memo.check_render("u-1", "10", cluster, facts=FACTS)
    assert memo.renders == 2


def test_trial_render_answers_are_bounded() -> None:
    memo = Memo(renders_ok_limit=2)
    cluster = memo.parse(raw())
    facts = [dataclasses.replace(FACTS, tls_cert_sha256=str(i)) for i in range(3)]
    for f in facts:
        memo.check_render("u-1", "10", cluster, facts=f)
    memo.check_render("u-1", "10", cluster, facts=facts[0])  # the oldest answer was dropped
    assert memo.renders == 4
