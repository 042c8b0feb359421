"""A loopback OCI registry plus crane and cosign, all offline, for image-signature tests.

Why: the operator verifies image signatures; the oracle for "valid" and "invalid" is the real cosign
CLI against a real registry (Debian's docker-registry), with images pushed by crane from an empty base
so nothing is ever pulled. Signing is key-based and offline: no transparency log upload, an empty key
password, a private TUF_ROOT and no Docker credentials from the host.
"""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from tests.peers import pins
from tests.peers.controlplane import http_get
from tests.peers.procs import PeerProcess, free_port, run_checked


@dataclass
class Registry:
    """A running registry; ``host`` is ``127.0.0.1:<port>`` (crane and cosign use plain HTTP for it)."""

    host: str
    proc: PeerProcess

    def stop(self) -> None:
        self.proc.stop()


def start_registry(
    *,
    workdir: Path,
    logs: Path,
    timeout: float = 30.0,
    port: int | None = None,
    htpasswd: dict[str, str] | None = None,
) -> Registry:
    """docker-registry with its own config on a loopback port (free unless given), storage under ``workdir``.

    ``htpasswd`` (user → password) turns on the registry's basic auth (bcrypt htpasswd file); the
    tools then need :func:`write_docker_config` in their workdir to push. Restarting with the same
    ``workdir`` and ``port`` brings the same content back (a registry outage and its recovery).
    """
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "registry.yml"
    text = (
        "version: 0.1\n"
        "log: {level: info}\n"
        f"storage: {{filesystem: {{rootdirectory: {workdir / 'storage'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    if htpasswd:
        users = workdir / "htpasswd"
        users.write_text(
            "".join(
                f"{u}:{bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=5)).decode()}\n" for u, p in htpasswd.items()
            )
        )
        text += f"auth: {{htpasswd: {{realm: test-registry, path: {users}}}}}\n"
    config.write_text(text)
    proc = PeerProcess(
        name="registry",
        argv=[str(pins.binary("docker-registry", peer_name="registry")), "serve", str(config)],
        log=logs / f"registry-{port}.log",  # one log per registry (tests may start more than one)
    ).start()
    ready = (401,) if htpasswd else (200,)
    proc.wait_ready(
        lambda: http_get(f"http://127.0.0.1:{port}/v2/", timeout=2)[0] in ready, what="/v2/", timeout=timeout
    )
    return Registry(host=f"127.0.0.1:{port}", proc=proc)


def write_docker_config(*, workdir: Path, host: str, username: str, password: str) -> None:
    """Credentials for crane/cosign run with ``workdir`` (their DOCKER_CONFIG is ``<workdir>/docker-config``)."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    target = workdir / "docker-config"
    target.mkdir(parents=True, exist_ok=True)
    (target / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))


def closed_port() -> int:
    """A loopback port nothing listens on (picked free, then released)."""
    return free_port()


def _tool_env(*, workdir: Path) -> dict[str, str]:
    """Environment for crane/cosign: no host Docker credentials, no proxies, empty key password."""
    env = {
        k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith(("COSIGN_", "SIGSTORE_"))
    }
    docker_config = workdir / "docker-config"
    docker_config.mkdir(parents=True, exist_ok=True)
    env.update(
        DOCKER_CONFIG=str(docker_config),
        HOME=str(workdir),
        COSIGN_PASSWORD="",
        TUF_ROOT=str(workdir / "tuf"),
        # A closed loopback port as TUF mirror: cosign's trusted-root lookup fails at once, on
        # 127.0.0.1, instead of reaching for the public TUF CDN; key-based verification needs none.
        TUF_MIRROR=f"http://127.0.0.1:{closed_port()}",
        COSIGN_YES="true",
    )
    return env


def tiny_layer(*, content: bytes = b"hello from the test registry\n") -> bytes:
    """A one-file tar layer (``/hello``), built in memory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("hello")
        info.size = len(content)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def push_tiny_image(
    *, registry: Registry, repository: str, tag: str, workdir: Path, log: Path, content: bytes | None = None
) -> str:
    """Push a one-layer OCI image with ``crane append --oci-empty-base``; returns ``host/repo@sha256:…``."""
    workdir.mkdir(parents=True, exist_ok=True)
    layer = workdir / f"{repository.replace('/', '_')}-{tag}.tar"
    layer.write_bytes(tiny_layer(content=content or f"{repository}:{tag}\n".encode()))
    crane = str(pins.binary("crane"))
    ref = f"{registry.host}/{repository}:{tag}"
    env = _tool_env(workdir=workdir)
    run_checked([crane, "append", "--oci-empty-base", "-f", str(layer), "-t", ref], env=env, log=log, timeout=60)
    digest = run_checked([crane, "digest", ref], env=env, log=log, timeout=30).stdout.strip()
    if not digest.startswith("sha256:"):
        raise RuntimeError(f"crane digest gave {digest!r}")
    return f"{registry.host}/{repository}@{digest}"


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: Path


class Cosign:
    """The cosign CLI (v2 by default; ``major=3`` uses the optional v3 build) in offline key mode."""

    def __init__(self, *, workdir: Path, log: Path, major: int = 2) -> None:
        self.workdir = workdir
        self.log = log
        self.major = major
        self.binary = str(pins.binary("cosign", peer_name="cosign" if major == 2 else "cosign3"))
        self.env = _tool_env(workdir=workdir)

    def generate_key_pair(self, *, name: str) -> KeyPair:
        """``cosign generate-key-pair`` with an empty password, into ``<workdir>/<name>.key|.pub``."""
        prefix = self.workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        run_checked(
            [self.binary, "generate-key-pair", f"--output-key-prefix={prefix}"],
            env=self.env,
            log=self.log,
            timeout=60,
        )
        return KeyPair(private=prefix.with_suffix(".key"), public=prefix.with_suffix(".pub"))

    def sign(self, image_ref: str, *, key: KeyPair, bundle: bool = False) -> None:
        """Sign by digest, without uploading to a transparency log.

        The classic ``sha256-<hex>.sig`` tag, on v3 too; ``bundle=True`` (v3 only) stores a Sigstore
        bundle as an OCI referrer instead (the referrers tag schema on registries without the API).
        """
        argv = [self.binary, "sign", f"--key={key.private}", "--tlog-upload=false", "--yes"]
        if self.major >= 3:
            argv += ["--use-signing-config=false", f"--new-bundle-format={'true' if bundle else 'false'}"]
        elif bundle:
            raise ValueError("the Sigstore bundle format needs cosign v3")
        run_checked([*argv, image_ref], env=self.env, log=self.log, timeout=120)

    def sign_with_certificate(
        self, image_ref: str, *, key: KeyPair, certificate: Path, chain: Path, bundle: bool = False
    ) -> None:
        """Sign as keyless signers do, offline: the key plus a certificate (and chain) for its public key.

        cosign checks that the certificate is for the key and stores it with the signature: the
        `dev.sigstore.cosign/certificate` and `/chain` annotations (v3 leaves the chain empty), or the
        bundle's `verificationMaterial.certificate` with ``bundle=True`` (v3 only).
        """
        argv = [
            self.binary,
            "sign",
            f"--key={key.private}",
            f"--certificate={certificate}",
            f"--certificate-chain={chain}",
            "--tlog-upload=false",
            "--yes",
        ]
        if self.major >= 3:
            argv += ["--use-signing-config=false", f"--new-bundle-format={'true' if bundle else 'false'}"]
        elif bundle:
            raise ValueError("the Sigstore bundle format needs cosign v3")
        run_checked([*argv, image_ref], env=self.env, log=self.log, timeout=120)

    def generate_payload(self, image_ref: str) -> bytes:
        """``cosign generate``: the simple-signing payload `cosign sign` would sign for ``image_ref``."""
        argv = [self.binary, "generate", image_ref]
        return run_checked(argv, env=self.env, log=self.log, timeout=60).stdout.encode()

    def sign_blob(self, path: Path, *, key: KeyPair) -> str:
        """``cosign sign-blob`` without a log upload; returns the base64 signature."""
        argv = [self.binary, "sign-blob", f"--key={key.private}", "--tlog-upload=false", "--yes", str(path)]
        return run_checked(argv, env=self.env, log=self.log, timeout=60).stdout.strip()

    def attach_signature(
        self, image_ref: str, *, payload: Path, signature: Path, certificate: Path, chain: Path, rekor_response: Path
    ) -> None:
        """``cosign attach signature`` with a certificate and a Rekor entry made elsewhere (``--rekor-response``)."""
        argv = [
            self.binary,
            "attach",
            "signature",
            f"--payload={payload}",
            f"--signature={signature}",
            f"--certificate={certificate}",
            f"--certificate-chain={chain}",
            f"--rekor-response={rekor_response}",
            image_ref,
        ]
        run_checked(argv, env=self.env, log=self.log, timeout=120)

    def verify_identity(
        self,
        image_ref: str,
        *,
        trusted_root: Path,
        subject: str,
        issuer: str,
        ignore_tlog: bool,
        bundle: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """``cosign verify`` keyless, offline: the given trusted root, no SCTs; the caller checks ``returncode``."""
        argv = [
            self.binary,
            "verify",
            f"--trusted-root={trusted_root}",
            f"--certificate-identity={subject}",
            f"--certificate-oidc-issuer={issuer}",
            "--insecure-ignore-sct=true",
            f"--insecure-ignore-tlog={'true' if ignore_tlog else 'false'}",
        ]
        if self.major >= 3:
            argv.append(f"--new-bundle-format={'true' if bundle else 'false'}")
        return run_checked([*argv, image_ref], env=self.env, log=self.log, timeout=120, check=False)

    def attest(self, image_ref: str, *, key: KeyPair, predicate: Path, predicate_type: str) -> None:
        """``cosign attest`` (an in-toto statement about the image, e.g. its CycloneDX SBOM), no log upload."""
        argv = [
            self.binary,
            "attest",
            f"--key={key.private}",
            f"--type={predicate_type}",
            f"--predicate={predicate}",
            "--tlog-upload=false",
            "--yes",
        ]
        if self.major >= 3:
            argv += ["--use-signing-config=false", "--new-bundle-format=false"]
        run_checked([*argv, image_ref], env=self.env, log=self.log, timeout=120)

    def verify_attestation(
        self, image_ref: str, *, key: KeyPair, predicate_type: str
    ) -> subprocess.CompletedProcess[str]:
        """``cosign verify-attestation`` with the public key, tlog ignored; the caller checks ``returncode``."""
        argv = [
            self.binary,
            "verify-attestation",
            f"--key={key.public}",
            f"--type={predicate_type}",
            "--insecure-ignore-tlog=true",
        ]
        if self.major >= 3:
            argv += ["--new-bundle-format=false"]
        return run_checked([*argv, image_ref], env=self.env, log=self.log, timeout=120, check=False)

    def verify(self, image_ref: str, *, key: KeyPair) -> subprocess.CompletedProcess[str]:
        """``cosign verify`` with the public key, tlog ignored; the caller checks ``returncode``."""
        argv = [self.binary, "verify", f"--key={key.public}", "--insecure-ignore-tlog=true"]
        if self.major >= 3:
            argv += ["--new-bundle-format=false"]
        return run_checked([*argv, image_ref], env=self.env, log=self.log, timeout=120, check=False)
