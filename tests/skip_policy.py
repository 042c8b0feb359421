"""Why a test run is red when anything skipped: a skipped integration test is a test that did not run.

The README's test command (``bash scripts/test.sh``, which ``.ci/run`` runs) must prove the operator against
real peers. A peer that is missing, or a capability the machine lacks (network namespaces, ``unshare``),
used to turn whole modules into skips, and a run of skips looks green. So:

- :func:`unavailable` is the one way a test says "I cannot run here": it *fails* the test, naming what is
  missing and how to get it;
- a developer who knowingly runs on a lesser machine types ``OPENBAO_TESTS_ALLOW_SKIP=1`` by hand; then
  :func:`unavailable` skips instead. ``CI`` set to a true value overrides the opt-out: CI never skips;
- as a backstop, the session is failed when *any* test was skipped (a stray ``pytest.skip`` or ``skipif``)
  unless the opt-out is set, and the summary lists every skip with its reason.

Loaded by ``tests/conftest.py`` (``pytest_plugins``), so it applies to every run under ``tests/``.
"""

from __future__ import annotations

import os
from typing import Any, NoReturn

import pytest

OPT_OUT = "OPENBAO_TESTS_ALLOW_SKIP"


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")


def skips_allowed() -> bool:
    """Only when the developer opted out explicitly, and never in CI."""
    return _true(os.environ.get(OPT_OUT)) and not _true(os.environ.get("CI"))


def unavailable(message: str) -> NoReturn:
    """A peer or capability this test needs is missing: fail (or, with the opt-out, skip) saying so."""
    if skips_allowed():
        pytest.skip(f"{message} ({OPT_OUT}=1)")
    pytest.fail(f"{message}; to run without it on purpose, set {OPT_OUT}=1 (never in CI)", pytrace=False)


def require(available: bool, message: str) -> None:
    """:func:`unavailable` unless ``available``."""
    if not available:
        unavailable(message)


_SKIPPED: list[tuple[str, str]] = []


def _reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return str(reason).removeprefix("Skipped: ")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _SKIPPED.append((report.nodeid, _reason(report)))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _SKIPPED.append((report.nodeid, _reason(report)))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _SKIPPED and not skips_allowed() and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _SKIPPED:
        return
    if skips_allowed():
        terminalreporter.write_line(f"{len(_SKIPPED)} test(s) skipped, allowed by {OPT_OUT}=1", yellow=True)
        return
    terminalreporter.write_sep("=", f"{len(_SKIPPED)} skipped test(s) make this run fail", red=True)
    for nodeid, reason in _SKIPPED:
        terminalreporter.write_line(f"SKIPPED {nodeid}: {reason}")
    terminalreporter.write_line(f"A skipped test did not run. Provide what it needs, or set {OPT_OUT}=1 by hand.")
