"""Issuance: the CA and server certificate carry exactly the extensions the operator promises, and
cryptography's own verifier accepts the chain for pod names (explicit and wildcard) and rejects others."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from openbao_operator.api import OpenBaoCluster
from openbao_operator.pki import (
    DEFAULT_POLICY,
    IssuedCert,
    issue_ca,
    issue_server_cert,
    operator_managed_names,
    p256_key_from_seed,
    san_sets,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KeyF = Callable[[], ec.EllipticCurvePrivateKey]
SerialF = Callable[[], int]


def _pair(cluster: OpenBaoCluster, new_key: KeyF, new_serial: SerialF) -> tuple[IssuedCert, IssuedCert]:
    ca = issue_ca(cluster_name="bao", now=NOW, new_key=new_key, new_serial=new_serial, policy=DEFAULT_POLICY)
    names, _ = operator_managed_names(cluster, namespace="ns", cluster_domain="cluster.local")
    leaf = issue_server_cert(
        cluster_name="bao",
        names=names,
        signer=ca,
        now=NOW,
        new_key=new_key,
        new_serial=new_serial,
        policy=DEFAULT_POLICY,
    )
    return ca, leaf


def _verify(ca: IssuedCert, leaf: IssuedCert, subject: x509.DNSName | x509.IPAddress) -> None:
    verifier = PolicyBuilder().store(Store([ca.cert])).time(NOW).build_server_verifier(subject)
    chain = verifier.verify(leaf.cert, [])
    assert chain[0] == leaf.cert
    assert chain[-1] == ca.cert


def test_ca_extensions(make_cluster: Callable[..., OpenBaoCluster], new_key: KeyF, new_serial: SerialF) -> None:
    ca, _ = _pair(make_cluster(), new_key, new_serial)
    cert = ca.cert
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert bc.value.ca
    assert bc.value.path_length == 0
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.key_cert_sign
    assert ku.value.crl_sign
    assert ku.value.digital_signature
    assert not ku.value.key_encipherment
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)  # self-signed, signature valid
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(cert.public_key().curve, ec.SECP256R1)  # type: ignore[union-attr]
    assert cert.not_valid_before_utc == NOW - DEFAULT_POLICY.backdate
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=3650)


def test_server_cert_extensions_and_validity(
    make_cluster: Callable[..., OpenBaoCluster], new_key: KeyF, new_serial: SerialF
) -> None:
    cluster = make_cluster()
    ca, leaf = _pair(cluster, new_key, new_serial)
    cert = leaf.cert
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert not bc.value.ca
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature
    assert not ku.key_cert_sign
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    cert.verify_directly_issued_by(ca.cert)
    assert cert.not_valid_before_utc == NOW - timedelta(hours=1)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=90)
    names, _ = operator_managed_names(cluster, namespace="ns", cluster_domain="cluster.local")
    dns, ips = san_sets(cert)
    assert dns == frozenset(names.dns)
    assert ips == frozenset(names.ips)


@pytest.mark.parametrize(
    "name",
    [
        "bao-0.bao.ns.svc",
        "bao-2.bao.ns.svc.cluster.local",
        "bao-7d9f8c-0.bao.ns.svc",  # a blue/green pod: only the wildcard covers it
        "openbao-cluster-bao.local",  # the raft leader_tls_servername
        "bao-active.ns.svc",
        "bao-public.ns.svc.cluster.local",
        "bao",
        "localhost",
    ],
)
def test_chain_verifies_for_cluster_names(
    name: str, make_cluster: Callable[..., OpenBaoCluster], new_key: KeyF, new_serial: SerialF
) -> None:
    ca, leaf = _pair(make_cluster(), new_key, new_serial)
    _verify(ca, leaf, x509.DNSName(name))


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1"])
def test_chain_verifies_for_loopback_ips(
    ip: str, make_cluster: Callable[..., OpenBaoCluster], new_key: KeyF, new_serial: SerialF
) -> None:
    ca, leaf = _pair(make_cluster(), new_key, new_serial)
    _verify(ca, leaf, x509.IPAddress(ipaddress.ip_address(ip)))


@pytest.mark.parametrize(
    "name",
    [
        "evil.example.com",
        "other.ns.svc",  # another Service of the namespace: no *.<ns>.svc wildcard, unlike the reference
        "a.b.bao.ns.svc",  # a wildcard covers one label only
        "bao-0.bao.other.svc",
    ],
)
def test_chain_rejects_foreign_names(
    name: str, make_cluster: Callable[..., OpenBaoCluster], new_key: KeyF, new_serial: SerialF
) -> None:
    ca, leaf = _pair(make_cluster(), new_key, new_serial)
    with pytest.raises(VerificationError):
        _verify(ca, leaf, x509.DNSName(name))


def test_chain_rejects_foreign_ca(
    make_cluster: Callable[..., OpenBaoCluster], new_key: KeyF, new_serial: SerialF
) -> None:
    _, leaf = _pair(make_cluster(), new_key, new_serial)
    other = issue_ca(cluster_name="bao", now=NOW, new_key=new_key, new_serial=new_serial, policy=DEFAULT_POLICY)
    with pytest.raises(VerificationError):
        _verify(other, leaf, x509.DNSName("bao-0.bao.ns.svc"))


def test_issuance_is_reproducible_with_injected_keys_and_serials(make_cluster: Callable[..., OpenBaoCluster]) -> None:
    def run() -> tuple[bytes, bytes]:
        seeds = iter(range(1, 10))
        serials = iter(range(50, 60))
        ca, leaf = _pair(make_cluster(), lambda: p256_key_from_seed(next(seeds)), lambda: next(serials))
        return ca.cert_pem, leaf.cert_pem

    assert run() == run()


def test_leaf_never_outlives_its_ca(
    make_cluster: Callable[..., OpenBaoCluster], new_key: KeyF, new_serial: SerialF
) -> None:
    ca = issue_ca(cluster_name="bao", now=NOW, new_key=new_key, new_serial=new_serial, policy=DEFAULT_POLICY)
    names, _ = operator_managed_names(make_cluster(), namespace="ns", cluster_domain="cluster.local")
    late = ca.cert.not_valid_after_utc - timedelta(days=10)
    leaf = issue_server_cert(
        cluster_name="bao",
        names=names,
        signer=ca,
        now=late,
        new_key=new_key,
        new_serial=new_serial,
        policy=DEFAULT_POLICY,
    )
    assert leaf.cert.not_valid_after_utc == ca.cert.not_valid_after_utc


def test_repr_of_issued_material_hides_the_key(
    make_cluster: Callable[..., OpenBaoCluster], new_key: KeyF, new_serial: SerialF
) -> None:
    ca, leaf = _pair(make_cluster(), new_key, new_serial)
    for item in (ca, leaf):
        text = repr(item)
        assert "PRIVATE" not in text
        assert item.key_pem.decode() not in text


def test_a_remembered_verification_holds_only_inside_every_certificate_validity(
    make_cluster: Callable[..., OpenBaoCluster], new_key: KeyF, new_serial: SerialF
) -> None:
    from openbao_operator.pki.verify import verify_chain

    cluster = make_cluster()
    ca, leaf = _pair(cluster, new_key, new_serial)
    names, _ = operator_managed_names(cluster, namespace="ns", cluster_domain="cluster.local")
    assert verify_chain(leaf.cert, trust=[ca.cert], names=names, now=NOW) is None
    assert verify_chain(leaf.cert, trust=[ca.cert], names=names, now=NOW + timedelta(days=1)) is None
    # the same chain after the leaf expired, and before it was valid: verified again, and refused
    expired = verify_chain(leaf.cert, trust=[ca.cert], names=names, now=leaf.cert.not_valid_after_utc + timedelta(1))
    assert expired is not None
    early = verify_chain(leaf.cert, trust=[ca.cert], names=names, now=NOW - timedelta(days=2))
    assert early is not None
    # another trust anchor is another question
    other, _ = _pair(cluster, new_key, new_serial)
    assert verify_chain(leaf.cert, trust=[other.cert], names=names, now=NOW) is not None
