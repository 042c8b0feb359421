"""The operator process: informers, the work queue, leader election and the reconciler, wired together.

Why here: ``cli`` is the only layer that may import both ``runtime`` and ``controller``. Everything is
built from :class:`OperatorSettings` by :func:`build`, which tests call directly (with an injected
kubeconfig, transport wrapper and registry) and ``openbao-operator run`` calls from the command line.

Least privilege decides what is cached (kinds.py): in namespace mode one informer per watched namespace
and kind, Secrets included (only the operator's own, by label); cluster-wide, Secrets are never listed
or watched, they are read by name when needed. Gateway API kinds are watched only when served.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from openbao_operator import kube, runtime
from openbao_operator.controller import MergedCache, Reader, Reconciler, ReconcilerConfig, cache_transform, kinds
from openbao_operator.imagesig import ImageVerifier
from openbao_operator.kube import KubeClient, ObjectKey, ResourceType

from .settings import OperatorSettings

log = runtime.get_logger(__name__)
CONTROLLER = "openbaocluster"


@dataclass
class Operator:
    """A wired process; ``await run(stop)``."""

    settings: OperatorSettings
    client: KubeClient
    manager: runtime.Manager
    reconciler: Reconciler
    verifier: ImageVerifier

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self.manager.run(stop)
        finally:
            await self.verifier.aclose()
            await self.client.close()


async def served(client: KubeClient, rt: ResourceType, namespace: str | None) -> bool:
    """Is the kind's API served (its CRD installed)? Checked once at start."""
    try:
        await client.list(rt, namespace=namespace, chunk_size=1)
    except kube.NotFound:
        return False
    except kube.Forbidden:
        return False
    return True


async def detect_api_server_cidr(client: KubeClient) -> str | None:
    """The API server's Service address as a /32 (or /128): in a pod from the environment, else the
    ``default/kubernetes`` Service. None when neither is readable (the render then opens 443/6443 widely)."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    if not host:
        try:
            svc = await client.get(kinds.SERVICE, "kubernetes", namespace="default")
            host = str((svc.get("spec") or {}).get("clusterIP") or "")
        except kube.KubeError as exc:
            log.warning("cannot detect the API server address; set OPENBAO_OPERATOR_API_SERVER_CIDR", error=str(exc))
            return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return f"{address}/{address.max_prefixlen}"


async def build(
    settings: OperatorSettings,
    *,
    client: KubeClient | None = None,
    registry: CollectorRegistry | None = None,
    rng: random.Random | None = None,
) -> Operator:
    """Wire one operator process from ``settings`` (nothing runs until ``Operator.run``)."""
    client = client or kube.connect(settings.kubeconfig)
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    lease = None
    if settings.leader_election:
        lease = runtime.LeaseConfig(
            name=settings.lease_name,
            namespace=settings.lease_namespace or settings.namespace,
            identity=settings.identity,
            lease_duration=settings.lease_duration,
            renew_deadline=settings.renew_deadline,
            retry_period=settings.retry_period,
        )
    host, port = settings.probe_host_port()
    events = runtime.EventRecorder(client, controller="openbao.org/openbao-operator", instance=settings.identity)

    async def undecodable(bad: kube.UndecodableObject) -> None:
        if bad.name:  # NB: an object whose name cannot be read cannot carry an Event; the informer logged it
            note = f"The operator cannot decode this object and ignores it until it changes: {bad.reason}"
            await events.record(bad.stub(), type="Warning", reason="Undecodable", action="Decode", note=note)

    manager = runtime.Manager(
        client,
        registry=registry or CollectorRegistry(),
        rng=rng,
        lease=lease,
        host=host,
        port=port,
        sync_timeout=settings.cache_sync_timeout,
        on_undecodable=undecodable,
    )
    queue = manager.queue(CONTROLLER)
    scopes: list[str | None] = list(settings.namespaces()) or [None]
    owner = runtime.OwnerMapper(owner_group="openbao.org", owner_kind="OpenBaoCluster", label=kinds.CLUSTER_LABEL)

    cluster_stores = []
    for ns in scopes:
        informer = manager.informer(kinds.CLUSTER, namespace=ns, transform=cache_transform(kinds.CLUSTER))
        informer.add_handler(runtime.enqueue_self(queue, predicate=runtime.meaningful_update))
        cluster_stores.append(informer.store)
    caches: dict[ResourceType, MergedCache] = {kinds.CLUSTER: MergedCache(cluster_stores)}

    child_kinds: list[ResourceType] = list(kinds.CACHED)
    if settings.namespaces():
        child_kinds.append(kinds.SECRET)  # namespace mode: the operator's own Secrets may be cached
    for rt in kinds.OPTIONAL:
        if await served(client, rt, scopes[0]):
            child_kinds.append(rt)
        else:
            log.info("API not served; not watched", kind=str(rt))
    for rt in child_kinds:
        stores = []
        for ns in scopes:
            informer = manager.informer(
                rt, namespace=ns, labels=kinds.MANAGED_BY_SELECTOR, transform=cache_transform(rt)
            )
            informer.add_handler(runtime.enqueue_owner(queue, owner))
            stores.append(informer.store)
        caches[rt] = MergedCache(stores)

    reader = Reader(client, caches=caches)
    verifier = ImageVerifier()
    config = ReconcilerConfig(
        cluster_domain=settings.cluster_domain,
        operator_namespace=settings.namespace,
        api_server_cidr=settings.api_server_cidr or await detect_api_server_cidr(client),
        resync_seconds=settings.resync_seconds,
    )
    reconciler = Reconciler(kube=client, reader=reader, events=events, verifier=verifier, config=config)

    async def reconcile(key: ObjectKey) -> runtime.Result:
        outcome = await reconciler.reconcile(key)
        return runtime.Result(requeue_after=outcome.requeue_after, requeue=outcome.requeue)

    manager.controller(CONTROLLER, reconcile, queue, workers=settings.workers)
    return Operator(settings=settings, client=client, manager=manager, reconciler=reconciler, verifier=verifier)


async def run_operator(settings: OperatorSettings) -> None:
    """Run until SIGTERM/SIGINT; raises ``runtime.LeadershipLost`` when the lease is lost."""
    runtime.configure_logging(json=settings.log_format == "json", level=settings.log_level)
    operator = await build(settings)
    stop = asyncio.Event()
    runtime.stop_on_signals(stop)
    log.info(
        "starting",
        identity=settings.identity,
        namespaces=settings.namespaces() or "cluster-wide",
        leader_election=settings.leader_election,
    )
    await operator.run(stop)
