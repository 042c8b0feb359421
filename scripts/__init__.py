"""Programs run from the repository root: the demo (``python -m scripts.demo``, behind scripts/demo.sh),
generators and benchmarks (``python scripts/NAME.py``). A package so the demo can import its sibling
module and the test harness (tests.peers) the same way under ``python -m`` and under mypy."""
