"""External TLS material: each way a user's Secret can be wrong gives its own reason and a useful message."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from tests.peers.certs import ca_certificate

from openbao_operator.api import OpenBaoCluster
from openbao_operator.pki import ExternalTlsReason, fingerprint, p256_key_from_seed, validate_external_tls
from openbao_operator.pki.material import cert_pem, certs_pem, key_pem

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
R = ExternalTlsReason
_seeds = itertools.count(100)

GOOD_NAMES = ("*.bao.ns.svc", "openbao-cluster-bao.local")


def _key() -> ec.EllipticCurvePrivateKey:
    return p256_key_from_seed(next(_seeds))


def _ca(
    *,
    path_length: int | None = 0,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    cn: str = "user root",
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (name, key)
    cert = ca_certificate(
        subject=name,
        public_key=key.public_key(),
        signing_key=signing_key,
        issuer=issuer_name,
        not_before=NOW - 10 * DAY,
        not_after=NOW + 3650 * DAY,
        path_length=path_length,
        serial=next(_seeds),
        key_ids=True,
    )
    return cert, key


def _leaf(
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    *,
    names: tuple[str, ...] = GOOD_NAMES,
    start: datetime = NOW - DAY,
    end: datetime = NOW + 90 * DAY,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(issuer[0].subject)
        .public_key(key.public_key())
        .serial_number(next(_seeds))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False)
        .sign(issuer[1], hashes.SHA256())
    )
    return cert, key


def _secret(
    leaf: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    ca: x509.Certificate,
    *,
    chain: tuple[x509.Certificate, ...] = (),
) -> dict[str, bytes]:
    return {"tls.crt": certs_pem((leaf[0], *chain)), "tls.key": key_pem(leaf[1]), "ca.crt": cert_pem(ca)}


def _check(cluster: OpenBaoCluster, secret: dict[str, bytes] | None, now: datetime = NOW) -> tuple[R, str]:
    result = validate_external_tls(cluster, namespace="ns", server_secret=secret, now=now)
    assert result.ok == (result.reason is R.VALID)
    return result.reason, result.message


@pytest.fixture
def cluster(make_cluster: Callable[..., OpenBaoCluster]) -> OpenBaoCluster:
    return make_cluster(tls={"mode": "External"})


@pytest.fixture
def good() -> tuple[dict[str, bytes], x509.Certificate]:
    ca = _ca()
    leaf = _leaf(ca)
    return _secret(leaf, ca[0]), leaf[0]


def test_valid_material(cluster: OpenBaoCluster, good: tuple[dict[str, bytes], x509.Certificate]) -> None:
    secret, leaf = good
    result = validate_external_tls(cluster, namespace="ns", server_secret=secret, now=NOW)
    assert result.ok
    assert result.recheck_at == leaf.not_valid_after_utc
    assert result.leaf_fingerprint == fingerprint(leaf)


def test_valid_with_intermediate_in_tls_crt(cluster: OpenBaoCluster) -> None:
    root = _ca(path_length=1)
    intermediate = _ca(issuer=root, cn="user intermediate")
    leaf = _leaf(intermediate)
    assert _check(cluster, _secret(leaf, root[0], chain=(intermediate[0],)))[0] is R.VALID


def test_missing_secret(cluster: OpenBaoCluster) -> None:
    reason, message = _check(cluster, None)
    assert reason is R.SECRET_MISSING
    assert "bao-tls-server does not exist" in message


@pytest.mark.parametrize("absent", ["tls.crt", "tls.key", "ca.crt"])
def test_incomplete_secret(
    cluster: OpenBaoCluster, good: tuple[dict[str, bytes], x509.Certificate], absent: str
) -> None:
    secret = {k: v for k, v in good[0].items() if k != absent}
    reason, message = _check(cluster, secret)
    assert reason is R.SECRET_INCOMPLETE
    assert absent in message


@pytest.mark.parametrize(
    ("key", "reason"),
    [("tls.crt", R.CERTIFICATE_INVALID), ("tls.key", R.KEY_INVALID), ("ca.crt", R.CA_INVALID)],
)
def test_unparsable_parts(
    cluster: OpenBaoCluster, good: tuple[dict[str, bytes], x509.Certificate], key: str, reason: R
) -> None:
    assert _check(cluster, {**good[0], key: b"-----BEGIN CERTIFICATE-----\nnope\n"})[0] is reason


def test_key_of_another_certificate(cluster: OpenBaoCluster, good: tuple[dict[str, bytes], x509.Certificate]) -> None:
    secret = {**good[0], "tls.key": key_pem(_key())}
    reason, message = _check(cluster, secret)
    assert reason is R.KEY_MISMATCH
    assert "not the private key" in message


def test_expired(cluster: OpenBaoCluster, good: tuple[dict[str, bytes], x509.Certificate]) -> None:
    reason, message = _check(cluster, good[0], now=NOW + 91 * DAY)
    assert reason is R.EXPIRED
    assert "expired" in message


def test_not_yet_valid(cluster: OpenBaoCluster) -> None:
    ca = _ca()
    leaf = _leaf(ca, start=NOW + DAY)
    result = validate_external_tls(cluster, namespace="ns", server_secret=_secret(leaf, ca[0]), now=NOW)
    assert result.reason is R.NOT_YET_VALID
    assert result.recheck_at == NOW + DAY


def test_names_not_covered_lists_what_is_missing(cluster: OpenBaoCluster) -> None:
    ca = _ca()
    leaf = _leaf(ca, names=("bao-0.bao.ns.svc", "bao-1.bao.ns.svc"))
    reason, message = _check(cluster, _secret(leaf, ca[0]))
    assert reason is R.NAMES_NOT_COVERED
    assert "bao-2.bao.ns.svc, openbao-cluster-bao.local" in message
    assert "bao-0.bao.ns.svc," not in message


def test_certificate_of_a_renamed_cluster_has_its_own_reason(cluster: OpenBaoCluster) -> None:
    """Cluster "old" re-created as "bao" with the old Secret copied over: named as such, not as a list of names."""
    ca = _ca()
    leaf = _leaf(ca, names=("*.old.ns.svc", "openbao-cluster-old.local"))
    reason, message = _check(cluster, _secret(leaf, ca[0]))
    assert reason is R.OTHER_CLUSTER
    assert "issued for cluster 'old', not 'bao'" in message
    assert "openbao-cluster-bao.local" in message


def test_names_of_this_and_another_cluster_are_only_not_covered(cluster: OpenBaoCluster) -> None:
    ca = _ca()
    leaf = _leaf(ca, names=("openbao-cluster-old.local", "openbao-cluster-bao.local"))
    assert _check(cluster, _secret(leaf, ca[0]))[0] is R.NAMES_NOT_COVERED


def test_wildcard_for_another_namespace_does_not_cover(cluster: OpenBaoCluster) -> None:
    ca = _ca()
    leaf = _leaf(ca, names=("*.bao.other.svc", "openbao-cluster-bao.local"))
    assert _check(cluster, _secret(leaf, ca[0]))[0] is R.NAMES_NOT_COVERED


def test_chain_to_another_ca(cluster: OpenBaoCluster) -> None:
    leaf = _leaf(_ca())
    other = _ca()
    reason, message = _check(cluster, _secret(leaf, other[0]))
    assert reason is R.CHAIN_INVALID
    assert "does not verify against ca.crt" in message


def test_pinned_certificate_in_ca_crt_is_accepted(cluster: OpenBaoCluster) -> None:
    """ca.crt holding the server certificate itself pins it; Go (OpenBao's peers) and cryptography accept that."""
    leaf = _leaf(_ca())
    assert _check(cluster, _secret(leaf, leaf[0]))[0] is R.VALID
