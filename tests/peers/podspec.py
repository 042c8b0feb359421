"""What a kubelet derives from a Pod object, as plain functions over the pod's JSON (``Pod.to_dict()``):
the container environment, volume contents, mounts and probe results.

Why separate from :mod:`tests.peers.nodeagent`: these rules (``$(VAR)`` expansion, fieldRef paths, key
projection with modes, probe success ranges) are Kubernetes semantics a test can check without processes,
and the node agent only wires them to the API server and to `bao`.

Supported: env ``value`` / ``fieldRef`` (metadata.name/namespace/uid/labels['k']/annotations['k'],
spec.nodeName, spec.serviceAccountName, status.podIP/podIPs/hostIP) / ``secretKeyRef`` / ``configMapKeyRef``
(with ``optional``), ``envFrom``; volumes ``configMap``, ``secret``, ``projected`` (serviceAccountToken,
configMap, secret, downwardAPI), ``downwardAPI``, ``emptyDir``, ``persistentVolumeClaim``; probes
``httpGet`` (scheme, host, path, port by number or name, headers; TLS unverified as the kubelet does) and
``tcpSocket``. Not supported (reported, never silently ignored): ``exec`` and ``grpc`` probes, hostPath
volumes, resourceFieldRef.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

#: (namespace, name) -> the object's JSON, or None when it does not exist.
Lookup = Callable[[str, str], JSON | None]


class PodSpecError(RuntimeError):
    """The pod cannot be run (yet): a missing Secret/ConfigMap/key, or something unsupported."""


_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: known variables are replaced, ``$$`` is a literal ``$``, and
    references to unknown variables stay as written."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env.get(name, m.group(0))

    return _VAR.sub(sub, value)


_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def field_ref(pod: JSON, path: str) -> str:
    """The value of a downward-API ``fieldPath`` for this pod."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    m = _SUBSCRIPT.match(path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple: dict[str, Any] = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": status.get("podIP"),
        "status.hostIP": status.get("hostIP"),
        "status.podIPs": ",".join(p["ip"] for p in status.get("podIPs") or []),
        "status.hostIPs": ",".join(p["ip"] for p in status.get("hostIPs") or []),
    }
    if path == "metadata.labels":
        return "\n".join(f'{k}="{v}"' for k, v in sorted((meta.get("labels") or {}).items()))
    if path == "metadata.annotations":
        return "\n".join(f'{k}="{v}"' for k, v in sorted((meta.get("annotations") or {}).items()))
    if path not in simple:
        raise PodSpecError(f"unsupported fieldPath {path!r}")
    return str(simple[path] or "")


def _key_value(obj: JSON | None, key: str, *, what: str, optional: bool, secret: bool) -> str | None:
    if obj is None:
        if optional:
            return None
        raise PodSpecError(f"{what} not found")
    if secret:
        data = obj.get("data") or {}
        if key in data:
            return base64.b64decode(data[key]).decode()
        string_data = obj.get("stringData") or {}
        if key in string_data:
            return str(string_data[key])
    else:
        if key in (obj.get("data") or {}):
            return str(obj["data"][key])
    if optional:
        return None
    raise PodSpecError(f"{what} has no key {key!r}")


def container_env(
    pod: JSON,
    container: JSON,
    *,
    secrets: Lookup,
    config_maps: Lookup,
    base: Mapping[str, str],
) -> dict[str, str]:
    """The container's environment as the kubelet builds it: ``base`` (e.g. KUBERNETES_SERVICE_HOST), then
    ``envFrom``, then ``env`` in order, each ``value`` expanded against what came before."""
    ns = str((pod.get("metadata") or {}).get("namespace"))
    env: dict[str, str] = dict(base)
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        if "configMapRef" in source:
            ref = source["configMapRef"]
            obj = config_maps(ns, ref["name"])
            if obj is None and not ref.get("optional"):
                raise PodSpecError(f"ConfigMap {ns}/{ref['name']} not found")
            for k, v in ((obj or {}).get("data") or {}).items():
                env[prefix + k] = str(v)
        if "secretRef" in source:
            ref = source["secretRef"]
            obj = secrets(ns, ref["name"])
            if obj is None and not ref.get("optional"):
                raise PodSpecError(f"Secret {ns}/{ref['name']} not found")
            for k, v in ((obj or {}).get("data") or {}).items():
                env[prefix + k] = base64.b64decode(v).decode()
    for var in container.get("env") or []:
        name = str(var["name"])
        if "valueFrom" not in var or var.get("value") is not None:
            env[name] = expand(str(var.get("value") or ""), env)
            continue
        src = var["valueFrom"]
        value: str | None
        if "fieldRef" in src:
            value = field_ref(pod, str(src["fieldRef"]["fieldPath"]))
        elif "secretKeyRef" in src:
            ref = src["secretKeyRef"]
            value = _key_value(
                secrets(ns, ref["name"]),
                ref["key"],
                what=f"Secret {ns}/{ref['name']}",
                optional=bool(ref.get("optional")),
                secret=True,
            )
        elif "configMapKeyRef" in src:
            ref = src["configMapKeyRef"]
            value = _key_value(
                config_maps(ns, ref["name"]),
                ref["key"],
                what=f"ConfigMap {ns}/{ref['name']}",
                optional=bool(ref.get("optional")),
                secret=False,
            )
        else:
            raise PodSpecError(f"env {name}: unsupported valueFrom {sorted(src)}")
        if value is not None:
            env[name] = value
    return env


@dataclass(frozen=True)
class VolumeFile:
    """One file of a volume: relative path, content and mode."""

    path: str
    data: bytes
    mode: int


def _items(
    obj: JSON | None,
    source: JSON,
    *,
    what: str,
    secret: bool,
    default_mode: int,
) -> list[VolumeFile]:
    """Files of a configMap/secret volume or projection: every key, or only ``items`` (with their modes)."""
    if obj is None:
        if source.get("optional"):
            return []
        raise PodSpecError(f"{what} not found")
    data: dict[str, bytes] = {}
    for k, v in (obj.get("data") or {}).items():
        data[k] = base64.b64decode(v) if secret else str(v).encode()
    for k, v in (obj.get("binaryData") or {}).items():
        data[k] = base64.b64decode(v)
    mode = int(source.get("defaultMode", default_mode))
    items = source.get("items")
    if not items:
        return [VolumeFile(k, v, mode) for k, v in sorted(data.items())]
    out: list[VolumeFile] = []
    for item in items:
        key = str(item["key"])
        if key not in data:
            if source.get("optional"):
                continue
            raise PodSpecError(f"{what} has no key {key!r}")
        out.append(VolumeFile(str(item["path"]), data[key], int(item.get("mode", mode))))
    return out


def _downward(pod: JSON, items: list[JSON], *, mode: int) -> list[VolumeFile]:
    out = []
    for item in items:
        if "fieldRef" not in item:
            raise PodSpecError(f"downwardAPI item {item.get('path')}: only fieldRef is supported")
        value = field_ref(pod, str(item["fieldRef"]["fieldPath"]))
        out.append(VolumeFile(str(item["path"]), value.encode(), int(item.get("mode", mode))))
    return out


#: (namespace, serviceAccountName, audience or None, expirationSeconds) -> a token for that pod.
TokenSource = Callable[[str, str, str | None, int], str]


def volume_files(
    pod: JSON,
    volume: JSON,
    *,
    secrets: Lookup,
    config_maps: Lookup,
    token: TokenSource,
) -> list[VolumeFile] | None:
    """The files of a configMap/secret/projected/downwardAPI volume; None for directory-backed volumes."""
    ns = str((pod.get("metadata") or {}).get("namespace"))
    if "configMap" in volume:
        src = volume["configMap"]
        return _items(
            config_maps(ns, src["name"]), src, what=f"ConfigMap {ns}/{src['name']}", secret=False, default_mode=0o644
        )
    if "secret" in volume:
        src = volume["secret"]
        return _items(
            secrets(ns, src["secretName"]),
            src,
            what=f"Secret {ns}/{src['secretName']}",
            secret=True,
            default_mode=0o644,
        )
    if "downwardAPI" in volume:
        src = volume["downwardAPI"]
        return _downward(pod, list(src.get("items") or []), mode=int(src.get("defaultMode", 0o644)))
    if "projected" in volume:
        src = volume["projected"]
        mode = int(src.get("defaultMode", 0o644))
        out: list[VolumeFile] = []
        for s in src.get("sources") or []:
            if "serviceAccountToken" in s:
                t = s["serviceAccountToken"]
                sa = str((pod.get("spec") or {}).get("serviceAccountName") or "default")
                value = token(ns, sa, t.get("audience"), int(t.get("expirationSeconds", 3600)))
                out.append(VolumeFile(str(t["path"]), value.encode(), mode))
            elif "configMap" in s:
                c = {"defaultMode": mode, **s["configMap"]}
                out += _items(
                    config_maps(ns, c["name"]), c, what=f"ConfigMap {ns}/{c['name']}", secret=False, default_mode=mode
                )
            elif "secret" in s:
                c = {"defaultMode": mode, **s["secret"]}
                out += _items(
                    secrets(ns, c["name"]), c, what=f"Secret {ns}/{c['name']}", secret=True, default_mode=mode
                )
            elif "downwardAPI" in s:
                out += _downward(pod, list(s["downwardAPI"].get("items") or []), mode=mode)
            else:
                raise PodSpecError(f"volume {volume['name']}: unsupported projection {sorted(s)}")
        return out
    if "emptyDir" in volume or "persistentVolumeClaim" in volume:
        return None
    raise PodSpecError(f"volume {volume.get('name')}: unsupported type {sorted(set(volume) - {'name'})}")


DATA_LINK = "..data"
"""The symlink that names the current payload directory, as the kubelet's AtomicWriter calls it."""


def _current_payload(directory: Path) -> dict[str, tuple[bytes, int]] | None:
    """The files under ``..data`` (path -> content, mode); None when there is no payload yet."""
    data = directory / DATA_LINK
    if not data.is_symlink():
        return None
    root = data.resolve()
    out: dict[str, tuple[bytes, int]] = {}
    for f in root.rglob("*"):
        if f.is_file():
            out[f.relative_to(root).as_posix()] = (f.read_bytes(), f.stat().st_mode & 0o7777)
    return out


def write_volume(directory: Path, files: list[VolumeFile]) -> bool:
    """Make ``directory`` hold exactly ``files``, switching all of them at once; True if anything changed.

    The kubelet's AtomicWriter layout: the files live in a fresh ``..<timestamp>`` directory, ``..data`` is a
    symlink to it and every top-level name is a symlink through ``..data``. An update writes a new payload
    directory and renames a new ``..data`` link over the old one, so a process reading ``tls.crt`` and
    ``tls.key`` (OpenBao's ``tls_auto_reload``) never sees a new certificate with an old key.
    """
    for f in files:
        if f.path.startswith("/") or ".." in Path(f.path).parts:
            raise PodSpecError(f"volume file path must be relative: {f.path!r}")
    directory.mkdir(parents=True, exist_ok=True)
    wanted = {f.path: (f.data, f.mode) for f in files}
    if _current_payload(directory) == wanted:
        return False
    old = (directory / DATA_LINK).resolve() if (directory / DATA_LINK).is_symlink() else None
    stamp = time.strftime("%Y_%m_%d_%H_%M_%S", time.gmtime())
    payload = Path(tempfile.mkdtemp(prefix=f"..{stamp}.", dir=directory))
    payload.chmod(0o755)
    for f in files:
        target = payload / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.data)
        target.chmod(f.mode)
    tmp_link = directory / f"{DATA_LINK}_tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp_link.unlink()
    tmp_link.symlink_to(payload.name)
    os.replace(tmp_link, directory / DATA_LINK)  # the atomic switch
    tops = {Path(f.path).parts[0] for f in files}
    for entry in directory.iterdir():
        if entry.name.startswith(".."):
            continue
        if entry.name not in tops:  # a key that is gone
            _remove(entry)
        elif not (entry.is_symlink() and os.readlink(entry) == f"{DATA_LINK}/{entry.name}"):
            _remove(entry)  # e.g. a plain file from an older layout
    for top in tops:
        link = directory / top
        if not link.is_symlink():
            link.symlink_to(f"{DATA_LINK}/{top}")
    if old is not None and old.parent == directory and old != payload:
        shutil.rmtree(old, ignore_errors=True)
    return True


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink()


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


def container_port(container: JSON, port: int | str) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise PodSpecError(f"probe port {port!r} is not a container port name")


def run_probe(probe: JSON, container: JSON, *, pod_ip: str) -> ProbeResult:
    """One probe attempt as the kubelet makes it: httpGet succeeds on 200-399 (TLS without verification),
    tcpSocket on a completed connect; each bounded by ``timeoutSeconds``."""
    timeout = float(probe.get("timeoutSeconds", 1))
    if "httpGet" in probe:
        h = probe["httpGet"]
        host = str(h.get("host") or pod_ip)
        port = container_port(container, h["port"])
        path = str(h.get("path") or "/")
        conn: http.client.HTTPConnection
        if str(h.get("scheme", "HTTP")).upper() == "HTTPS":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        headers = {"User-Agent": "kube-probe/1.36", "Accept": "*/*"}
        headers |= {str(x["name"]): str(x["value"]) for x in h.get("httpHeaders") or []}
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read(10_000)
        except (OSError, http.client.HTTPException) as exc:
            return ProbeResult(False, f"GET {path}: {exc!r}")
        finally:
            conn.close()
        return ProbeResult(200 <= resp.status < 400, f"GET {path}: HTTP {resp.status}")
    if "tcpSocket" in probe:
        t = probe["tcpSocket"]
        port = container_port(container, t["port"])
        try:
            with socket.create_connection((str(t.get("host") or pod_ip), port), timeout=timeout):
                return ProbeResult(True, f"tcp {port}: connected")
        except OSError as exc:
            return ProbeResult(False, f"tcp {port}: {exc!r}")
    return ProbeResult(False, f"unsupported probe handler {sorted(set(probe) & {'exec', 'grpc'})}")


# ---- containers run by podman (images that are not OpenBao: the operator's own) ------------------------------


@dataclass(frozen=True)
class Mount:
    """A volume mount as the runtime sees it: a host path at a container path."""

    source: Path
    target: str
    read_only: bool


def security(pod: JSON, container: JSON) -> JSON:
    """The effective security settings: the container's securityContext over the pod's (runAsUser and
    friends), as the kubelet merges them."""
    pod_ctx = (pod.get("spec") or {}).get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    out: JSON = {k: pod_ctx[k] for k in ("runAsUser", "runAsGroup", "runAsNonRoot") if k in pod_ctx}
    out.update(ctx)
    return out


def pull_policy(container: JSON) -> str:
    """imagePullPolicy with Kubernetes' default (Always for ``:latest`` or no tag, else IfNotPresent)."""
    policy = container.get("imagePullPolicy")
    if policy:
        return str(policy)
    image = str(container.get("image", ""))
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    return "Always" if ":" not in last or last.endswith(":latest") else "IfNotPresent"


def env_file_text(env: Mapping[str, str]) -> str:
    """``--env-file`` content (values stay off the command line, which is logged); one line per variable."""
    lines = []
    for name, value in env.items():
        if "\n" in value or "\n" in name:
            raise PodSpecError(f"env {name}: multi-line values are not supported for podman containers")
        lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def podman_run_argv(
    pod: JSON,
    container: JSON,
    *,
    name: str,
    netns: str,
    mounts: list[Mount],
    env_file: Path,
    command: list[str],
    args: list[str],
) -> list[str]:
    """``podman run`` for one container, with what a kubelet would enforce from the pod spec.

    The pod's network namespace (``ns:/run/netns/<netns>``: the pod IP and the API server at 127.0.0.1),
    its volumes bind-mounted, runAsUser/runAsGroup, a read-only root **without** podman's writable tmpfs
    defaults (Kubernetes gives none), dropped and added capabilities, no-new-privileges unless
    ``allowPrivilegeEscalation`` is true, the pod's hostname, and the termination grace as stop timeout.
    The image is pulled beforehand (:func:`pull_policy`), so ``--pull=never`` here.
    """
    ctx = security(pod, container)
    spec = pod.get("spec") or {}
    argv = [
        "podman",
        "run",
        "--rm",
        "--replace",
        f"--name={name}",
        f"--network=ns:/run/netns/{netns}",
        f"--hostname={spec.get('hostname') or (pod.get('metadata') or {}).get('name')}",
        "--no-hosts",
        "--pull=never",
        f"--env-file={env_file}",
        f"--stop-timeout={int(spec.get('terminationGracePeriodSeconds', 30))}",
    ]
    if ctx.get("privileged"):
        raise PodSpecError(f"container {container['name']}: privileged containers are not run here")
    if "runAsUser" in ctx:
        user = str(ctx["runAsUser"])
        if "runAsGroup" in ctx:
            user += f":{ctx['runAsGroup']}"
        argv.append(f"--user={user}")
    if ctx.get("runAsNonRoot") and ctx.get("runAsUser") == 0:
        raise PodSpecError(f"container {container['name']}: runAsNonRoot with runAsUser 0")
    if ctx.get("readOnlyRootFilesystem"):
        argv += ["--read-only", "--read-only-tmpfs=false"]
    caps = ctx.get("capabilities") or {}
    argv += [f"--cap-drop={c}" for c in caps.get("drop") or []]
    argv += [f"--cap-add={c}" for c in caps.get("add") or []]
    if ctx.get("allowPrivilegeEscalation") is not True:
        argv.append("--security-opt=no-new-privileges")
    for m in mounts:
        if not m.target.startswith("/") or ".." in Path(m.target).parts:
            raise PodSpecError(f"mountPath must be absolute: {m.target}")
        argv.append(f"--volume={m.source}:{m.target}:{'ro' if m.read_only else 'rw'}")
    if command:  # Kubernetes' command replaces the ENTRYPOINT (and with it the image's CMD)
        argv.append(f"--entrypoint={json.dumps(command)}")
    return [*argv, str(container["image"]), *args]
