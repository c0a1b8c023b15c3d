"""The `g3n` command line: every service call, and the operator tools.

Service calls (generated from the operation tables, talking HTTP to the running services)::

    g3n influencer <group> <action> [options]      e.g. g3n influencer campaign create --name …
    g3n crm <group> <action> [options]             e.g. g3n crm loyalty earn --customer-id … --points 50

Operator tools: ``g3n dev`` (local stack), ``g3n apikey``, ``g3n config`` (profiles),
``g3n scm emit``, ``g3n accounting tail``, ``g3n dlq``, ``g3n mcp``.

Exit codes (all commands): 0 ok, 1 other, 2 bad input (validation-error, revision-required),
3 unauthorized/forbidden, 4 not-found, 5 state (invalid-state, insufficient-balance, conflict,
revision-mismatch, idempotency-mismatch), 6 server error, 7 network, 8 configuration.
"""

from __future__ import annotations

from typing import Any

import click
import typer
from g3n_devstack import cli as devstack_cli
from typer.core import TyperGroup

from g3n_cli import apikey, operator, profiles
from g3n_cli.calls import ServiceGroup
from g3n_cli.errors import CliError, print_error
from g3n_cli.services import SERVICES

EPILOG = (
    "Exit codes: 0 ok, 1 other, 2 bad input, 3 unauthorized/forbidden, 4 not-found, "
    "5 state/conflict, 6 server error, 7 network, 8 configuration. See docs/cli.md."
)


class RootGroup(TyperGroup):
    """Typer's group plus one generated group per service, and CliError rendering."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SERVICES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        info = SERVICES.get(cmd_name)
        if info is not None:
            return ServiceGroup(info)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as err:
            print_error(err)
            raise click.exceptions.Exit(int(err.exit_code)) from None


app = typer.Typer(
    cls=RootGroup,
    no_args_is_help=True,
    help="g3n operator and service command line",
    epilog=EPILOG,
    pretty_exceptions_enable=False,
)
app.add_typer(devstack_cli.app, name="dev", help="The local stack: Kafka, PostgreSQL and both services.")
app.add_typer(apikey.app, name="apikey", help="API keys per org with roles (stored hashed, shown once).")
app.add_typer(profiles.app, name="config", help="Profiles (base URL, org, API key) in the user's config file.")
app.add_typer(operator.scm_app, name="scm", help="Act as SCM: emit sale and return events onto scm.sales.v1.")
app.add_typer(operator.accounting_app, name="accounting", help="Act as accounting: read payout records.")
app.add_typer(operator.dlq_app, name="dlq", help="Dead letters of a service's consumers: list, show, replay.")
app.add_typer(operator.mcp_app, name="mcp", help="Run a service's MCP server (stdio or streamable HTTP).")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
