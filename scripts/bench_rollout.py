"""Bootstrap, rollout and scaling durations with pods that really run OpenBao (node agent + operator).

Runs the end-to-end tests of tests/integration/test_rollout_e2e.py (they print their durations), parses the
figures and prints a summary; ``--json PATH`` also writes them. Needs root and the test peers
(docs/test-peers.md). Wall-clock figures of a shared machine: compare runs on the same machine only.

    uv run python scripts/bench_rollout.py --repeats 10 --json /tmp/bench-rollout.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATTERNS = {
    "bootstrap_repeats_s": re.compile(r"bootstrap durations \(s\): \[([^\]]*)\]"),
    "rollout": re.compile(r"(\w+): bootstrap ([\d.]+) s, rollout ([\d.]+) s"),
    "scale": re.compile(r"scale 3->5 ([\d.]+) s, 5->3 ([\d.]+) s"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10, help="bootstraps in a row (BOOTSTRAP_REPEATS)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("-k", default="", help="pytest -k expression (default: every e2e test)")
    default_log = Path(tempfile.gettempdir()) / "bench-rollout.log"
    parser.add_argument("--log", type=Path, default=default_log, help="the whole pytest output")
    args = parser.parse_args()
    argv = ["uv", "run", "pytest", "-m", "integration", "tests/integration/test_rollout_e2e.py", "-s", "-q"]
    argv += ["-p", "no:cacheprovider"] + (["-k", args.k] if args.k else [])
    env = {**os.environ, "BOOTSTRAP_REPEATS": str(args.repeats)}
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False)
    out = proc.stdout + proc.stderr
    args.log.write_text(out)
    result: dict[str, object] = {"exit_code": proc.returncode, "wall_s": round(time.monotonic() - started, 1)}
    if m := PATTERNS["bootstrap_repeats_s"].search(out):
        values = [float(v) for v in m.group(1).split(",") if v.strip()]
        result["bootstrap_s"] = values
        result["bootstrap_median_s"] = round(statistics.median(values), 1)
        result["bootstrap_max_s"] = max(values)
    for m in PATTERNS["rollout"].finditer(out):
        result[f"rollout_3_pods_{m.group(1)}_change_s"] = float(m.group(3))
    if m := PATTERNS["scale"].search(out):
        result["scale_3_to_5_s"], result["scale_5_to_3_s"] = float(m.group(1)), float(m.group(2))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json is not None:
        args.json.write_text(text + "\n")
    if proc.returncode != 0:
        failed = [line for line in out.splitlines() if line.startswith(("FAILED", "ERROR", "E  "))]
        print("\n".join(failed[:40]) + f"\nfull output: {args.log}", file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
