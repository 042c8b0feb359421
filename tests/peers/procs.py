"""Start, watch and stop peer processes, keeping every log.

Why: every peer (etcd, the Kubernetes servers, kwok, bao, the registry) is a child process whose log is
the only way to tell why an integration test failed. :class:`PeerProcess` writes each one to a file,
registers it so the pytest hook can print the tails on failure, and stops it with SIGTERM then SIGKILL.
:func:`wait_until` is the one polling loop, bounded in time and in attempts.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: Every peer log of this session, in start order (the failure hook prints their tails).
ALL_LOGS: list[tuple[str, Path]] = []


#: Every process started here; stopped at interpreter exit if a fixture teardown never ran.
ALL_PROCESSES: list[PeerProcess] = []

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the test runner dies, so no peer outlives it."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: atexit still stops the peers on a normal exit


@atexit.register
def _stop_all() -> None:
    for proc in reversed(ALL_PROCESSES):
        proc.stop(grace=5.0)


class PeerError(RuntimeError):
    """A peer failed to start or answer; the message carries the tail of its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def tail(path: Path, *, lines: int = 60) -> str:
    """The last ``lines`` lines of a log file (empty when it does not exist)."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 200 * lines))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    interval: float = 0.2,
    max_attempts: int = 10_000,
    on_timeout: Callable[[], str] | None = None,
) -> T:
    """Call ``probe`` until it returns something not None/False; bounded by ``timeout`` and attempts.

    Exceptions from ``probe`` count as "not yet" and the last one is reported on timeout.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    for _ in range(max_attempts):
        try:
            result = probe()
        except Exception as exc:  # the peer is not up yet: try again until the deadline
            last_exc = exc
            result = None
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    extra = f"; last error: {last_exc!r}" if last_exc else ""
    detail = f"\n{on_timeout()}" if on_timeout else ""
    raise PeerError(f"timed out after {timeout:.0f}s waiting for {what}{extra}{detail}")


class PeerProcess:
    """One running peer: its argv, its log file and how to stop it."""

    def __init__(
        self,
        *,
        name: str,
        argv: Sequence[str],
        log: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.env = dict(env) if env is not None else dict(os.environ)
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PeerProcess:
        """Start the process (a new session, so stopping it never signals the test runner)."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n=== start {self.name}: {' '.join(self.argv)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only prctl: safe even with threads
            )
        ALL_PROCESSES.append(self)
        if (self.name, self.log) not in ALL_LOGS:
            ALL_LOGS.append((self.name, self.log))
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self) -> None:
        """Raise with the log tail if the process has exited (used inside readiness probes)."""
        if self.proc is not None and self.proc.poll() is not None:
            raise PeerError(f"{self.name} exited with {self.proc.returncode}:\n{tail(self.log)}")

    def wait_ready(self, probe: Callable[[], object], *, what: str, timeout: float) -> None:
        """Wait until ``probe`` is truthy, failing at once if the process dies meanwhile."""

        def guarded() -> bool | None:
            self.check_alive()
            return True if probe() else None

        try:
            wait_until(guarded, what=f"{self.name}: {what}", timeout=timeout, on_timeout=lambda: tail(self.log))
        except PeerError:
            self.check_alive()
            raise

    def stop(self, *, grace: float = 10.0, sig: int = signal.SIGTERM) -> int | None:
        """Send ``sig`` to the process group, wait up to ``grace`` seconds, then SIGKILL."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=10)

    def kill(self) -> None:
        """Stop at once, as a crash would (SIGKILL, no graceful shutdown)."""
        self.stop(grace=5.0, sig=signal.SIGKILL)


def run_checked(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    log: Path | None = None,
    check: bool = True,
    input_text: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a short CLI command (bao, crane, cosign), bounded in time, optionally logging its output."""
    res = subprocess.run(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=input_text,
        stdin=None if input_text is not None else subprocess.DEVNULL,
    )
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a") as fh:
            fh.write(f"\n$ {' '.join(argv)}\n-> exit {res.returncode}\n{res.stdout}{res.stderr}")
        if (log.stem, log) not in ALL_LOGS:
            ALL_LOGS.append((log.stem, log))
    if check and res.returncode != 0:
        raise PeerError(f"`{' '.join(argv)}` exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res
