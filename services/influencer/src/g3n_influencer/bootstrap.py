"""Composition root of the influencer service: wires settings, migrations, operations, consumers
and scheduled jobs into one `ServiceDefinition` that every entrypoint process runs."""

from __future__ import annotations

from collections.abc import Mapping

from g3n_contracts import topics
from g3n_kit.consumer import BatchHandler
from g3n_kit.migrations import MigrationSource
from g3n_kit.runtime import ConsumerSpec, ServiceDefinition
from g3n_kit.settings import ServiceSettings

from g3n_influencer.entrypoints.consumer_handlers import handle_scm_sales
from g3n_influencer.roles import ROLES
from g3n_influencer.settings import Settings

SCM_GROUP = "ifm.scm"


def _scm_handlers(_settings: ServiceSettings) -> Mapping[str, BatchHandler]:
    return {topics.SCM_SALES: handle_scm_sales}


def build(settings: Settings | None = None) -> ServiceDefinition:
    return ServiceDefinition(
        name="influencer",
        short="ifm",
        settings=settings or Settings(),
        migrations=[MigrationSource("influencer", "g3n_influencer.migrations")],
        operations=[],
        roles=ROLES,
        consumers=[ConsumerSpec(SCM_GROUP, _scm_handlers)],
        jobs=[],
        publishes=[topics.ACCOUNTING_PAYOUTS, topics.IFM_EVENTS],
    )
