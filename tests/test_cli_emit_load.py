"""`g3n scm emit sale --generate 10000`, then `g3n dev status` shows both consumers caught up.

Both services run their HTTP and consumer processes (real groups ``ifm.scm`` / ``crm.scm`` on
``scm.sales.v1``) on fresh databases. The set-up (influencer, campaign, customer) is done with
the CLI too. The count is ``G3N_EMIT_LOAD`` (default 10000).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from g3n_cli.main import app
from g3n_cli.services import SERVICES
from g3n_cli.testing import ServiceProcesses, create_key, prepare_database, start_service
from g3n_devstack.ops import run_sync
from typer.testing import CliRunner, Result

COUNT = int(os.environ.get("G3N_EMIT_LOAD", "10000"))


@dataclass
class System:
    ifm: ServiceProcesses
    crm: ServiceProcesses
    env: dict[str, str]

    def run(self, *args: str) -> Result:
        result = CliRunner().invoke(app, list(args), env=self.env)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    def get(self, *args: str) -> str:
        return self.run(*args).stdout.strip()


@pytest.fixture(scope="module")
def system(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    ifm, crm = SERVICES["influencer"], SERVICES["crm"]
    org = f"ld{uuid.uuid4().hex[:6]}"

    async def prepare() -> tuple[str, str, str, str]:
        ifm_dsn = await prepare_database(stack, ifm, "loadifm")
        crm_dsn = await prepare_database(stack, crm, "loadcrm")
        ifm_key = await create_key(ifm_dsn, ifm, org, sorted(ifm.definition().roles))
        crm_key = await create_key(crm_dsn, crm, org, sorted(crm.definition().roles))
        return ifm_dsn, crm_dsn, ifm_key, crm_key

    ifm_dsn, crm_dsn, ifm_key, crm_key = run_sync(prepare())
    logs = tmp_path_factory.mktemp("load")
    ifm_procs = start_service(ifm, ifm_dsn, stack.kafka_bootstrap, logs, processes=("http", "consumer"))
    try:
        crm_procs = start_service(crm, crm_dsn, stack.kafka_bootstrap, logs, processes=("http", "consumer"))
        try:
            env = {
                "G3N_ORG": org,
                "G3N_IFM_API_KEY": ifm_key,
                "G3N_CRM_API_KEY": crm_key,
                "G3N_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
                # `g3n dev status` finds the services as `g3n dev up` would have started them
                "G3N_HOME": str(logs / "g3n-home"),
                "G3N_IFM_HTTP_HOST": "127.0.0.1",
                "G3N_IFM_HTTP_PORT": str(ifm_procs.port),
                "G3N_CRM_HTTP_HOST": "127.0.0.1",
                "G3N_CRM_HTTP_PORT": str(crm_procs.port),
                "G3N_CONFIG": str(logs / "config.toml"),
                "COLUMNS": "160",
            }
            yield System(ifm_procs, crm_procs, env)
        finally:
            crm_procs.stop()
    finally:
        ifm_procs.stop()


def _lags(status: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for short in ("ifm", "crm"):
        stat = status["stat"][short]
        assert isinstance(stat, dict), stat
        for group, topics in stat["kafka"]["consumer_lag"].items():
            out[group] = sum(topics.values())
    return out


def test_emit_generated_sales_then_dev_status_shows_the_consumers_caught_up(system: System) -> None:
    code = f"LOAD{uuid.uuid4().hex[:4].upper()}"
    profile = system.get(
        "influencer",
        "profile",
        "create",
        "--handle",
        code.lower(),
        "--display-name",
        "Load",
        "--payout-currency",
        "USD",
        "--codes",
        code,
        "--get",
        "profile_id",
    )
    campaign = system.get(
        "influencer",
        "campaign",
        "create",
        "--name",
        "load",
        "--currency",
        "USD",
        "--starts-at",
        "2026-01-01T00:00:00Z",
        "--commission-rate-bps",
        "500",
        "--profile-ids",
        profile,
        "--get",
        "campaign_id",
    )
    system.run(
        "influencer",
        "campaign",
        "status-set",
        "--campaign-id",
        campaign,
        "--expected-revision",
        "1",
        "--status",
        "active",
    )
    customer = system.get(
        "crm", "customer", "create", "--email", f"{code.lower()}@example.com", "--get", "customer_id"
    )

    began = time.monotonic()
    emitted = system.run(
        "scm",
        "emit",
        "sale",
        "--generate",
        str(COUNT),
        "--seed",
        "42",
        "--promo-code",
        code,
        "--customer-id",
        customer,
        "--order-prefix",
        f"o-{code.lower()}",
    )
    assert f"emitted {COUNT} scm.sale.recorded to scm.sales.v1" in emitted.stdout
    assert f"{COUNT}/{COUNT}" in emitted.stderr  # the progress bar

    deadline = time.monotonic() + 240
    while True:
        shown = system.run("dev", "status", "--json")
        lags = _lags(orjson.loads(shown.stdout))
        if lags.get("ifm.scm") == 0 and lags.get("crm.scm") == 0:
            break
        assert time.monotonic() < deadline, (lags, system.ifm.log("consumer"), system.crm.log("consumer"))
        time.sleep(1.0)
    seconds = time.monotonic() - began
    human = system.run("dev", "status").stdout
    assert "ifm.scm lag 0 (caught up)" in human and "crm.scm lag 0 (caught up)" in human

    # every sale was applied once by each service
    deadline = time.monotonic() + 30
    while system.get(
        "influencer", "campaign", "get", "--campaign-id", campaign, "--get", "totals.attributed_orders"
    ) != str(COUNT):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    entries = orjson.loads(
        system.run("crm", "loyalty", "ledger-list", "--customer-id", customer, "--all", "--json").stdout
    )["items"]
    assert len(entries) == COUNT and {e["kind"] for e in entries} == {"earn"}
    print(f"{COUNT} sales emitted and applied by both services in {seconds:.1f}s")
