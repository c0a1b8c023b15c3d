"""Composition root of the crm service: wires settings, migrations, operations, consumers
and scheduled jobs into one `ServiceDefinition` that every entrypoint process runs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from g3n_contracts import topics
from g3n_kit.consumer import BatchHandler
from g3n_kit.db import Database
from g3n_kit.migrations import MigrationSource
from g3n_kit.runtime import ConsumerSpec, ScheduledJob, ServiceDefinition
from g3n_kit.settings import ServiceSettings

from g3n_crm.entrypoints.consumer_handlers import handle_scm_sales
from g3n_crm.entrypoints.operations import build_operations
from g3n_crm.roles import ROLES
from g3n_crm.service.expiry import expire_due_lots
from g3n_crm.settings import Settings

SCM_GROUP = "crm.scm"


def _scm_handlers(_settings: ServiceSettings) -> Mapping[str, BatchHandler]:
    return {topics.SCM_SALES: handle_scm_sales}


def build(settings: Settings | None = None) -> ServiceDefinition:
    settings = settings or Settings()

    async def expire(db: Database) -> int:
        return await expire_due_lots(
            db, chunk=settings.expiry_chunk, grace=timedelta(seconds=settings.expiry_grace_s)
        )

    return ServiceDefinition(
        name="crm",
        short="crm",
        settings=settings,
        migrations=[MigrationSource("crm", "g3n_crm.migrations")],
        operations=build_operations(settings),
        roles=ROLES,
        consumers=[ConsumerSpec(SCM_GROUP, _scm_handlers)],
        jobs=[
            ScheduledJob("crm.loyalty_expiry", settings.expiry_interval_s, expire),
        ],
        publishes=[topics.CRM_STORED_VALUE, topics.CRM_EVENTS],
    )
