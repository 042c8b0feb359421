"""The security material step: TLS Secrets, the static unseal key and the image verdict, before anything
can mount or run them.

Why one step for three: they are independent (different Secrets, a registry) and none is useful alone, so
they run concurrently, together with adding the finalizer (the CR's metadata). All are done, or cancelled
when one fails, before anything later is applied, so no write of a failed pass outlives it
(controller/concurrent.py). Each holds the StatefulSet back on its own terms (unusable TLS material, no
usable key, a blocked image).
"""

from __future__ import annotations

from .concurrent import all_of
from .deletion import ensure_finalizer
from .image import check_image, image_report
from .step import Context, Report
from .tls import ensure_tls
from .unseal import unseal_key


async def step(ctx: Context) -> Report:
    clients = ctx.clients
    _, (tls, tls_report), (unseal, unseal_report), decision = await all_of(
        ensure_finalizer(ctx),
        ensure_tls(ctx),
        unseal_key(ctx),
        check_image(ctx.cluster, verifier=clients.verifier, reader=clients.reader, namespace=ctx.namespace),
    )
    ctx.facts.tls, ctx.facts.unseal, ctx.facts.image = tls, unseal, decision
    out = Report()
    for part in (tls_report, unseal_report, image_report(decision)):
        out.fold(part)
    return out
