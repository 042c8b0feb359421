"""py-spy flame graph of the operator process while 100 new clusters converge (a profile, not a test).

    uv run python scripts/profile_converge.py --out docs/profile-converge.svg [--clusters 100]
        [--operator-python <venv>/bin/python] [--py-spy py-spy]

The control plane, CRDs and deploy/ RBAC as in scripts/bench_controller.py; the operator runs as its own
process (``openbao-operator run``, cluster-wide mode); ``py-spy record --format flamegraph`` (py-spy from
PyPI, e.g. ``uv tool install py-spy``; it needs ptrace rights over the process) samples it from the apply of
the clusters until all of them are converged (Available, observed). Prints the wall time, the operator's
CPU-seconds and its reconciles.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_controller as bench  # noqa: E402

from openbao_operator import kube  # noqa: E402


async def run(args: argparse.Namespace) -> None:
    if args.operator_python:
        bench.OPERATOR_PYTHON.append(args.operator_python)
    async with bench.local_plane("profile-converge-") as local:
        await converge(args, local)


async def converge(args: argparse.Namespace, local: bench.LocalPlane) -> None:
    workdir, plane, identity = local.workdir, local.plane, local.identity
    proc = None
    try:
        proc, port = bench.operator(
            identity, workdir=workdir, logs=workdir / "logs", name="profile-operator", resync_seconds=600, workers=16
        )
        proc.start()
        await bench.wait_ready(port)
        client = kube.connect(plane.admin_kubeconfig, field_manager="bench")
        await bench.namespace(client, "hundred", plane)
        names = [f"c{i:03d}" for i in range(args.clusters)]
        cpu = bench.cpu_seconds(proc.pid)
        argv = [args.py_spy, "record", "--pid", str(proc.pid), "--rate", "200", "--format", "flamegraph"]
        spy = await asyncio.create_subprocess_exec(
            *argv, "--nonblocking", "-o", str(args.out), stdout=subprocess.DEVNULL
        )
        await asyncio.sleep(1)
        start = time.monotonic()
        await asyncio.gather(*(client.apply(bench.manifest(n, "hundred")) for n in names))
        await bench.wait_converged(client, "hundred", args.clusters, within=300)
        took, used = time.monotonic() - start, bench.cpu_seconds(proc.pid) - cpu
        spy.send_signal(signal.SIGINT)
        await asyncio.wait_for(spy.wait(), 60)
        passes = bench.metrics(port)["controller_runtime_reconcile_total"]
        print(
            f"{args.clusters} clusters converged in {took:.1f} s; operator {used:.2f} CPU-s (py-spy attached), "
            f"{passes:.0f} reconciles; flame graph: {args.out}"
        )
        await client.close()
    finally:
        if proc is not None:
            proc.stop(grace=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--operator-python", default=None)
    parser.add_argument("--py-spy", default="py-spy")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
