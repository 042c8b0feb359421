"""The steps that decide whether anything is applied at all: the spec parses, it is not paused, it is valid.

Why before any write but the finalizer: an invalid spec (does not parse, breaks the Hardened profile, does
not render to a valid config.hcl) gets ``ConfigurationValid=False`` naming the field and nothing else; a
paused one gets a status saying so and is left as it is. Both still get the finalizer, since a StatefulSet
from an earlier pass may exist and its PVCs are what the deletion policy may delete.
"""

from __future__ import annotations

from openbao_operator.api import ConditionType, InvalidClusterError, OpenBaoClusterSpec
from openbao_operator.api.ignored import ignored_fields
from openbao_operator.kube import ObjectKey
from openbao_operator.render.config import ConfigRenderError

from .conditions import Cond
from .deletion import ensure_finalizer
from .kinds import STATEFULSET
from .profile import ProfileVerdict, judge_profile
from .status import Problem, StatusInput, Workload, build_status, paused_status
from .step import Context, Report
from .stsview import StatefulSetView
from .workload import current_workload, observe_workload

T = ConditionType
DEFAULT_REPLICAS: int = OpenBaoClusterSpec.model_fields["replicas"].default


async def parse(ctx: Context) -> Report:
    """The spec as a typed model; one that does not parse ends the pass with ConfigurationValid=False."""
    try:
        ctx.facts.cluster = ctx.clients.memo.parse(ctx.raw)
    except InvalidClusterError as exc:
        await ensure_finalizer(ctx)
        invalid = Cond(T.CONFIGURATION_VALID.value, "False", "InvalidSpec", exc.summary())
        return await _invalid(ctx, invalid)
    return Report()


async def _invalid(ctx: Context, invalid: Cond) -> Report:
    """The status of a spec that does not parse: what can be read without a model (the live StatefulSet)."""
    live_status = ctx.live_status
    spec = ctx.raw.get("spec") or {}
    live = StatefulSetView.of(await ctx.clients.reader.get(STATEFULSET, ObjectKey(ctx.namespace, ctx.key.name)))
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or replicas < 1:
        replicas = DEFAULT_REPLICAS  # unreadable: what the spec means when it says nothing
    work = observe_workload(
        live.manifest,
        spec_replicas=replicas,
        target_replicas=replicas,
        is_initialized=bool(live_status.get("initialized")),
    )
    unknown = Cond(T.FIELDS_IGNORED.value, "Unknown", "InvalidSpec", "the spec does not validate")
    return _refused(ctx, invalid, workload=work, fields_ignored=unknown, paused=bool(spec.get("paused")))


def _refused(
    ctx: Context,
    configuration: Cond,
    *,
    workload: Workload,
    fields_ignored: Cond,
    paused: bool = False,
    profile: ProfileVerdict | None = None,
) -> Report:
    """End the pass on a spec that is not applied: ConfigurationValid=False and its Event, nothing written but
    the status (and the finalizer); the last verified image stays recorded."""
    status = build_status(
        StatusInput(
            generation=ctx.generation,
            now=ctx.now,
            live_status=ctx.live_status,
            workload=workload,
            configuration=configuration,
            fields_ignored=fields_ignored,
            paused=paused,
            tls=None,
            production_ready=profile.production_ready if profile is not None else None,
            security_risk=profile.security_risk if profile is not None else None,
            image=None,
            problem=Problem(configuration.reason, configuration.message),
            verified_image=None,
            keep_verified_image=True,
        )
    )
    out = Report(stop=True, status=status, transitions=(configuration,))
    out.after(ctx.config.resync_seconds)
    return out


async def paused(ctx: Context) -> Report:
    """``spec.paused``: leave everything as it is; status says so."""
    if not ctx.cluster.spec.paused:
        return Report()
    await ensure_finalizer(ctx)
    status = paused_status(
        generation=ctx.generation, now=ctx.now, live_status=ctx.live_status, workload=current_workload(ctx)
    )
    out = Report(stop=True, status=status)
    out.after(ctx.config.resync_seconds)
    return out


async def step(ctx: Context) -> Report:
    """The Hardened profile holds and config.hcl renders (a trial render); else ConfigurationValid=False."""
    cluster = ctx.cluster
    profile = judge_profile(cluster)
    ignored = ignored_fields(cluster.spec)
    ctx.facts.profile = profile
    fields = (
        Cond(T.FIELDS_IGNORED.value, "True", "FieldsIgnored", "; ".join(str(f) for f in ignored))
        if ignored
        else Cond(T.FIELDS_IGNORED.value, "False", "NoneIgnored", "every field set in the spec takes effect")
    )
    ctx.facts.fields_ignored = fields
    configuration = Cond(T.CONFIGURATION_VALID.value, "True", "Valid", "the spec renders to a valid configuration")
    if profile.violations:
        configuration = Cond(
            T.CONFIGURATION_VALID.value, "False", "HardenedProfileViolated", "; ".join(profile.violations)
        )
    else:
        try:
            version = str((ctx.raw.get("metadata") or {}).get("resourceVersion") or "")
            ctx.clients.memo.check_render(ctx.owner_uid, version, cluster, facts=ctx.render_facts)
        except ConfigRenderError as exc:
            configuration = Cond(T.CONFIGURATION_VALID.value, "False", "InvalidConfiguration", str(exc))
    ctx.facts.configuration = configuration
    if configuration.status == "True":
        return Report()
    await ensure_finalizer(ctx)
    return _refused(ctx, configuration, workload=current_workload(ctx), fields_ignored=fields, profile=profile)
