"""Median time to render config.hcl for the full-featured spec (tests/data/render/full-featured.yaml).

A benchmark, not a test: it prints the numbers and, with --write, records them in docs/benchmarks.md.
The spec is parsed once; only render_config is timed, on one core (the process is pinned to CPU 0 where
the platform allows it). Usage: uv run python scripts/bench_render.py [--write]
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import yaml

from openbao_operator.api import parse_cluster
from openbao_operator.render.config import render_config
from openbao_operator.render.facts import RenderFacts

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "data" / "render" / "full-featured.yaml"
DOC = ROOT / "docs" / "benchmarks.md"
ROUNDS, PER_ROUND = 50, 200
TARGET_MS = 0.3


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    cluster = parse_cluster(yaml.safe_load(SPEC.read_text()))
    facts = RenderFacts(namespace=cluster.metadata.namespace or "default")
    text = render_config(cluster, facts=facts).text
    for _ in range(200):  # warm-up
        render_config(cluster, facts=facts)
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(PER_ROUND):
            render_config(cluster, facts=facts)
        samples.append((time.perf_counter_ns() - start) / PER_ROUND / 1e6)
    median = statistics.median(samples)
    p10, p90 = statistics.quantiles(samples, n=10)[0], statistics.quantiles(samples, n=10)[-1]
    line = (
        f"| config.hcl, full-featured spec ({len(text.splitlines())} lines) | {median:.3f} ms | "
        f"{p10:.3f}-{p90:.3f} ms | {TARGET_MS} ms | {'met' if median <= TARGET_MS else 'MISSED'} |"
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    env = (
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, pinned to one core, "
        f"load average {load} (shared with other test runs)"
    )
    print(line)
    print(env)
    if "--write" in sys.argv:
        # Hand-written notes (from a "## " heading on) survive a rewrite of the numbers.
        old = DOC.read_text() if DOC.exists() else ""
        notes = old[old.index("\n## ") :] if "\n## " in old else ""
        DOC.write_text(
            "# Benchmarks\n\n"
            "Median of 50 rounds of 200 renders each, after a warm-up; measured on a development machine of\n"
            "this project (the same kind CI runs on). Not a timed test: numbers vary with the machine.\n\n"
            "Command: `uv run python scripts/bench_render.py --write`\n\n"
            f"Environment: {env}.\n\n"
            "| what | median | p10-p90 | target | |\n|---|---|---|---|---|\n"
            f"{line}\n" + notes
        )


if __name__ == "__main__":
    main()
