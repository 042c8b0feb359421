"""Top-level options: identity of the cluster, plugin directory, logging, leases and the typed flags.

Why:
- No ``api_addr``, ``cluster_addr`` (and no raft ``node_id``): each pod sets ``BAO_API_ADDR``,
  ``BAO_CLUSTER_ADDR`` and ``BAO_RAFT_NODE_ID``, so one file serves every pod without placeholders, an
  init container or a shell (the reference substituted ``${HOSTNAME}`` in an init container).
- ``plugin_directory`` is always set: OpenBao stops at startup when it does not exist, so the pod always
  mounts a writable emptyDir there (OCI plugin downloads land in it).
- ``log_level`` is always written (default info), also without ``spec.configuration`` (as the reference does).
- Value types follow OpenBao: integers bare, booleans bare. ``detect_deadlocks`` is OpenBao's comma list
  of lock names, so ``true`` means every lock it can watch (the reference wrote the string "true").
- No ``disable_mlock``: mlock was removed from OpenBao and the key only logs "unknown field".
- Plugin settings (``plugin_auto_download``, ``plugin_auto_register``, ``plugin_download_behavior``) exist from
  OpenBao 2.5; below that they are not written (reported as ignored, as is a download behavior OpenBao does
  not know: the reference's ``standard``/``direct``, which bao only warns about).
"""

from __future__ import annotations

from openbao_operator.api import names
from openbao_operator.api.configuration import OPENBAO_DOWNLOAD_BEHAVIORS
from openbao_operator.render.hcl import Attr, Item

from .context import Context
from .errors import ConfigRenderError
from .seal import needs_auto_download
from .version import DECLARATIVE_PLUGINS

DEADLOCK_LOCKS = "statelock,quotas,expiration"
"""Every lock OpenBao's detect_deadlocks can watch (OB docs configuration/index)."""


def _plugin_settings(ctx: Context) -> list[Item]:
    conf = ctx.spec.configuration
    p = conf.plugin if conf is not None else None
    out: list[Item] = []
    auto_download = p.auto_download if p is not None else None
    if needs_auto_download(ctx):
        if auto_download is False:
            raise ConfigRenderError(
                "spec.configuration.plugin.autoDownload",
                "must not be false: spec.unseal.kmsPlugin.image is downloaded by OpenBao before it can unseal",
            )
        auto_download = True
    if p is not None:
        if p.file_uid is not None:
            out.append(Attr("plugin_file_uid", p.file_uid))
        if p.file_permissions is not None:
            out.append(Attr("plugin_file_permissions", p.file_permissions))
    if ctx.version < DECLARATIVE_PLUGINS:
        return out
    behavior = p.download_behavior if p is not None else None
    gated = (
        ("plugin_auto_download", auto_download),
        ("plugin_auto_register", p.auto_register if p is not None else None),
        ("plugin_download_behavior", behavior if behavior in OPENBAO_DOWNLOAD_BEHAVIORS else None),
    )
    out += [Attr(key, value) for key, value in gated if value is not None]
    return out


def top_level(ctx: Context) -> list[Item]:
    conf = ctx.spec.configuration
    out: list[Item] = [
        Attr("ui", conf.ui if conf is not None else True),
        Attr("cluster_name", ctx.name),
        Attr("plugin_directory", names.PLUGIN_DIR),
        Attr("log_level", conf.log_level if conf is not None else "info"),
    ]
    if conf is not None and conf.logging is not None:
        lg = conf.logging
        for key, value in (
            ("log_format", lg.format),
            ("log_file", lg.file),
            ("log_rotate_duration", lg.rotate_duration),
            ("log_rotate_bytes", lg.rotate_bytes),
            ("log_rotate_max_files", lg.rotate_max_files),
            ("pid_file", lg.pid_file),
        ):
            if value is not None:
                out.append(Attr(key, value))
    out += _plugin_settings(ctx)
    if conf is None:
        return out
    flags: tuple[tuple[str, str | int | bool | None], ...] = (
        ("default_lease_ttl", conf.default_lease_ttl),
        ("max_lease_ttl", conf.max_lease_ttl),
        ("cache_size", conf.cache_size),
        ("disable_cache", conf.disable_cache),
        ("detect_deadlocks", DEADLOCK_LOCKS if conf.detect_deadlocks else None),
        ("raw_storage_endpoint", conf.raw_storage_endpoint),
        ("introspection_endpoint", conf.introspection_endpoint),
        ("imprecise_lease_role_tracking", conf.imprecise_lease_role_tracking),
        ("unsafe_allow_api_audit_creation", conf.unsafe_allow_api_audit_creation),
        ("allow_audit_log_prefixing", conf.allow_audit_log_prefixing),
        ("enable_response_header_hostname", conf.enable_response_header_hostname),
        ("enable_response_header_raft_node_id", conf.enable_response_header_raft_node_id),
    )
    out += [Attr(k, v) for k, v in flags if v is not None]
    return out
