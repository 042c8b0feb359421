"""A small client of OpenBao's HTTP API: health, init, JWT login, step-down and raft peers.

Why a package of its own: the controller decides *when* to initialize a cluster or step a leader down; this
package only knows *how* to ask one OpenBao node (its pod IP, TLS verified against the cluster's trust bundle
by the pod's DNS name). It imports nothing of the project but ``api`` (layer contract in pyproject.toml).
Secret material (the root token, recovery keys) is carried in :class:`Sensitive`, whose ``repr`` and ``str``
never show the value, so it cannot leak through a log line or an exception message.
"""

from .client import (
    AutopilotServer,
    AutopilotState,
    BaoApiError,
    BaoClient,
    BaoUnavailable,
    Health,
    InitResult,
    LeaderInfo,
    Login,
    RaftPeer,
    Sensitive,
    Target,
)

__all__ = [
    "AutopilotServer",
    "AutopilotState",
    "BaoApiError",
    "BaoClient",
    "BaoUnavailable",
    "Health",
    "InitResult",
    "LeaderInfo",
    "Login",
    "RaftPeer",
    "Sensitive",
    "Target",
]
