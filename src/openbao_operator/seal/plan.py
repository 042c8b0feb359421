"""The pure decision for static unseal keys: create once, keep forever, rotate only on request.

Why it is shaped like this (losing the key loses the data):
- A key is generated only when no key Secret of the cluster exists, or when a rotation is requested
  and the previous one has finished. An existing Secret is never regenerated, overwritten or deleted,
  whatever state it is in: a broken one is reported (the user restores it), never replaced, because a
  new key makes the data unreadable.
- Creation is idempotent under crashes: the controller POSTs the Secret; AlreadyExists means an earlier
  attempt (maybe by an operator that died right after) won, and the next reconcile reads and keeps it.
- Rotation (field `spec.unseal.static.rotationID`, passed in as `rotation_id`): a new id names
  a new Secret `<name>-unseal-key-<id>`. The new key becomes OpenBao's `current_key`, the old one its
  `previous_key`. OpenBao rewraps its stored keys with the current key when the active node unseals
  with both configured (bao 2.7.2 logs "upgrading stored keys"; tests/integration/test_seal_bao_rotation.py
  proves that afterwards the new key alone unseals). The controller reports that as `rewrap_complete`
  (all pods run the config with the new key and an active node is unsealed); the plan then records it
  on the Secret (`openbao.org/unseal-key-rewrapped`) and stops mounting the previous key.
- State lives only in the key Secrets (immutable data, plus annotations written at creation), so a
  restarted operator, or a cluster deleted and re-created under Retain, decides the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.api.types import ROTATION_ID_MESSAGE

from . import secret as s
from .key import KEY_BYTES, TokenBytes, generate_unseal_key


class UnsealKeyReason(StrEnum):
    """Condition reasons; `ok` on the plan says whether the user has something to fix."""

    READY = "UnsealKeyReady"
    CREATING = "UnsealKeyCreating"
    ROTATING = "UnsealKeyRotating"
    ROTATION_DEFERRED = "UnsealKeyRotationDeferred"
    ROTATION_ID_STALE = "UnsealKeyRotationIDStale"
    ROTATION_ID_INVALID = "UnsealKeyRotationIDInvalid"
    KEY_INVALID = "UnsealKeyInvalid"
    CHAIN_BROKEN = "UnsealKeyChainBroken"
    NOT_USED = "UnsealKeyNotUsed"


@dataclass(frozen=True, kw_only=True, repr=False)
class ObservedKeySecret:
    """A key Secret as the controller read it (data base64-decoded). repr never shows the data."""

    name: str
    data: Mapping[str, bytes]
    annotations: Mapping[str, str] = field(default_factory=dict)
    owner_uids: tuple[str, ...] = ()
    """uids of its ownerReferences that point at an OpenBaoCluster."""

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}: <{len(v)} bytes>" for k, v in sorted(self.data.items()))
        return f"ObservedKeySecret(name={self.name!r}, data={{{sizes}}}, annotations={dict(self.annotations)!r})"


@dataclass(frozen=True)
class KeyRef:
    """Which Secret holds a key and the id OpenBao knows it by: what the renderer needs for the seal
    stanza (`current_key_id` / `previous_key_id`) and the volumes."""

    secret_name: str
    key_id: str


@dataclass(frozen=True, kw_only=True, repr=False)
class KeyCreation:
    """A key Secret to create with POST (never apply/update). Holds the key: repr shows the name only."""

    ref: KeyRef
    predecessor: str | None
    manifest: dict[str, Any]

    def __repr__(self) -> str:
        return f"KeyCreation(ref={self.ref!r}, predecessor={self.predecessor!r}, manifest=<redacted>)"


@dataclass(frozen=True, kw_only=True)
class UnsealKeyPlan:
    """What to do about the static unseal key Secrets in this reconcile."""

    reason: UnsealKeyReason
    message: str
    ok: bool
    """False: something the user must fix (the message says what); the controller keeps the pods as they are."""
    current: KeyRef | None
    """The key OpenBao must use now (`current_key`); None only when the static seal is not in use."""
    previous: KeyRef | None
    """The key to keep mounted as `previous_key` until the rewrap; None when there is none."""
    create: KeyCreation | None = None
    """Create this Secret before rendering (then requeue; AlreadyExists is fine)."""
    metadata_patches: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    """JSON merge patches of `metadata` only, per Secret name (ownerReferences by deletion policy, the
    rewrapped mark). Never touch data."""


def validate_key_secret(secret: ObservedKeySecret) -> str | None:
    """None when the Secret holds a usable key, else why not. Never suggests generating a new key."""
    value = secret.data.get(names.UNSEAL_KEY_KEY)
    if value is None:
        return (
            f"Secret {secret.name} has no data key {names.UNSEAL_KEY_KEY!r}; restore the key from your backup "
            "(the operator never replaces an existing key: a new key would make the data unreadable)"
        )
    if len(value) != KEY_BYTES:
        return (
            f"Secret {secret.name} holds {len(value)} bytes under {names.UNSEAL_KEY_KEY!r}, the static seal needs "
            f"{KEY_BYTES}; restore the original key (the operator never replaces an existing key)"
        )
    return None


def _key_id(cluster: OpenBaoCluster, secret: ObservedKeySecret) -> str:
    recorded = secret.annotations.get(names.ANNOTATION_UNSEAL_KEY_ID)
    if recorded:
        return recorded
    base = names.unseal_key_secret_name(cluster.metadata.name)
    # adopted Secrets (e.g. created by the reference operator) carry no annotation
    return (
        names.initial_unseal_key_id(cluster)
        if secret.name == base
        else names.rotated_unseal_key_id(secret.name[len(base) + 1 :])
    )


def _ownership_patches(
    cluster: OpenBaoCluster, secrets: Sequence[ObservedKeySecret], owner_uid: str | None
) -> dict[str, dict[str, Any]]:
    wanted = s.owner_references(cluster, owner_uid)
    if cluster.spec.deletion_policy == "DeleteAll" and not owner_uid:
        return {}  # uid unknown: cannot add the reference yet, and must not strip anything
    want_uids = tuple(ref["uid"] for ref in wanted)
    return {sec.name: {"ownerReferences": wanted} for sec in secrets if sec.owner_uids != want_uids}


class _Decision:
    """One decision over the observed key Secrets of one cluster."""

    def __init__(
        self, cluster: OpenBaoCluster, *, observed: Sequence[ObservedKeySecret], rewrap_complete: bool
    ) -> None:
        self.cluster = cluster
        name = cluster.metadata.name
        self.secrets = {o.name: o for o in observed if names.is_unseal_key_secret_name(name, o.name)}
        self.rewrap_complete = rewrap_complete
        self.patches: dict[str, dict[str, Any]] = {}

    def ref(self, secret: ObservedKeySecret) -> KeyRef:
        return KeyRef(secret.name, _key_id(self.cluster, secret))

    def heads(self) -> list[ObservedKeySecret]:
        """Key Secrets no other key Secret names as its predecessor (normally exactly one)."""
        replaced = {o.annotations.get(names.ANNOTATION_UNSEAL_KEY_PREDECESSOR) for o in self.secrets.values()}
        return sorted((o for o in self.secrets.values() if o.name not in replaced), key=lambda o: o.name)

    def previous(self, head: ObservedKeySecret) -> tuple[KeyRef | None, str]:
        """The predecessor to keep mounted, and a problem if it is needed but unusable."""
        pred_name = head.annotations.get(names.ANNOTATION_UNSEAL_KEY_PREDECESSOR)
        if not pred_name:
            return None, ""
        if head.annotations.get(names.ANNOTATION_UNSEAL_KEY_REWRAPPED) == "true":
            return None, ""
        if self.rewrap_complete:
            self.patches.setdefault(head.name, {}).setdefault("annotations", {})[
                names.ANNOTATION_UNSEAL_KEY_REWRAPPED
            ] = "true"
            return None, ""
        pred = self.secrets.get(pred_name)
        if pred is None or validate_key_secret(pred) is not None:
            return None, (
                f"the previous key Secret {pred_name} is missing or invalid while OpenBao may still need it "
                f"(the rotation to {head.name} is not rewrapped yet); restore it"
            )
        return self.ref(pred), ""


def plan_unseal_key(
    cluster: OpenBaoCluster,
    *,
    namespace: str,
    observed: Sequence[ObservedKeySecret],
    rotation_id: str | None = None,
    rewrap_complete: bool = False,
    owner_uid: str | None = None,
    token_bytes: TokenBytes | None = None,
) -> UnsealKeyPlan:
    """Decide the key Secrets for one cluster.

    `observed`: every Secret named `<name>-unseal-key` or `<name>-unseal-key-*` in the namespace (LIST by
    label `openbao.org/cluster=<name>` plus a GET of `<name>-unseal-key`, which an adopted reference
    Secret may hold without our labels). `rotation_id`: spec.unseal.static.rotationID
    (`secret.requested_rotation_id`). `rewrap_complete`: the controller has seen every pod run the config
    with the current key and an unsealed active node. `token_bytes`: the CSPRNG, drawn from only when a key is created.

    Steps: (1) only the static seal has a key; (2) no key yet -> create the first; (3) find the newest key
    (the chain head) and check it; (4) keep its predecessor mounted until the rewrap; (5) compare with the
    requested rotation id: keep, rotate, defer or report a stale id.
    """
    unseal = cluster.spec.unseal
    R = UnsealKeyReason  # noqa: N806 - a short alias keeps each outcome on one line
    # (1) other seals: existing key Secrets are left alone (switching back must find the same key)
    if unseal is not None and unseal.type != "static":
        return UnsealKeyPlan(
            reason=R.NOT_USED,
            message=f"seal type {unseal.type} uses no static key",
            ok=True,
            current=None,
            previous=None,
        )
    decision = _Decision(cluster, observed=observed, rewrap_complete=rewrap_complete)
    name = cluster.metadata.name
    rid_problem = ""
    if rotation_id is not None and not names.ROTATION_ID_PATTERN.fullmatch(rotation_id):
        rid_problem = f"spec.unseal.static.rotationID {rotation_id!r} {ROTATION_ID_MESSAGE}"
        rotation_id = None

    def make(ref: KeyRef, predecessor: str | None) -> KeyCreation:
        key = generate_unseal_key() if token_bytes is None else generate_unseal_key(token_bytes=token_bytes)
        manifest = s.key_secret_manifest(
            cluster,
            namespace=namespace,
            name=ref.secret_name,
            key=key,
            key_id=ref.key_id,
            predecessor=predecessor,
            owner_uid=owner_uid,
        )
        return KeyCreation(ref=ref, predecessor=predecessor, manifest=manifest)

    # (2) the first key
    if not decision.secrets:
        ref = KeyRef(names.unseal_key_secret_name(name, rotation_id), names.initial_unseal_key_id(cluster))
        return UnsealKeyPlan(
            reason=R.ROTATION_ID_INVALID if rid_problem else R.CREATING,
            message=rid_problem or f"creating the static unseal key Secret {ref.secret_name}",
            ok=not rid_problem,
            current=ref,
            previous=None,
            create=make(ref, None),
        )

    # (3) the head of the chain
    heads = decision.heads()
    chain = list(decision.secrets.values())
    patches = _ownership_patches(cluster, chain, owner_uid)
    desired = names.unseal_key_secret_name(name, rotation_id)
    if len(heads) != 1:
        # keep serving with the most plausible key, never create one while the chain is unclear
        candidates = [decision.secrets.get(desired), decision.secrets.get(names.unseal_key_secret_name(name)), *heads]
        pick = next((c for c in candidates if c is not None), sorted(chain, key=lambda o: o.name)[0])
        return UnsealKeyPlan(
            reason=R.CHAIN_BROKEN,
            message=f"cannot tell which key is current among {', '.join(sorted(decision.secrets))} (their "
            f"{names.ANNOTATION_UNSEAL_KEY_PREDECESSOR} annotations do not form one chain); fix the annotations",
            ok=False,
            current=decision.ref(pick),
            previous=None,
            metadata_patches=_merge(patches, decision.patches),
        )
    head = heads[0]
    current = decision.ref(head)
    problem = validate_key_secret(head)
    if problem:
        return UnsealKeyPlan(
            reason=R.KEY_INVALID, message=problem, ok=False, current=current, previous=None, metadata_patches=patches
        )

    # (4) the predecessor, until the rewrap
    previous, pred_problem = decision.previous(head)
    all_patches = _merge(patches, decision.patches)
    if pred_problem:
        return UnsealKeyPlan(
            reason=R.CHAIN_BROKEN,
            message=pred_problem,
            ok=False,
            current=current,
            previous=None,
            metadata_patches=all_patches,
        )

    def outcome(
        reason: UnsealKeyReason, message: str, *, ok: bool = True, create: KeyCreation | None = None
    ) -> UnsealKeyPlan:
        if rid_problem:
            reason, message, ok = R.ROTATION_ID_INVALID, rid_problem, False
        new_current = create.ref if create is not None else current
        new_previous = current if create is not None else previous
        return UnsealKeyPlan(
            reason=reason,
            message=message,
            ok=ok,
            current=new_current,
            previous=new_previous,
            create=create,
            metadata_patches=all_patches,
        )

    # (5) the requested key
    if desired == head.name:
        if previous is not None:
            return outcome(R.ROTATING, f"{head.name} is current; {previous.secret_name} stays mounted until rewrapped")
        return outcome(R.READY, f"{head.name} is the current static unseal key")
    if desired in decision.secrets or rotation_id is None:
        return outcome(
            R.ROTATION_ID_STALE,
            f"spec.unseal.static.rotationID names {desired}, but the data is wrapped by the newer {head.name}; "
            "keys never go back: set the rotationID of the current key, or a new one to rotate",
            ok=False,
        )
    if previous is not None:
        return outcome(
            R.ROTATION_DEFERRED,
            f"rotation to {desired} waits until the rotation to {head.name} is rewrapped",
        )
    new_ref = KeyRef(desired, names.rotated_unseal_key_id(rotation_id))
    if new_ref.key_id in {decision.ref(o).key_id for o in chain}:
        return outcome(
            R.ROTATION_ID_INVALID,
            f"key id {new_ref.key_id} is already used by another key; choose another rotationID",
            ok=False,
        )
    return outcome(
        R.ROTATING,
        f"rotating the static unseal key to {desired}; {head.name} stays mounted as the previous key until rewrapped",
        create=make(new_ref, head.name),
    )


def _merge(*parts: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for part in parts:
        for secret_name, patch in part.items():
            merged.setdefault(secret_name, {}).update(patch)
    return merged
