"""The pure decision for operator-managed TLS: given the spec, `now` and both Secrets, what must they hold?

Why a decision function: the controller reads `<name>-tls-ca` and `<name>-tls-server`, calls
`plan_operator_managed_tls`, writes whichever Secret data differs (nothing, when `plan.keep`), and
requeues at `plan.next_check_at`. Everything time-dependent is derived from the certificates themselves
(their notBefore/notAfter), so no state lives outside the two Secrets and a restarted operator decides
exactly as the old one would have.

CA rollover, without a moment where a pod distrusts a peer:
  1. stage: the signing CA A expires within `ca_renew_before` -> a successor B is created in the CA
     Secret (`next-ca.*`) and joins the trust bundle [A, B]; A still signs.
  2. promote: B has been trusted for `ca_trust_overlap` -> B becomes the signer, a new server certificate
     is issued by B, A stays in the bundle as retired: [B, A].
  3. drop: the server certificate issued by B is `ca_trust_overlap` old -> A leaves the bundle: [B].
A lost or unusable CA (deleted Secret, corrupt key, about to expire) is replaced at once; the CAs of the
old bundle stay trusted for the overlap, so peers that have not reloaded yet still verify each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from openbao_operator.api import OpenBaoCluster
from openbao_operator.api import names as k
from openbao_operator.api.tls import DEFAULT_ROTATION_PERIOD

from .issue import IssuedCert, issue_ca, issue_server_cert
from .material import (
    KeyFactory,
    SecretData,
    SerialFactory,
    certs_pem,
    fingerprint,
    generate_p256_key,
    key_matches,
    load_certs,
    load_key,
    random_serial,
)
from .names import ServerNames, operator_managed_names
from .policy import DEFAULT_POLICY, RotationPolicy, as_utc, not_after, not_before, parse_go_duration
from .verify import san_sets, verify_chain


class TlsAction(StrEnum):
    """What a plan changes; also usable as an Event reason."""

    ISSUE_CA = "IssueCA"
    STAGE_NEXT_CA = "StageNextCA"
    PROMOTE_NEXT_CA = "PromoteNextCA"
    DROP_RETIRED_CA = "DropRetiredCA"
    ISSUE_SERVER_CERT = "IssueServerCert"
    UPDATE_TRUST_BUNDLE = "UpdateTrustBundle"


class SelfCheckError(RuntimeError):
    """Freshly issued material failed verification: a bug, never a user error; nothing is written."""


@dataclass(frozen=True, kw_only=True)
class TlsPlan:
    """The desired content of both TLS Secrets, why it changed, and when to look again."""

    actions: tuple[TlsAction, ...]
    """What changed and why (empty when nothing did)."""
    reasons: tuple[str, ...]
    """One human sentence per action, for Events and the TLSReady message."""
    warnings: tuple[str, ...]
    """Problems that did not stop issuance (an unusable extraSANs entry, a bad rotationPeriod)."""
    ca_secret: SecretData
    """Desired data of `<name>-tls-ca` (Opaque; ca.crt, ca.key, next-ca.* while a rollover is staged)."""
    server_secret: SecretData
    """Desired data of `<name>-tls-server` (kubernetes.io/tls; tls.crt, tls.key, ca.crt = trust bundle)."""
    write_ca_secret: bool
    """The CA Secret must be written (created or its managed keys changed)."""
    write_server_secret: bool
    """The server Secret must be written (created or its managed keys changed)."""
    next_check_at: datetime
    """Requeue the cluster at this instant (work queue add_after); the earliest scheduled change."""
    leaf_fingerprint: str
    """sha256 hex of the server certificate's DER; for the pod-template hash where reload is impossible."""
    leaf_not_after: datetime
    ca_bundle_fingerprints: tuple[str, ...]
    """Fingerprints of the trust bundle, signer first."""

    @property
    def keep(self) -> bool:
        """Nothing to write: the managed keys of both Secrets already hold exactly this data."""
        return not (self.write_ca_secret or self.write_server_secret)

    @property
    def trust_bundle(self) -> bytes:
        """The PEM bundle pods and clients should trust (also what a Gateway's CA ConfigMap should copy)."""
        return self.server_secret[k.TRUST_BUNDLE]


@dataclass(frozen=True, repr=False)
class _Held:
    """A certificate and key plus the exact bytes they were read from (kept to avoid rewriting them)."""

    issued: IssuedCert
    cert_bytes: bytes
    key_bytes: bytes

    @classmethod
    def fresh(cls, issued: IssuedCert) -> _Held:
        return cls(issued=issued, cert_bytes=issued.cert_pem, key_bytes=issued.key_pem)

    @property
    def cert(self) -> x509.Certificate:
        return self.issued.cert


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _read_pair(data: Mapping[str, bytes], cert_key: str, key_key: str, *, ca: bool) -> tuple[_Held | None, str]:
    """The pair stored under two keys, or None and why it is unusable ("" when simply absent)."""
    cert_bytes, key_bytes = data.get(cert_key), data.get(key_key)
    if cert_bytes is None and key_bytes is None:
        return None, ""
    certs, key = load_certs(cert_bytes), load_key(key_bytes)
    if cert_bytes is None or certs is None:
        return None, f"{cert_key} is missing or not a PEM certificate"
    if key_bytes is None or not isinstance(key, ec.EllipticCurvePrivateKey):
        return None, f"{key_key} is missing or not a PEM EC private key"
    cert = certs[0]
    if not key_matches(cert, key):
        return None, f"{key_key} does not belong to {cert_key}"
    if ca and not _is_ca(cert):
        return None, f"{cert_key} is not a CA certificate"
    return _Held(IssuedCert(cert=cert, key=key), cert_bytes, key_bytes), ""


class _Planner:
    """One decision; attributes accumulate the state as the numbered steps run."""

    def __init__(
        self,
        cluster: OpenBaoCluster,
        *,
        names: ServerNames,
        now: datetime,
        rotation_period: timedelta,
        new_key: KeyFactory,
        new_serial: SerialFactory,
        policy: RotationPolicy,
    ) -> None:
        self.cluster, self.names, self.now = cluster, names, now
        self.rotation_period, self.policy = rotation_period, policy
        self.new_key, self.new_serial = new_key, new_serial
        self.actions: list[TlsAction] = []
        self.reasons: list[str] = []
        self.retired: list[x509.Certificate] = []
        self.warnings: list[str] = []

    def act(self, action: TlsAction, reason: str) -> None:
        self.actions.append(action)
        self.reasons.append(reason)

    def new_ca(self) -> _Held:
        return _Held.fresh(
            issue_ca(
                cluster_name=self.cluster.metadata.name,
                now=self.now,
                new_key=self.new_key,
                new_serial=self.new_serial,
                policy=self.policy,
            )
        )

    def usable_signer(self, held: _Held | None) -> str:
        """ "" when `held` may keep signing, else why not."""
        if held is None:
            return "the CA is missing"
        if self.now < not_before(held.cert):
            return "the CA is not valid yet"
        if self.now >= not_after(held.cert) - self.policy.ca_trust_overlap:
            return "the CA expires too soon for a graceful rollover"
        return ""

    # (1)-(3): who signs, who is staged
    def settle_cas(self, ca_data: Mapping[str, bytes]) -> tuple[_Held, _Held | None]:
        signer, signer_problem = _read_pair(ca_data, k.CA_CERT, k.CA_KEY, ca=True)
        staged, staged_problem = _read_pair(ca_data, k.NEXT_CA_CERT, k.NEXT_CA_KEY, ca=True)
        if staged is not None and self.usable_signer(staged):
            staged_problem, staged = f"the staged CA is not usable ({self.usable_signer(staged)})", None
        # (1) an unusable signer is replaced now: by the staged CA if there is one (already trusted)
        problem = signer_problem or self.usable_signer(signer)
        if signer is None or problem:
            if signer is not None:
                self.retired.append(signer.cert)
            if staged is not None:
                self.act(TlsAction.PROMOTE_NEXT_CA, f"{problem}; the staged CA takes over at once")
                signer, staged = staged, None
            else:
                self.act(TlsAction.ISSUE_CA, f"{problem}; a new CA was issued")
                signer = self.new_ca()
        if staged_problem:
            self.warnings.append(f"{staged_problem}; it was discarded")
        # (2) stage a successor when the signer enters its renewal window
        if staged is None and self.now >= self.policy.ca_renew_at(signer.cert):
            staged = self.new_ca()
            self.act(TlsAction.STAGE_NEXT_CA, "the CA enters its renewal window; its successor joins the trust bundle")
        # (3) promote the successor once it has been trusted long enough
        elif staged is not None and self.now >= self.policy.issued_at(staged.cert) + self.policy.ca_trust_overlap:
            self.retired.append(signer.cert)
            signer, staged = staged, None
            self.act(TlsAction.PROMOTE_NEXT_CA, "the staged CA has been trusted long enough; it signs from now on")
        return signer, staged

    # (4): does the server certificate stand?
    def leaf_problem(self, held: _Held | None, read_problem: str, signer: _Held) -> str:
        if held is None:
            return read_problem or "the server certificate is missing"
        dns, ips = san_sets(held.cert)
        # NB: a name a wildcard of the certificate covers is not missing: a scale-up adds pod names, and a
        # reissue for them would change the fingerprint on every pod template of versions that cannot reload
        # certificates (rolling every pod) for names `*.<name>.<ns>.svc` already verifies.
        missing = tuple(n for n in self.names.missing_from(dns, ips) if not _wildcard_covers(n, dns))
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            return f"the server certificate does not cover {shown}"
        failure = verify_chain(held.cert, trust=[signer.cert], names=self.names, now=self.now)
        if failure is not None:
            return f"the server certificate does not verify with the signing CA ({failure.detail})"
        if self.now >= self.policy.leaf_renew_at(held.cert, rotation_period=self.rotation_period):
            return "the server certificate is due for renewal"
        return ""

    def issue_leaf(self, signer: _Held) -> _Held:
        issued = issue_server_cert(
            cluster_name=self.cluster.metadata.name,
            names=self.names,
            signer=signer.issued,
            now=self.now,
            new_key=self.new_key,
            new_serial=self.new_serial,
            policy=self.policy,
        )
        # (5) self-check: the new certificate verifies for every name before anyone sees it
        failure = verify_chain(issued.cert, trust=[signer.cert], names=self.names, now=self.now)
        if failure is not None:
            raise SelfCheckError(f"issued certificate fails verification for {failure.name}: {failure.detail}")
        return _Held.fresh(issued)

    # (6): the trust bundle
    def bundle(
        self, signer: _Held, staged: _Held | None, leaf: _Held, old: tuple[x509.Certificate, ...]
    ) -> list[x509.Certificate]:
        active = [signer.cert] + ([staged.cert] if staged is not None else [])
        active_fps = {fingerprint(c) for c in active}
        candidates: dict[str, x509.Certificate] = {}
        for cert in [*self.retired, *old]:
            fp = fingerprint(cert)
            if fp not in active_fps and _is_ca(cert) and self.now < not_after(cert):
                candidates.setdefault(fp, cert)
        keep_retired = self.now < self.policy.issued_at(leaf.cert) + self.policy.ca_trust_overlap
        retired = sorted(candidates.values(), key=lambda c: (not_after(c), fingerprint(c))) if keep_retired else []
        old_fps = {fingerprint(c) for c in old}
        if any(fp in old_fps for fp in candidates) and not keep_retired:
            self.act(TlsAction.DROP_RETIRED_CA, "the retired CA left the trust bundle after the overlap")
        self.retired = retired
        return active + retired

    # (7): when to look again
    def next_check(self, signer: _Held, staged: _Held | None, leaf: _Held) -> datetime:
        times = [self.policy.leaf_renew_at(leaf.cert, rotation_period=self.rotation_period)]
        if staged is None:
            times.append(self.policy.ca_renew_at(signer.cert))
        else:
            times.append(self.policy.issued_at(staged.cert) + self.policy.ca_trust_overlap)
        if self.retired:
            times.append(self.policy.issued_at(leaf.cert) + self.policy.ca_trust_overlap)
            times += [not_after(c) for c in self.retired]
        # NB: every scheduled instant is in the future once the actions above are applied; the floor only
        # guards against a tight requeue loop if that reasoning ever breaks.
        return max(min(times), self.now + timedelta(seconds=1))


def plan_operator_managed_tls(
    cluster: OpenBaoCluster,
    *,
    namespace: str,
    cluster_domain: str,
    now: datetime,
    ca_secret: Mapping[str, bytes] | None,
    server_secret: Mapping[str, bytes] | None,
    new_key: KeyFactory = generate_p256_key,
    new_serial: SerialFactory = random_serial,
    policy: RotationPolicy = DEFAULT_POLICY,
) -> TlsPlan:
    """Decide the content of `<name>-tls-ca` and `<name>-tls-server` at `now`.

    `ca_secret` / `server_secret` are the Secrets' decoded `data` (None when the Secret does not exist).
    Deterministic: the same inputs (and key/serial factories) give the same plan, byte for byte.
    Steps: (1)-(3) settle the signing and staged CA, (4) judge the server certificate, (5) reissue and
    self-check it if needed, (6) compute the trust bundle, (7) schedule the next check.
    """
    now = as_utc(now)
    names, invalid = operator_managed_names(cluster, namespace=namespace, cluster_domain=cluster_domain)
    warnings = [bad.message for bad in invalid]
    try:
        rotation_period = parse_go_duration(cluster.spec.tls.rotation_period or DEFAULT_ROTATION_PERIOD)
    except ValueError as exc:
        warnings.append(f"spec.tls.rotationPeriod: {exc}; renewing at two thirds of the lifetime")
        rotation_period = timedelta(0)
    planner = _Planner(
        cluster,
        names=names,
        now=now,
        rotation_period=rotation_period,
        new_key=new_key,
        new_serial=new_serial,
        policy=policy,
    )
    ca_data: Mapping[str, bytes] = ca_secret or {}
    server_data: Mapping[str, bytes] = server_secret or {}

    signer, staged = planner.settle_cas(ca_data)
    leaf, leaf_read_problem = _read_pair(server_data, k.TLS_CERT, k.TLS_KEY, ca=False)
    problem = planner.leaf_problem(leaf, leaf_read_problem, signer)
    if problem or leaf is None:
        leaf = planner.issue_leaf(signer)
        planner.act(TlsAction.ISSUE_SERVER_CERT, f"{problem or 'no server certificate'}; a new one was issued")
    old_bundle = load_certs(server_data.get(k.TRUST_BUNDLE)) or ()
    bundle = planner.bundle(signer, staged, leaf, old_bundle)

    if [fingerprint(c) for c in bundle] != [fingerprint(c) for c in old_bundle] and not planner.actions:
        planner.act(TlsAction.UPDATE_TRUST_BUNDLE, "the trust bundle did not list exactly the CAs to trust")

    ca_out = {k.CA_CERT: signer.cert_bytes, k.CA_KEY: signer.key_bytes}
    if staged is not None:
        ca_out |= {k.NEXT_CA_CERT: staged.cert_bytes, k.NEXT_CA_KEY: staged.key_bytes}
    same_bundle = [fingerprint(c) for c in bundle] == [fingerprint(c) for c in old_bundle]
    bundle_bytes = server_data[k.TRUST_BUNDLE] if same_bundle else certs_pem(bundle)
    server_out = {k.TLS_CERT: leaf.cert_bytes, k.TLS_KEY: leaf.key_bytes, k.TRUST_BUNDLE: bundle_bytes}
    # Only the keys this plan manages are compared: keys someone else added are not ours to judge.
    ca_in = {key: ca_data[key] for key in k.CA_SECRET_KEYS if key in ca_data}
    server_in = {key: server_data[key] for key in k.SERVER_SECRET_KEYS if key in server_data}
    return TlsPlan(
        actions=tuple(planner.actions),
        reasons=tuple(planner.reasons),
        warnings=(*warnings, *planner.warnings),
        ca_secret=SecretData(ca_out),
        server_secret=SecretData(server_out),
        write_ca_secret=ca_out != ca_in,
        write_server_secret=server_out != server_in,
        next_check_at=planner.next_check(signer, staged, leaf),
        leaf_fingerprint=fingerprint(leaf.cert),
        leaf_not_after=not_after(leaf.cert),
        ca_bundle_fingerprints=tuple(fingerprint(c) for c in bundle),
    )


def _wildcard_covers(name: str, dns: frozenset[str]) -> bool:
    """A wildcard SAN covers exactly one leftmost label (RFC 6125 6.4.3)."""
    _, dot, parent = name.partition(".")
    return bool(dot and parent) and f"*.{parent}" in dns
