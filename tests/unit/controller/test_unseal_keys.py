"""The key Secret step (controller/unseal.py) and the UnsealKeyRotating condition, without an API server.

Cluster-wide mode cannot list Secrets, so rotated keys are found by following the links their annotations
carry (predecessor, and the successor hint written before a rotation key is created); the seal plan then
finds the newest key, and a second rotation chains to it, never to an older one.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from typing import Any

from openbao_operator import seal
from openbao_operator.api import parse_cluster
from openbao_operator.controller.status import unseal_key_condition
from openbao_operator.controller.unseal import MAX_KEY_SECRETS, observe_key_secrets, observed_key_secret
from openbao_operator.kube import Manifest, ObjectKey
from tests.unit.render.config_cases import manifest


class GetOnlyReader:
    """A Reader without a Secret cache (cluster-wide mode): GET works, list finds nothing."""

    def __init__(self, secrets: Mapping[str, Manifest]) -> None:
        self.secrets = dict(secrets)
        self.gets: list[str] = []

    def cached(self, rt: object) -> bool:
        return False

    def list(self, rt: object, *, namespace: str, labels: Mapping[str, str]) -> list[Manifest]:
        return []

    async def get(self, rt: object, key: ObjectKey, *, direct: bool = False) -> Manifest | None:
        self.gets.append(key.name)
        return self.secrets.get(key.name)


def key_secret(name: str, byte: int, **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations},
        "data": {"key": base64.b64encode(bytes([byte]) * 32).decode()},
    }


BASE = "bao-unseal-key"
PRED, SUCC = seal.ANNOTATION_PREDECESSOR, seal.ANNOTATION_SUCCESSOR


def chain(*, hints: bool) -> dict[str, Manifest]:
    """bao-unseal-key -> -r1 (rewrapped) -> -r2 (rewrapped)."""
    done = {seal.ANNOTATION_REWRAPPED: "true"}
    return {
        BASE: key_secret(BASE, 1, **({SUCC: f"{BASE}-r1"} if hints else {})),
        f"{BASE}-r1": key_secret(f"{BASE}-r1", 2, **{PRED: BASE, **done, **({SUCC: f"{BASE}-r2"} if hints else {})}),
        f"{BASE}-r2": key_secret(f"{BASE}-r2", 3, **{PRED: f"{BASE}-r1", **done}),
    }


def observe(secrets: Mapping[str, Manifest], rotation_id: str | None) -> tuple[list[str], GetOnlyReader]:
    reader = GetOnlyReader(secrets)
    found = asyncio.run(observe_key_secrets("bao", reader=reader, namespace="ns", rotation_id=rotation_id))  # type: ignore[arg-type]
    return sorted(str(s["metadata"]["name"]) for s in found), reader


def test_cluster_wide_mode_follows_the_links_to_every_key() -> None:
    names, _ = observe(chain(hints=True), "r3")
    assert names == [BASE, f"{BASE}-r1", f"{BASE}-r2"]
    # from the key the spec names, back along the predecessors (no hints needed)
    names, _ = observe(chain(hints=False), "r2")
    assert names == [BASE, f"{BASE}-r1", f"{BASE}-r2"]


def test_a_second_rotation_chains_to_the_newest_key() -> None:
    secrets = chain(hints=True)
    names, _ = observe(secrets, "r3")
    cluster = parse_cluster(manifest(name="bao", namespace="ns", unseal={"static": {"rotationID": "r3"}}))
    plan = seal.plan_unseal_key(
        cluster,
        namespace="ns",
        observed=[observed_key_secret(cluster, secrets[n]) for n in names],
        rotation_id="r3",
        token_bytes=lambda n: b"\x04" * n,
    )
    assert plan.create is not None
    assert plan.create.predecessor == f"{BASE}-r2"
    assert plan.previous is not None
    assert plan.previous.secret_name == f"{BASE}-r2"


def test_link_following_is_bounded_and_survives_cycles_and_dangling_hints() -> None:
    secrets = {
        BASE: key_secret(BASE, 1, **{SUCC: f"{BASE}-gone"}),  # a hint written just before a crash
        f"{BASE}-a": key_secret(f"{BASE}-a", 2, **{PRED: f"{BASE}-b", SUCC: f"{BASE}-b"}),
        f"{BASE}-b": key_secret(f"{BASE}-b", 3, **{PRED: f"{BASE}-a", SUCC: f"{BASE}-a"}),
    }
    names, reader = observe(secrets, "a")
    assert names == [BASE, f"{BASE}-a", f"{BASE}-b"]
    assert len(reader.gets) <= MAX_KEY_SECRETS
    assert len(reader.gets) == len(set(reader.gets))  # each name asked once
    # links to names that are not this cluster's key Secrets are not followed
    names, reader = observe({BASE: key_secret(BASE, 1, **{SUCC: "other-secret"})}, None)
    assert names == [BASE]
    assert reader.gets == [BASE]


def test_unseal_key_rotating_condition() -> None:
    R = seal.UnsealKeyReason  # noqa: N806
    cond = unseal_key_condition(reason=R.ROTATING, message="rotating to x", waiting_for="bao-2 to be Ready")
    assert (cond.type, cond.status, cond.reason) == ("UnsealKeyRotating", "True", "UnsealKeyRotating")
    assert cond.message == "rotating to x; waiting for bao-2 to be Ready"
    assert unseal_key_condition(reason=R.ROTATION_DEFERRED, message="m", waiting_for="").status == "True"
    for reason in (R.READY, R.CREATING, R.ROTATION_ID_STALE, R.ROTATION_ID_INVALID, R.CHAIN_BROKEN, R.KEY_INVALID):
        cond = unseal_key_condition(reason=reason, message="m", waiting_for="ignored")
        assert (cond.status, cond.reason, cond.message) == ("False", reason.value, "m")
