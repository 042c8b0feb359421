"""Controller benchmarks on the local control plane (a benchmark, not a test: it prints what it measured).

    uv run python scripts/bench_controller.py [--big 1000] [--skip-big] [--starts 5] [--wait-window 60]

What is measured (the operator runs as its ServiceAccount with deploy/ RBAC and admission policies,
cluster-wide mode; each namespace is onboarded with an OpenBaoTenant first, and the timers start once
the operator has provisioned it):
0. process start → /readyz of ``openbao-operator run`` (``--starts`` runs, median);
1. one cluster: time from the apply of an OpenBaoCluster to every rendered object existing (5 runs);
2. 100 clusters applied at once (concurrently): time until every object of every cluster exists, and the
   operator process' CPU-seconds until then and until all 100 are converged (Available, observed);
3. API requests per idle reconcile: an in-process operator with a counting transport over the same
   clusters, resync every 5 s, after convergence: requests (reads and writes) per reconcile;
4. waiting clusters: the same clusters' OpenBao never answers (kwok pods have no OpenBao behind them), so
   every one waits for pod-0's ``sys/init``. An in-process operator (default resync) runs ``--wait-warmup``
   seconds, then its requests and CPU-seconds are counted over ``--wait-window`` seconds, per minute;
5. the operator process' resident memory (VmRSS, VmHWM) with 0, 105 and ``--big`` clusters converged, and
   its CPU-seconds to converge the clusters beyond the first 105.

At the end the issue-20 table rows are printed (``summary``), with the load average at each phase.

Clusters are ``replicas: 1`` (kwok pods), Development profile, operator-managed TLS (a CA and a server
certificate are issued per cluster), static unseal key. The control plane (etcd, kube-apiserver,
kube-controller-manager, kwok) runs on the same machine, so its load is included in every time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.peers.controlplane import start_control_plane  # noqa: E402
from tests.peers.deploy import install_crd, install_operator, onboard, operator_process  # noqa: E402

from openbao_operator import kube  # noqa: E402
from openbao_operator.api import parse_cluster  # noqa: E402
from openbao_operator.cli.operator import build  # noqa: E402
from openbao_operator.cli.settings import OperatorSettings  # noqa: E402
from openbao_operator.render.desired import render_desired  # noqa: E402
from openbao_operator.render.facts import RenderFacts  # noqa: E402

NS = kube.resource_type("v1", "Namespace")
CLUSTER = kube.resource_type("openbao.org/v1alpha1", "OpenBaoCluster")
TENANT = kube.resource_type("openbao.org/v1alpha1", "OpenBaoTenant")


def manifest(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "openbao.org/v1alpha1",
        "kind": "OpenBaoCluster",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "version": "2.4.1",
            "replicas": 1,
            "profile": "Development",
            "tls": {"enabled": True, "mode": "OperatorManaged"},
            "storage": {"size": "1Gi"},
        },
    }


def expected(name: str, namespace: str) -> set[tuple[str, str]]:
    desired = render_desired(
        parse_cluster(manifest(name, namespace)), facts=RenderFacts(namespace=namespace, owner_uid="x")
    )
    out = {(o["kind"], o["metadata"]["name"]) for o in desired.objects}
    out |= {("Secret", f"{name}-tls-ca"), ("Secret", f"{name}-tls-server"), ("Secret", f"{name}-unseal-key")}
    return out


KINDS = [
    ("v1", "ServiceAccount"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("apps/v1", "StatefulSet"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("policy/v1", "PodDisruptionBudget"),
    ("v1", "Secret"),
]


async def present(client: kube.KubeClient, namespace: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    lists = await asyncio.gather(
        *(client.list(kube.resource_type(av, kind), namespace=namespace) for av, kind in KINDS)
    )
    for (_, kind), listed in zip(KINDS, lists, strict=True):
        found |= {(kind, o["metadata"]["name"]) for o in listed.items}
    return found


async def wait_objects(client: kube.KubeClient, namespace: str, want: set[tuple[str, str]], *, within: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        if want <= await present(client, namespace):
            return time.monotonic() - start
        await asyncio.sleep(0.02)
    raise TimeoutError(f"objects not all created within {within}s in {namespace}")


async def wait_converged(client: kube.KubeClient, namespace: str, count: int, *, within: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        items = (await client.list(CLUSTER, namespace=namespace)).items
        done = sum(1 for c in items if _converged(c))
        if done >= count:
            return time.monotonic() - start
        await asyncio.sleep(0.5)
    raise TimeoutError(f"{count} clusters not converged within {within}s")


def _converged(cluster: dict[str, Any]) -> bool:
    status = cluster.get("status") or {}
    available = any(c.get("type") == "Available" and c.get("status") == "True" for c in status.get("conditions") or ())
    return available and status.get("observedGeneration") == cluster["metadata"].get("generation")


def rss(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metrics(port: int) -> dict[str, float]:
    """Sums of a few runtime metrics of the operator process (over every label set)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    wanted = (
        "controller_runtime_reconcile_total",
        "controller_runtime_reconcile_time_seconds_sum",
        "controller_runtime_reconcile_errors_total",
        "workqueue_queue_duration_seconds_sum",
    )
    out = dict.fromkeys(wanted, 0.0)
    for line in text.splitlines():
        for name in wanted:
            if line.startswith((name + "{", name + " ")):
                out[name] += float(line.rsplit(" ", 1)[1])
    return out


def readyz(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


async def wait_ready(port: int, *, every: float = 0.1) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if await asyncio.to_thread(readyz, port):
            return
        await asyncio.sleep(every)
    raise TimeoutError("operator not ready")


async def namespace(client: kube.KubeClient, name: str, plane: Any) -> None:
    """Create the namespace and onboard it (a self-service OpenBaoTenant), then wait until it is provisioned."""
    await client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    onboard(plane, name)
    for _ in range(600):
        tenant = await client.get(TENANT, "openbao", namespace=name)
        if (tenant.get("status") or {}).get("provisioned") is True:
            await asyncio.sleep(1)  # the operator's informers in the namespace list once
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"namespace {name} not onboarded")


def load() -> float:
    return round(os.getloadavg()[0], 2)


OPERATOR_PYTHON: list[str] = []
"""``--operator-python``: the interpreter of the operator processes (default: this one)."""


def operator(identity: Any, **kw: Any) -> tuple[Any, int]:
    """tests.peers.deploy.operator_process, run by ``--operator-python`` when given."""
    proc, port = operator_process(identity, **kw)
    if OPERATOR_PYTHON:
        proc.argv[0] = OPERATOR_PYTHON[0]
    return proc, port


async def start_to_ready(identity: Any, workdir: Path, *, runs: int, workers: int) -> list[float]:
    """Seconds from ``openbao-operator run`` being started to its /readyz answering 200, ``runs`` times."""
    out = []
    for i in range(runs):
        proc, port = operator(
            identity,
            workdir=workdir,
            logs=workdir / "logs",
            name=f"bench-start-{i}",
            log_format="json",
            workers=workers,
        )
        start = time.monotonic()
        proc.start()
        await wait_ready(port, every=0.01)
        out.append(round(time.monotonic() - start, 3))
        proc.stop(grace=10)
    return out


@dataclass(frozen=True)
class LocalPlane:
    """A scratch directory, the local control plane in it, the CRDs and the operator's identity (deploy/ RBAC)."""

    workdir: Path
    plane: Any
    identity: Any


@contextlib.asynccontextmanager
async def local_plane(prefix: str) -> AsyncIterator[LocalPlane]:
    """The setup every benchmark and profile script starts from; stopped and removed on exit."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    plane = start_control_plane(workdir=workdir / "plane", logs=workdir / "logs")
    try:
        install_crd(plane)
        yield LocalPlane(workdir=workdir, plane=plane, identity=install_operator(plane))
    finally:
        plane.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.asynccontextmanager
async def in_process_operator(
    identity: Any, *, name: str, resync_seconds: float, client: kube.KubeClient
) -> AsyncIterator[Any]:
    """The operator running in this process (no leader election) over ``client``; stopped on exit."""
    settings = OperatorSettings(
        namespace=identity.namespace,
        identity=name,
        probe_address="127.0.0.1:0",
        resync_seconds=resync_seconds,
        api_server_cidr="127.0.0.1/32",
        leader_election=False,
    )
    operator = await build(settings, client=client, registry=CollectorRegistry(), rng=random.Random(1))  # noqa: S311 - jitter
    stop = asyncio.Event()
    task = asyncio.create_task(operator.run(stop))
    try:
        yield operator
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def waiting_requests(identity: Any, *, warmup: float, window: float) -> dict[str, Any]:
    """In-process operator (default resync) over clusters whose OpenBao never answers: per minute."""
    counter = kube.RequestCounter()
    client = kube.connect(identity.kubeconfig, wrap_transport=counter.wrap)
    async with in_process_operator(identity, name="bench-waiting", resync_seconds=600, client=client):
        await asyncio.sleep(warmup)
        counter.reset()
        cpu = time.process_time()
        load_before = load()
        await asyncio.sleep(window)
        cpu = time.process_time() - cpu
        scale = 60.0 / window
        return {
            "warmup_seconds": warmup,
            "window_seconds": window,
            "writes_per_minute": round(counter.writes * scale, 1),
            "reads_per_minute": round((counter.total - counter.writes) * scale, 1),
            "cpu_seconds_per_minute": round(cpu * scale, 2),
            "load": [load_before, load()],
        }


def reconciles(operator: Any) -> float:
    """Reconciles of the cluster controller of an in-process operator so far (every result)."""
    registry = operator.manager.metrics.registry
    return sum(
        registry.get_sample_value("controller_runtime_reconcile_total", {"controller": "openbaocluster", "result": r})
        or 0.0
        for r in ("success", "requeue_after", "requeue", "error")
    )


async def idle_requests(plane: Any, identity: Any, namespaces: list[str], count: int) -> dict[str, float]:
    """In-process operator with a counting transport: requests per reconcile once everything converged."""
    counter = kube.RequestCounter()
    client = kube.connect(identity.kubeconfig, wrap_transport=counter.wrap)
    async with in_process_operator(identity, name="bench-inproc", resync_seconds=5, client=client) as operator:
        await asyncio.sleep(15)  # sync, first pass over every cluster, watch events settle
        counter.reset()
        before = reconciles(operator)
        await asyncio.sleep(20)
        done = reconciles(operator) - before
        writes = counter.writes
        written = [(m, p) for m, p in counter.log if m in ("POST", "PUT", "PATCH", "DELETE")]
        if written:
            print("idle writes:", written[:10], flush=True)
        reads = counter.total - writes
        return {
            "reconciles": done,
            "writes": writes,
            "reads": reads,
            "reads_per_reconcile": reads / done if done else float("nan"),
            "writes_per_reconcile": writes / done if done else float("nan"),
        }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with local_plane("bench-controller-") as local:
        await measure(args, local, results)
    if args.starts_only:
        return results
    results["environment"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    results["summary"] = summary(results)
    return results


async def measure(args: argparse.Namespace, local: LocalPlane, results: dict[str, Any]) -> None:
    """Every phase, into ``results`` (kept when a later phase fails)."""
    workdir, plane, identity = local.workdir, local.plane, local.identity
    proc = None
    try:
        results["start_to_readyz_seconds"] = starts = await start_to_ready(
            identity, workdir, runs=args.starts, workers=args.workers
        )
        print("start → /readyz:", starts, "load", load(), flush=True)
        if args.starts_only:
            return
        proc, port = operator(
            identity,
            workdir=workdir,
            logs=workdir / "logs",
            name="bench-operator",
            resync_seconds=600,
            log_format="json",
            workers=args.workers,
        )
        proc.start()
        await wait_ready(port)
        client = kube.connect(plane.admin_kubeconfig, field_manager="bench")
        await asyncio.sleep(3)
        results["rss_mib_0_clusters"] = rss(proc.pid)
        print("RSS (VmRSS, VmHWM) MiB with no cluster:", results["rss_mib_0_clusters"], flush=True)

        await namespace(client, "one", plane)
        singles = []
        for i in range(5):
            name = f"s{i}"
            start = time.monotonic()
            await client.apply(manifest(name, "one"))
            await wait_objects(client, "one", expected(name, "one"), within=30)
            singles.append(time.monotonic() - start)
        results["one_cluster_seconds"] = {"median": statistics.median(singles), "all": singles}
        print("one cluster:", json.dumps(results["one_cluster_seconds"]), flush=True)

        await namespace(client, "hundred", plane)
        names = [f"c{i:03d}" for i in range(100)]
        want = set().union(*(expected(n, "hundred") for n in names))
        metrics_before = metrics(port)
        pids = {"operator": proc.pid, **{p.name: p.pid for p in plane.processes}}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        results["hundred_clusters_load"] = [load()]
        start = time.monotonic()
        await asyncio.gather(*(client.apply(manifest(n, "hundred")) for n in names))
        applied = time.monotonic() - start
        await wait_objects(client, "hundred", want, within=300)
        results["hundred_clusters_seconds"] = time.monotonic() - start
        results["hundred_clusters_apply_seconds"] = applied
        results["hundred_clusters_cpu_seconds"] = {
            name: round(cpu_seconds(pid) - cpu_before[name], 2) for name, pid in pids.items()
        }
        print(f"100 clusters: all objects after {results['hundred_clusters_seconds']:.2f}s", flush=True)
        print("CPU seconds used meanwhile:", results["hundred_clusters_cpu_seconds"], flush=True)
        after = metrics(port)
        results["hundred_clusters_reconciles"] = {k: round(after[k] - metrics_before[k], 2) for k in after}
        print("reconciles meanwhile:", results["hundred_clusters_reconciles"], flush=True)
        await wait_converged(client, "hundred", 100, within=300)
        results["hundred_clusters_converged_seconds"] = round(time.monotonic() - start, 2)
        results["hundred_clusters_operator_cpu_to_converge"] = round(cpu_seconds(proc.pid) - cpu_before["operator"], 2)
        results["hundred_clusters_load"].append(load())
        print("operator CPU-s to converge 100:", results["hundred_clusters_operator_cpu_to_converge"], flush=True)
        await asyncio.sleep(5)
        results["rss_mib_105_clusters"] = rss(proc.pid)
        print("RSS (VmRSS, VmHWM) MiB with 105 clusters:", results["rss_mib_105_clusters"], flush=True)

        proc.stop(grace=10)  # the in-process operator takes over (no leader election) for the request count
        results["idle_requests_105_clusters"] = await idle_requests(plane, identity, ["one", "hundred"], 105)
        print("idle:", json.dumps(results["idle_requests_105_clusters"]), flush=True)
        results["waiting_105_clusters"] = await waiting_requests(
            identity, warmup=args.wait_warmup, window=args.wait_window
        )
        print("waiting:", json.dumps(results["waiting_105_clusters"]), flush=True)

        if not args.skip_big:
            proc, port = operator(
                identity,
                workdir=workdir,
                logs=workdir / "logs",
                name="bench-operator-big",
                resync_seconds=600,
                log_format="json",
                workers=args.workers,
            )
            proc.start()
            await wait_ready(port)
            await namespace(client, "big", plane)
            big = [f"b{i:04d}" for i in range(args.big - 105)]
            results["big_load"] = [load()]
            cpu_start = cpu_seconds(proc.pid)
            start = time.monotonic()
            for chunk in range(0, len(big), 50):
                await asyncio.gather(*(client.apply(manifest(n, "big")) for n in big[chunk : chunk + 50]))
            await wait_converged(client, "big", len(big), within=1800)
            results["big_clusters"] = len(big) + 105
            results["big_converged_seconds"] = time.monotonic() - start
            results["big_operator_cpu_to_converge"] = round(cpu_seconds(proc.pid) - cpu_start, 2)
            results["big_load"].append(load())
            await asyncio.sleep(10)
            results["rss_mib_big"] = rss(proc.pid)
            print(f"RSS (VmRSS, VmHWM) MiB with {results['big_clusters']} clusters:", results["rss_mib_big"])
        await client.close()
    finally:
        if proc is not None:
            proc.stop(grace=10)


def summary(r: dict[str, Any]) -> dict[str, Any]:
    """The rows of issue 20's table, from the measurements above (absent ones are None)."""
    waiting = r.get("waiting_105_clusters") or {}
    big = r.get("rss_mib_big")
    return {
        "100 clusters applied at once -> all objects (wall s)": round(r["hundred_clusters_seconds"], 2),
        "operator CPU-s to converge 100 clusters": r.get("hundred_clusters_operator_cpu_to_converge"),
        f"operator CPU-s for {r.get('big_clusters', 0) - 105} more clusters": r.get("big_operator_cpu_to_converge"),
        "RSS MiB at 0 / 105 / big clusters": [
            round(r["rss_mib_0_clusters"][0], 1),
            round(r["rss_mib_105_clusters"][0], 1),
            round(big[0], 1) if big else None,
        ],
        "process start -> /readyz s (median)": statistics.median(r["start_to_readyz_seconds"]),
        "105 waiting clusters per minute (writes, reads, CPU-s)": [
            waiting.get("writes_per_minute"),
            waiting.get("reads_per_minute"),
            waiting.get("cpu_seconds_per_minute"),
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", type=int, default=1000, help="total clusters for the memory figure")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--workers", type=int, default=16, help="OPENBAO_OPERATOR_WORKERS of the operator")
    parser.add_argument("--starts", type=int, default=5, help="process starts timed to /readyz")
    parser.add_argument("--starts-only", action="store_true", help="measure start → /readyz only")
    parser.add_argument(
        "--operator-python",
        default=None,
        help="interpreter for the operator processes, e.g. a venv of `uv sync --no-dev` like the image's",
    )
    parser.add_argument("--wait-warmup", type=float, default=60.0, help="seconds before the waiting window")
    parser.add_argument("--wait-window", type=float, default=60.0, help="seconds of the waiting window")
    args = parser.parse_args()
    if args.operator_python:
        OPERATOR_PYTHON.append(args.operator_python)
    results = asyncio.run(run(args))
    results["load_average_at_end"] = os.getloadavg()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
