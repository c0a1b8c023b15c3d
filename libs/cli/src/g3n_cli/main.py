"""The `g3n` command line: operator tools and (issue 6) every service call."""

from __future__ import annotations

import typer

from g3n_cli import apikey
from g3n_devstack import cli as devstack_cli

app = typer.Typer(no_args_is_help=True, help="g3n operator and service command line")
app.add_typer(devstack_cli.app, name="dev", help="The local stack: Kafka, PostgreSQL and both services.")
app.add_typer(apikey.app, name="apikey", help="API keys per org with roles (stored hashed, shown once).")

if __name__ == "__main__":
    app()
