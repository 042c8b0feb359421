"""The render step: the desired objects, from the spec and the facts the steps before it found.

Why a step of its own, late: rendering is a pure function of (cluster, facts) (render/desired.py), and its
facts come from several steps: whether OpenBao is initialized and the replicas to hold (bootstrap,
scale-down), the verified image and the certificate (security), the unseal keys (security, rotation).
"""

from __future__ import annotations

import dataclasses

from openbao_operator.render.facts import RenderFacts

from .image import wanted_image
from .step import Context, Report
from .unseal import UnsealOutcome


def render_facts(ctx: Context, *, unseal: UnsealOutcome | None) -> RenderFacts:
    """The render facts of this pass so far, with the unseal keys of ``unseal``."""
    decision, tls, facts = ctx.image, ctx.tls, ctx.facts
    pinned = decision.image if decision.apply and decision.image != wanted_image(ctx.cluster) else None
    if ctx.cluster.spec.version != ctx.raw_version:
        # NB: an upgrade holds the template at another version (controller/upgrades.py): the image verified for
        # spec.version is not this version's; the live template's image at this version is kept instead
        held = facts.held_image
        pinned = held if held and held != wanted_image(ctx.cluster) else None
    return dataclasses.replace(
        ctx.render_facts,
        initialized=facts.initialized,
        replicas=facts.replicas,
        verified_image=pinned,
        tls_cert_sha256=tls.cert_fingerprint,
        tls_ca_pem=tls.ca_pem,
        unseal_key=unseal.current if unseal is not None else None,
        unseal_previous_key=unseal.previous if unseal is not None else None,
    )


async def step(ctx: Context) -> Report:
    ctx.facts.desired = ctx.clients.memo.render(
        ctx.owner_uid, ctx.cluster, facts=render_facts(ctx, unseal=ctx.facts.unseal)
    )
    return Report()
