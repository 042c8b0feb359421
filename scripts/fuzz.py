"""Run the manifest fuzzer (tests/fuzz/engine.py) longer than the test command does, or replay one case.

    uv run python scripts/fuzz.py --seconds 600 --seed 7            # explore for ten minutes
    uv run python scripts/fuzz.py --seed 20261202 --case 123        # replay one case of a red run
    uv run python scripts/fuzz.py --seconds 60 --seed 7 --processes 20

Prints the figures (cases, seconds, crashes, hangs, altered values) and every failure; exits 1 on any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz.engine import run  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--case", type=int, default=None, help="replay only this case index")
    parser.add_argument("--start", type=int, default=0, help="first case index (to continue a run)")
    parser.add_argument("--processes", type=int, default=5, help="cases also run through the real CLI process")
    args = parser.parse_args()
    if args.case is not None:
        stats = run(seed=args.seed, seconds=float("inf"), max_cases=1, processes=1, start=args.case)
    else:
        stats = run(seed=args.seed, seconds=args.seconds, processes=args.processes, start=args.start)
    print(stats.summary())
    print("families: " + ", ".join(f"{k}={v}" for k, v in sorted(stats.families.items())))
    for failure in stats.failures:
        print(f"FAIL {failure}")
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
