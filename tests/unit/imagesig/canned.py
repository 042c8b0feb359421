"""Canned cosign artifacts, generated here with cryptography: keys, simple-signing payloads, DSSE bundles, Rekor SETs.

Nothing is copied from other projects; the shapes follow the cosign and Sigstore specifications
and were checked against what the real cosign CLI pushes (integration tests).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from openbao_operator.imagesig.cosign import pae

DIGEST = "sha256:" + hashlib.sha256(b"the image manifest").hexdigest()
OTHER_DIGEST = "sha256:" + hashlib.sha256(b"another image manifest").hexdigest()


@dataclass(frozen=True)
class Signer:
    private: ec.EllipticCurvePrivateKey

    @classmethod
    def new(cls) -> Signer:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    @property
    def public_der(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data, ec.ECDSA(hashes.SHA256()))


def simple_signing_payload(digest: str = DIGEST, *, type_: str = "cosign container image signature") -> bytes:
    doc = {
        "critical": {
            "identity": {"docker-reference": "registry.example/app"},
            "image": {"docker-manifest-digest": digest},
            "type": type_,
        },
        "optional": None,
    }
    return json.dumps(doc).encode()


def statement(digest: str = DIGEST, *, predicate_type: str = "https://sigstore.dev/cosign/sign/v1") -> bytes:
    algorithm, _, hex_digest = digest.partition(":")
    doc = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"digest": {algorithm: hex_digest}, "annotations": {}}],
        "predicateType": predicate_type,
        "predicate": {},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def bundle(
    signer: Signer,
    payload: bytes | None = None,
    *,
    payload_type: str = "application/vnd.in-toto+json",
    tlog_entries: list[dict[str, Any]] | None = None,
    signature: bytes | None = None,
) -> bytes:
    body = statement() if payload is None else payload
    sig = signature if signature is not None else signer.sign(pae(payload_type, body))
    material: dict[str, Any] = {
        "publicKey": {"hint": base64.b64encode(hashlib.sha256(signer.public_der).digest()).decode()}
    }
    if tlog_entries is not None:
        material["tlogEntries"] = tlog_entries
    doc = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": material,
        "dsseEnvelope": {
            "payload": base64.b64encode(body).decode(),
            "payloadType": payload_type,
            "signatures": [{"sig": base64.b64encode(sig).decode()}],
        },
    }
    return json.dumps(doc).encode()


@dataclass(frozen=True)
class Rekor:
    """A transparency log's key, making signed entry timestamps as Rekor does."""

    signer: Signer

    @property
    def log_id(self) -> str:
        return hashlib.sha256(self.signer.public_der).hexdigest()

    def hashedrekord_body(self, payload: bytes, signature: bytes, key: Signer) -> str:
        doc = {
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()}},
                "signature": {
                    "content": base64.b64encode(signature).decode(),
                    "publicKey": {"content": base64.b64encode(key.public_pem.encode()).decode()},
                },
            },
        }
        return base64.b64encode(json.dumps(doc).encode()).decode()

    def dsse_body(self, payload: bytes, signature: bytes, key: Signer) -> str:
        doc = {
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": {
                "payloadHash": {"algorithm": "sha256", "value": hashlib.sha256(payload).hexdigest()},
                "envelopeHash": {"algorithm": "sha256", "value": "0" * 64},
                "signatures": [
                    {
                        "signature": base64.b64encode(signature).decode(),
                        "verifier": base64.b64encode(key.public_pem.encode()).decode(),
                    }
                ],
            },
        }
        return base64.b64encode(json.dumps(doc).encode()).decode()

    def promise(
        self, body: str, *, integrated_time: int = 1_800_000_000, log_index: int = 42
    ) -> tuple[dict[str, Any], bytes]:
        payload = {"body": body, "integratedTime": integrated_time, "logID": self.log_id, "logIndex": log_index}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        return payload, self.signer.sign(canonical)

    def cosign_annotation(self, body: str, **kw: int) -> str:
        payload, set_sig = self.promise(body, **kw)
        return json.dumps({"SignedEntryTimestamp": base64.b64encode(set_sig).decode(), "Payload": payload})

    def bundle_entry(self, body: str, **kw: int) -> dict[str, Any]:
        payload, set_sig = self.promise(body, **kw)
        return {
            "logIndex": str(payload["logIndex"]),
            "logId": {"keyId": base64.b64encode(bytes.fromhex(self.log_id)).decode()},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": str(payload["integratedTime"]),
            "inclusionPromise": {"signedEntryTimestamp": base64.b64encode(set_sig).decode()},
            "canonicalizedBody": body,
        }

    def trusted_root(self) -> bytes:
        doc = {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [
                {
                    "baseUrl": "https://rekor.test",
                    "hashAlgorithm": "SHA2_256",
                    "publicKey": {
                        "rawBytes": base64.b64encode(self.signer.public_der).decode(),
                        "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                        "validFor": {"start": "2020-01-01T00:00:00Z"},
                    },
                    "logId": {"keyId": base64.b64encode(bytes.fromhex(self.log_id)).decode()},
                }
            ],
        }
        return json.dumps(doc).encode()
