"""Rolling upgrade timings: a 3-node cluster 2.6.2 -> 2.7.2 with pods that really run OpenBao (issue 19).

    uv run --frozen python scripts/bench_upgrade.py [--runs 3] [--json PATH] [--keep]

Starts its own peers (etcd, kube-apiserver, kube-controller-manager, kwok, the node agent running the released
`bao` binaries; docs/test-peers.md, needs root) and the operator in this process (namespace mode, deploy/
RBAC). Each run makes a new 3-node cluster at 2.6.2 (stored root token: the active node is stepped down),
waits until it is Available, changes ``spec.version`` to 2.7.2 and follows the upgrade with the poller of
tests/integration/upgradewatch.py (every 0.2 s) until ``status.upgrade.phase`` is Completed. Per pod, in the
order replaced (two standbys, then the active node):

- ``deleted->created``: the pod seen terminating or gone -> its replacement (a new uid) seen;
- ``created->Running``, ``Running->Ready`` (the readiness probe: unsealed);
- ``Ready->gate``: Ready -> the health gate passed (version, joined, a voter, caught up, autopilot healthy):
  ``status.upgrade.pods[].state`` Healthy or the next pod deleted, whichever is seen first (the pass that
  finds the pod healthy deletes the next one, then writes status);
- ``gate->next``: the gate passed -> the next pod deleted (for the last pod: -> Completed).

plus ``change->first deletion`` and ``total`` (the spec change -> Completed). Every time is a 0.2 s sample of
the API server, so each figure is +-0.2 s. Medians over the runs are printed last. Wall-clock figures of a
shared machine: compare runs on the same machine only, with the load average printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.kubehelp import admin, eventually  # noqa: E402
from tests.integration.operatorhelp import running_operator  # noqa: E402
from tests.integration.test_rollout_e2e import wait_available  # noqa: E402
from tests.integration.upgradewatch import Life, UpgradeTimeline  # noqa: E402
from tests.peers.controlplane import ControlPlane, start_control_plane  # noqa: E402
from tests.peers.deploy import apply, install_crd  # noqa: E402
from tests.peers.nodeagent import NodeAgent  # noqa: E402
from tests.unit.render.config_cases import manifest  # noqa: E402

from openbao_operator import kube  # noqa: E402
from openbao_operator.controller import kinds  # noqa: E402

FROM, TO = "2.6.2", "2.7.2"
STAGES = ("deleted->created", "created->Running", "Running->Ready", "Ready->gate", "gate->next")


def _d(a: float | None, b: float | None) -> float | None:
    return round(b - a, 1) if a is not None and b is not None else None


def figures(timeline: UpgradeTimeline, changed: float) -> dict[str, Any]:
    """The timings of one upgrade from its timeline (None where a sample was missed)."""
    reps = timeline.replacements()
    pods: list[dict[str, Any]] = []
    for i, (name, old, new) in enumerate(reps):
        nxt: Life | None = reps[i + 1][1] if i + 1 < len(reps) else None
        end = nxt.deleting_at if nxt is not None else timeline.completed_at
        # the pass that finds a pod healthy deletes the next one and writes status after: whichever is seen first
        gate = min((t for t in (new.healthy_at, end) if t is not None), default=None)
        pods.append(
            {
                "pod": name,
                "deleted_at": _d(changed, old.deleting_at),
                "deleted->created": _d(old.deleting_at, new.seen_at),
                "created->Running": _d(new.seen_at, new.running_at),
                "Running->Ready": _d(new.running_at, new.ready_at),
                "Ready->gate": _d(new.ready_at, gate),
                "gate->next": _d(gate, end),
                "deleted->gate": _d(old.deleting_at, gate),
                "seen_at": {
                    k: _d(changed, v)
                    for k, v in (
                        ("deleted", old.deleting_at),
                        ("created", new.seen_at),
                        ("running", new.running_at),
                        ("ready", new.ready_at),
                        ("healthy_in_status", new.healthy_at),
                    )
                },
            }
        )
    first = reps[0][1].deleting_at if reps else None
    return {
        "change->first deletion": _d(changed, first),
        "total": _d(changed, timeline.completed_at),
        "pods": pods,
        "leadership": timeline.actives,
        "gate_waits": timeline.gate_waits(),
    }


async def one_run(client: kube.KubeClient, namespace: str, name: str) -> dict[str, Any]:
    doc = manifest(name=name, namespace=namespace, replicas=3, version=FROM, deletionPolicy="DeleteAll")
    await client.apply(doc)
    await wait_available(client, namespace, name, within=300)
    await asyncio.sleep(2)  # the service-registration labels settle
    timeline = UpgradeTimeline(client, namespace, name)
    stop = asyncio.Event()
    task = asyncio.create_task(timeline.run(stop))
    try:
        await eventually(lambda: _has_active(timeline), what="the poller sees an active pod", within=30)
        changed = time.monotonic()
        await client.apply(manifest(name=name, namespace=namespace, replicas=3, version=TO, deletionPolicy="DeleteAll"))
        await eventually(lambda: _done(timeline), what="status.upgrade Completed", within=600, interval=0.2)
        # the gate reads OpenBao itself, so Completed may come before the last pod's readiness probe passes
        await eventually(lambda: _all_ready(timeline), what="every pod Ready", within=60, interval=0.2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    result = figures(timeline, changed)
    await client.delete(kinds.CLUSTER, name, namespace=namespace)

    async def gone() -> bool:
        pods = await client.list(kinds.POD, namespace=namespace, labels={"app.kubernetes.io/instance": name})
        return not pods.items

    await eventually(gone, what=f"{name}'s pods gone", within=120, interval=0.5)
    return result


async def _has_active(timeline: UpgradeTimeline) -> bool:
    return bool(timeline.actives)


async def _all_ready(timeline: UpgradeTimeline) -> bool:
    return timeline.last is not None and not timeline.last.unavailable


async def _done(timeline: UpgradeTimeline) -> bool:
    return timeline.completed_at is not None


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 1) if known else None


def table(runs: list[dict[str, Any]]) -> str:
    """Markdown: one row per run and pod position, then the medians."""
    head = ["run", "pod (order)", "deleted at", *STAGES, "deleted->gate"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]

    def cell(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    for r, run in enumerate(runs, 1):
        for i, p in enumerate(run["pods"]):
            role = "active" if i == len(run["pods"]) - 1 else "standby"
            values = [p["deleted_at"], *(p[s] for s in STAGES), p["deleted->gate"]]
            rows.append(f"| {r} | {p['pod']} ({i + 1}, {role}) | " + " | ".join(cell(v) for v in values) + " |")
    positions = max((len(run["pods"]) for run in runs), default=0)
    for i in range(positions):
        at = [run["pods"][i] for run in runs if len(run["pods"]) > i]
        values = [_median([p[k] for p in at]) for k in ("deleted_at", *STAGES, "deleted->gate")]
        rows.append(f"| median | pod {i + 1} | " + " | ".join(cell(v) for v in values) + " |")
    first = _median([run["change->first deletion"] for run in runs])
    total = _median([run["total"] for run in runs])
    totals = ", ".join(cell(run["total"]) for run in runs)
    rows.append("")
    rows.append(
        f"change -> first deletion: median {cell(first)} s; change -> Completed: {totals} s (median {cell(total)} s)"
    )
    return "\n".join(rows)


async def bench(plane: ControlPlane, agent: NodeAgent, *, runs: int) -> list[dict[str, Any]]:
    namespace = "bench-upgrade"
    apply(plane, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    agent.adopt_namespace(namespace)
    client = admin(plane, field_manager="bench-user")
    out = []
    try:
        async with running_operator(plane, namespace, resync_seconds=30):
            for i in range(runs):
                result = await one_run(client, namespace, f"up{i}")
                result["load_average"] = os.getloadavg()
                print(f"run {i + 1}: {json.dumps(result)}", flush=True)
                out.append(result)
    finally:
        await client.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="upgrades, each of a new cluster")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (peer and operator logs)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-upgrade-"))
    logs = workdir / "logs"
    plane: ControlPlane | None = None
    agent: NodeAgent | None = None
    load_before = os.getloadavg()
    started = time.monotonic()
    try:
        plane = start_control_plane(workdir=workdir / "plane", logs=logs)
        install_crd(plane)
        agent = NodeAgent(plane, workdir=workdir / "node-agent", logs=logs).start()
        runs = asyncio.run(bench(plane, agent, runs=args.runs))
    finally:
        if agent is not None:
            agent.stop()
        if plane is not None:
            plane.stop()
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()
    print(f"\n{FROM} -> {TO}, 3 nodes, {len(runs)} runs, {time.monotonic() - started:.0f} s wall")
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, ", end="")
    print(f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}\n")
    print(table(runs))
    if args.json is not None:
        payload = {"runs": runs, "load_before": load_before, "load_after": load_after}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
