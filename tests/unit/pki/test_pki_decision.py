"""The operator-managed decision table: missing, invalid, names not covered, renewal windows, the CA rollover
in trust-bundle order, lost or corrupt CAs, and zero writes when nothing changed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.verification import PolicyBuilder, Store

from openbao_operator.api import OpenBaoCluster
from openbao_operator.pki import TlsAction, TlsPlan, plan_operator_managed_tls

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
KeyF = Callable[[], ec.EllipticCurvePrivateKey]
SerialF = Callable[[], int]


class Driver:
    """Calls the decision with this test's fixed keys and serials."""

    def __init__(self, cluster: OpenBaoCluster, new_key: KeyF, new_serial: SerialF) -> None:
        self.cluster, self.new_key, self.new_serial = cluster, new_key, new_serial

    def plan(
        self,
        *,
        now: datetime,
        ca: Mapping[str, bytes] | None,
        server: Mapping[str, bytes] | None,
        cluster: OpenBaoCluster | None = None,
    ) -> TlsPlan:
        return plan_operator_managed_tls(
            cluster or self.cluster,
            namespace="ns",
            cluster_domain="cluster.local",
            now=now,
            ca_secret=ca,
            server_secret=server,
            new_key=self.new_key,
            new_serial=self.new_serial,
        )

    def after(self, plan: TlsPlan, *, now: datetime, cluster: OpenBaoCluster | None = None) -> TlsPlan:
        """The next decision, given that the previous plan's data was written."""
        return self.plan(now=now, ca=plan.ca_secret, server=plan.server_secret, cluster=cluster)


@pytest.fixture
def drive(make_cluster: Callable[..., OpenBaoCluster], new_key: KeyF, new_serial: SerialF) -> Driver:
    return Driver(make_cluster(), new_key, new_serial)


def _leaf(plan: TlsPlan) -> x509.Certificate:
    return x509.load_pem_x509_certificates(plan.server_secret["tls.crt"])[0]


def _bundle(plan: TlsPlan) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(plan.server_secret["ca.crt"])


def _trusts(
    bundle: list[x509.Certificate], leaf: x509.Certificate, now: datetime, *, name: str = "bao-0.bao.ns.svc"
) -> bool:
    verifier = PolicyBuilder().store(Store(bundle)).time(now).build_server_verifier(x509.DNSName(name))
    try:
        verifier.verify(leaf, [])
    except Exception:
        return False
    return True


# --- creation and idempotence ---------------------------------------------------------------------


def test_nothing_exists_issues_ca_then_leaf(drive: Driver) -> None:
    plan = drive.plan(now=NOW, ca=None, server=None)
    assert plan.actions == (TlsAction.ISSUE_CA, TlsAction.ISSUE_SERVER_CERT)
    assert plan.write_ca_secret
    assert plan.write_server_secret
    assert set(plan.ca_secret) == {"ca.crt", "ca.key"}
    assert set(plan.server_secret) == {"tls.crt", "tls.key", "ca.crt"}
    assert plan.server_secret["ca.crt"] == plan.ca_secret["ca.crt"]
    # renewal at two thirds of 90 days (the default rotationPeriod 720h gives the same instant)
    assert plan.next_check_at == NOW - timedelta(hours=1) + 60 * DAY
    assert _trusts(_bundle(plan), _leaf(plan), NOW)


def test_unchanged_material_costs_no_write(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    again = drive.after(first, now=NOW + 10 * DAY)
    assert again.keep
    assert again.actions == ()
    assert again.ca_secret == first.ca_secret
    assert again.server_secret == first.server_secret
    assert again.next_check_at == first.next_check_at


def test_foreign_keys_in_the_secrets_are_ignored(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    ca = {**first.ca_secret, "note": b"added by a person"}
    server = {**first.server_secret, "extra": b"x"}
    assert drive.plan(now=NOW + DAY, ca=ca, server=server).keep


def test_missing_server_secret_keeps_the_ca(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    plan = drive.plan(now=NOW + DAY, ca=first.ca_secret, server=None)
    assert plan.actions == (TlsAction.ISSUE_SERVER_CERT,)
    assert not plan.write_ca_secret
    assert plan.ca_secret == first.ca_secret


def test_missing_trust_bundle_is_rewritten_without_a_new_leaf(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    server = {k: v for k, v in first.server_secret.items() if k != "ca.crt"}
    plan = drive.plan(now=NOW + DAY, ca=first.ca_secret, server=server)
    assert plan.actions == (TlsAction.UPDATE_TRUST_BUNDLE,)
    assert plan.server_secret["tls.crt"] == first.server_secret["tls.crt"]
    assert plan.server_secret["ca.crt"] == first.ca_secret["ca.crt"]


# --- invalid server material ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda s: {**s, "tls.crt": b"not a certificate"}, "tls.crt is missing or not a PEM certificate"),
        (lambda s: {**s, "tls.key": b"garbage"}, "tls.key is missing or not a PEM EC private key"),
        (lambda s: {k: v for k, v in s.items() if k != "tls.key"}, "tls.key is missing"),
    ],
)
def test_unreadable_server_material_is_reissued(
    drive: Driver, mutate: Callable[[dict[str, bytes]], dict[str, bytes]], why: str
) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    plan = drive.plan(now=NOW + DAY, ca=first.ca_secret, server=mutate(dict(first.server_secret)))
    assert plan.actions == (TlsAction.ISSUE_SERVER_CERT,)
    assert why in plan.reasons[0]


def test_key_of_another_certificate_is_reissued(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    server = {**first.server_secret, "tls.key": first.ca_secret["ca.key"]}
    plan = drive.plan(now=NOW + DAY, ca=first.ca_secret, server=server)
    assert plan.actions == (TlsAction.ISSUE_SERVER_CERT,)
    assert "does not belong to tls.crt" in plan.reasons[0]


def test_leaf_signed_by_another_ca_is_reissued(drive: Driver) -> None:
    mine = drive.plan(now=NOW, ca=None, server=None)
    other = drive.plan(now=NOW, ca=None, server=None)
    plan = drive.plan(now=NOW + DAY, ca=mine.ca_secret, server=other.server_secret)
    assert TlsAction.ISSUE_SERVER_CERT in plan.actions
    assert "does not verify with the signing CA" in plan.reasons[-1]
    assert _trusts([x509.load_pem_x509_certificate(mine.ca_secret["ca.crt"])], _leaf(plan), NOW + DAY)


# --- names --------------------------------------------------------------------------------------------


def test_scaling_keeps_the_certificate(drive: Driver, make_cluster: Callable[..., OpenBaoCluster]) -> None:
    """The new pods' names are covered by the wildcard ``*.bao.ns.svc``: no reissue, so no new fingerprint on
    the pod template (which, before 2.7, would roll every pod)."""
    three = drive.plan(now=NOW, ca=None, server=None)
    five = drive.after(three, now=NOW + DAY, cluster=make_cluster(replicas=5))
    assert five.keep, five.reasons
    assert _trusts(_bundle(three), _leaf(three), NOW + DAY, name="bao-4.bao.ns.svc.cluster.local")
    back = drive.after(five, now=NOW + 2 * DAY, cluster=make_cluster(replicas=3))
    assert back.keep


def test_a_name_outside_the_wildcards_still_reissues(
    drive: Driver, make_cluster: Callable[..., OpenBaoCluster]
) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    more = drive.after(first, now=NOW + DAY, cluster=make_cluster(tls={"extraSANs": ["a.b.ns.svc"]}))
    assert more.actions == (TlsAction.ISSUE_SERVER_CERT,)
    assert "a.b.ns.svc" in more.reasons[0]


def test_new_ingress_host_reissues(drive: Driver, make_cluster: Callable[..., OpenBaoCluster]) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    with_ingress = make_cluster(ingress={"enabled": True, "host": "bao.example.com"})
    plan = drive.after(first, now=NOW + DAY, cluster=with_ingress)
    assert plan.actions == (TlsAction.ISSUE_SERVER_CERT,)
    assert "bao.example.com" in plan.reasons[0]


def test_bad_extra_san_is_reported_and_left_out(make_cluster: Callable[..., OpenBaoCluster], drive: Driver) -> None:
    cluster = make_cluster(tls={"extraSANs": ["10.1.2.3", "Bao.Example.COM", "not a name"]})
    plan = drive.plan(now=NOW, ca=None, server=None, cluster=cluster)
    assert plan.warnings == (
        "spec.tls.extraSANs[2] 'not a name' is neither an IP address nor a lower-case DNS name; "
        "it is left out of the certificate",
    )
    san = _leaf(plan).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "bao.example.com" in san.get_values_for_type(x509.DNSName)
    assert "10.1.2.3" in {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}


# --- renewal windows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rotation_period", "renew_after_days"),
    [
        ("720h", 60),  # default: 2/3 of 90 days and 30 days before expiry coincide
        ("1h", 60),  # a short period: two thirds of the life decide
        ("1000h", 90 - 1000 / 24),  # a long period: rotationPeriod before expiry decides
        ("2160h", 45),  # as long as the lifetime: never before half of the life (no reissue loop)
    ],
)
def test_leaf_renewal_instant(
    make_cluster: Callable[..., OpenBaoCluster],
    new_key: KeyF,
    new_serial: SerialF,
    rotation_period: str,
    renew_after_days: float,
) -> None:
    drive = Driver(make_cluster(tls={"rotationPeriod": rotation_period}), new_key, new_serial)
    first = drive.plan(now=NOW, ca=None, server=None)
    due = NOW - timedelta(hours=1) + timedelta(days=renew_after_days)
    assert first.next_check_at == due
    assert drive.after(first, now=due - timedelta(seconds=1)).keep
    renewed = drive.after(first, now=due)
    assert renewed.actions == (TlsAction.ISSUE_SERVER_CERT,)
    assert "due for renewal" in renewed.reasons[0]
    assert drive.after(renewed, now=due).keep  # the fresh certificate is not due again at once
    assert renewed.next_check_at > due


def test_expired_leaf_is_reissued(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    plan = drive.after(first, now=NOW + 100 * DAY)
    assert plan.actions == (TlsAction.ISSUE_SERVER_CERT,)


def test_naive_now_is_refused(drive: Driver) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        drive.plan(now=datetime(2026, 1, 1), ca=None, server=None)


# --- the CA rollover ---------------------------------------------------------------------------------


def test_ca_rollover_in_trust_bundle_order(drive: Driver) -> None:
    """stage (bundle [A, B], A signs) -> promote after the overlap (B signs, bundle [B, A]) -> drop A."""
    first = drive.plan(now=NOW, ca=None, server=None)
    a = x509.load_pem_x509_certificate(first.ca_secret["ca.crt"])
    stage_at = a.not_valid_after_utc - 365 * DAY
    # years of leaf renewals later, just before the CA's renewal window
    before = drive.after(first, now=stage_at - DAY)
    assert before.actions == (TlsAction.ISSUE_SERVER_CERT,)

    staged = drive.after(before, now=stage_at)
    assert staged.actions == (TlsAction.STAGE_NEXT_CA,)
    assert not staged.write_server_secret or staged.server_secret["tls.crt"] == before.server_secret["tls.crt"]
    assert set(staged.ca_secret) == {"ca.crt", "ca.key", "next-ca.crt", "next-ca.key"}
    b = x509.load_pem_x509_certificate(staged.ca_secret["next-ca.crt"])
    assert staged.ca_secret["ca.crt"] == first.ca_secret["ca.crt"]  # A still signs
    assert _bundle(staged) == [a, b]
    assert _leaf(staged).issuer == a.subject
    assert staged.next_check_at <= stage_at + 30 * DAY

    promote_at = stage_at + 30 * DAY
    waiting = drive.after(staged, now=promote_at - timedelta(seconds=1))
    assert TlsAction.PROMOTE_NEXT_CA not in waiting.actions

    promoted = drive.after(staged, now=promote_at)
    assert promoted.actions == (TlsAction.PROMOTE_NEXT_CA, TlsAction.ISSUE_SERVER_CERT)
    assert set(promoted.ca_secret) == {"ca.crt", "ca.key"}
    assert promoted.ca_secret["ca.crt"] == staged.ca_secret["next-ca.crt"]
    assert _bundle(promoted) == [b, a]
    assert _leaf(promoted).issuer == b.subject
    assert promoted.next_check_at == promote_at + 30 * DAY

    assert TlsAction.DROP_RETIRED_CA not in drive.after(promoted, now=promote_at + 29 * DAY).actions
    dropped = drive.after(promoted, now=promote_at + 30 * DAY)
    assert dropped.actions == (TlsAction.DROP_RETIRED_CA,)
    assert _bundle(dropped) == [b]
    assert not dropped.write_ca_secret

    # Pods pick up Secret changes at different times: across each step, the old and the new leaf must both
    # verify against the old and the new bundle, or a peer would reject a peer.
    steps = [before, staged, promoted, dropped]
    instants = [stage_at, promote_at, promote_at + 30 * DAY]
    for old, new, at in zip(steps[:-1], steps[1:], instants, strict=True):
        assert _trusts(_bundle(old), _leaf(new), at), "new leaf not trusted by a pod with the old bundle"
        assert _trusts(_bundle(new), _leaf(old), at), "old leaf not trusted by a pod with the new bundle"


def test_lost_ca_is_replaced_and_the_old_one_stays_trusted_for_the_overlap(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    old_ca = x509.load_pem_x509_certificate(first.ca_secret["ca.crt"])
    plan = drive.plan(now=NOW + DAY, ca=None, server=first.server_secret)
    assert plan.actions == (TlsAction.ISSUE_CA, TlsAction.ISSUE_SERVER_CERT)
    new_ca = x509.load_pem_x509_certificate(plan.ca_secret["ca.crt"])
    assert _bundle(plan) == [new_ca, old_ca]
    assert _trusts(_bundle(plan), _leaf(first), NOW + DAY)  # a pod that has not reloaded yet
    later = drive.after(plan, now=NOW + 31 * DAY)
    assert later.actions == (TlsAction.DROP_RETIRED_CA,)
    assert _bundle(later) == [new_ca]


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda s: {**s, "ca.key": b"garbage"}, "ca.key is missing or not a PEM EC private key"),
        (lambda s: {**s, "ca.crt": b"garbage"}, "ca.crt is missing or not a PEM certificate"),
    ],
)
def test_corrupt_ca_is_replaced(
    drive: Driver, mutate: Callable[[dict[str, bytes]], dict[str, bytes]], why: str
) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    plan = drive.plan(now=NOW + DAY, ca=mutate(dict(first.ca_secret)), server=first.server_secret)
    assert plan.actions == (TlsAction.ISSUE_CA, TlsAction.ISSUE_SERVER_CERT)
    assert why in plan.reasons[0]


def test_leaf_certificate_in_the_ca_slot_is_replaced(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    ca = {"ca.crt": first.server_secret["tls.crt"], "ca.key": first.server_secret["tls.key"]}
    plan = drive.plan(now=NOW + DAY, ca=ca, server=first.server_secret)
    assert plan.actions[0] is TlsAction.ISSUE_CA
    assert "not a CA certificate" in plan.reasons[0]


def test_ca_about_to_expire_promotes_the_staged_successor_at_once(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    a = x509.load_pem_x509_certificate(first.ca_secret["ca.crt"])
    staged = drive.after(first, now=a.not_valid_after_utc - 365 * DAY)
    # the operator was down for most of the year: A expires within the overlap
    late = a.not_valid_after_utc - 10 * DAY
    plan = drive.after(staged, now=late)
    assert plan.actions[0] is TlsAction.PROMOTE_NEXT_CA
    assert "expires too soon" in plan.reasons[0]
    assert plan.ca_secret["ca.crt"] == staged.ca_secret["next-ca.crt"]


def test_expired_ca_without_successor_is_replaced(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    a = x509.load_pem_x509_certificate(first.ca_secret["ca.crt"])
    plan = drive.plan(now=a.not_valid_after_utc + DAY, ca=first.ca_secret, server=first.server_secret)
    assert plan.actions == (TlsAction.ISSUE_CA, TlsAction.ISSUE_SERVER_CERT)
    assert _bundle(plan) == [x509.load_pem_x509_certificate(plan.ca_secret["ca.crt"])]  # expired A is not kept


def test_corrupt_staged_ca_is_discarded_and_restaged(drive: Driver) -> None:
    first = drive.plan(now=NOW, ca=None, server=None)
    a = x509.load_pem_x509_certificate(first.ca_secret["ca.crt"])
    at = a.not_valid_after_utc - 300 * DAY
    staged = drive.after(first, now=at)
    broken = {**staged.ca_secret, "next-ca.key": b"garbage"}
    plan = drive.plan(now=at + DAY, ca=broken, server=staged.server_secret)
    assert TlsAction.STAGE_NEXT_CA in plan.actions
    assert any("next-ca.key" in w for w in plan.warnings)


# --- the long run ------------------------------------------------------------------------------------


def test_twelve_years_following_next_check_at(drive: Driver) -> None:
    """Follow the schedule the controller would: material is always valid until the next check, the next
    check is always in the future, and consecutive states trust each other's certificates."""
    now = NOW
    plan = drive.plan(now=now, ca=None, server=None)
    seen: set[TlsAction] = set()
    while now < NOW + 12 * 365 * DAY:
        assert plan.next_check_at > now
        leaf = _leaf(plan)
        assert leaf.not_valid_after_utc > plan.next_check_at
        for ca in _bundle(plan):
            assert ca.not_valid_after_utc > now
        now = plan.next_check_at
        nxt = drive.after(plan, now=now)
        seen.update(nxt.actions)
        assert _trusts(_bundle(nxt), _leaf(plan), now)
        assert _trusts(_bundle(plan), _leaf(nxt), now)
        assert _trusts(_bundle(nxt), _leaf(nxt), now)
        plan = nxt
    assert {TlsAction.STAGE_NEXT_CA, TlsAction.PROMOTE_NEXT_CA, TlsAction.DROP_RETIRED_CA} <= seen
    assert TlsAction.ISSUE_CA not in seen  # the CA never had to be replaced abruptly
