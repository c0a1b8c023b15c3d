"""The `g3n` command line: every service call, and the operator tools.

Service calls (generated from the operation tables, talking HTTP to the running services)::

    g3n influencer <group> <action> [options]      e.g. g3n influencer campaign create --name …
    g3n crm <group> <action> [options]             e.g. g3n crm loyalty earn --customer-id … --points 50

Operator tools: ``g3n dev`` (local stack), ``g3n apikey``, ``g3n config`` (profiles),
``g3n scm emit``, ``g3n accounting tail``, ``g3n dlq``, ``g3n mcp``.

Sub-commands are imported only when used, so ``g3n config …`` does not load the services and
``g3n crm …`` does not load Kafka clients.

Exit codes (all commands): 0 ok, 1 other, 2 bad input (validation-error, revision-required),
3 unauthorized/forbidden, 4 not-found, 5 state (invalid-state, insufficient-balance, conflict,
revision-mismatch, idempotency-mismatch), 6 server error, 7 network, 8 configuration.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

from g3n_cli.errors import CliError, print_error
from g3n_cli.services import SERVICES

EPILOG = (
    "Exit codes: 0 ok, 1 other, 2 bad input, 3 unauthorized/forbidden, 4 not-found, "
    "5 state/conflict, 6 server error, 7 network, 8 configuration. See docs/cli.md."
)

#: name → (module, Typer attribute, help shown in `g3n --help`)
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "dev": ("g3n_devstack.cli", "app", "The local stack: Kafka, PostgreSQL and both services."),
    "apikey": ("g3n_cli.apikey", "app", "API keys per org with roles (stored hashed, shown once)."),
    "config": ("g3n_cli.profiles", "app", "Profiles (base URL, org, API key) in the user's config file."),
    "scm": ("g3n_cli.operator", "scm_app", "Act as SCM: emit sale and return events onto scm.sales.v1."),
    "accounting": ("g3n_cli.operator", "accounting_app", "Act as accounting: tail the payout records."),
    "dlq": ("g3n_cli.operator", "dlq_app", "Dead letters of a service's consumers: list, show, replay."),
    "mcp": ("g3n_cli.operator", "mcp_app", "Run a service's MCP server (stdio or streamable HTTP)."),
}


class RootGroup(TyperGroup):
    """Typer's group whose sub-commands are loaded on demand, and CliError rendering."""

    def list_commands(self, ctx: Any) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS, *SERVICES})

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        info = SERVICES.get(cmd_name)
        if info is not None:  # only `g3n <service> …` loads that service's operation table
            from g3n_cli.calls import service_app

            return typer.main.get_group(service_app(info))
        lazy = LAZY_COMMANDS.get(cmd_name)
        if lazy is not None:
            module, attr, help_text = lazy
            sub: typer.Typer = getattr(importlib.import_module(module), attr)
            command = typer.main.get_command(sub)
            command.name = cmd_name
            command.help = command.help or help_text
            command.short_help = help_text
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CliError as err:
            print_error(err)
            raise typer.Exit(int(err.exit_code)) from None


app = typer.Typer(
    name="g3n",
    cls=RootGroup,
    no_args_is_help=True,
    help="g3n operator and service command line",
    epilog=EPILOG,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root() -> None:
    """g3n operator and service command line."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
