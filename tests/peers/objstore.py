"""Real object storage on loopback for the backup/restore tests: MinIO (S3), fake-gcs-server (GCS), Azurite.

Why these three: each speaks its provider's wire protocol (S3 SigV4 with multipart uploads; the GCS JSON and
XML APIs; Azure Blob with SharedKey and block blobs), so the executor's one object-storage library is proven
against what it will meet, not against a stand-in written here. All three are built or installed by
``python -m tests.peers.install`` (MinIO and fake-gcs-server from the Go module proxy, Azurite from npm) and
started here on 127.0.0.1 with free ports, bounded readiness waits and a log each.

Creating a bucket is the one call the executor never makes, so each peer gets it here through its own API:
a SigV4-signed ``PUT /<bucket>`` for MinIO, the JSON API for fake-gcs-server (no auth), and a
SharedKey-signed ``PUT ?restype=container`` for Azurite.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.peers import pins
from tests.peers.procs import PeerError, PeerProcess, free_port

MINIO_USER = "peers-minio"
MINIO_PASSWORD = "peers-minio-secret-key"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's documented development key (public, for the emulator only).
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _status(req: urllib.request.Request, *, timeout: float = 5.0) -> int:
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback peers only
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@dataclass
class ObjectStorePeer:
    """A running object store: ``endpoint`` for spec.backup.target, the files of a credentials Secret."""

    provider: str
    endpoint: str
    proc: PeerProcess
    credentials: dict[str, str] = field(default_factory=dict)
    """Keys and values of the credentials Secret the executor reads (target.credentialsSecretRef)."""
    buckets: set[str] = field(default_factory=set)

    def stop(self) -> None:
        self.proc.stop()

    def write_credentials(self, directory: Path) -> Path:
        """The credentials Secret as a mounted volume would show it (one file per key)."""
        directory.mkdir(parents=True, exist_ok=True)
        for key, value in self.credentials.items():
            (directory / key).write_text(value)
        return directory

    def create_bucket(self, name: str) -> None:
        if name in self.buckets:
            return
        if self.provider == "s3":
            status = _s3_create_bucket(self.endpoint, name)
        elif self.provider == "gcs":
            body = json.dumps({"name": name}).encode()
            req = urllib.request.Request(  # noqa: S310
                f"{self.endpoint}/storage/v1/b?project=peers", data=body, method="POST",
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            status = _status(req)
        else:
            status = _azure_create_container(self.endpoint, name)
        if status not in (200, 201):
            raise PeerError(f"{self.provider}: creating bucket {name} answered HTTP {status}")
        self.buckets.add(name)


# --- MinIO ---------------------------------------------------------------------------------------------


def _sign(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _s3_create_bucket(endpoint: str, bucket: str, *, region: str = "us-east-1") -> int:
    """``PUT /<bucket>`` signed with AWS Signature Version 4 (empty payload)."""
    host = endpoint.split("://", 1)[1]
    now = dt.datetime.now(dt.UTC)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    payload = hashlib.sha256(b"").hexdigest()
    headers = {"host": host, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
    signed = ";".join(sorted(headers))
    canonical = "\n".join(
        ["PUT", f"/{bucket}", "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, payload]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(f"AWS4{MINIO_PASSWORD}".encode(), day), region), "s3"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    auth = f"AWS4-HMAC-SHA256 Credential={MINIO_USER}/{scope}, SignedHeaders={signed}, Signature={signature}"
    req = urllib.request.Request(  # noqa: S310
        f"{endpoint}/{bucket}", data=b"", method="PUT",
        headers={"x-amz-content-sha256": payload, "x-amz-date": amz_date, "Authorization": auth},
    )  # fmt: skip
    return _status(req)


def start_minio(*, workdir: Path, logs: Path, timeout: float = 60.0) -> ObjectStorePeer:
    port, console = free_port(), free_port()
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(workdir),
        "MINIO_ROOT_USER": MINIO_USER,
        "MINIO_ROOT_PASSWORD": MINIO_PASSWORD,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
        "MINIO_CALLHOME_ENABLE": "off",
    }
    proc = PeerProcess(
        name="minio",
        argv=[
            str(pins.binary("minio")), "server", str(data),
            "--address", f"127.0.0.1:{port}", "--console-address", f"127.0.0.1:{console}", "--quiet",
        ],
        log=logs / f"minio-{port}.log",
        env=env,
    ).start()  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    proc.wait_ready(
        lambda: _status(urllib.request.Request(f"{endpoint}/minio/health/ready"), timeout=2) == 200,  # noqa: S310
        what="/minio/health/ready",
        timeout=timeout,
    )
    creds = {"accessKeyId": MINIO_USER, "secretAccessKey": MINIO_PASSWORD}
    return ObjectStorePeer(provider="s3", endpoint=endpoint, proc=proc, credentials=creds)


# --- fake-gcs-server -----------------------------------------------------------------------------------


def start_fake_gcs(*, workdir: Path, logs: Path, timeout: float = 60.0) -> ObjectStorePeer:
    port = free_port()
    root = workdir / "storage"
    root.mkdir(parents=True, exist_ok=True)
    endpoint = f"http://127.0.0.1:{port}"
    proc = PeerProcess(
        name="fake-gcs-server",
        argv=[
            str(pins.binary("fake-gcs-server")), "-scheme", "http", "-host", "127.0.0.1", "-port", str(port),
            "-backend", "filesystem", "-filesystem-root", str(root), "-public-host", f"127.0.0.1:{port}",
            "-external-url", endpoint, "-log-level", "info",
        ],
        log=logs / f"fake-gcs-server-{port}.log",
    ).start()  # fmt: skip
    proc.wait_ready(
        lambda: _status(urllib.request.Request(f"{endpoint}/storage/v1/b"), timeout=2) == 200,  # noqa: S310
        what="/storage/v1/b",
        timeout=timeout,
    )
    # A service account key as object_store reads it: the emulator needs no OAuth, so none is requested.
    key = {"gcs_base_url": endpoint, "disable_oauth": True, "client_email": "", "private_key": "", "private_key_id": ""}
    return ObjectStorePeer(
        provider="gcs", endpoint=endpoint, proc=proc, credentials={"credentials.json": json.dumps(key)}
    )


# --- Azurite -------------------------------------------------------------------------------------------


def _azure_create_container(endpoint: str, container: str) -> int:
    """``PUT <endpoint>/<container>?restype=container`` with a SharedKey signature (emulator addressing)."""
    date = dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    version = "2021-08-06"
    canonical_headers = f"x-ms-date:{date}\nx-ms-version:{version}\n"
    # Path-style (emulator) addressing puts the account in the path too: /<account>/<account>/<container>.
    resource = f"/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{container}\nrestype:container"
    # VERB, then 11 standard headers (Content-Length empty for 0, Content-Type set: urllib would add its own).
    to_sign = "PUT\n\n\n\n\napplication/octet-stream\n\n\n\n\n\n\n" + canonical_headers + resource
    sig = base64.b64encode(hmac.new(base64.b64decode(AZURITE_KEY), to_sign.encode(), hashlib.sha256).digest())
    req = urllib.request.Request(  # noqa: S310
        f"{endpoint}/{container}?restype=container", data=b"", method="PUT",
        headers={"x-ms-date": date, "x-ms-version": version, "Content-Length": "0",
                 "Content-Type": "application/octet-stream",
                 "Authorization": f"SharedKey {AZURITE_ACCOUNT}:{sig.decode()}"},
    )  # fmt: skip
    return _status(req)


def start_azurite(*, workdir: Path, logs: Path, timeout: float = 60.0) -> ObjectStorePeer:
    port = free_port()
    if shutil.which("node") is None:
        raise pins.PeerMissingError("Azurite needs `node` (Node.js) on PATH")
    location = workdir / "azurite"
    location.mkdir(parents=True, exist_ok=True)
    proc = PeerProcess(
        name="azurite",
        argv=[
            str(pins.binary("azurite-blob", peer_name="azurite")), "--blobHost", "127.0.0.1", "--blobPort", str(port),
            "--location", str(location), "--skipApiVersionCheck", "--disableProductStyleUrl",
            "--disableTelemetry",
        ],
        log=logs / f"azurite-{port}.log",
    ).start()  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    # Any HTTP answer (403 without a signature) means the listener is up.
    proc.wait_ready(
        lambda: _status(urllib.request.Request(f"{endpoint}?comp=list"), timeout=2) in (200, 403),  # noqa: S310
        what="blob listener",
        timeout=timeout,
    )
    return ObjectStorePeer(provider="azure", endpoint=endpoint, proc=proc, credentials={"accountKey": AZURITE_KEY})
