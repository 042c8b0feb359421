"""When a static unseal key rotation may retire the old key: the honest ``rewrap_complete`` observation.

Why this needs care (tests/integration/test_seal_bao_rotation.py shows it on a real OpenBao): OpenBao
rewraps its stored keys with the seal's ``current_key`` when a node becomes the active node while the seal
also holds the ``previous_key`` that wrapped them (bao 2.7.2 logs "upgrading stored keys"). Seal config is
not reloaded by SIGHUP, so the new keys only reach OpenBao when a pod restarts, which the ordered rollout
does one pod at a time, the active node last. If the operator stopped mounting the old key before that
happened, every pod that restarts afterwards would stay sealed. So the rotation is called rewrapped only
when all of these hold, observed in this pass:

1. the live StatefulSet's pod template is the one rendered with both keys (its ``openbao.org/config-hash``
   and its ``unseal`` / ``unseal-previous`` Secret volumes equal the desired ones), and the StatefulSet
   controller has observed that template (``status.observedGeneration``), so ``updateRevision`` is its
   revision;
2. every pod ordinal of the StatefulSet exists, runs that revision, is Ready and not terminating: every
   bao process started with the new key as current and the old one as previous;
3. one of those pods answers ``sys/health`` as initialized, unsealed and active. OpenBao reports a node
   active only after its post-unseal setup (which upgrades the stored keys) has finished, and that node
   started with both keys, so the stored keys are wrapped by the new key.

Anything unclear (a pod missing, a stale label, no answer) means "not yet": waiting costs nothing, and
the next pass (a pod event or the requeue) looks again. The old key Secret is never deleted here or
anywhere else in the operator. The checks are pure (:func:`rollout_converged`, :func:`rewrap_complete`);
:func:`observe_rewrap` adds the ``sys/health`` calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openbao_operator.api import OpenBaoCluster, names
from openbao_operator.baoapi import BaoApiError, BaoUnavailable, Health
from openbao_operator.kube import Manifest

from . import podview
from .bootstrap import BaoConnect
from .desired import render_facts
from .kinds import POD
from .step import Context, Report
from .stsview import StatefulSetView
from .unseal import unseal_key

SEAL_VOLUMES = ("unseal", "unseal-previous")
"""The pod volumes that carry the static keys (render.workload.volumes)."""


@dataclass(frozen=True)
class Converged:
    """Step 1 and 2 of the module docstring: did every pod start with the rotation's template?"""

    ok: bool
    waiting_for: str
    """What is missing, for the status message ("" when ok)."""
    pods: tuple[Manifest, ...] = ()
    """The pods to ask which one is active, the labelled active pod first (only when ok)."""


def _template(sts: Manifest) -> dict[str, Any]:
    return dict(((sts.get("spec") or {}).get("template")) or {})


def _config_hash(sts: Manifest) -> str | None:
    annotations = (_template(sts).get("metadata") or {}).get("annotations") or {}
    value = annotations.get(names.ANNOTATION_CONFIG_HASH)
    return str(value) if value is not None else None


def _seal_secrets(sts: Manifest) -> dict[str, str | None]:
    volumes = (_template(sts).get("spec") or {}).get("volumes") or ()
    found: dict[str, str | None] = dict.fromkeys(SEAL_VOLUMES)
    for volume in volumes:
        if volume.get("name") in found:
            found[str(volume["name"])] = str((volume.get("secret") or {}).get("secretName") or "")
    return found


def rollout_converged(*, desired_sts: Manifest, live_sts: Manifest | None, pods: Sequence[Manifest]) -> Converged:
    """Whether every pod runs the pod template of ``desired_sts`` (rendered with both keys)."""
    if live_sts is None:
        return Converged(False, "the StatefulSet to exist")
    if _config_hash(live_sts) != _config_hash(desired_sts) or _seal_secrets(live_sts) != _seal_secrets(desired_sts):
        return Converged(False, "the StatefulSet to carry the pod template with both keys")
    meta, status = live_sts.get("metadata") or {}, live_sts.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return Converged(False, "the StatefulSet controller to observe the new pod template")
    live = StatefulSetView.of(live_sts)
    target, replicas, wanted = live.update_revision, live.replicas, StatefulSetView.of(desired_sts).replicas
    if not target or replicas < 1 or replicas != wanted:
        return Converged(False, "the StatefulSet to reach its replica count")
    by_ordinal = {podview.ordinal(p): p for p in pods}
    mine = []
    for i in range(replicas):
        pod = by_ordinal.get(i)
        if pod is None or podview.revision(pod) != target or not podview.ready(pod):
            what = f"pod ordinal {i}" if pod is None else podview.name(pod)
            return Converged(False, f"{what} to run revision {target} and be Ready")
        mine.append(pod)
    mine.sort(key=lambda p: (not podview.active(p), podview.ordinal(p)))
    return Converged(True, "", tuple(mine))


@dataclass(frozen=True)
class RewrapVerdict:
    complete: bool
    waiting_for: str
    """Why not yet ("" when complete)."""


def rewrap_complete(converged: Converged, health: Sequence[Health | None]) -> RewrapVerdict:
    """Step 3: ``health[i]`` is ``sys/health`` of ``converged.pods[i]`` (None: no answer, or not asked)."""
    if not converged.ok:
        return RewrapVerdict(False, converged.waiting_for)
    if any(h is not None and h.active for h in health):
        return RewrapVerdict(True, "")
    return RewrapVerdict(False, "an unsealed active node that started with both keys")


async def observe_rewrap(
    cluster: OpenBaoCluster,
    *,
    desired_sts: Manifest | None,
    live_sts: Manifest | None,
    pods: Sequence[Manifest],
    namespace: str,
    ca_pem: str | None,
    connect: BaoConnect,
) -> RewrapVerdict:
    """The verdict for this pass; asks ``sys/health`` of the converged pods until one says it is active."""
    if desired_sts is None:
        return RewrapVerdict(False, "a rendered StatefulSet")
    converged = rollout_converged(desired_sts=desired_sts, live_sts=live_sts, pods=pods)
    answers: list[Health | None] = []
    for pod in converged.pods:
        where = podview.target(cluster, pod, namespace=namespace, ca_pem=ca_pem)
        try:
            health = await connect(where).health() if where is not None else None
        except (BaoUnavailable, BaoApiError):
            health = None
        answers.append(health)
        if health is not None and health.active:
            break  # one active node is the answer; a cluster has at most one
    return rewrap_complete(converged, answers)


ROTATION_RECHECK_SECONDS = 5.0
"""While a static key rotation waits for its rewrap, look again this often (a pod event may come sooner)."""


async def step(ctx: Context) -> Report:
    """During a rotation: is the data rewrapped? Then the seal plan marks it on the key Secret and the render
    goes on without the previous key; else both keys stay, and the next pass looks again (pod events, or the
    recheck after a few seconds)."""
    unseal, cluster = ctx.facts.unseal, ctx.cluster
    if unseal is None or unseal.previous is None or not unseal.ok or not ctx.facts.initialized:
        return Report()
    desired = ctx.clients.memo.render(ctx.owner_uid, cluster, facts=render_facts(ctx, unseal=unseal))
    verdict = await observe_rewrap(
        cluster,
        desired_sts=desired.statefulset,
        live_sts=ctx.facts.live_sts,
        pods=ctx.clients.reader.list(POD, namespace=ctx.namespace, labels=names.infra_labels(cluster)),
        namespace=ctx.namespace,
        ca_pem=ctx.ca_pem,
        connect=ctx.clients.connect,
    )
    out = Report()
    if not verdict.complete:
        ctx.facts.rotation_waiting_for = verdict.waiting_for
        out.after(ROTATION_RECHECK_SECONDS)
        return out
    done, out = await unseal_key(ctx, rewrap_complete=True)
    if done is not None:
        ctx.facts.unseal = done
    return out
