"""Requests and passes per new cluster, by kind of request (a diagnostic, not a test: it prints what it counted).

    uv run python scripts/requests_per_cluster.py [--clusters 30]

An in-process operator (cluster-wide mode, deploy/ RBAC, one onboarded namespace) with a counting transport;
``--clusters`` clusters of scripts/bench_controller.py's manifest are applied at once, and everything the
operator sent until all are converged (Available, observed) is counted, per cluster, by method and path
(the cluster's name replaced by ``X``), with the reconciles of the cluster controller.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_controller as bench  # noqa: E402

from openbao_operator import kube  # noqa: E402


async def run(count: int) -> None:
    async with bench.local_plane("requests-per-cluster-") as local:
        plane, identity = local.plane, local.identity
        admin = kube.connect(plane.admin_kubeconfig, field_manager="bench")
        counter = kube.RequestCounter()
        client = kube.connect(identity.kubeconfig, wrap_transport=counter.wrap)
        async with bench.in_process_operator(identity, name="count", resync_seconds=600, client=client) as operator:
            await bench.namespace(admin, "hundred", plane)
            counter.reset()
            before = bench.reconciles(operator)
            start = time.monotonic()
            names = [f"c{i:03d}" for i in range(count)]
            await asyncio.gather(*(admin.apply(bench.manifest(n, "hundred")) for n in names))
            await bench.wait_converged(admin, "hundred", count, within=300)
            took = time.monotonic() - start
            passes = bench.reconciles(operator) - before
        kinds = collections.Counter((m, re.sub(r"/c\d{3}[^/?]*", "/X", p.split("?")[0])) for m, p in counter.log)
        print(
            f"{count} clusters converged in {took:.1f} s; per cluster: {passes / count:.2f} passes, "
            f"{counter.total / count:.1f} requests ({counter.writes / count:.1f} writes)"
        )
        for (method, path), n in kinds.most_common():
            print(f"  {n / count:6.2f}  {method:6} {path}")
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=30)
    asyncio.run(run(parser.parse_args().clusters))


if __name__ == "__main__":
    main()
