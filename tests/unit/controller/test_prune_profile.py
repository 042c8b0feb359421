"""Pruning touches only what this cluster controls; profiles report and gate as the reference does."""

from __future__ import annotations

from typing import Any

import pytest

from openbao_operator.api import parse_cluster
from openbao_operator.api.errors import InvalidClusterError
from openbao_operator.controller import kinds
from openbao_operator.controller.profile import judge_profile
from openbao_operator.controller.prune import leftovers


def obj(kind: str, api: str, name: str, uid: str | None, **meta: Any) -> dict[str, Any]:
    refs = (
        [{"apiVersion": "openbao.org/v1alpha1", "kind": "OpenBaoCluster", "name": "c", "uid": uid, "controller": True}]
        if uid
        else []
    )
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": "ns", "ownerReferences": refs, **meta},
    }


def test_leftovers_are_owned_not_desired_and_not_terminating() -> None:
    desired = [obj("ConfigMap", "v1", "c-config", "u1")]
    live = {
        kinds.CONFIGMAP: [
            obj("ConfigMap", "v1", "c-config", "u1"),
            obj("ConfigMap", "v1", "c-old", "u1"),
            obj("ConfigMap", "v1", "someone-elses", None),
            obj("ConfigMap", "v1", "previous-incarnation", "u0"),
            obj("ConfigMap", "v1", "going", "u1", deletionTimestamp="2026-01-01T00:00:00Z"),
        ],
        kinds.PDB: [obj("PodDisruptionBudget", "policy/v1", "c-pdb", "u1")],
    }
    found = [(rt.kind, o["metadata"]["name"]) for rt, o in leftovers(desired, live, owner_uid="u1")]
    assert found == [("ConfigMap", "c-old"), ("PodDisruptionBudget", "c-pdb")]


def test_executor_service_accounts_and_jobs_are_never_leftovers() -> None:
    """The executors' ServiceAccounts are created on demand (never rendered) and their Jobs are the record
    of an attempt: a pass of the cluster must not delete them."""
    desired = [obj("ServiceAccount", "v1", "c-openbao", "u1")]
    component = {"labels": {"openbao.org/component": "backup"}}
    live = {
        kinds.SERVICEACCOUNT: [
            obj("ServiceAccount", "v1", "c-backup-serviceaccount", "u1", **component),
            obj("ServiceAccount", "v1", "c-restore-serviceaccount", "u1", labels={"openbao.org/component": "restore"}),
            obj("ServiceAccount", "v1", "c-renamed", "u1"),
        ],
        kinds.JOB: [obj("Job", "batch/v1", "c-backup-0123456789", "u1", **component)],
    }
    found = [(rt.kind, o["metadata"]["name"]) for rt, o in leftovers(desired, live, owner_uid="u1")]
    assert found == [("ServiceAccount", "c-renamed")]


def cluster(**spec: Any) -> Any:
    base: dict[str, Any] = {"version": "2.4.1", "tls": {"enabled": True}, "storage": {"size": "1Gi"}}
    base.update(spec)
    return parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": "c", "namespace": "ns"},
            "spec": base,
        }
    )


def test_unset_profile_is_development_and_reported() -> None:
    verdict = judge_profile(cluster())
    assert verdict.violations == ()
    assert verdict.production_ready.reason == "ProfileNotSet"
    assert verdict.security_risk is not None
    assert verdict.security_risk.status == "True"


def test_hardened_is_refused_by_the_models_naming_the_field() -> None:
    with pytest.raises(InvalidClusterError, match=r"spec\.tls\.mode: Hardened needs External or ACME"):
        cluster(profile="Hardened", replicas=1)


def test_hardened_names_each_unmet_requirement() -> None:
    # A stored object from before the admission rules existed (ratcheting lets it stay): built without validation.
    development = cluster(replicas=1)
    stored = development.model_copy(update={"spec": development.spec.model_copy(update={"profile": "Hardened"})})
    verdict = judge_profile(stored)
    text = " ".join(verdict.violations)
    for path in ("spec.tls.mode", "spec.unseal.type", "spec.selfInit.enabled", "spec.replicas"):
        assert path in text
    assert verdict.security_risk is None
    assert verdict.production_ready.status == "False"


def test_development_is_a_security_risk() -> None:
    verdict = judge_profile(cluster(profile="Development", tls={"enabled": False}))
    assert verdict.security_risk is not None
    assert "TLS is disabled" in verdict.security_risk.message
    assert verdict.production_ready.reason == "DevelopmentProfile"


def test_upgrade_prunes_the_per_cluster_role_and_its_binding() -> None:
    """Earlier versions rendered Role `<sa>-role` (pods get/list/watch/update/patch) and RoleBinding
    `<sa>-rolebinding`; the render now binds the pre-installed ClusterRole instead, so both are leftovers."""
    from openbao_operator.render.desired import render_desired
    from openbao_operator.render.facts import RenderFacts

    desired = render_desired(cluster(), facts=RenderFacts(namespace="ns", owner_uid="u1")).objects
    rbac = "rbac.authorization.k8s.io/v1"
    live = {
        kinds.ROLE: [obj("Role", rbac, "c-serviceaccount-role", "u1")],
        kinds.ROLEBINDING: [
            obj("RoleBinding", rbac, "c-serviceaccount-rolebinding", "u1"),
            obj("RoleBinding", rbac, "c-serviceaccount-openbao-server", "u1"),
        ],
    }
    found = [(rt.kind, o["metadata"]["name"]) for rt, o in leftovers(desired, live, owner_uid="u1")]
    assert found == [("Role", "c-serviceaccount-role"), ("RoleBinding", "c-serviceaccount-rolebinding")]
