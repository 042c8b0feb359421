"""Kubernetes core types embedded in the OpenBaoCluster spec (scheduling, security, network policy).

They are typed here, not passed through as free-form objects, so that a typo such as
`tolerations[0].efect` is rejected at admission with the field named, instead of surfacing later as a
failed StatefulSet write. Field names and meanings follow the Kubernetes API exactly; only the fields
a pod template or a NetworkPolicy rule accepts are modelled.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from .base import ApiModel, Rule
from .types import DNS_SUBDOMAIN_REGEX, Pattern

ATOMIC_LIST = Field(json_schema_extra={"x-kubernetes-list-type": "atomic"})
"""`x-kubernetes-list-type: atomic` (as Kubernetes marks these lists): server-side apply replaces the whole
list, never merges items of two field managers."""
ATOMIC_MAP: ConfigDict = {"json_schema_extra": {"x-kubernetes-map-type": "atomic"}}
"""`x-kubernetes-map-type: atomic` on a model (as Kubernetes marks references and selectors): server-side
apply replaces the whole object, so one field manager owns it as a unit."""

IntOrString = int | str
"""Rendered as `x-kubernetes-int-or-string` in the CRD."""

QuantityValue = Annotated[
    IntOrString,
    Field(description="A Kubernetes quantity, such as 500m, 2 or 4Gi."),
]

LabelKey = Annotated[
    str,
    Pattern(
        r"^(?:" + DNS_SUBDOMAIN_REGEX[1:-1] + r"/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$",
        "must be a label key: an optional DNS prefix and '/', then up to 63 letters, digits, '-', '_' or '.'",
        317,
    ),
]
LabelValue = Annotated[
    str,
    Pattern(
        r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$",
        "must be a label value: up to 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric",
        63,
    ),
]


class LocalObjectReference(ApiModel):
    """A reference to an object in the same namespace."""

    model_config = ATOMIC_MAP

    name: Annotated[
        str,
        Pattern(
            r"^(?:" + DNS_SUBDOMAIN_REGEX[1:-1] + r")?$",
            "must be a Kubernetes object name: lower-case letters, digits, '-' and '.', starting and ending "
            "with a letter or digit",
            253,
        ),
    ] = ""
    """Name of the referenced object. Empty (Kubernetes' default, as in the reference operator) refers to
    nothing: the reference is then not used, and reported as ignored."""


class LabelSelectorRequirement(ApiModel):
    """One set-based requirement of a label selector."""

    key: LabelKey
    """The label key the selector applies to."""
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    """How the key relates to the values."""
    values: Annotated[list[LabelValue], ATOMIC_LIST] | None = None
    """Values for In and NotIn; empty for Exists and DoesNotExist."""


class LabelSelector(ApiModel):
    """A label query over a set of objects; the requirements are ANDed."""

    model_config = ATOMIC_MAP

    match_labels: dict[LabelKey, LabelValue] | None = None
    """Labels that must match exactly."""
    match_expressions: Annotated[list[LabelSelectorRequirement], ATOMIC_LIST] | None = None
    """Set-based requirements."""


class NodeSelectorRequirement(ApiModel):
    """One requirement on node labels or fields."""

    key: str
    """The label or field key."""
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    """How the key relates to the values."""
    values: list[str] | None = None
    """Values to compare with; one integer for Gt and Lt."""


class NodeSelectorTerm(ApiModel):
    """A node selector term; its requirements are ANDed."""

    match_expressions: list[NodeSelectorRequirement] | None = None
    """Requirements on node labels."""
    match_fields: list[NodeSelectorRequirement] | None = None
    """Requirements on node fields."""


class NodeSelector(ApiModel):
    """A list of node selector terms, ORed."""

    node_selector_terms: list[NodeSelectorTerm]
    """The terms; a node matches when any term matches."""


class PreferredSchedulingTerm(ApiModel):
    """A weighted node selector term."""

    weight: Annotated[int, Field(ge=1, le=100)]
    """Weight in the range 1-100."""
    preference: NodeSelectorTerm
    """The node selector term."""


class NodeAffinity(ApiModel):
    """Node affinity scheduling rules."""

    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    """Rules a node must meet for the pod to be scheduled there."""
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] | None = None
    """Rules the scheduler prefers, by weight."""


class PodAffinityTerm(ApiModel):
    """Pods (matched by selectors) that this pod should be co-located with, or not, per topology key."""

    label_selector: LabelSelector | None = None
    """The pods this term refers to."""
    namespace_selector: LabelSelector | None = None
    """Namespaces the term applies to; empty means this pod's namespace."""
    namespaces: list[str] | None = None
    """Namespace names the term applies to."""
    topology_key: Annotated[str, Field(min_length=1)]
    """Node label whose value defines a topology domain, such as kubernetes.io/hostname."""
    match_label_keys: list[str] | None = None
    """Pod label keys whose values are merged into labelSelector as In requirements."""
    mismatch_label_keys: list[str] | None = None
    """Pod label keys whose values are merged into labelSelector as NotIn requirements."""


class WeightedPodAffinityTerm(ApiModel):
    """A pod affinity term with a weight."""

    weight: Annotated[int, Field(ge=1, le=100)]
    """Weight in the range 1-100."""
    pod_affinity_term: PodAffinityTerm
    """The term."""


class PodAffinity(ApiModel):
    """Inter-pod affinity or anti-affinity rules."""

    required_during_scheduling_ignored_during_execution: list[PodAffinityTerm] | None = None
    """Terms that must hold for scheduling."""
    preferred_during_scheduling_ignored_during_execution: list[WeightedPodAffinityTerm] | None = None
    """Terms the scheduler prefers, by weight."""


class Affinity(ApiModel):
    """Scheduling constraints of the OpenBao pods."""

    node_affinity: NodeAffinity | None = None
    """Node affinity rules."""
    pod_affinity: PodAffinity | None = None
    """Rules to co-locate with other pods."""
    pod_anti_affinity: PodAffinity | None = None
    """Rules to avoid other pods; replaces the operator's default soft anti-affinity across nodes."""


class Toleration(ApiModel):
    """Lets the pods schedule onto nodes with a matching taint."""

    key: str | None = None
    """The taint key; empty with operator Exists matches every taint."""
    operator: Literal["Exists", "Equal"] | None = None
    """Exists or Equal (the default)."""
    value: str | None = None
    """The taint value for operator Equal."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    """The taint effect to match; empty matches all effects."""
    toleration_seconds: int | None = None
    """For NoExecute: how long the pod stays bound after the taint appears."""


class TopologySpreadConstraint(ApiModel):
    """How the pods spread across topology domains."""

    max_skew: Annotated[int, Field(ge=1)]
    """The largest allowed difference in pod count between domains."""
    topology_key: Annotated[str, Field(min_length=1)]
    """Node label that defines a domain, such as topology.kubernetes.io/zone."""
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"]
    """What to do when the constraint cannot be met."""
    label_selector: LabelSelector | None = None
    """Pods counted in each domain; the operator's pod selector when empty."""
    min_domains: Annotated[int, Field(ge=1)] | None = None
    """The minimum number of eligible domains."""
    node_affinity_policy: Literal["Honor", "Ignore"] | None = None
    """Whether node affinity is considered when counting domains."""
    node_taints_policy: Literal["Honor", "Ignore"] | None = None
    """Whether node taints are considered when counting domains."""
    match_label_keys: list[str] | None = None
    """Pod label keys whose values select the pods to count."""


class ResourceRequirements(ApiModel):
    """Compute resources of the OpenBao container."""

    limits: dict[str, QuantityValue] | None = None
    """Maximum resources, such as cpu: 2 and memory: 1Gi."""
    requests: dict[str, QuantityValue] | None = None
    """Resources the scheduler reserves."""


class SeccompProfile(ApiModel):
    """The seccomp profile of the pod."""

    type: Literal["RuntimeDefault", "Localhost", "Unconfined"]
    """RuntimeDefault, Localhost or Unconfined."""
    localhost_profile: str | None = None
    """The profile file for type Localhost."""


class AppArmorProfile(ApiModel):
    """The AppArmor profile of the pod."""

    type: Literal["RuntimeDefault", "Localhost", "Unconfined"]
    """RuntimeDefault, Localhost or Unconfined."""
    localhost_profile: str | None = None
    """The profile name for type Localhost."""


class SELinuxOptions(ApiModel):
    """SELinux labels of the pod."""

    user: str | None = None
    """SELinux user label."""
    role: str | None = None
    """SELinux role label."""
    type: str | None = None
    """SELinux type label."""
    level: str | None = None
    """SELinux level label."""


class Sysctl(ApiModel):
    """A namespaced kernel parameter."""

    name: Annotated[str, Field(min_length=1, max_length=253)]
    """The parameter name (at most 253 characters, as Kubernetes allows)."""
    value: str
    """The value."""


class WindowsSecurityContextOptions(ApiModel):
    """Windows-specific options (accepted for parity; OpenBao pods run on Linux)."""

    gmsa_credential_spec_name: str | None = None
    """Name of the GMSA credential spec."""
    gmsa_credential_spec: str | None = None
    """Contents of the GMSA credential spec."""
    run_as_user_name: str | None = None
    """The Windows user name."""
    host_process: bool | None = None
    """Whether to run as a host process."""


class PodSecurityContext(ApiModel):
    """Per-field overrides of the pod security context the operator sets (restricted by default)."""

    # Overrides that can never run, refused in every profile. The OpenBao container's own context is fixed
    # (runAsNonRoot: true, no privilege, no capabilities), so the kubelet refuses to start it as UID 0; the API
    # server refuses a host-process pod without hostNetwork, which OpenBao pods never use. Overrides that only
    # leave Pod Security "restricted" are judged per profile (api/podsecurity.py).
    rules = (
        Rule(
            cel="!has(self.runAsUser) || self.runAsUser != 0",
            check=lambda m: m.run_as_user != 0,
            message="the OpenBao container always runs with runAsNonRoot: true, so the kubelet refuses to start "
            "it as UID 0; use a non-zero UID (default 100)",
            field="runAsUser",
        ),
        Rule(
            cel="!has(self.windowsOptions) || !has(self.windowsOptions.hostProcess) || "
            "!self.windowsOptions.hostProcess",
            check=lambda m: m.windows_options is None or not m.windows_options.host_process,
            message="OpenBao pods run on Linux without hostNetwork, and the API server refuses a host-process pod "
            "without it; remove it",
            field="windowsOptions.hostProcess",
        ),
    )

    run_as_user: Annotated[int, Field(ge=0)] | None = None
    """UID of the container processes (default 100, the OpenBao image's user)."""
    run_as_group: Annotated[int, Field(ge=0)] | None = None
    """GID of the container processes (default 1000)."""
    fs_group: Annotated[int, Field(ge=0)] | None = None
    """Group that owns the volumes (default 1000)."""
    run_as_non_root: bool | None = None
    """Require a non-root user (default true)."""
    seccomp_profile: SeccompProfile | None = None
    """Seccomp profile (default RuntimeDefault)."""
    app_armor_profile: AppArmorProfile | None = None
    """AppArmor profile."""
    fs_group_change_policy: Literal["OnRootMismatch", "Always"] | None = None
    """When to change volume ownership."""
    supplemental_groups: Annotated[list[Annotated[int, Field(ge=0)]], ATOMIC_LIST] | None = None
    """Extra groups of the container processes."""
    supplemental_groups_policy: Literal["Merge", "Strict"] | None = None
    """How supplemental groups are computed."""
    sysctls: Annotated[list[Sysctl], ATOMIC_LIST, Field(max_length=32)] | None = None
    """Namespaced sysctls (at most 32: the CEL rules over them must fit the API server's cost budget)."""
    se_linux_options: SELinuxOptions | None = Field(default=None, alias="seLinuxOptions")
    """SELinux labels."""
    se_linux_change_policy: Literal["Recursive", "MountOption"] | None = Field(
        default=None, alias="seLinuxChangePolicy"
    )
    """How SELinux labels are applied to volumes."""
    windows_options: WindowsSecurityContextOptions | None = None
    """Windows options."""


class IPBlock(ApiModel):
    """A CIDR range, with exceptions."""

    cidr: Annotated[str, Field(min_length=1)]
    """The CIDR, such as 10.0.0.0/16."""
    except_: Annotated[list[str], ATOMIC_LIST] | None = Field(default=None, alias="except")
    """CIDRs inside cidr that are excluded."""


class NetworkPolicyPeer(ApiModel):
    """A peer a NetworkPolicy rule allows."""

    pod_selector: LabelSelector | None = None
    """Pods selected by labels."""
    namespace_selector: LabelSelector | None = None
    """Namespaces selected by labels."""
    ip_block: IPBlock | None = None
    """An IP range."""


class NetworkPolicyPort(ApiModel):
    """A port a NetworkPolicy rule allows."""

    protocol: Literal["TCP", "UDP", "SCTP"] | None = None
    """The protocol (default TCP)."""
    port: IntOrString | None = None
    """A port number or a named port."""
    end_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """The last port of a range starting at port."""


class NetworkPolicyIngressRule(ApiModel):
    """Extra traffic allowed into the OpenBao pods."""

    from_: Annotated[list[NetworkPolicyPeer], ATOMIC_LIST] | None = Field(default=None, alias="from")
    """Sources; empty means any source."""
    ports: Annotated[list[NetworkPolicyPort], ATOMIC_LIST] | None = None
    """Ports; empty means all ports."""


class NetworkPolicyEgressRule(ApiModel):
    """Extra traffic allowed out of the OpenBao pods."""

    to: Annotated[list[NetworkPolicyPeer], ATOMIC_LIST] | None = None
    """Destinations; empty means any destination."""
    ports: Annotated[list[NetworkPolicyPort], ATOMIC_LIST] | None = None
    """Ports; empty means all ports."""
