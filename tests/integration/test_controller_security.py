"""Security material wired into the reconcile, on the real control plane: certificate rotation at the
scheduled time, External TLS verdicts, the unseal key across delete and re-create, and image signatures
checked against a real registry before the StatefulSet may run the image."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from openbao_operator import kube, pki
from openbao_operator.api import parse_cluster
from openbao_operator.cli.operator import Operator
from openbao_operator.controller import kinds
from tests.integration.kubehelp import KubeClients, eventually
from tests.integration.operatorhelp import (
    cluster_manifest,
    condition,
    converged,
    crd,
    get_or_none,
    reconciles,
    running_operator,
)
from tests.peers.controlplane import ControlPlane
from tests.peers.registry import Cosign, Registry, push_tiny_image
from tests.unit.imagesig.fulcio import EMAIL, OIDC_ISSUER, TestCA, trusted_root, wall_clock
from tests.unit.imagesig.fulcio import pem as fulcio_pem

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180), pytest.mark.usefixtures("crd")]
__all__ = ["crd"]

EVENT = kube.resource_type("events.k8s.io/v1", "Event")


async def _poke(client: kube.KubeClient, name: str, namespace: str, value: str) -> None:
    """A meaningful update (an annotation) so the operator reconciles now."""
    await client.merge_patch(
        kinds.CLUSTER, name, {"metadata": {"annotations": {"test/poke": value}}}, namespace=namespace
    )


async def _cond(client: kube.KubeClient, name: str, namespace: str, type_: str, status: str) -> dict[str, Any] | None:
    obj = await get_or_none(client, kinds.CLUSTER, name, namespace)
    return obj if condition(obj, type_).get("status") == status else None


async def test_certificate_rotates_at_the_scheduled_time(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, namespace) as operator:
        await client.apply(cluster_manifest("rot", namespace, replicas=1))
        await eventually(lambda: converged(client, "rot", namespace), what="converged", within=30)
        before = await client.get(kinds.SECRET, "rot-tls-server", namespace=namespace)
        ca_before = await client.get(kinds.SECRET, "rot-tls-ca", namespace=namespace)
        sts_before = await client.get(kinds.STATEFULSET, "rot", namespace=namespace)
        leaf = x509.load_pem_x509_certificate(base64.b64decode(before["data"]["tls.crt"]))
        renew_at = leaf.not_valid_after_utc - timedelta(hours=720)
        # Just before the renewal time: nothing changes.
        operator.reconciler.clock = _at(renew_at - timedelta(minutes=5))
        done = reconciles(operator)
        await _poke(client, "rot", namespace, "1")
        await eventually(lambda: _more(operator, done), what="reconciled", within=10)
        same = await client.get(kinds.SECRET, "rot-tls-server", namespace=namespace)
        assert same["data"] == before["data"]
        # At the renewal time: a new server certificate from the same CA; pods of a version that cannot
        # reload certificates get a new template (the rollout replaces them; this operator never deletes pods).
        operator.reconciler.clock = _at(renew_at + timedelta(minutes=1))
        await _poke(client, "rot", namespace, "2")

        async def rotated() -> bool:
            now = await client.get(kinds.SECRET, "rot-tls-server", namespace=namespace)
            return bool(now["data"]["tls.crt"] != before["data"]["tls.crt"])

        await eventually(rotated, what="server certificate reissued", within=15)
        ca_after = await client.get(kinds.SECRET, "rot-tls-ca", namespace=namespace)
        assert ca_after["data"] == ca_before["data"], "the CA must not change with the leaf"

        async def template_changed() -> bool:
            sts = await client.get(kinds.STATEFULSET, "rot", namespace=namespace)
            key = "openbao.org/tls-cert-hash"
            ann, old = sts["spec"]["template"]["metadata"]["annotations"], sts_before["spec"]["template"]
            return bool(ann.get(key) and ann.get(key) != old["metadata"]["annotations"].get(key))

        await eventually(template_changed, what="pod template carries the new certificate hash", within=15)


def _at(when: datetime) -> Callable[[], datetime]:
    return lambda: when


async def _more(operator: Operator, than: float) -> bool:
    return reconciles(operator) > than


def _tls_secret(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "kubernetes.io/tls",
        "data": data,
    }


def _user_material(doc: dict[str, Any], namespace: str, *, now: datetime) -> dict[str, str]:
    """Server Secret data for ``doc``'s cluster issued at ``now`` (the pki package standing in for cert-manager)."""
    plan = pki.plan_operator_managed_tls(
        parse_cluster(doc),
        namespace=namespace,
        cluster_domain="cluster.local",
        now=now,
        ca_secret=None,
        server_secret=None,
    )
    return {k: base64.b64encode(v).decode() for k, v in plan.server_secret.as_dict().items()}


async def test_external_tls_waits_for_a_valid_secret(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    """Missing, renamed (the Secret, or the cluster), mismatched and expired material: each its own TLSReady
    reason, the StatefulSet held back; fixing the Secret converges."""
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, namespace) as operator:
        manifest = cluster_manifest("ext", namespace, replicas=1)
        manifest["spec"]["tls"] = {"enabled": True, "mode": "External"}
        await client.apply(manifest)
        got = await eventually(
            lambda: _cond(client, "ext", namespace, "TLSReady", "False"), what="TLSReady False", within=20
        )
        assert condition(got, "TLSReady")["reason"] == "TLSSecretMissing"
        assert await get_or_none(client, kinds.STATEFULSET, "ext", namespace) is None
        assert await get_or_none(client, kinds.CONFIGMAP, "ext-config", namespace) is not None

        data = _user_material(manifest, namespace, now=datetime.now(UTC))
        # Renamed (1): the right material under another Secret name is, to the operator, still missing;
        # the message names the Secret it reads.
        await client.create(_tls_secret("ext-tls", namespace, data))
        done = reconciles(operator)
        await _poke(client, "ext", namespace, "renamed-secret")
        await eventually(lambda: _more(operator, done), what="reconciled", within=10)
        got = await eventually(
            lambda: _reason(client, "ext", namespace, "TLSSecretMissing"), what="still missing", within=20
        )
        assert "Secret ext-tls-server does not exist" in condition(got, "TLSReady")["message"]
        # Renamed (2): the Secret of cluster "old" copied for "ext" (a cluster re-created under a new name).
        old_doc = cluster_manifest("old", namespace, replicas=1)
        old_doc["spec"]["tls"] = manifest["spec"]["tls"]
        secret = _tls_secret("ext-tls-server", namespace, _user_material(old_doc, namespace, now=datetime.now(UTC)))
        await client.create(secret)
        await _poke(client, "ext", namespace, "renamed-cluster")
        got = await eventually(
            lambda: _reason(client, "ext", namespace, "TLSCertificateForOtherCluster"),
            what="another cluster's certificate",
            within=20,
        )
        assert "issued for cluster 'old'" in condition(got, "TLSReady")["message"]
        assert await get_or_none(client, kinds.STATEFULSET, "ext", namespace) is None
        other_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        secret["data"] = {**data, "tls.key": base64.b64encode(other_key).decode()}
        await client.apply(secret)
        await _poke(client, "ext", namespace, "mismatch")
        await eventually(lambda: _reason(client, "ext", namespace, "TLSKeyMismatch"), what="mismatch", within=20)
        # Material that expired a year ago (issued two years ago, for 90 days).
        secret["data"] = _user_material(manifest, namespace, now=datetime.now(UTC) - timedelta(days=730))
        await client.apply(secret)
        await _poke(client, "ext", namespace, "expired")
        await eventually(lambda: _reason(client, "ext", namespace, "TLSCertificateExpired"), what="expired", within=20)
        secret["data"] = data
        await client.apply(secret)
        await _poke(client, "ext", namespace, "fixed")
        await eventually(lambda: _cond(client, "ext", namespace, "TLSReady", "True"), what="TLSReady True", within=20)
        await eventually(
            lambda: get_or_none(client, kinds.STATEFULSET, "ext", namespace), what="StatefulSet", within=20
        )


async def _reason(client: kube.KubeClient, name: str, namespace: str, reason: str) -> dict[str, Any] | None:
    """The cluster once its TLSReady condition has ``reason``."""
    obj = await get_or_none(client, kinds.CLUSTER, name, namespace)
    return obj if condition(obj, "TLSReady").get("reason") == reason else None


async def test_unseal_key_survives_delete_and_recreate_under_retain(
    control_plane: ControlPlane, kube_clients: KubeClients, namespace: str
) -> None:
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, namespace):
        await client.apply(cluster_manifest("keep", namespace, replicas=1))
        await eventually(lambda: converged(client, "keep", namespace), what="converged", within=30)
        key = await client.get(kinds.SECRET, "keep-unseal-key", namespace=namespace)
        await client.delete(kinds.CLUSTER, "keep", namespace=namespace)

        async def gone() -> bool:
            return await get_or_none(client, kinds.CLUSTER, "keep", namespace) is None

        await eventually(gone, what="deleted", within=30)
        await client.apply(cluster_manifest("keep", namespace, replicas=1))
        await eventually(lambda: converged(client, "keep", namespace), what="re-created", within=30)
        again = await client.get(kinds.SECRET, "keep-unseal-key", namespace=namespace)
        assert again["metadata"]["uid"] == key["metadata"]["uid"]
        assert again["data"] == key["data"]
        assert not again["metadata"].get("ownerReferences")
        # DeleteAll gives the key an owner (garbage-collected with the cluster), and only then.
        await client.apply(cluster_manifest("keep", namespace, replicas=1, deletionPolicy="DeleteAll"))

        async def owned() -> bool:
            secret = await client.get(kinds.SECRET, "keep-unseal-key", namespace=namespace)
            return bool(secret["metadata"].get("ownerReferences"))

        await eventually(owned, what="key owned under DeleteAll", within=20)


@pytest.mark.timeout(300)
async def test_image_signature_gates_the_statefulset(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    namespace: str,
    registry: Registry,
    cosign: Cosign,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    key = cosign.generate_key_pair(name=f"op-{namespace}")
    signed = push_tiny_image(
        registry=registry, repository="openbao/openbao", tag="signed", workdir=tmp_path, log=peer_logs / "crane.log"
    )
    cosign.sign(signed, key=key)
    unsigned = push_tiny_image(
        registry=registry, repository="openbao/openbao", tag="unsigned", workdir=tmp_path, log=peer_logs / "crane.log"
    )
    verification = {"enabled": True, "publicKey": key.public.read_text(), "ignoreTlog": True}
    client = kube_clients(field_manager="test-user")
    async with running_operator(control_plane, namespace):
        tag_ref = f"{registry.host}/openbao/openbao:signed"
        await client.apply(
            cluster_manifest("sig", namespace, replicas=1, image=tag_ref, imageVerification=verification)
        )
        got = await eventually(
            lambda: _cond(client, "sig", namespace, "ImageVerified", "True"), what="verified", within=30
        )
        assert got["status"]["verifiedImageDigest"] == signed
        sts = await eventually(
            lambda: get_or_none(client, kinds.STATEFULSET, "sig", namespace), what="StatefulSet", within=20
        )
        assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == signed

        # Block: an unsigned image never reaches a StatefulSet.
        blocked_ref = f"{registry.host}/openbao/openbao:unsigned"
        await client.apply(
            cluster_manifest("blk", namespace, replicas=1, image=blocked_ref, imageVerification=verification)
        )
        got = await eventually(
            lambda: _cond(client, "blk", namespace, "ImageVerified", "False"), what="blocked", within=30
        )
        assert condition(got, "ImageVerified")["reason"] == "ImageVerificationFailed"
        assert condition(got, "Degraded")["reason"] == "ImageVerificationFailed"
        assert await get_or_none(client, kinds.STATEFULSET, "blk", namespace) is None
        events = await client.list(EVENT, namespace=namespace)
        assert any(
            e.get("reason") == "ImageVerificationFailed" and e["regarding"]["name"] == "blk" for e in events.items
        )
        # Warn: applied (pinned to the digest it resolved), reported.
        warn = {**verification, "failurePolicy": "Warn"}
        await client.apply(cluster_manifest("wrn", namespace, replicas=1, image=blocked_ref, imageVerification=warn))
        sts = await eventually(
            lambda: get_or_none(client, kinds.STATEFULSET, "wrn", namespace), what="applied under Warn", within=30
        )
        assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == unsigned
        await eventually(lambda: _cond(client, "wrn", namespace, "ImageVerified", "False"), what="reported", within=20)


@pytest.mark.timeout(300)
async def test_keyless_signature_with_the_trusted_root_from_a_configmap(
    control_plane: ControlPlane,
    kube_clients: KubeClients,
    namespace: str,
    registry: Registry,
    cosign: Cosign,
    tmp_path: Path,
    peer_logs: Path,
) -> None:
    """The operator reads `trusted_root.json` from the user's ConfigMap (by a direct GET, under its own RBAC)."""
    ca = TestCA.new(clock=wall_clock)
    key = cosign.generate_key_pair(name=f"keyless-{namespace}")
    public = serialization.load_pem_public_key(key.public.read_bytes())
    assert isinstance(public, ec.EllipticCurvePublicKey)
    leaf_path, chain_path = tmp_path / "leaf.pem", tmp_path / "chain.pem"
    leaf_path.write_text(fulcio_pem(ca.leaf(public)))
    chain_path.write_text(ca.chain_pem)
    signed = push_tiny_image(
        registry=registry, repository="openbao/keyless", tag="signed", workdir=tmp_path, log=peer_logs / "crane.log"
    )
    cosign.sign_with_certificate(signed, key=key, certificate=leaf_path, chain=chain_path)
    root = json.dumps(trusted_root([ca.authority()], []))
    verification = {
        "enabled": True,
        "issuer": OIDC_ISSUER,
        "subject": EMAIL,
        "ignoreTlog": True,
        "trustedRootConfigMapRef": {"name": "sigstore-root"},
    }
    tag_ref = f"{registry.host}/openbao/keyless:signed"
    client = kube_clients(field_manager="test-user")
    await client.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "sigstore-root", "namespace": namespace},
            "data": {"trusted_root.json": root},
        }
    )
    async with running_operator(control_plane, namespace):
        await client.apply(
            cluster_manifest("kls", namespace, replicas=1, image=tag_ref, imageVerification=verification)
        )
        got = await eventually(
            lambda: _cond(client, "kls", namespace, "ImageVerified", "True"), what="keyless verified", within=30
        )
        assert got["status"]["verifiedImageDigest"] == signed
        sts = await eventually(
            lambda: get_or_none(client, kinds.STATEFULSET, "kls", namespace), what="StatefulSet", within=20
        )
        assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == signed

        # A missing ConfigMap blocks, and the condition names the field.
        missing = {**verification, "trustedRootConfigMapRef": {"name": "no-such-root"}}
        await client.apply(cluster_manifest("klm", namespace, replicas=1, image=tag_ref, imageVerification=missing))
        got = await eventually(
            lambda: _cond(client, "klm", namespace, "ImageVerified", "False"), what="blocked", within=30
        )
        assert "trustedRootConfigMapRef" in condition(got, "ImageVerified")["message"]
        assert await get_or_none(client, kinds.STATEFULSET, "klm", namespace) is None
