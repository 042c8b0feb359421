"""Rekor transparency-log entries attached to cosign signatures, checked offline.

What is checked (the "inclusion promise", as cosign does offline): the signed entry timestamp (SET) is
Rekor's signature over the RFC 8785 canonical JSON of `{body, integratedTime, logID, logIndex}`, made by
a Rekor key the operator trusts (the `tlogs` of a Sigstore `trusted_root.json` the operator is given, for
its validity window); and the entry's body names this signature and payload (hashedrekord: the payload's
sha256 and the signature; dsse: the payload hash and the signature), so an entry of another artifact does
not count. Merkle inclusion proofs and checkpoints are not checked (a SET is enough for the public-good
instance's entries, and no log is reachable from an offline cluster).

The payload has only strings and integers, so RFC 8785 canonical JSON is `json.dumps` with sorted keys
and no whitespace (strings here are base64/hex, integers are below 2**53).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .keys import VerificationKey, load_public_key


@dataclass(frozen=True)
class RekorKey:
    """A trusted Rekor key and the window (unix seconds) in which its entries are valid."""

    key: VerificationKey
    not_before: int | None = None
    not_after: int | None = None


RekorKeys = Mapping[str, RekorKey]
"""Trusted Rekor keys by log ID (hex SHA-256 of the key's DER)."""


@dataclass(frozen=True)
class TlogEntry:
    body: str
    """The base64 canonicalized entry body."""
    integrated_time: int
    log_index: int
    log_id: str
    """Hex."""
    set_signature: bytes


def b64_or_none(text: object) -> bytes | None:
    """Strict base64 of a JSON string field, or None when it is absent, not a string or not base64."""
    if not isinstance(text, str):
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def entry_from_cosign_annotation(text: str) -> TlogEntry | None:
    """The `dev.sigstore.cosign/bundle` annotation of a `.sig` layer: `{SignedEntryTimestamp, Payload}`."""
    try:
        doc = json.loads(text)
        payload = doc["Payload"]
        entry = TlogEntry(
            body=str(payload["body"]),
            integrated_time=int(payload["integratedTime"]),
            log_index=int(payload["logIndex"]),
            log_id=str(payload["logID"]),
            set_signature=b64_or_none(doc["SignedEntryTimestamp"]) or b"",
        )
    except (ValueError, KeyError, TypeError):
        return None
    return entry if entry.set_signature else None


def entry_from_bundle(raw: Any) -> TlogEntry | None:
    """One `verificationMaterial.tlogEntries[]` item of a Sigstore bundle."""
    if not isinstance(raw, dict):
        return None
    promise = raw.get("inclusionPromise")
    log_id = raw.get("logId")
    set_signature = b64_or_none(promise.get("signedEntryTimestamp")) if isinstance(promise, dict) else None
    key_id = b64_or_none(log_id.get("keyId")) if isinstance(log_id, dict) else None
    integrated = _int(raw.get("integratedTime"))
    index = _int(raw.get("logIndex"))
    body = raw.get("canonicalizedBody")
    if not set_signature or key_id is None or integrated is None or index is None or not isinstance(body, str):
        return None
    return TlogEntry(
        body=body, integrated_time=integrated, log_index=index, log_id=key_id.hex(), set_signature=set_signature
    )


def set_payload(entry: TlogEntry) -> bytes:
    """The bytes Rekor signed: RFC 8785 canonical JSON of the entry's promise."""
    doc = {
        "body": entry.body,
        "integratedTime": entry.integrated_time,
        "logID": entry.log_id,
        "logIndex": entry.log_index,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def check_tlog_entry(
    entry: TlogEntry,
    rekor_keys: RekorKeys | None,
    *,
    payload_sha256: str,
    signature: bytes,
    dsse: bool,
    certificate_der: bytes | None = None,
) -> str | None:
    """None when the entry is promised by a trusted Rekor key and names this signature; else why not.

    ``certificate_der`` (keyless): the entry must also name this signing certificate as the verifier, so a
    logged signature cannot be paired with another certificate for the same key.
    """
    if not rekor_keys:
        return (
            "the signature has a transparency-log entry, but the operator has no trusted Rekor key to check it "
            "(give the operator a trusted_root.json, or set ignoreTlog: true to trust the key alone)"
        )
    trusted = rekor_keys.get(entry.log_id)
    if trusted is None:
        return f"the transparency-log entry is from log {entry.log_id[:16]}…, which is not trusted"
    if (trusted.not_before is not None and entry.integrated_time < trusted.not_before) or (
        trusted.not_after is not None and entry.integrated_time > trusted.not_after
    ):
        return "the transparency-log entry was integrated outside the trusted Rekor key's validity period"
    if not trusted.key.verify(entry.set_signature, set_payload(entry)):
        return "the transparency-log entry's signed entry timestamp does not verify with the trusted Rekor key"
    body = b64_or_none(entry.body)
    try:
        doc = json.loads(body or b"")
        kind = doc["kind"]
        spec = doc["spec"]
    except (ValueError, KeyError, TypeError):
        return "the transparency-log entry's body is malformed"
    if kind == "hashedrekord" and not dsse:
        try:
            hashed = spec["data"]["hash"]
            entry_sig = b64_or_none(spec["signature"]["content"])
        except (KeyError, TypeError):
            return "the hashedrekord entry is malformed"
        if hashed.get("algorithm") != "sha256" or hashed.get("value") != payload_sha256 or entry_sig != signature:
            return "the transparency-log entry is for another signature or payload"
        if certificate_der is not None and not _names_certificate(spec["signature"], "publicKey", certificate_der):
            return "the transparency-log entry names another signing certificate"
        return None
    if kind == "dsse" and dsse:
        try:
            payload_hash = spec["payloadHash"]
            entry_sigs = [b64_or_none(s["signature"]) for s in spec["signatures"]]
        except (KeyError, TypeError):
            return "the dsse entry is malformed"
        if payload_hash.get("algorithm") != "sha256" or payload_hash.get("value") != payload_sha256:
            return "the transparency-log entry is for another payload"
        if signature not in entry_sigs:
            return "the transparency-log entry is for another signature"
        if certificate_der is not None and not any(
            b64_or_none(s.get("signature")) == signature and _names_certificate(s, "verifier", certificate_der)
            for s in spec["signatures"]
        ):
            return "the transparency-log entry names another signing certificate"
        return None
    return f"transparency-log entries of kind {str(kind)[:40]!r} are not supported for this signature format"


def _names_certificate(holder: Any, field: str, certificate_der: bytes) -> bool:
    """The entry's verifier (base64 of a PEM certificate; under `content` for hashedrekord) is this certificate."""
    value = holder.get(field) if isinstance(holder, dict) else None
    if isinstance(value, dict):
        value = value.get("content")
    pem = b64_or_none(value)
    if not pem:
        return False
    try:
        logged = x509.load_pem_x509_certificate(pem)
    except ValueError:
        return False
    return logged.public_bytes(serialization.Encoding.DER) == certificate_der


def rekor_keys_from_trusted_root(data: bytes | str) -> dict[str, RekorKey]:
    """The Rekor keys (`tlogs`) of a Sigstore `trusted_root.json`; raises ValueError when malformed."""
    doc = json.loads(data)
    if not isinstance(doc, dict) or not isinstance(doc.get("tlogs"), list):
        raise ValueError("trusted root has no 'tlogs' list")
    keys: dict[str, RekorKey] = {}
    for tlog in doc["tlogs"]:
        raw = b64_or_none(tlog.get("publicKey", {}).get("rawBytes")) if isinstance(tlog, dict) else None
        if raw is None:
            raise ValueError("a trusted-root tlog has no publicKey.rawBytes")
        pem = serialization.load_der_public_key(raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        key = load_public_key(pem.decode())
        window = tlog["publicKey"].get("validFor") or {}
        key_id = b64_or_none((tlog.get("logId") or {}).get("keyId"))
        log_id = key_id.hex() if key_id else key.fingerprint.removeprefix("sha256:")
        keys[log_id] = RekorKey(key=key, not_before=_time(window.get("start")), not_after=_time(window.get("end")))
    return keys


def _time(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
