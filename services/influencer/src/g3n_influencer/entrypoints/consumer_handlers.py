"""Batch handlers for the events this service consumes.

The kit's consumer loop calls a handler inside one transaction per partition batch with only
the events its inbox has not seen; a handler that raises a non-transient error gets the events
again one by one so the poison one is dead-lettered and the rest applied. So handlers here do
the whole batch set-based (a fixed number of statements, whatever the batch size) and raise
only for an event that can never apply.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg
from g3n_contracts import PayoutFailed, PayoutSettled, ReturnRecorded, SaleRecorded, event_types
from g3n_kit.consumer import BatchHandler, InboundEvent, PoisonEvent
from g3n_kit.logging import correlation_scope
from g3n_kit.metrics import EVENTS_UNMATCHED

from g3n_influencer.service import attribution, payouts
from g3n_influencer.service.context import Actor

log = logging.getLogger(__name__)

SCM_GROUP = "ifm.scm"
ACCOUNTING_GROUP = "ifm.accounting"


def _unexpected(ev: InboundEvent) -> PoisonEvent:
    return PoisonEvent("unexpected-event-type", f"{ev.envelope.event_type} is not consumed from {ev.topic}")


def make_scm_handler(group: str = SCM_GROUP) -> BatchHandler:
    """The ``scm.sales.v1`` handler (``group`` labels its metrics)."""

    async def handle_scm_sales(conn: asyncpg.Connection, events: Sequence[InboundEvent]) -> None:
        sales: list[attribution.SaleIn] = []
        returns: list[attribution.ReturnCmd] = []
        for ev in events:
            env = ev.envelope
            if env.event_type == event_types.SALE_RECORDED:
                sales.append(attribution.SaleIn(env.org_code, env.payload_as(SaleRecorded)))
            elif env.event_type == event_types.RETURN_RECORDED:
                returns.append(
                    attribution.return_cmd(env.org_code, str(env.event_id), env.payload_as(ReturnRecorded))
                )
            else:
                raise _unexpected(ev)
        actor = Actor(org_code=events[0].envelope.org_code, actor=f"consumer:{group}", source="scm")
        result = await attribution.record_sales(conn, sales, actor)
        if result.conflicts:
            _, message = result.conflicts[0]
            raise PoisonEvent("conflict", message)
        stats = await attribution.record_returns(conn, returns, actor)
        for reason, n in result.unmatched.items():
            EVENTS_UNMATCHED.labels(group, event_types.SALE_RECORDED, reason).inc(n)
        if stats.parked:
            EVENTS_UNMATCHED.labels(group, event_types.RETURN_RECORDED, "parked").inc(stats.parked)
        if stats.unknown_lines or stats.ignored_units:
            log.info(
                "return lines not applied",
                extra={"unknown_lines": stats.unknown_lines, "ignored_units": stats.ignored_units},
            )

    return handle_scm_sales


handle_scm_sales = make_scm_handler()


async def handle_payout_status(conn: asyncpg.Connection, events: Sequence[InboundEvent]) -> None:
    """``accounting.payout-status.v1``: settle or fail payouts (low volume: one by one)."""
    for ev in events:
        env = ev.envelope
        actor = Actor(
            org_code=env.org_code,
            actor="consumer:ifm.accounting",
            source="accounting",
            correlation_id=env.correlation_id,
        )
        with correlation_scope(env.correlation_id):
            if env.event_type == event_types.PAYOUT_SETTLED:
                await payouts.settle_payout(conn, actor, env.payload_as(PayoutSettled))
            elif env.event_type == event_types.PAYOUT_FAILED:
                await payouts.fail_payout(conn, actor, env.payload_as(PayoutFailed))
            else:
                raise _unexpected(ev)
