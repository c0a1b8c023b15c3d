"""Composition root of the influencer service: wires settings, migrations, operations, consumers
and scheduled jobs into one `ServiceDefinition` that every entrypoint process runs."""

from __future__ import annotations

from collections.abc import Mapping

from g3n_contracts import topics
from g3n_kit.consumer import BatchHandler
from g3n_kit.db import Database
from g3n_kit.migrations import MigrationSource
from g3n_kit.runtime import ConsumerSpec, ScheduledJob, ServiceDefinition
from g3n_kit.settings import ServiceSettings

from g3n_influencer.entrypoints.consumer_handlers import (
    SCM_GROUP,
    handle_payout_status,
    make_scm_handler,
)
from g3n_influencer.entrypoints.operations import OPERATIONS
from g3n_influencer.roles import ROLES
from g3n_influencer.service import earnings
from g3n_influencer.settings import Settings


def _scm_handlers(settings: ServiceSettings) -> Mapping[str, BatchHandler]:
    group = settings.scm_group if isinstance(settings, Settings) else SCM_GROUP
    return {topics.SCM_SALES: make_scm_handler(group)}


def _accounting_handlers(_settings: ServiceSettings) -> Mapping[str, BatchHandler]:
    return {topics.ACCOUNTING_PAYOUT_STATUS: handle_payout_status}


def jobs(settings: Settings) -> list[ScheduledJob]:
    retention = settings.parked_return_retention_days

    async def purge_parked(db: Database) -> int:
        return 0 if retention is None else await earnings.purge_parked_returns(db, retention_days=retention)

    # Idempotency records and sent outbox rows are purged by the kit's own jobs (kit_jobs).
    return [
        ScheduledJob("auto-release", settings.release_interval_s, earnings.auto_release),
        ScheduledJob("hold-expiry", settings.hold_expiry_interval_s, earnings.expire_holds),
        ScheduledJob("parked-return-purge", 3600.0, purge_parked),
    ]


def build(settings: Settings | None = None) -> ServiceDefinition:
    settings = settings or Settings()
    return ServiceDefinition(
        name="influencer",
        short="ifm",
        settings=settings,
        migrations=[MigrationSource("influencer", "g3n_influencer.migrations")],
        operations=OPERATIONS,
        roles=ROLES,
        consumers=[
            ConsumerSpec(settings.scm_group, _scm_handlers),
            ConsumerSpec(settings.accounting_group, _accounting_handlers),
        ],
        jobs=jobs(settings),
        publishes=[topics.ACCOUNTING_PAYOUTS, topics.IFM_EVENTS],
    )
