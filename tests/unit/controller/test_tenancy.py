"""Step 0 of the reconcile: which tenants count, and what a cluster outside an onboarded namespace gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from openbao_operator.controller.tenancy import (
    Decision,
    decide,
    not_onboarded_status,
    onboarded_namespaces,
    tenant_scope,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OPS = "openbao-operator-system"


@dataclass
class View:
    onboarded_ns: set[str] = field(default_factory=set)
    synced_ns: set[str] = field(default_factory=set)
    mode: str = "cluster"

    def onboarded(self, namespace: str) -> bool:
        return namespace in self.onboarded_ns

    def synced(self, namespace: str) -> bool:
        return namespace in self.synced_ns


def tenant(where: str, target: str, *, provisioned: bool | None = True, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "t", "namespace": where}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    status = {} if provisioned is None else {"provisioned": provisioned}
    return {"metadata": meta, "spec": {"targetNamespace": target}, "status": status}


def test_self_service_and_central_tenants_count_a_neighbour_does_not() -> None:
    assert tenant_scope(tenant("team-a", "team-a"), operator_namespace=OPS) is None
    assert tenant_scope(tenant(OPS, "team-b"), operator_namespace=OPS) is None
    refusal = tenant_scope(tenant("team-a", "kube-system"), operator_namespace=OPS)
    assert refusal is not None
    assert "may onboard only team-a itself" in refusal


def test_only_provisioned_legitimate_tenants_onboard_a_namespace() -> None:
    tenants = [
        tenant("a", "a"),
        tenant(OPS, "b"),
        tenant("c", "c", provisioned=False),
        tenant("d", "d", provisioned=None),
        tenant("e", "kube-system"),  # a neighbour's tenant: never, even if someone wrote provisioned
        tenant("f", "f", deleting=True),  # still onboarded until its binding is gone
    ]
    assert onboarded_namespaces(tenants, operator_namespace=OPS) == {"a", "b", "f"}


def test_decide_proceeds_waits_or_reports() -> None:
    view = View(onboarded_ns={"a", "b"}, synced_ns={"a"})
    assert decide("a", view=view, operator_namespace=OPS, deleting=False, resync=600).decision is Decision.PROCEED
    waiting = decide("b", view=view, operator_namespace=OPS, deleting=False, resync=600)
    assert waiting.decision is Decision.WAIT
    assert waiting.condition is None
    assert waiting.requeue_after is not None
    refused = decide("c", view=view, operator_namespace=OPS, deleting=False, resync=600)
    assert refused.decision is Decision.NOT_ONBOARDED
    assert refused.condition is not None
    assert (refused.condition.type, refused.condition.status, refused.condition.reason) == (
        "TenantOnboarded",
        "False",
        "NamespaceNotOnboarded",
    )
    assert "OpenBaoTenant with spec.targetNamespace: c" in refused.condition.message
    assert OPS in refused.condition.message
    assert refused.requeue_after == 600


def test_a_deleting_cluster_outside_an_onboarded_namespace_is_told_what_blocks_it() -> None:
    refused = decide("c", view=View(), operator_namespace=OPS, deleting=True, resync=600)
    assert refused.condition is not None
    assert "deletion policy can only run once the namespace is onboarded again" in refused.condition.message


def test_not_onboarded_status_keeps_what_status_said_and_adds_the_condition() -> None:
    live = {
        "phase": "Running",
        "readyReplicas": 3,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "AllReplicasReady", "message": "3 of 3",
             "lastTransitionTime": "2026-11-01T00:00:00Z", "observedGeneration": 1},
        ],
    }  # fmt: skip
    verdict = decide("c", view=View(), operator_namespace=OPS, deleting=False, resync=600)
    assert verdict.condition is not None
    status = not_onboarded_status(live, condition=verdict.condition, generation=2, now=NOW)
    assert status["phase"] == "Running"
    assert status["readyReplicas"] == 3
    assert status["observedGeneration"] == 2
    assert [c["type"] for c in status["conditions"]] == ["Available", "TenantOnboarded"]
    again = not_onboarded_status(status, condition=verdict.condition, generation=2, now=NOW.replace(hour=13))
    assert again == status  # nothing changed: the same status, so no write


def test_a_new_cluster_gets_pending_and_only_the_condition() -> None:
    verdict = decide("c", view=View(), operator_namespace=OPS, deleting=False, resync=600)
    assert verdict.condition is not None
    status = not_onboarded_status({}, condition=verdict.condition, generation=1, now=NOW)
    assert status["phase"] == "Pending"
    assert [c["type"] for c in status["conditions"]] == ["TenantOnboarded"]
