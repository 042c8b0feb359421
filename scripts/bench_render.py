"""Median render times: config.hcl for the full-featured spec, and every object for examples/production.yaml.

A benchmark, not a test: it prints the numbers and, with --write, records them in docs/benchmarks.md.
Specs are parsed once; only the render is timed, on one core (the process is pinned to CPU 0 where the
platform allows it). Targets: config.hcl 0.3 ms, the whole object set (render_desired) 1 ms.
Usage: uv run python scripts/bench_render.py [--write]
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from openbao_operator.api import parse_cluster
from openbao_operator.api.yamlio import load_all
from openbao_operator.render.config import render_config
from openbao_operator.render.desired import render_desired
from openbao_operator.render.facts import RenderFacts

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "data" / "render" / "full-featured.yaml"
PRODUCTION = ROOT / "examples" / "production.yaml"
DOC = ROOT / "docs" / "benchmarks.md"
ROUNDS, PER_ROUND = 50, 200


def row(what: str, render: Callable[[], object], *, target_ms: float) -> str:
    """One table row: the median (and p10-p90) of ROUNDS rounds of PER_ROUND calls, after a warm-up."""
    for _ in range(200):
        render()
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter_ns()
        for _ in range(PER_ROUND):
            render()
        samples.append((time.perf_counter_ns() - start) / PER_ROUND / 1e6)
    median = statistics.median(samples)
    deciles = statistics.quantiles(samples, n=10)
    verdict = "met" if median <= target_ms else "MISSED"
    return f"| {what} | {median:.3f} ms | {deciles[0]:.3f}-{deciles[-1]:.3f} ms | {target_ms} ms | {verdict} |"


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    cluster = parse_cluster(yaml.safe_load(SPEC.read_text()))
    facts = RenderFacts(namespace=cluster.metadata.namespace or "default")
    text = render_config(cluster, facts=facts).text
    config_row = row(
        f"config.hcl, full-featured spec ({len(text.splitlines())} lines)",
        lambda: render_config(cluster, facts=facts),
        target_ms=0.3,
    )
    production = parse_cluster(load_all(PRODUCTION.read_text())[0])
    prod_facts = RenderFacts(namespace="openbao", owner_uid="uid", api_server_cidr="10.96.0.1/32", initialized=True)
    objects = render_desired(production, facts=prod_facts)
    objects_row = row(
        f"every object, examples/production.yaml ({len(objects.objects)} objects)",
        lambda: render_desired(production, facts=prod_facts),
        target_ms=1.0,
    )
    line = f"{config_row}\n{objects_row}"
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
