"""The unseal-key decision: create once, never regenerate or overwrite, survive crashes and re-creation,
rotate only on request with the old key kept as previous_key until the rewrap."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbao_operator.api import OpenBaoCluster, parse_cluster
from openbao_operator.seal import (
    KeyRef,
    ObservedKeySecret,
    UnsealKeyPlan,
    UnsealKeyReason,
    plan_unseal_key,
    validate_key_secret,
)

R = UnsealKeyReason
GOOD = b"\x01" * 32
OTHER = b"\x02" * 32


def _cluster(**spec: Any) -> OpenBaoCluster:
    return parse_cluster(
        {
            "apiVersion": "openbao.org/v1alpha1",
            "kind": "OpenBaoCluster",
            "metadata": {"name": "bao"},
            "spec": {"version": "2.4.1", "tls": {"enabled": True}, "storage": {"size": "1Gi"}, **spec},
        }
    )


def _no_randomness(n: int) -> bytes:
    raise AssertionError("a key was generated although one exists")


def _counter_source() -> Any:
    counter = itertools.count(1)
    return lambda n: bytes([next(counter)]) * n


def _observed(manifest: dict[str, Any]) -> ObservedKeySecret:
    """What the controller would read back after creating `manifest`."""
    meta = manifest["metadata"]
    return ObservedKeySecret(
        name=meta["name"],
        data={k: base64.b64decode(v) for k, v in manifest["data"].items()},
        annotations=dict(meta.get("annotations", {})),
        owner_uids=tuple(r["uid"] for r in meta.get("ownerReferences", [])),
    )


def _secret(name: str, data: bytes | None = GOOD, **annotations: str) -> ObservedKeySecret:
    keys = {
        "key_id": "openbao.org/unseal-key-id",
        "predecessor": "openbao.org/unseal-key-predecessor",
        "rewrapped": "openbao.org/unseal-key-rewrapped",
    }
    return ObservedKeySecret(
        name=name,
        data={} if data is None else {"key": data},
        annotations={keys[k]: v for k, v in annotations.items()},
    )


def _plan(observed: Sequence[ObservedKeySecret], cluster: OpenBaoCluster | None = None, **kw: Any) -> UnsealKeyPlan:
    kw.setdefault("token_bytes", _no_randomness)
    return plan_unseal_key(cluster or _cluster(), namespace="ns", observed=observed, **kw)


# --- creation -------------------------------------------------------------------------------------


def test_first_key_is_created_with_the_spec_key_id() -> None:
    plan = _plan([], token_bytes=lambda n: GOOD)
    assert plan.reason is R.CREATING
    assert plan.ok
    assert plan.create is not None
    assert plan.current == KeyRef("bao-unseal-key", "operator-generated-v1")
    assert plan.previous is None
    assert _observed(plan.create.manifest).data == {"key": GOOD}


def test_custom_initial_key_id() -> None:
    cluster = _cluster(unseal={"static": {"currentKeyID": "k-2026"}})
    plan = _plan([], cluster, token_bytes=lambda n: GOOD)
    assert plan.current == KeyRef("bao-unseal-key", "k-2026")


def test_existing_key_is_kept_and_no_randomness_is_drawn() -> None:
    plan = _plan([_secret("bao-unseal-key")])
    assert plan.reason is R.READY
    assert plan.create is None
    assert plan.current == KeyRef("bao-unseal-key", "operator-generated-v1")


@pytest.mark.parametrize(
    ("data", "why"),
    [(None, "has no data key 'key'"), (b"\x01" * 16, "holds 16 bytes"), (b"", "holds 0 bytes")],
)
def test_invalid_key_is_reported_never_regenerated(data: bytes | None, why: str) -> None:
    plan = _plan([_secret("bao-unseal-key", data)])
    assert plan.reason is R.KEY_INVALID
    assert not plan.ok
    assert plan.create is None
    assert why in plan.message
    assert "never replaces an existing key" in plan.message
    assert plan.current == KeyRef("bao-unseal-key", "operator-generated-v1")


def test_validate_key_secret() -> None:
    assert validate_key_secret(_secret("x")) is None
    assert validate_key_secret(_secret("x", b"\x00" * 33)) is not None


def test_other_seal_types_leave_keys_alone() -> None:
    cluster = _cluster(unseal={"type": "transit", "transit": {"address": "a", "keyName": "k", "mountPath": "m"}})
    for observed in ([], [_secret("bao-unseal-key")]):
        plan = _plan(observed, cluster)
        assert plan.reason is R.NOT_USED
        assert plan.create is None
        assert plan.metadata_patches == {}


def test_unrelated_secrets_are_ignored() -> None:
    plan = _plan(
        [_secret("bao-unseal-keys"), _secret("other-unseal-key"), _secret("bao-unseal-key-UPPER")],
        token_bytes=lambda n: GOOD,
    )
    assert plan.reason is R.CREATING


def test_adopted_reference_secret_keeps_working() -> None:
    """The reference operator's Secret: no annotations, an ownerReference it strips in a finalizer."""
    cluster = _cluster(unseal={"static": {"currentKeyID": "legacy"}})
    adopted = ObservedKeySecret(name="bao-unseal-key", data={"key": GOOD}, owner_uids=("old-uid",))
    plan = _plan([adopted], cluster, owner_uid="uid-1")
    assert plan.reason is R.READY
    assert plan.current == KeyRef("bao-unseal-key", "legacy")
    assert plan.metadata_patches == {"bao-unseal-key": {"ownerReferences": []}}  # Retain: must not be collected


# --- crashes and re-creation --------------------------------------------------------------------


def test_operator_dying_around_creation_never_changes_the_key() -> None:
    """Each reconcile may die right after its create; AlreadyExists keeps the first Secret."""
    store: dict[str, ObservedKeySecret] = {}
    source = _counter_source()
    first_key: bytes | None = None
    for _ in range(20):
        plan = _plan(list(store.values()), token_bytes=source)
        if plan.create is not None:
            created = _observed(plan.create.manifest)
            store.setdefault(created.name, created)  # POST; AlreadyExists leaves the stored one
        first_key = first_key or store["bao-unseal-key"].data["key"]
        assert store["bao-unseal-key"].data["key"] == first_key
        assert plan.current == KeyRef("bao-unseal-key", "operator-generated-v1")
    assert len(store) == 1


def test_cluster_recreated_under_retain_reuses_every_key() -> None:
    old = [
        _secret("bao-unseal-key", GOOD),
        _secret(
            "bao-unseal-key-v2", OTHER, key_id="operator-rotated-v2", predecessor="bao-unseal-key", rewrapped="true"
        ),
    ]
    plan = _plan(old, rotation_id="v2", owner_uid="new-uid")
    assert plan.reason is R.READY
    assert plan.current == KeyRef("bao-unseal-key-v2", "operator-rotated-v2")
    assert plan.previous is None
    assert plan.metadata_patches == {}


def test_delete_all_adds_the_owner_reference_only_when_the_uid_is_known() -> None:
    cluster = _cluster(deletionPolicy="DeleteAll")
    plan = _plan([_secret("bao-unseal-key")], cluster, owner_uid="uid-1")
    refs = plan.metadata_patches["bao-unseal-key"]["ownerReferences"]
    assert [r["uid"] for r in refs] == ["uid-1"]
    assert _plan([_secret("bao-unseal-key")], cluster, owner_uid=None).metadata_patches == {}


# --- rotation -------------------------------------------------------------------------------------


def test_rotation_lifecycle() -> None:
    store = {"bao-unseal-key": _secret("bao-unseal-key", GOOD)}

    # 1. request: a new Secret, the old key becomes previous_key
    plan = _plan(list(store.values()), rotation_id="v2", token_bytes=lambda n: OTHER)
    assert plan.reason is R.ROTATING
    assert plan.create is not None
    assert plan.current == KeyRef("bao-unseal-key-v2", "operator-rotated-v2")
    assert plan.previous == KeyRef("bao-unseal-key", "operator-generated-v1")
    created = _observed(plan.create.manifest)
    assert created.annotations["openbao.org/unseal-key-predecessor"] == "bao-unseal-key"
    assert created.data == {"key": OTHER}
    store[created.name] = created

    # 2. created, not rewrapped yet: both stay mounted; a further rotation waits
    waiting = _plan(list(store.values()), rotation_id="v2")
    assert (waiting.reason, waiting.current, waiting.previous) == (R.ROTATING, plan.current, plan.previous)
    deferred = _plan(list(store.values()), rotation_id="v3")
    assert deferred.reason is R.ROTATION_DEFERRED
    assert deferred.create is None
    assert deferred.previous == plan.previous

    # 3. rewrap observed: the mark is recorded on the new Secret, the old key is no longer mounted
    done = _plan(list(store.values()), rotation_id="v2", rewrap_complete=True)
    assert done.previous is None
    assert done.metadata_patches == {"bao-unseal-key-v2": {"annotations": {"openbao.org/unseal-key-rewrapped": "true"}}}
    store["bao-unseal-key-v2"] = _secret(
        "bao-unseal-key-v2", OTHER, key_id="operator-rotated-v2", predecessor="bao-unseal-key", rewrapped="true"
    )
    settled = _plan(list(store.values()), rotation_id="v2")
    assert (settled.reason, settled.previous, settled.metadata_patches) == (R.READY, None, {})
    assert "bao-unseal-key" in {o.name for o in store.values()}  # the old key is never deleted

    # 4. the next rotation chains from v2
    nxt = _plan(list(store.values()), rotation_id="v3", token_bytes=lambda n: GOOD)
    assert nxt.create is not None
    assert nxt.previous == KeyRef("bao-unseal-key-v2", "operator-rotated-v2")


def test_going_back_to_an_older_rotation_id_is_refused() -> None:
    store = [
        _secret("bao-unseal-key"),
        _secret(
            "bao-unseal-key-v2", OTHER, key_id="operator-rotated-v2", predecessor="bao-unseal-key", rewrapped="true"
        ),
        _secret(
            "bao-unseal-key-v3", GOOD, key_id="operator-rotated-v3", predecessor="bao-unseal-key-v2", rewrapped="true"
        ),
    ]
    for rotation_id in (None, "v2"):  # the first key, then a later but not the newest one
        plan = _plan(store, rotation_id=rotation_id)
        assert plan.reason is R.ROTATION_ID_STALE
        assert not plan.ok
        assert plan.create is None
        assert plan.current == KeyRef("bao-unseal-key-v3", "operator-rotated-v3")
        assert plan.previous is None


def test_missing_previous_key_during_rewrap_is_reported() -> None:
    store = [_secret("bao-unseal-key-v2", OTHER, key_id="operator-rotated-v2", predecessor="bao-unseal-key")]
    plan = _plan(store, rotation_id="v2")
    assert plan.reason is R.CHAIN_BROKEN
    assert not plan.ok
    assert plan.create is None
    assert plan.current == KeyRef("bao-unseal-key-v2", "operator-rotated-v2")


def test_two_unrelated_heads_are_reported_not_resolved() -> None:
    store = [_secret("bao-unseal-key"), _secret("bao-unseal-key-x", OTHER)]
    plan = _plan(store, rotation_id="x")
    assert plan.reason is R.CHAIN_BROKEN
    assert plan.create is None
    assert plan.current is not None
    assert plan.current.secret_name == "bao-unseal-key-x"


@pytest.mark.parametrize("rotation_id", ["V2", "-v2", "v2-", "a" * 21, "v_2"])
def test_invalid_rotation_id(rotation_id: str) -> None:
    plan = _plan([_secret("bao-unseal-key")], rotation_id=rotation_id)
    assert plan.reason is R.ROTATION_ID_INVALID
    assert not plan.ok
    assert plan.create is None
    assert plan.current == KeyRef("bao-unseal-key", "operator-generated-v1")


def test_rotation_id_whose_key_id_is_taken_is_refused() -> None:
    cluster = _cluster(unseal={"static": {"currentKeyID": "operator-rotated-v2"}})
    plan = _plan([_secret("bao-unseal-key")], cluster, rotation_id="v2")
    assert plan.reason is R.ROTATION_ID_INVALID
    assert plan.create is None


# --- never regenerate, never print ---------------------------------------------------------------

names = st.sampled_from(["bao-unseal-key", "bao-unseal-key-v2", "bao-unseal-key-v3", "bao-unseal-key-x"])
datas = st.sampled_from([GOOD, OTHER, b"", b"\x03" * 16, None])
annotation_sets = st.fixed_dictionaries(
    {},
    optional={
        "predecessor": names,
        "rewrapped": st.sampled_from(["true", "false"]),
        "key_id": st.sampled_from(["a", "b", "operator-rotated-v2"]),
    },
)
observed_secret = st.builds(lambda n, d, a: _secret(n, d, **a), names, datas, annotation_sets)


@settings(max_examples=300, deadline=None)
@given(
    observed=st.lists(observed_secret, min_size=1, max_size=4, unique_by=lambda o: o.name),
    rotation_id=st.sampled_from([None, "v2", "v3", "x", "BAD"]),
    rewrap=st.booleans(),
    policy=st.sampled_from(["Retain", "DeletePVCs", "DeleteAll"]),
)
def test_never_overwrites_and_creates_only_on_rotation(
    observed: list[ObservedKeySecret], rotation_id: str | None, rewrap: bool, policy: str
) -> None:
    plan = plan_unseal_key(
        _cluster(deletionPolicy=policy),
        namespace="ns",
        observed=observed,
        rotation_id=rotation_id,
        rewrap_complete=rewrap,
        owner_uid="uid",
        token_bytes=lambda n: b"\x09" * n,
    )
    existing = {o.name for o in observed}
    if plan.create is not None:
        assert rotation_id is not None
        assert plan.create.ref.secret_name not in existing  # never overwrite a key Secret
        assert plan.previous is not None  # the key being replaced stays mounted
    for patch in plan.metadata_patches.values():
        assert set(patch) <= {"ownerReferences", "annotations"}  # metadata only, never data
    if policy != "DeleteAll":
        assert all(p.get("ownerReferences", []) == [] for p in plan.metadata_patches.values())
    assert plan.current is not None


def test_reprs_hide_key_material() -> None:
    plan = _plan([], token_bytes=lambda n: GOOD)
    observed = _secret("bao-unseal-key", GOOD)
    b64 = base64.b64encode(GOOD).decode()
    for text in (repr(plan), str(plan), repr(plan.create), repr(observed), f"{observed}"):
        assert b64 not in text
        assert repr(GOOD)[2:20] not in text
