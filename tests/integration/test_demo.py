"""The README's main job (scripts/demo.sh runs ``python -m scripts.demo``) ends with a real OpenBao cluster
answering: every pod initialized and unsealed, one active, three raft voters, a secret written and read back.
Run as a user runs it (a subprocess with its own control plane), bounded in time."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from scripts import demo
from scripts.demobao import GREETING
from tests.integration.conftest import peer_unavailable
from tests.peers import pins
from tests.peers.procs import run_checked

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]


def test_main_job_ends_with_openbao_answering(tmp_path: Path, peer_logs: Path) -> None:
    why_not = demo.node_agent_unavailable()
    if why_not is not None:
        peer_unavailable(why_not)
    res = run_checked(
        [sys.executable, "-m", "scripts.demo", "--once", "--dir", str(tmp_path / "demo")],
        timeout=360,
        log=peer_logs / "demo.log",
        check=False,
        cwd=pins.REPO_ROOT,
    )
    out = res.stdout
    assert res.returncode == 0, out[-3000:] + res.stderr[-3000:]
    assert "FALLING BACK TO KWOK" not in out
    statuses = re.findall(r"^\$ bao status .*initialized=True sealed=False (active|standby)", out, re.MULTILINE)
    assert sorted(statuses) == ["active", "standby", "standby"]
    peers = re.findall(r"^demo-\d\s+demo-\d\.demo\.default\.svc:8201\s+(leader|follower)\s+true$", out, re.MULTILINE)
    assert sorted(peers) == ["follower", "follower", "leader"]
    assert f"$ bao kv get -field=greeting demo/hello\n{GREETING}\n" in out
    took = re.search(r"== done in ([\d.]+)s", out)
    assert took is not None
    print(f"\nmain job: converged and answering in {took.group(1)}s (control plane start included)")
