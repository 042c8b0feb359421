"""The operator process: informers, the work queue, leader election and the reconciler, wired together.

Why here: ``cli`` is the only layer that may import both ``runtime`` and ``controller``. Everything is
built from :class:`OperatorSettings` by :func:`build`, which tests call directly (with an injected
kubeconfig, transport wrapper and registry) and ``openbao-operator run`` calls from the command line.

Least privilege decides what is cached (kinds.py). OpenBaoClusters are watched cluster-wide (cluster-wide
mode, the one read right held everywhere) or per watched namespace. Their children are watched only in
namespaces that opted in (``runtime.NamespaceScope``): in namespace mode the watched namespaces; in
cluster-wide mode those onboarded by a provisioned OpenBaoTenant (controller/tenancy.py), a set that
changes at run time as tenants come and go, and which the provisioner (controller/provisioner.py) grows.
Secrets are never listed or watched; they are read by name. Gateway API kinds are watched only when
served (API discovery, readable by everyone).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from openbao_operator import kube, runtime
from openbao_operator.controller import MergedCache, Reader, cache_transform, kinds
from openbao_operator.controller.cache import without_managed_fields
from openbao_operator.controller.sources import SECRET_MEMORY_SECONDS
from openbao_operator.controller.tenancy import TENANT_ROLE, onboarded_namespaces
from openbao_operator.kube import KubeClient, ObjectKey, ResourceType

from .settings import OperatorSettings

if TYPE_CHECKING:
    from openbao_operator.controller import Reconciler, ReconcilerConfig
    from openbao_operator.controller.provisioner import Provisioner
    from openbao_operator.controller.restores import Restorer
    from openbao_operator.imagesig import ImageVerifier

# NB: the reconciler (models, renderer, cryptography, image verification), the restorer and the provisioner
# are imported and built on first use, after the caches have synced: start → /readyz does not wait for them
# (issue 20).

log = runtime.get_logger(__name__)
CONTROLLER = "openbaocluster"
TENANT_CONTROLLER = "openbaotenant"
RESTORE_CONTROLLER = "openbaorestore"


@dataclass
class Operator:
    """A wired process; ``await run(stop)``. The reconciler is built on first use (``reconciler``)."""

    settings: OperatorSettings
    client: KubeClient
    manager: runtime.Manager
    make_reconciler: Callable[[], tuple[Reconciler, ImageVerifier]] = field(repr=False)
    make_restorer: Callable[[], Restorer] = field(repr=False)
    _built: tuple[Reconciler, ImageVerifier] | None = field(default=None, repr=False)
    _restorer: Restorer | None = field(default=None, repr=False)

    @property
    def reconciler(self) -> Reconciler:
        if self._built is None:
            self._built = self.make_reconciler()
        return self._built[0]

    @property
    def restorer(self) -> Restorer:
        if self._restorer is None:
            self._restorer = self.make_restorer()
        return self._restorer

    @property
    def verifier(self) -> ImageVerifier:
        self.reconciler  # noqa: B018 - builds both
        assert self._built is not None
        return self._built[1]

    async def run(self, stop: asyncio.Event) -> None:
        trimming = asyncio.create_task(runtime.trim_periodically(stop, trim=runtime.libc_trim()))
        try:
            await self.manager.run(stop)
        finally:
            trimming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await trimming
            if self._built is not None:
                await self._built[1].aclose()
            await self.client.close()


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


@dataclass(frozen=True)
class ScopeTenancy:
    """controller.tenancy.TenancyView over the namespace scope: a namespace is onboarded when the scope
    watches it (the wiring below puts exactly the opted-in namespaces there)."""

    mode: str
    scope: runtime.NamespaceScope

    def onboarded(self, namespace: str) -> bool:
        return self.scope.watched(namespace)

    def synced(self, namespace: str) -> bool:
        return self.scope.synced(namespace)


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

    registry = registry or CollectorRegistry()
    manager = runtime.Manager(
        client,
        registry=registry,
        rng=rng,
        lease=lease,
        host=host,
        port=port,
        sync_timeout=settings.cache_sync_timeout,
        on_undecodable=undecodable,
    )
    queue = manager.queue(CONTROLLER)
    touched = runtime.Touched()
    marking = touched.marking(queue)  # NB: every event and scope change marks its key; timers do not
    watched = settings.namespaces()
    owner = runtime.OwnerMapper(owner_group="openbao.org", owner_kind="OpenBaoCluster", label=kinds.CLUSTER_LABEL)

    def news(rt: ResourceType) -> runtime.mapping.Predicate:
        """Not the echo of a write of ours (controller/sources.py ``Reader.echo``: the pass that wrote it knew),
        and not an update of nothing the cache keeps (controller/cache.py keeps what a reconcile reads)."""

        def accept(event: runtime.Event) -> bool:
            if event.synthetic:
                return True
            echoed = reader.echo(rt, event.object)  # NB: bound below, before any event is handled
            if event.type == "DELETED":
                return True  # and the echo awaited for this object, if any, is forgotten
            return not echoed and not runtime.same_apart_from_version(event)

        return accept

    cluster_echo = news(kinds.CLUSTER)

    def cluster_news(event: runtime.Event) -> bool:
        return cluster_echo(event) and runtime.meaningful_update(event)

    cluster_stores = []
    cluster_scopes: list[str | None] = list(watched) or [None]
    for ns in cluster_scopes:
        informer = manager.informer(kinds.CLUSTER, namespace=ns, transform=cache_transform(kinds.CLUSTER))
        informer.add_handler(runtime.enqueue_self(marking, predicate=cluster_news))
        cluster_stores.append(informer.store)
    clusters = MergedCache(cluster_stores)
    caches: dict[ResourceType, runtime.ScopedCache | MergedCache] = {kinds.CLUSTER: clusters}

    def look_again(namespace: str) -> None:
        """The namespace joined or left the scope: every cluster there is reconciled (onboarded or told how)."""
        for cluster in clusters.list(namespace=namespace):
            marking.add(ObjectKey.of(cluster))

    scope = manager.scope()
    scope.on_synced(look_again)
    child_kinds: list[ResourceType] = list(kinds.CACHED)
    for rt in kinds.OPTIONAL:
        if await client.served(rt):
            child_kinds.append(rt)
        else:
            log.info("API not served; not watched", kind=str(rt))
    for rt in child_kinds:
        caches[rt] = scope.cache(rt, labels=kinds.MANAGED_BY_SELECTOR, transform=cache_transform(rt))
        scope.add_handler(rt, runtime.enqueue_owner(marking, owner, predicate=news(rt)))
    restore_queue = manager.queue(RESTORE_CONTROLLER)
    caches[kinds.RESTORE] = _wire_restores(manager, restore_queue, scope=scope, scopes=cluster_scopes)

    if watched:
        scope.set_namespaces(watched)
    else:
        _wire_tenants(manager, client, settings, scope=scope, clusters=clusters, look_again=look_again)

    reader = Reader(client, caches=caches, remember={kinds.SECRET: SECRET_MEMORY_SECONDS})
    api_server_cidr = settings.api_server_cidr or await detect_api_server_cidr(client)
    view = ScopeTenancy(mode="namespace" if watched else "cluster", scope=scope)

    def make_config() -> ReconcilerConfig:
        from openbao_operator.controller import ReconcilerConfig

        return ReconcilerConfig(
            cluster_domain=settings.cluster_domain,
            operator_namespace=settings.namespace,
            api_server_cidr=api_server_cidr,
            resync_seconds=settings.resync_seconds,
            executor_image=settings.executor_image,
            operator_service_account=settings.service_account,
        )

    def make_reconciler() -> tuple[Reconciler, ImageVerifier]:
        from openbao_operator.controller import Reconciler
        from openbao_operator.imagesig import ImageVerifier

        verifier = ImageVerifier()
        reconciler = Reconciler(
            kube=client,
            reader=reader,
            events=events,
            verifier=verifier,
            config=make_config(),
            tenancy_view=view,
            registry=registry,
            touched=touched,
        )
        return reconciler, verifier

    def make_restorer() -> Restorer:
        from openbao_operator.controller.restores import Restorer

        return Restorer(kube=client, reader=reader, events=events, config=make_config(), tenancy_view=view)

    operator = Operator(
        settings=settings,
        client=client,
        manager=manager,
        make_reconciler=make_reconciler,
        make_restorer=make_restorer,
    )

    async def reconcile(key: ObjectKey) -> runtime.Result:
        outcome = await operator.reconciler.reconcile(key)
        return runtime.Result(requeue_after=outcome.requeue_after, requeue=outcome.requeue)

    async def restore(key: ObjectKey) -> runtime.Result:
        outcome = await operator.restorer.reconcile(key)
        return runtime.Result(requeue_after=outcome.requeue_after, requeue=outcome.requeue)

    manager.controller(CONTROLLER, reconcile, queue, workers=settings.workers)
    manager.controller(RESTORE_CONTROLLER, restore, restore_queue, workers=2)
    return operator


def _wire_restores(
    manager: runtime.Manager,
    queue: runtime.WorkQueue[ObjectKey],
    *,
    scope: runtime.NamespaceScope,
    scopes: list[str | None],
) -> MergedCache:
    """OpenBaoRestores, watched where clusters are (cluster-wide, or per watched namespace): a restore is
    looked at when it changes, when its executor Job changes (the Job is owned by the restore), and when its
    target cluster changes (Available, a rollout, the operation lock). Finished restores are not enqueued by
    cluster changes: nothing about them changes any more."""
    stores = []
    for ns in scopes:
        informer = manager.informer(kinds.RESTORE, namespace=ns, transform=without_managed_fields)
        informer.add_handler(runtime.enqueue_self(queue, predicate=runtime.meaningful_update))
        stores.append(informer.store)
    restores = MergedCache(stores)
    owner = runtime.OwnerMapper(owner_group="openbao.org", owner_kind="OpenBaoRestore")
    scope.add_handler(kinds.JOB, runtime.enqueue_owner(queue, owner))

    def cluster_changed(event: runtime.Event) -> None:
        meta = event.object.get("metadata") or {}
        namespace, name = str(meta.get("namespace") or ""), meta.get("name")
        for obj in restores.list(namespace=namespace):
            if (obj.get("spec") or {}).get("cluster") != name:
                continue
            if ((obj.get("status") or {}).get("phase")) in ("Completed", "Failed"):
                continue
            queue.add(ObjectKey.of(obj))

    for informer in [i for i in manager.informers if i.rt == kinds.CLUSTER]:
        informer.add_handler(cluster_changed)
    return restores


def _wire_tenants(
    manager: runtime.Manager,
    client: KubeClient,
    settings: OperatorSettings,
    *,
    scope: runtime.NamespaceScope,
    clusters: MergedCache,
    look_again: Callable[[str], None],
) -> None:
    """Cluster-wide mode: OpenBaoTenants decide the scope; the provisioner answers them (on the leader)."""
    tenant_queue = manager.queue(TENANT_CONTROLLER)
    tenants = manager.informer(kinds.TENANT, transform=without_managed_fields)

    def tenants_of(namespace: str) -> None:
        for tenant in tenants.store.list():
            if (tenant.get("spec") or {}).get("targetNamespace") == namespace:
                tenant_queue.add(ObjectKey.of(tenant))

    def rescope(event: runtime.Event) -> None:
        before = set(scope.namespaces())
        after = onboarded_namespaces(tenants.store.list(), operator_namespace=settings.namespace)
        scope.set_namespaces(after)
        for namespace in sorted(before - after):
            look_again(namespace)  # joined namespaces are looked at once their caches synced

    tenants.add_handler(rescope)
    tenants.add_handler(runtime.enqueue_self(tenant_queue, predicate=runtime.meaningful_update))

    def cluster_gone(event: runtime.Event) -> None:
        # a tenant being deleted waits for the clusters of its namespace to go
        if event.type == "DELETED":
            tenants_of(str(event.object["metadata"]["namespace"]))

    for store_informer in [i for i in manager.informers if i.rt == kinds.CLUSTER]:
        store_informer.add_handler(cluster_gone)

    def binding_changed(event: runtime.Event) -> None:
        # the tenant binding being deleted (its namespace is): the provisioner decides when to let it go
        if event.object["metadata"]["name"] == TENANT_ROLE:
            tenants_of(str(event.object["metadata"]["namespace"]))

    scope.add_handler(kinds.ROLEBINDING, binding_changed)
    built: list[Provisioner] = []

    def provisioner() -> Provisioner:
        if not built:
            from openbao_operator.controller.provisioner import Provisioner, ProvisionerConfig

            config = ProvisionerConfig(
                operator_namespace=settings.namespace,
                service_account=settings.service_account,
                resync_seconds=settings.resync_seconds,
            )
            built.append(Provisioner(kube=client, tenants=tenants.store, clusters=clusters, config=config))
        return built[0]

    async def provision(key: ObjectKey) -> runtime.Result:
        outcome = await provisioner().reconcile(key)
        return runtime.Result(requeue_after=outcome.requeue_after, requeue=outcome.requeue)

    manager.controller(TENANT_CONTROLLER, provision, tenant_queue, workers=2)


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
