"""The streaming digest and its gzip completeness check; credentials read from a mounted Secret."""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openbao_operator.executor.backup import _checked
from openbao_operator.executor.credentials import load_credentials, parse_connection_string
from openbao_operator.executor.digest import StreamDigest
from openbao_operator.executor.errors import ExecutorConfigError, OpenBaoError, scrub


async def _chunks(data: bytes, size: int = 7000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _drain(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in stream])


async def test_digest_of_a_whole_gzip_stream() -> None:
    data = gzip.compress(os.urandom(50_000) + b"x" * 3_000_000)  # expands far beyond one inflate step
    digest = StreamDigest(check_gzip=True)
    assert await _drain(_checked(digest.wrap(_chunks(data)), digest)) == data
    assert digest.sha256 == hashlib.sha256(data).hexdigest()
    assert digest.size == len(data)
    assert digest.gzip_complete()


async def test_a_truncated_snapshot_is_refused_at_its_end() -> None:
    data = gzip.compress(os.urandom(100_000))
    digest = StreamDigest(check_gzip=True)
    with pytest.raises(OpenBaoError, match="incomplete"):
        await _drain(_checked(digest.wrap(_chunks(data[: len(data) // 2])), digest))


async def test_bytes_that_are_not_gzip_are_refused() -> None:
    digest = StreamDigest(check_gzip=True)
    with pytest.raises(OpenBaoError, match=r"corrupt|incomplete"):
        await _drain(_checked(digest.wrap(_chunks(b"<html>an error page</html>" * 1000)), digest))


def test_s3_credentials(tmp_path: Path) -> None:
    (tmp_path / "accessKeyId").write_text("AKIAEXAMPLE\n")
    (tmp_path / "secretAccessKey").write_text("very-secret")
    (tmp_path / "region").write_text("eu-west-1")
    creds = load_credentials(str(tmp_path), provider="s3")
    assert creds.access_key_id is not None
    assert creds.access_key_id.reveal() == "AKIAEXAMPLE"
    assert creds.region == "eu-west-1"
    assert "very-secret" not in repr(creds)
    assert set(creds.secrets()) == {"AKIAEXAMPLE", "very-secret"}


@pytest.mark.parametrize(
    ("provider", "files", "message"),
    [
        ("s3", {"accessKeyId": "a"}, "both accessKeyId and secretAccessKey"),
        ("gcs", {}, "credentials.json"),
        ("azure", {"other": "x"}, "accountKey or connectionString"),
    ],
)
def test_incomplete_secrets_name_the_reference(
    tmp_path: Path, provider: str, files: dict[str, str], message: str
) -> None:
    for name, value in files.items():
        (tmp_path / name).write_text(value)
    with pytest.raises(ExecutorConfigError, match=rf"target\.credentialsSecretRef: .*{message}"):
        load_credentials(str(tmp_path), provider=provider)


def test_missing_directory_and_ambient_credentials(tmp_path: Path) -> None:
    assert load_credentials(None, provider="s3").secrets() == []
    with pytest.raises(ExecutorConfigError, match="credentialsDir"):
        load_credentials(str(tmp_path / "nope"), provider="s3")


def test_azure_connection_string() -> None:
    parts = parse_connection_string(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5PT0=;"
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    )
    assert parts["AccountKey"].reveal() == "a2V5PT0="  # a value may contain '='
    assert parts["BlobEndpoint"].reveal() == "http://127.0.0.1:10000/devstoreaccount1"
    with pytest.raises(ExecutorConfigError, match="Name=value"):
        parse_connection_string("garbage")


def test_scrub_replaces_every_secret() -> None:
    assert scrub("GET https://x/?sig=abcd1234&key=zzzz9999 failed", ["abcd1234", "zzzz9999", ""]) == (
        "GET https://x/?sig=[REDACTED]&key=[REDACTED] failed"
    )
