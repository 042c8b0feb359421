"""Helpers for the upgrade end-to-end tests: a client writing to the pods every 100 ms, and a monitor of the pods
and the cluster's status while an upgrade runs.

Why here: both upgrade e2e tests (a good version, a broken one, with and without autoRollback) need the same
load and the same observations, and what they observe is what the issue's "done when" names: every
acknowledged write readable afterwards, which image each pod incarnation got, how many pods were out at once,
and which phases, versions and condition messages the status went through.

The writer is a thread with its own blocking HTTP client (not a task of the test's event loop, where the
operator runs): its gaps are the cluster's, not the loop's. It talks to the pods' API at their pod IPs, TLS
verified against the cluster's CA by each pod's DNS name; a standby forwards to the active node.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from openbao_operator import kube
from openbao_operator.api.operations import BackupTarget
from openbao_operator.controller import kinds
from openbao_operator.executor.credentials import load_credentials
from openbao_operator.executor.storage import ObjectStorage, open_storage
from tests.peers.objstore import ObjectStorePeer

WRITE_INTERVAL = 0.1
REQUEST_TIMEOUT = 2.0
WRITER_MAX_SECONDS = 900.0
"""A writer stops by itself after this long (the tests stop it much earlier)."""
VERIFY_SECONDS = 180.0
"""The bound for reading every acknowledged write again (a few hundred reads take seconds)."""


@dataclass(frozen=True)
class PodAddress:
    name: str
    ip: str
    server_name: str


@dataclass
class WriterCounts:
    acked: int
    failed_attempts: int
    read_ok: int
    read_stale: int
    read_wrong: int
    longest_gap_s: float


@dataclass
class Writer:
    """Every ``WRITE_INTERVAL`` a new kv-v2 key ``kv/data/load/wNNNNN`` (value: a counter and a run id), then a
    read of the previous acknowledged key. A write counts as acknowledged only on a 2xx answer; a failed
    attempt is retried at once on the next pod (each attempt bounded by ``REQUEST_TIMEOUT``)."""

    pods: list[PodAddress]
    ca_file: Path
    token: str
    mount: str = "kv"
    acked: dict[str, str] = field(default_factory=dict)
    acked_at: list[float] = field(default_factory=list)
    """time.monotonic() of each acknowledged write, in order."""
    failed_attempts: int = 0
    read_ok: int = 0
    read_stale: int = 0
    """Reads of an acknowledged key that found nothing (a lagging node answering)."""
    read_wrong: int = 0
    """Reads of an acknowledged key that found another value (must never happen)."""
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _client(self) -> httpx2.Client:
        tls = ssl.create_default_context(cafile=str(self.ca_file))
        return httpx2.Client(verify=tls, timeout=httpx2.Timeout(REQUEST_TIMEOUT))

    def _request(self, http: httpx2.Client, pod: PodAddress, method: str, path: str, **kw: Any) -> httpx2.Response:
        return http.request(
            method,
            f"https://{pod.ip}:8200/v1/{path}",
            headers={"X-Vault-Token": self.token},
            extensions={"sni_hostname": pod.server_name},
            **kw,
        )

    def start(self) -> Writer:
        self._thread = threading.Thread(target=self._run, name="upgrade-writer", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=3 * len(self.pods) * REQUEST_TIMEOUT + 5)
            assert not self._thread.is_alive(), "the writer did not stop"

    def _note(self, text: str) -> None:
        if len(self.errors) < 200:  # bounded: the first failures say what went wrong
            self.errors.append(f"{time.strftime('%H:%M:%S')} {text}")

    def _run(self) -> None:
        deadline = time.monotonic() + WRITER_MAX_SECONDS
        start_pod = 0
        counter = 0
        with self._client() as http:
            while not self._stop.is_set() and time.monotonic() < deadline:
                tick = time.monotonic()
                counter += 1
                key, value = f"w{counter:05d}", f"{self._run_id}-{counter}"
                done = False
                for attempt in range(len(self.pods)):
                    pod = self.pods[(start_pod + attempt) % len(self.pods)]
                    try:
                        resp = self._request(
                            http, pod, "POST", f"{self.mount}/data/load/{key}", json={"data": {"v": value}}
                        )
                    except (httpx2.HTTPError, ssl.SSLError, OSError) as exc:
                        self._note(f"{pod.name} put {key}: {type(exc).__name__}: {exc}")
                        self.failed_attempts += 1
                        continue
                    if 200 <= resp.status_code < 300:
                        with self._lock:
                            self.acked[key] = value
                            self.acked_at.append(time.monotonic())
                        start_pod = (start_pod + attempt) % len(self.pods)
                        done = True
                        break
                    self._note(f"{pod.name} put {key}: HTTP {resp.status_code} {resp.text[:200]}")
                    self.failed_attempts += 1
                if not done:
                    start_pod = (start_pod + 1) % len(self.pods)
                self._read_back(http, start_pod)
                self._stop.wait(max(0.0, WRITE_INTERVAL - (time.monotonic() - tick)))

    def _read_back(self, http: httpx2.Client, start_pod: int) -> None:
        with self._lock:
            if len(self.acked) < 2:
                return
            key = list(self.acked)[-2]
            want = self.acked[key]
        pod = self.pods[(start_pod + 1) % len(self.pods)]  # another pod than the one written to, when it answers
        try:
            resp = self._request(http, pod, "GET", f"{self.mount}/data/load/{key}")
        except (httpx2.HTTPError, ssl.SSLError, OSError):
            return
        if resp.status_code == 404:
            self.read_stale += 1
            self._note(f"{pod.name} read {key}: 404 (stale)")
        elif 200 <= resp.status_code < 300:
            got = ((resp.json().get("data") or {}).get("data") or {}).get("v")
            if got == want:
                self.read_ok += 1
            else:
                self.read_wrong += 1
                self._note(f"{pod.name} read {key}: {got!r}, wrote {want!r}")

    def acked_between(self, start: float, end: float) -> int:
        with self._lock:
            return sum(1 for t in self.acked_at if start <= t <= end)

    def longest_gap(self, start: float | None = None, end: float | None = None) -> float:
        """The longest time without an acknowledged write within [start, end] (the bounds count as writes)."""
        with self._lock:
            times = list(self.acked_at)
        lo = times[0] if start is None and times else (start or 0.0)
        hi = times[-1] if end is None and times else (end or 0.0)
        marks = [lo, *(t for t in times if lo <= t <= hi), hi]
        return max((b - a for a, b in itertools.pairwise(marks)), default=0.0)

    def counts(self, start: float | None = None, end: float | None = None) -> WriterCounts:
        return WriterCounts(
            acked=len(self.acked),
            failed_attempts=self.failed_attempts,
            read_ok=self.read_ok,
            read_stale=self.read_stale,
            read_wrong=self.read_wrong,
            longest_gap_s=round(self.longest_gap(start, end), 2),
        )

    def missing(self, pod: PodAddress) -> dict[str, tuple[str, str | None]]:
        """Every acknowledged write read again from ``pod`` (after the writer stopped): those whose value is not
        what was written, with what was found (None: not found, no answer after retries, or not read within
        ``VERIFY_SECONDS``)."""
        wrong: dict[str, tuple[str, str | None]] = {}
        deadline = time.monotonic() + VERIFY_SECONDS
        with self._client() as http:
            for key, want in list(self.acked.items()):
                got: str | None = None
                tries = 3 if time.monotonic() < deadline else 0  # bounded: a failed read is tried twice more
                for _ in range(tries):
                    try:
                        resp = self._request(http, pod, "GET", f"{self.mount}/data/load/{key}")
                    except (httpx2.HTTPError, ssl.SSLError, OSError):
                        time.sleep(0.5)
                        continue
                    if resp.status_code == 200:
                        got = ((resp.json().get("data") or {}).get("data") or {}).get("v")
                    break
                if got != want:
                    wrong[key] = (want, got)
        return wrong


def pod_address(agent_ip: Callable[[str, str], str], namespace: str, cluster: str, pod: str) -> PodAddress:
    return PodAddress(name=pod, ip=agent_ip(namespace, pod), server_name=f"{pod}.{cluster}.{namespace}.svc")


def _ready(pod: dict[str, Any]) -> bool:
    conds = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)


def _image(pod: dict[str, Any]) -> str:
    for c in (pod.get("spec") or {}).get("containers") or ():
        if c.get("name") == "openbao":
            return str(c.get("image") or "")
    return ""


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if cond.get("type") == type_:
            return dict(cond)
    return {}


@dataclass
class Monitor:
    """Polls the pods and the cluster every 0.2 s: the image of every pod incarnation (uid), the most pods out
    at once (missing, terminating or not Ready), and the sequence of status.upgrade phases,
    status.currentVersion values and Upgrading/Degraded condition messages."""

    client: kube.KubeClient
    namespace: str
    name: str
    replicas: int
    images: dict[str, tuple[str, str]] = field(default_factory=dict)
    """uid -> (pod name, openbao container image)."""
    seen_at: dict[str, float] = field(default_factory=dict)
    """uid -> time.monotonic() it was first seen."""
    max_out: int = 0
    out_log: list[tuple[float, tuple[str, ...]]] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    phase_at: dict[str, float] = field(default_factory=dict)
    """phase -> time.monotonic() it was first seen."""
    current_versions: list[str | None] = field(default_factory=list)
    messages: list[tuple[str, str, str]] = field(default_factory=list)
    """(condition type, reason, message), each distinct one once, in order."""
    polls: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        deadline = time.monotonic() + WRITER_MAX_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            await self.poll()
            await asyncio.sleep(0.2)

    async def poll(self) -> None:
        self.polls += 1
        found = await self.client.list(
            kinds.POD, namespace=self.namespace, labels={"app.kubernetes.io/instance": self.name}
        )
        pods = {str(p["metadata"]["name"]): p for p in found.items}
        for pod in found.items:
            uid = str(pod["metadata"]["uid"])
            if uid not in self.images:
                self.images[uid] = (str(pod["metadata"]["name"]), _image(pod))
                self.seen_at[uid] = time.monotonic()
        out = tuple(
            n
            for n in (f"{self.name}-{i}" for i in range(self.replicas))
            if n not in pods or pods[n]["metadata"].get("deletionTimestamp") or not _ready(pods[n])
        )
        if not self.out_log or self.out_log[-1][1] != out:
            self.out_log.append((time.monotonic(), out))
        self.max_out = max(self.max_out, len(out))
        obj = await self.client.get(kinds.CLUSTER, self.name, namespace=self.namespace)
        status = obj.get("status") or {}
        phase = str((status.get("upgrade") or {}).get("phase") or "")
        if phase and (not self.phases or self.phases[-1] != phase):
            self.phases.append(phase)
            self.phase_at.setdefault(phase, time.monotonic())
        current = status.get("currentVersion")
        if not self.current_versions or self.current_versions[-1] != current:
            self.current_versions.append(current)
        for type_ in ("Upgrading", "Degraded"):
            cond = _condition(obj, type_)
            seen = (type_, str(cond.get("reason") or ""), str(cond.get("message") or ""))
            if cond and seen not in self.messages:
                self.messages.append(seen)

    def pods_with_image(self, image: str) -> list[str]:
        """Names of the pod incarnations that got ``image`` (one entry per incarnation)."""
        return sorted(name for name, got in self.images.values() if got == image)

    def first_seen_with(self, image: str) -> float | None:
        times = [self.seen_at[uid] for uid, (_, got) in self.images.items() if got == image]
        return min(times) if times else None

    def incarnations(self, pod: str) -> int:
        return sum(1 for name, _ in self.images.values() if name == pod)


@asynccontextmanager
async def monitoring(client: kube.KubeClient, namespace: str, name: str, *, replicas: int) -> AsyncIterator[Monitor]:
    """A :class:`Monitor` polling from its first poll (done before the block) until the block ends, plus one
    last poll."""
    monitor = Monitor(client, namespace, name, replicas)
    await monitor.poll()
    stop = asyncio.Event()
    task = asyncio.create_task(monitor.run(stop))
    try:
        yield monitor
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await monitor.poll()


async def snapshot_size(peer: ObjectStorePeer, target: dict[str, Any], tmp_path: Path, key: str) -> int:
    """The size of the object ``key`` in ``target``'s bucket (0: not there)."""
    storage: ObjectStorage = open_storage(
        BackupTarget.model_validate(target),
        load_credentials(str(peer.write_credentials(tmp_path / "creds")), provider=peer.provider),
    )
    parent = key.rsplit("/", 1)[0]  # NB: a listing's prefix is whole path segments (a key lists nothing)
    found = [o for o in await storage.list(parent) if o.key == key]
    return found[0].size if found else 0
