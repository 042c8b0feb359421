"""The executor's configuration contract and its program: errors name the field, reports carry no secret."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from openbao_operator.api.executor import CONFIG_ENV
from openbao_operator.api.operations import BackupTarget
from openbao_operator.baoapi import Sensitive
from openbao_operator.executor import program
from openbao_operator.executor.credentials import StorageCredentials
from openbao_operator.executor.errors import ExecutorConfigError, StorageError
from openbao_operator.executor.gcs import CHUNK_QUANTUM, chunk_size, service_account_assertion
from openbao_operator.executor.storage import _virtual_hosted, open_storage

BASE: dict[str, Any] = {
    "cluster": "prod",
    "namespace": "vault",
    "openbao": {"address": "https://prod.vault.svc:8200"},
    "auth": {"method": "jwt", "role": "openbao-operator-backup"},
    "target": {"bucket": "b", "endpoint": "http://127.0.0.1:9000", "usePathStyle": True},
}


def _run(config: dict[str, Any] | str, tmp_path: Path, runner: Any = None) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "config.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config))
    out = io.StringIO()
    code = program.main("backup", config_path=str(path), out=out, runner=runner or (lambda c: {"key": "k"}))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    return code, json.loads(lines[0])


def test_a_valid_configuration_runs(tmp_path: Path) -> None:
    assert _run(BASE, tmp_path) == (0, {"key": "k", "ok": True, "operation": "backup"})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"auth": {"method": "jwt"}}, "auth.role"),
        ({"auth": {"method": "token"}}, "auth.tokenFile"),
        ({"openbao": {"address": "prod:8200"}}, "openbao.address"),
        ({"target": {"bucket": "b", "provider": "ftp"}}, "target.provider"),
        ({"extra": 1}, "extra"),
    ],
)
def test_configuration_errors_name_the_field_and_exit_2(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    code, report = _run(BASE | change, tmp_path)
    assert code == 2
    assert report["ok"] is False
    assert report["reason"] == "InvalidConfiguration"
    assert field in report["message"]


def test_not_json_and_no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run("{", tmp_path)[0] == 2
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    out = io.StringIO()
    assert program.main("backup", config_path=None, out=out) == 2
    assert CONFIG_ENV in out.getvalue()


def test_failures_report_their_reason_and_exit_1(tmp_path: Path) -> None:
    def fail(_: Any) -> Any:
        raise StorageError("upload k (s3://b): PermissionDenied")

    code, report = _run(BASE, tmp_path, runner=fail)
    assert code == 1
    assert report == {"message": "upload k (s3://b): PermissionDenied", "ok": False, "operation": "backup",
                      "reason": "ObjectStorageFailed"}  # fmt: skip


def test_virtual_hosted_style_puts_the_bucket_in_the_host() -> None:
    assert _virtual_hosted("https://s3.example.com", "b") == "https://b.s3.example.com"
    assert _virtual_hosted("https://b.s3.example.com", "b") == "https://b.s3.example.com"


def test_web_identity_needs_its_token_file() -> None:
    target = BackupTarget.model_validate({"bucket": "b", "roleArn": "arn:aws:iam::1:role/r"})
    with pytest.raises(ExecutorConfigError, match=r"target\.roleArn"):
        open_storage(target, StorageCredentials())
    assert open_storage(target, StorageCredentials(), web_identity_token_file="/var/run/t").where == "s3://b"


def test_azure_needs_a_storage_account() -> None:
    target = BackupTarget.model_validate({"provider": "azure", "bucket": "c"})
    with pytest.raises(ExecutorConfigError, match=r"target\.azure\.storageAccount"):
        open_storage(target, StorageCredentials(azure_account_key=Sensitive("a2V5")))


def test_gcs_service_account_assertion_is_signed_by_the_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    now = time.time()
    jwt = service_account_assertion(
        {"private_key": pem, "client_email": "backup@p.iam.gserviceaccount.com", "private_key_id": "k1"}, now=now
    )
    header, claims, signature = jwt.split(".")

    def decode(part: str) -> Any:
        import base64

        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    key.public_key().verify(decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    body = json.loads(decode(claims))
    assert body["iss"] == "backup@p.iam.gserviceaccount.com"
    assert body["aud"] == "https://oauth2.googleapis.com/token"
    assert body["scope"] == "https://www.googleapis.com/auth/devstorage.read_write"
    assert body["exp"] - body["iat"] == 3600
    assert json.loads(decode(header)) == {"alg": "RS256", "typ": "JWT", "kid": "k1"}
    with pytest.raises(ExecutorConfigError, match="not a service-account key"):
        service_account_assertion({"client_email": "x"}, now=now)


def test_gcs_chunks_are_whole_quanta() -> None:
    assert chunk_size(10 * 1024 * 1024) == 10 * 1024 * 1024
    assert chunk_size(5_000_000) % CHUNK_QUANTUM == 0
    assert chunk_size(1) == CHUNK_QUANTUM


def test_the_report_is_also_written_to_the_report_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Job points OPENBAO_EXECUTOR_REPORT_FILE at the termination-message file; a missing one is no error."""
    target = tmp_path / "termination-log"
    monkeypatch.setenv("OPENBAO_EXECUTOR_REPORT_FILE", str(target))
    code, report = _run(BASE, tmp_path)
    assert code == 0
    assert json.loads(target.read_text()) == report
    monkeypatch.setenv("OPENBAO_EXECUTOR_REPORT_FILE", str(tmp_path / "missing" / "log"))
    assert _run(BASE, tmp_path)[0] == 0
