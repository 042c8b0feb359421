"""Certificate material and rotation decisions, with injected clock and randomness; never talks to the API.

The controller uses three entry points:
- `plan_operator_managed_tls(...)` (spec.tls.mode OperatorManaged): the desired data of `<name>-tls-ca`
  and `<name>-tls-server`, whether each must be written, and `next_check_at` for requeue-after.
- `validate_external_tls(...)` (mode External): a TLSReady verdict with a distinct reason per failure.
- `tls_secret_manifests(...)`: both Secrets as API objects (labels, type, base64 data).
"""

# The names live in api/names.py (render and the controller need them too); re-exported for the controller.
from openbao_operator.api.names import raft_tls_server_name
from openbao_operator.api.names import tls_ca_secret_name as ca_secret_name
from openbao_operator.api.names import tls_server_secret_name as server_secret_name

from .external import ExternalTlsCheck, ExternalTlsReason, validate_external_tls
from .issue import IssuedCert, issue_ca, issue_server_cert
from .manifests import tls_secret_manifests
from .material import (
    KeyFactory,
    SecretData,
    SerialFactory,
    fingerprint,
    generate_p256_key,
    p256_key_from_seed,
    random_serial,
)
from .names import (
    InvalidSan,
    ServerNames,
    external_required_names,
    operator_managed_names,
    pod_dns_names,
)
from .operator_managed import SelfCheckError, TlsAction, TlsPlan, plan_operator_managed_tls
from .policy import DEFAULT_POLICY, RotationPolicy, parse_go_duration
from .verify import ChainFailure, san_sets, verify_chain

__all__ = [
    "DEFAULT_POLICY",
    "ChainFailure",
    "ExternalTlsCheck",
    "ExternalTlsReason",
    "InvalidSan",
    "IssuedCert",
    "KeyFactory",
    "RotationPolicy",
    "SecretData",
    "SelfCheckError",
    "SerialFactory",
    "ServerNames",
    "TlsAction",
    "TlsPlan",
    "ca_secret_name",
    "external_required_names",
    "fingerprint",
    "generate_p256_key",
    "issue_ca",
    "issue_server_cert",
    "operator_managed_names",
    "p256_key_from_seed",
    "parse_go_duration",
    "plan_operator_managed_tls",
    "pod_dns_names",
    "raft_tls_server_name",
    "random_serial",
    "san_sets",
    "server_secret_name",
    "tls_secret_manifests",
    "validate_external_tls",
    "verify_chain",
]
