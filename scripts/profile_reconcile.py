"""Where the CPU of one reconcile pass goes (a profile, not a test: it prints what it measured).

    uv run python scripts/profile_reconcile.py [--clusters 20] [--rounds 20] [--out /tmp/reconcile.prof]

The local control plane of the test peers, deploy/ installed, and an in-process operator (cluster-wide
mode, as its ServiceAccount) over ``--clusters`` clusters of scripts/bench_controller.py's shape. Half of
them are marked initialized (OpenBao's label on pod-0, as its service registration would): an *unchanged*
cluster. The other half wait for pod-0's ``sys/init`` (kwok runs no OpenBao): a *waiting* cluster. Then
``Reconciler.reconcile`` is called ``--rounds`` times for every cluster of each half under cProfile, and
the CPU per pass and the top functions (own time and cumulative) are printed for each.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_controller import (  # noqa: E402
    CLUSTER,
    in_process_operator,
    local_plane,
    manifest,
    namespace,
    wait_converged,
)

from openbao_operator import kube  # noqa: E402
from openbao_operator.controller import kinds  # noqa: E402


async def profile(reconcile: object, keys: list[kube.ObjectKey], rounds: int, out: Path | None, label: str) -> None:
    assert callable(reconcile)
    prof = cProfile.Profile()
    cpu, wall = time.process_time(), time.monotonic()
    prof.enable()
    for _ in range(rounds):
        for key in keys:
            await reconcile(key)
    prof.disable()
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    passes = rounds * len(keys)
    per = f"{1000 * cpu / passes:.2f} ms CPU and {1000 * wall / passes:.2f} ms wall per pass"
    print(f"\n== {label}: {passes} passes, {per}")
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(prof, stream=text).strip_dirs().sort_stats(order).print_stats(25)
        print(text.getvalue())
    if out is not None:
        prof.dump_stats(out.with_suffix(f".{label}.prof"))


async def run(args: argparse.Namespace) -> None:
    async with local_plane("profile-reconcile-") as local:
        plane, identity = local.plane, local.identity
        client = kube.connect(plane.admin_kubeconfig, field_manager="bench")
        operator_client = kube.connect(identity.kubeconfig)
        try:
            async with in_process_operator(
                identity, name="profile", resync_seconds=600, client=operator_client
            ) as operator:
                await namespace(client, "prof", plane)
                names = [f"p{i:03d}" for i in range(args.clusters)]
                await asyncio.gather(*(client.apply(manifest(n, "prof")) for n in names))
                await wait_converged(client, "prof", len(names), within=300)
                unchanged, waiting = names[: len(names) // 2], names[len(names) // 2 :]
                patch = {"metadata": {"labels": {"openbao-initialized": "true"}}}
                for n in unchanged:
                    await client.merge_patch(kinds.POD, f"{n}-0", patch, namespace="prof")
                await asyncio.sleep(10)  # the passes those label changes bring, and their status writes
                reconcile = operator.reconciler.reconcile
                await profile(
                    reconcile, [kube.ObjectKey("prof", n) for n in unchanged], args.rounds, args.out, "unchanged"
                )
                await profile(reconcile, [kube.ObjectKey("prof", n) for n in waiting], args.rounds, args.out, "waiting")
                clusters = await client.list(CLUSTER, namespace="prof")
                print("clusters:", len(clusters.items))
        finally:
            await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="write <out>.<label>.prof files")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
