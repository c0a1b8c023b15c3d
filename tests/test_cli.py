"""The generated `g3n influencer …` / `g3n crm …` commands against the real services over HTTP.

The services run as their own processes (``python -m g3n_<svc>.entrypoints.http``) on fresh
databases; the CLI is driven in-process through Typer's runner (plus one run of the installed
``g3n`` executable), exactly as a user types it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from g3n_cli import config
from g3n_cli.errors import ExitCode
from g3n_cli.main import app
from g3n_cli.options import body_spec
from g3n_cli.services import SERVICES
from g3n_cli.testing import ServiceProcesses, create_key, free_port, prepare_database, start_service
from g3n_devstack.ops import run_sync
from typer.testing import CliRunner, Result

CRM = SERVICES["crm"]
IFM = SERVICES["influencer"]


@dataclass
class Cli:
    crm: ServiceProcesses
    ifm: ServiceProcesses
    org: str
    crm_key: str  # every CRM role
    crm_viewer: str
    ifm_key: str  # every IFM role
    config_file: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "G3N_CRM_BASE_URL": self.crm.base_url,
            "G3N_IFM_BASE_URL": self.ifm.base_url,
            "G3N_CRM_API_KEY": self.crm_key,
            "G3N_IFM_API_KEY": self.ifm_key,
            "G3N_ORG": self.org,
            "G3N_CONFIG": str(self.config_file),
            "COLUMNS": "200",
            **extra,
        }

    def run(self, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), env=env if env is not None else self.env(), input=input)

    def ok(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return orjson.loads(result.stdout)


@pytest.fixture(scope="module")
def cli(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    org = f"cli{uuid.uuid4().hex[:6]}"

    async def prepare() -> tuple[str, str, str, str, str]:
        crm_dsn = await prepare_database(stack, CRM, "clicrm")
        ifm_dsn = await prepare_database(stack, IFM, "cliifm")
        crm_key = await create_key(crm_dsn, CRM, org, sorted(CRM.definition().roles))
        viewer = await create_key(crm_dsn, CRM, org, ["crm_view"])
        ifm_key = await create_key(ifm_dsn, IFM, org, sorted(IFM.definition().roles))
        return crm_dsn, ifm_dsn, crm_key, viewer, ifm_key

    crm_dsn, ifm_dsn, crm_key, viewer, ifm_key = run_sync(prepare())
    logs = tmp_path_factory.mktemp("cli-logs")
    crm = start_service(CRM, crm_dsn, stack.kafka_bootstrap, logs)
    try:
        ifm = start_service(IFM, ifm_dsn, stack.kafka_bootstrap, logs)
        try:
            yield Cli(crm, ifm, org, crm_key, viewer, ifm_key, logs / "config.toml")
        finally:
            ifm.stop()
    finally:
        crm.stop()


# --- options from the input models (no I/O) ------------------------------------------------------


def _campaign_create_spec() -> Any:
    (op,) = [o for o in IFM.operations() if o.name == "campaign.create"]
    return body_spec(op.input_model, ["--json"])


def test_object_fields_get_flattened_options_and_the_variant_is_inferred() -> None:
    spec = _campaign_create_spec()
    flags = {p.flag: p for p in spec.params}
    assert {"--commission", "--commission-type", "--commission-rate-bps", "--commission-amount-minor"} <= set(
        flags
    )
    assert flags["--commission-type"].choices == ("percent", "flat")
    assert flags["--profile-ids"].multiple and flags["--profile-ids"].kind == "str"
    assert flags["--holding-days"].kind == "int"
    values = {
        flags["--commission-rate-bps"].dest: 1000,
        flags["--profile-ids"].dest: ["inf_1", "inf_2"],
        flags["--name"].dest: "Winter",
    }
    body = spec.build(values, {"currency": "USD"})
    assert body == {
        "currency": "USD",
        "name": "Winter",
        "profile_ids": ["inf_1", "inf_2"],
        "commission": {"type": "percent", "rate_bps": 1000},
    }
    flat = spec.build({flags["--commission-amount-minor"].dest: 250})
    assert flat == {"commission": {"type": "flat", "amount_minor": 250}}


def test_lists_of_objects_take_json_one_object_or_array_per_value() -> None:
    (op,) = [o for o in IFM.operations() if o.name == "attribution.record"]
    spec = body_spec(op.input_model, [])
    lines = next(p for p in spec.params if p.flag == "--lines")
    assert lines.kind == "json" and lines.multiple
    body = spec.build({lines.dest: ['{"line_id": "1"}', '[{"line_id": "2"}, {"line_id": "3"}]']})
    assert body == {"lines": [{"line_id": "1"}, {"line_id": "2"}, {"line_id": "3"}]}


def test_every_operation_of_both_services_has_a_usable_help_page() -> None:
    runner = CliRunner()
    for info in (IFM, CRM):
        for op in info.operations():
            words = op.cli_words
            result = runner.invoke(app, [info.name, words[0], "-".join(words[1:]), "--help"])
            assert result.exit_code == 0, (op.name, result.output)
            assert f"POST /{info.short}{op.path}" in result.output


def test_profiles_round_trip_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g3n" / "config.toml"
    for name in (
        "G3N_CRM_BASE_URL",
        "G3N_BASE_URL",
        "G3N_ORG",
        "G3N_CRM_API_KEY",
        "G3N_API_KEY",
        "G3N_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("G3N_CONFIG", str(path))
    runner = CliRunner()
    env = {"G3N_CONFIG": str(path)}
    assert runner.invoke(app, ["config", "set-profile", "dev", "--org", "acme"], env=env).exit_code == 0
    args = ["config", "set-profile", "dev", "-s", "crm", "--base-url", "http://crm:1", "--api-key", "g3n_k"]
    assert runner.invoke(app, args, env=env).exit_code == 0
    args = ["config", "set-profile", "prod", "--org", "big", "--base-url", "http://prod:1"]
    assert runner.invoke(app, args, env=env).exit_code == 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    data = config.load(path)
    assert data["default_profile"] == "dev"
    assert data["profiles"]["dev"] == {"org": "acme", "crm": {"base_url": "http://crm:1", "api_key": "g3n_k"}}
    target = config.resolve(CRM)
    assert (target.base_url, target.org, target.api_key) == ("http://crm:1", "acme", "g3n_k")
    assert config.resolve(CRM, profile="prod").base_url == "http://prod:1"
    monkeypatch.setenv("G3N_ORG", "from-env")
    assert config.resolve(CRM).org == "from-env"
    assert config.resolve(CRM, org="from-flag").org == "from-flag"
    missing = runner.invoke(app, ["config", "resolve", "crm", "--profile", "nope"], env=env)
    assert missing.exit_code == ExitCode.CONFIG and "no profile 'nope'" in missing.stderr
    shown = runner.invoke(app, ["config", "show"], env=env)
    assert "g3n_k" in shown.stdout and "[profiles.dev.crm]" in shown.stdout


# --- against the running services ----------------------------------------------------------------


def test_create_get_and_list_customers_with_json_and_tables(cli: Cli) -> None:
    email = f"ann-{uuid.uuid4().hex[:6]}@example.com"
    created = cli.ok(
        "crm",
        "customer",
        "create",
        "--email",
        email,
        "--given-name",
        "Ann",
        "--tags",
        "vip",
        "--tags",
        "beta",
    )
    assert created["customer_id"].startswith("cus_") and created["tags"] == ["vip", "beta"]
    got = cli.ok("crm", "customer", "get", "--customer-id", created["customer_id"])
    assert got["email"] == email
    human = cli.run("crm", "customer", "get", "--email", email)
    assert human.exit_code == 0 and created["customer_id"] in human.stdout and "revision 1" in human.stdout
    plain = cli.run("crm", "customer", "get", "--email", email, "--get", "loyalty.available")
    assert plain.stdout == "0\n"
    cli.ok("crm", "customer", "create", "--email", "second-" + email)
    listed = cli.run("crm", "customer", "list", "--limit", "1")
    assert listed.exit_code == 0 and "customer_id" in listed.stdout and "--next-token" in listed.stdout


def test_all_follows_every_page_with_a_progress_display(cli: Cli) -> None:
    tag = f"t{uuid.uuid4().hex[:6]}"
    made = {
        cli.ok("crm", "customer", "create", "--phone", f"+4930{i:07d}", "--tags", tag)["customer_id"]
        for i in range(5)
    }
    paged = cli.run("crm", "customer", "list", "--tag", tag, "--limit", "2", "--all", "--json")
    assert paged.exit_code == 0, paged.stderr
    data = orjson.loads(paged.stdout)
    assert {c["customer_id"] for c in data["items"]} == made and data["next_token"] is None
    assert "5 items, 3 pages" in paged.stderr
    first = cli.ok("crm", "customer", "list", "--tag", tag, "--limit", "2")
    second = cli.ok(
        "crm", "customer", "list", "--tag", tag, "--limit", "2", "--next-token", first["next_token"]
    )
    assert not {c["customer_id"] for c in first["items"]} & {c["customer_id"] for c in second["items"]}


def test_flattened_options_create_a_campaign(cli: Cli) -> None:
    campaign = cli.ok(
        "influencer",
        "campaign",
        "create",
        "--name",
        "Winter drop",
        "--currency",
        "USD",
        "--starts-at",
        "2026-01-01T00:00:00Z",
        "--commission-rate-bps",
        "1000",
    )
    assert campaign["commission"] == {"type": "percent", "rate_bps": 1000, "amount_minor": None}
    assert campaign["status"] == "draft"
    body = orjson.dumps(
        {
            "name": "Body",
            "currency": "USD",
            "starts_at": "2026-01-01T00:00:00Z",
            "commission": {"type": "flat", "amount_minor": 300},
        }
    ).decode()
    from_file = cli.run(
        "influencer", "campaign", "create", "--body-file", "-", "--name", "Override", "--json", input=body
    )
    assert from_file.exit_code == 0, from_file.stderr
    made = orjson.loads(from_file.stdout)
    assert made["name"] == "Override" and made["commission"]["amount_minor"] == 300


def test_idempotency_key_replays_the_first_response(cli: Cli) -> None:
    email = f"idem-{uuid.uuid4().hex[:6]}@example.com"
    args = ["crm", "customer", "create", "--email", email, "--idempotency-key", f"k-{email}"]
    first = cli.ok(*args)
    again = cli.run(*args)
    assert again.exit_code == 0 and "(replayed)" in again.stdout and first["customer_id"] in again.stdout
    mismatch = cli.run("crm", "customer", "create", "--email", "x" + email, "--idempotency-key", f"k-{email}")
    assert mismatch.exit_code == ExitCode.STATE and "idempotency-mismatch" in mismatch.stderr


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (
            ["crm", "customer", "create", "--body", '{"email": "a@b.co", "colour": "red"}'],
            "validation-error",
            ExitCode.VALIDATION,
        ),
        (["crm", "customer", "create", "--body", "{not json"], "validation-error", ExitCode.VALIDATION),
        (["crm", "customer", "get", "--customer-id", "cus_missing"], "not-found", ExitCode.NOT_FOUND),
    ],
)
def test_errors_print_code_and_message_and_exit_by_class(
    cli: Cli, args: list[str], code: str, exit_code: ExitCode
) -> None:
    result = cli.run(*args)
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    assert f"error: {code}" in result.stderr and result.stdout == ""


def test_error_classes_for_credentials_state_and_network(cli: Cli) -> None:
    email = f"err-{uuid.uuid4().hex[:6]}@example.com"
    cli.ok("crm", "customer", "create", "--email", email)
    customer_id = cli.ok("crm", "customer", "get", "--email", email)["customer_id"]
    no_revision = cli.run("crm", "customer", "update", "--customer-id", customer_id, "--given-name", "X")
    assert no_revision.exit_code == ExitCode.VALIDATION and "revision-required" in no_revision.stderr
    stale = cli.run(
        "crm",
        "customer",
        "update",
        "--customer-id",
        customer_id,
        "--given-name",
        "X",
        "--expected-revision",
        "7",
    )
    assert stale.exit_code == ExitCode.STATE and "revision-mismatch" in stale.stderr
    assert '"current_revision":1' in stale.stderr
    conflict = cli.run("crm", "customer", "create", "--email", email)
    assert conflict.exit_code == ExitCode.STATE and "error: conflict" in conflict.stderr
    forbidden = cli.run("crm", "customer", "create", "--email", "f" + email, "--api-key", cli.crm_viewer)
    assert forbidden.exit_code == ExitCode.AUTH and "requires role crm_manage" in forbidden.stderr
    unknown = cli.run("crm", "customer", "list", "--api-key", "g3n_0000000000000000_" + "x" * 43)
    assert unknown.exit_code == ExitCode.AUTH and "unauthorized" in unknown.stderr
    insufficient = cli.run(
        "crm", "loyalty", "redeem", "--customer-id", customer_id, "--points", "10", "--reason", "x"
    )
    assert insufficient.exit_code == ExitCode.STATE and "insufficient-balance" in insufficient.stderr
    down = cli.run("crm", "customer", "list", "--base-url", f"http://127.0.0.1:{free_port()}")
    assert down.exit_code == ExitCode.NETWORK and "error: network" in down.stderr
    as_json = cli.run("crm", "customer", "get", "--customer-id", "cus_missing", "--json")
    assert orjson.loads(as_json.stderr)["error"]["code"] == "not-found"


def test_a_profile_carries_url_org_and_key(cli: Cli) -> None:
    env = {"G3N_CONFIG": str(cli.config_file), "COLUMNS": "200"}
    runner = CliRunner()
    setup = [
        "config",
        "set-profile",
        "t",
        "-s",
        "crm",
        "--base-url",
        cli.crm.base_url,
        "--api-key",
        cli.crm_key,
    ]
    assert runner.invoke(app, setup, env=env).exit_code == 0
    assert runner.invoke(app, ["config", "set-profile", "t", "--org", cli.org], env=env).exit_code == 0
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("G3N_")}
    result = runner.invoke(
        app, ["crm", "loyalty", "policy-get", "--profile", "t", "--json"], env={**unset, **env}
    )
    assert result.exit_code == 0, result.stderr
    assert orjson.loads(result.stdout)["points_per_currency_unit"] >= 0


def test_the_installed_g3n_executable(cli: Cli) -> None:
    exe = Path(sys.executable).parent / "g3n"
    env = {**os.environ, **cli.env()}
    done = subprocess.run(
        [str(exe), "crm", "customer", "get", "--customer-id", "cus_nope"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == ExitCode.NOT_FOUND and "error: not-found" in done.stderr
    listing = subprocess.run(
        [str(exe), "crm", "loyalty", "policy-get", "--get", "currency"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0 and listing.stdout.strip().isalpha()
