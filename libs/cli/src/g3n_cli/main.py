"""The `g3n` command line."""

import typer

app = typer.Typer(no_args_is_help=True, help="g3n operator and service command line")
