"""The API client: generic operations on plain-dict objects of any kind, errors already translated.

Why on lightkube's ``GenericAsyncClient`` rather than its ``AsyncClient`` façade: the façade has no
DeleteOptions body (so no preconditions), no ``allowWatchBookmarks`` and decodes watch objects into typed
models (a BOOKMARK then fails to decode). The generic layer keeps lightkube's useful parts, namely pure
request building (``prepare_request``), kubeconfig auth and TLS, and the injected transport, and lets us
send exactly what the API should get. Every call goes through :meth:`KubeClient._send`, the single place
where transport and HTTP errors become :mod:`.errors`; every body is decoded by :mod:`.decode`, where any
decoding failure becomes :class:`~.errors.Undecodable` and one undecodable object in a LIST page or a watch
stream is set apart (named) instead of failing the rest.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
from lightkube.config.client_adapter import ConnectionParams
from lightkube.config.kubeconfig import SingleConfig
from lightkube.core.generic_client import ALL_NS, BasicRequest, GenericAsyncClient
from lightkube.types import PatchType

from .config import KubeconfigSource, load_config
from .decode import UndecodableObject, decode_json, decode_list_page, decode_watch_line
from .errors import KubeError, NotFound, from_status, translate
from .resources import ResourceType, of
from .transport import TransportWrapper, tls_transport
from .types import Manifest, meta

FIELD_MANAGER = "openbao-operator"
"""The field manager of every write this operator makes (server-side apply ownership is per manager)."""

PropagationPolicy = Literal["Background", "Foreground", "Orphan"]
WatchEventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]
Selector = Mapping[str, str] | str | None

# NB: every write asks for strict field validation. An unknown or misspelt field would otherwise be dropped
# with a warning, never appear in the live object, and make the diff see drift on every pass: a write loop.
_STRICT = {"fieldValidation": "Strict"}
_WATCH_TYPES: dict[str, WatchEventType] = {
    "ADDED": "ADDED",
    "MODIFIED": "MODIFIED",
    "DELETED": "DELETED",
    "BOOKMARK": "BOOKMARK",
}


@dataclass(frozen=True)
class Preconditions:
    """DeleteOptions preconditions: delete only that incarnation (uid) or that version of the object."""

    uid: str | None = None
    resource_version: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"uid": self.uid, "resourceVersion": self.resource_version}
        return {k: v for k, v in out.items() if v is not None}


@dataclass(frozen=True)
class ObjectList:
    """The items of a (paginated) LIST and the resourceVersion to start a watch from.

    ``undecodable``: objects the server listed that could not be decoded (left out of ``items``).
    """

    items: list[Manifest]
    resource_version: str
    undecodable: list[UndecodableObject] = field(default_factory=list)


@dataclass(frozen=True)
class WatchEvent:
    """One watch event; for BOOKMARK only ``object['metadata']['resourceVersion']`` is meaningful.

    When the object could not be decoded, ``undecodable`` says why and ``object`` is only its identity
    (:meth:`UndecodableObject.stub`).
    """

    type: WatchEventType
    object: Manifest = field(repr=False)
    undecodable: UndecodableObject | None = None

    @property
    def resource_version(self) -> str:
        return str(meta(self.object).get("resourceVersion") or "")


def selector(value: Selector) -> str | None:
    """A label or field selector string from a mapping of equalities (or a ready string)."""
    if value is None or isinstance(value, str):
        return value or None
    return ",".join(f"{k}={v}" for k, v in sorted(value.items())) or None


class KubeClient:
    """Generic get / list / watch / create / replace / apply / patch / delete for dict manifests.

    Create one per process with :func:`connect`; it is safe to share between tasks of one event loop.
    """

    def __init__(self, generic: GenericAsyncClient, *, field_manager: str = FIELD_MANAGER, timeout: float = 10.0):
        self._generic = generic
        self.field_manager = field_manager
        self._timeout = timeout

    @property
    def default_namespace(self) -> str:
        """The kubeconfig context's namespace (the ServiceAccount's own namespace in a pod)."""
        return str(self._generic.namespace)

    # -- reads -----------------------------------------------------------------------------------------

    async def get(self, rt: ResourceType, name: str, *, namespace: str | None = None) -> Manifest:
        """The live object; raises :class:`~.errors.NotFound` when absent."""
        br = self._prepare("get", rt.res, name=name, namespace=self._ns(rt, namespace))
        return await self._object(br)

    async def served(self, rt: ResourceType) -> bool:
        """Does the API server serve ``rt`` (its CRD installed)? Asked of API discovery, which every
        authenticated user may read, so the answer does not depend on the caller's right to list ``rt``."""
        path = f"/apis/{rt.group}/{rt.version}" if rt.group else f"/api/{rt.version}"
        try:
            found = await self._object(BasicRequest(method="GET", url=path))
        except NotFound:
            return False
        return any(r.get("name") == rt.plural for r in found.get("resources") or () if isinstance(r, dict))

    async def list(
        self,
        rt: ResourceType,
        *,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Selector = None,
        chunk_size: int = 500,
    ) -> ObjectList:
        """All objects (``namespace=None``: in every namespace), fetched in pages of ``chunk_size``."""
        params = {"limit": str(chunk_size), "labelSelector": selector(labels), "fieldSelector": selector(fields)}
        ns = (namespace or ALL_NS) if rt.namespaced else None
        br = self._prepare("list", rt.res, namespace=ns, params=params)
        items: list[Manifest] = []
        undecodable: list[UndecodableObject] = []
        version = ""
        more = True
        while more:
            response = await self._send(br)
            page = decode_list_page(response.content, api_version=rt.api_version, kind=rt.kind)
            version = page.resource_version or version
            more = bool(page.continue_token)
            if more:
                br.params["continue"] = page.continue_token
            for obj in page.items:
                # NB: items of a LIST carry no apiVersion/kind; fill them in so every object is self-describing.
                obj.setdefault("apiVersion", rt.api_version)
                obj.setdefault("kind", rt.kind)
                items.append(obj)
            undecodable += page.undecodable
        return ObjectList(items=items, resource_version=version, undecodable=undecodable)

    async def watch(
        self,
        rt: ResourceType,
        *,
        resource_version: str,
        timeout_seconds: int,
        namespace: str | None = None,
        labels: Selector = None,
        fields: Selector = None,
        allow_bookmarks: bool = True,
    ) -> AsyncIterator[WatchEvent]:
        """One WATCH request from ``resource_version``; ends when the server closes it after ``timeout_seconds``.

        A watch ERROR event is raised as its :class:`~.errors.KubeError` (410 becomes :class:`~.errors.Gone`).
        An event whose object cannot be decoded is yielded with ``undecodable`` set; a line that cannot be
        read at all raises :class:`~.errors.Undecodable`. Reconnecting, resuming and relisting are the
        informer's job, not this method's.
        """
        params: dict[str, Any] = {
            "resourceVersion": resource_version,
            "timeoutSeconds": str(timeout_seconds),
            "allowWatchBookmarks": "true" if allow_bookmarks else None,
            "labelSelector": selector(labels),
            "fieldSelector": selector(fields),
        }
        ns = (namespace or ALL_NS) if rt.namespaced else None
        br = self._prepare("list", rt.res, namespace=ns, params=params, watch=True)
        # NB: the server ends the stream after timeout_seconds; the read timeout only guards a dead connection.
        br.timeout = httpx2.Timeout(self._timeout, read=timeout_seconds + 30.0)
        response = await self._send(br, stream=True)
        try:
            async for line in response.aiter_lines():
                if not line:
                    continue
                event = decode_watch_line(line.encode(), api_version=rt.api_version, kind=rt.kind)
                if event.type == "ERROR":
                    raise from_status(event.object or {})
                kind = _WATCH_TYPES.get(event.type)
                if kind is None:
                    continue
                if event.undecodable is not None:
                    yield WatchEvent(type=kind, object=event.undecodable.stub(), undecodable=event.undecodable)
                    continue
                obj = event.object or {}
                if kind != "BOOKMARK":
                    obj.setdefault("apiVersion", rt.api_version)
                    obj.setdefault("kind", rt.kind)
                yield WatchEvent(type=kind, object=obj)
        except httpx2.HTTPError as exc:
            raise translate(exc) from exc
        finally:
            await response.aclose()

    # -- writes ----------------------------------------------------------------------------------------

    async def create(self, obj: Manifest, *, dry_run: bool = False) -> Manifest:
        """POST a new object; raises :class:`~.errors.AlreadyExists` if the name is taken."""
        rt = of(obj)
        params = {**_STRICT, "fieldManager": self.field_manager, "dryRun": "All" if dry_run else None}
        br = self._prepare(
            "post", rt.res, obj=rt.res(obj), namespace=self._ns(rt, meta(obj).get("namespace")), params=params
        )
        return await self._object(br)

    async def replace(self, obj: Manifest) -> Manifest:
        """PUT the whole object; with ``metadata.resourceVersion`` set this is an optimistic update (409 if stale)."""
        rt = of(obj)
        params = {**_STRICT, "fieldManager": self.field_manager}
        name = meta(obj).get("name")
        br = self._prepare(
            "put", rt.res, obj=rt.res(obj), name=name, namespace=self._ns(rt, meta(obj).get("namespace")), params=params
        )
        return await self._object(br)

    async def apply(
        self, obj: Manifest, *, force: bool = True, dry_run: bool = False, field_manager: str | None = None
    ) -> Manifest:
        """Server-side apply ``obj`` as our field manager; ``force`` takes over fields other managers own.

        With ``force=False`` a field owned by another manager raises :class:`~.errors.Conflict` naming it.
        """
        return await self._apply(of(obj).res, obj, force=force, dry_run=dry_run, field_manager=field_manager)

    async def apply_status(
        self, obj: Manifest, *, force: bool = True, dry_run: bool = False, field_manager: str | None = None
    ) -> Manifest:
        """Server-side apply to the ``/status`` subresource (only ``status`` of ``obj`` is taken)."""
        return await self._apply(of(obj).status_res, obj, force=force, dry_run=dry_run, field_manager=field_manager)

    async def merge_patch(
        self,
        rt: ResourceType,
        name: str,
        patch: Mapping[str, Any],
        *,
        namespace: str | None = None,
        status: bool = False,
    ) -> Manifest:
        """A JSON merge patch (RFC 7386): for small edits outside SSA, e.g. clearing finalizers."""
        res = rt.status_res if status else rt.res
        br = self._prepare(
            "patch",
            res,
            obj=dict(patch),
            name=name,
            namespace=self._ns(rt, namespace),
            headers={"Content-Type": PatchType.MERGE.value},
            params={**_STRICT, "fieldManager": self.field_manager},
        )
        return await self._object(br)

    async def delete(
        self,
        rt: ResourceType,
        name: str,
        *,
        namespace: str | None = None,
        propagation: PropagationPolicy = "Background",
        preconditions: Preconditions | None = None,
        grace_period_seconds: int | None = None,
    ) -> None:
        """DELETE with a propagation policy and optional preconditions (a stale precondition raises Conflict)."""
        br = self._prepare("delete", rt.res, name=name, namespace=self._ns(rt, namespace))
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        if preconditions is not None:
            body["preconditions"] = preconditions.to_dict()
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        br.data = body
        await self._send(br)

    async def get_path(self, path: str) -> Any:
        """GET a non-resource path of the API server (``/.well-known/openid-configuration``), decoded JSON."""
        br = BasicRequest(method="GET", url=path, response_type=None, params={}, data=None, headers=None)
        response = await self._send(br)
        return decode_json(response.content, what=f"the response to GET {path}")

    async def post_path(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST ``body`` to a path no resource type names (a subresource such as ``serviceaccounts/<name>/token``),
        decoded JSON. Errors are translated as for every call; their messages never carry the response body."""
        br = BasicRequest(method="POST", url=path, response_type=None, params={}, data=dict(body), headers=None)
        response = await self._send(br)
        return decode_json(response.content, what=f"the response to POST {path}")

    async def close(self) -> None:
        await self._generic.close()  # type: ignore[no-untyped-call]

    # -- plumbing --------------------------------------------------------------------------------------

    async def _apply(
        self, res: Any, obj: Manifest, *, force: bool, dry_run: bool, field_manager: str | None
    ) -> Manifest:
        rt = of(obj)
        md = meta(obj)
        params = {
            **_STRICT,
            "fieldManager": field_manager or self.field_manager,
            "force": "true" if force else None,
            "dryRun": "All" if dry_run else None,
        }
        br = self._prepare(
            "patch",
            res,
            obj=obj,
            name=md.get("name"),
            namespace=self._ns(rt, md.get("namespace")),
            headers={"Content-Type": PatchType.APPLY.value},
            params=params,
        )
        return await self._object(br)

    @staticmethod
    def _ns(rt: ResourceType, namespace: Any) -> str | None:
        if not rt.namespaced:
            return None
        if not namespace:
            raise KubeError(f"{rt} is namespaced: a namespace is required")
        return str(namespace)

    def _prepare(self, method: str, res: Any, **kwargs: Any) -> BasicRequest:
        try:
            return self._generic.prepare_request(method, res, **kwargs)
        except ValueError as exc:
            raise KubeError(f"cannot build {method} request for {res.__name__}: {exc}") from exc

    async def _send(self, br: BasicRequest, *, stream: bool = False) -> httpx2.Response:
        """Send one request; a non-2xx answer or a transport failure is raised as a KubeError."""
        try:
            request = self._generic.build_adapter_request(br)
            response: httpx2.Response = await self._generic.send(request, stream=stream)  # type: ignore[no-untyped-call]
        except httpx2.HTTPError as exc:
            raise translate(exc) from exc
        if response.is_error:
            try:
                await response.aread()
            except httpx2.HTTPError as exc:
                raise translate(exc) from exc
            finally:
                if stream:
                    await response.aclose()
            raise translate(httpx2.HTTPStatusError("API error", request=request, response=response))
        return response

    async def _object(self, br: BasicRequest) -> Manifest:
        response = await self._send(br)
        decoded = decode_json(response.content, what=f"the response to {br.method} {br.url}")
        if not isinstance(decoded, dict):
            raise KubeError(f"unexpected response to {br.method} {br.url}: {type(decoded).__name__}")
        return decoded


def connect(
    source: KubeconfigSource | SingleConfig = None,
    *,
    context: str | None = None,
    field_manager: str = FIELD_MANAGER,
    timeout: float = 10.0,
    wrap_transport: TransportWrapper | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> KubeClient:
    """A client for ``source`` (kubeconfig path or dict, a resolved config, or None for in-cluster/defaults).

    ``wrap_transport`` wraps the real TLS transport (tests count requests or inject faults in front of the
    real API server with it); ``transport`` replaces it entirely.
    """
    config = source if isinstance(source, SingleConfig) else load_config(source, context=context)
    if transport is None:
        transport = tls_transport(config)
        if wrap_transport is not None:
            transport = wrap_transport(transport)
    # NB: lightkube annotates ``transport`` as a sync BaseTransport but hands it to httpx2.AsyncClient.
    params = ConnectionParams(timeout=httpx2.Timeout(timeout), trust_env=False, transport=transport)  # type: ignore[arg-type]
    generic = GenericAsyncClient(params, config, field_manager=field_manager)
    return KubeClient(generic, field_manager=field_manager, timeout=timeout)
