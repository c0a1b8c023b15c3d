"""`g3n apikey …`: create, list and revoke API keys of a service (operator commands).

Keys are only ever created here -- never by an API call. The command talks to the service's
database directly (``G3N_IFM_DATABASE_URL`` / ``G3N_CRM_DATABASE_URL``, or ``--database-url``)
and applies the kit migrations first, so it works on a fresh database. The plaintext key is
printed once; only its hash is stored. A revoked key stops working within the services' auth
cache TTL (10 s by default).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import asyncpg
import orjson
import typer
from g3n_kit.apikeys import (
    ApiKeyInfo,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    roles_for_service,
)
from g3n_kit.errors import AppError
from g3n_kit.migrations import KIT_MIGRATIONS, migrate

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="Create, list and revoke API keys (stored hashed; shown once).")


class Service(StrEnum):
    influencer = "influencer"
    crm = "crm"


_ENV = {Service.influencer: "G3N_IFM_DATABASE_URL", Service.crm: "G3N_CRM_DATABASE_URL"}
_DEFAULT_DSN = {
    Service.influencer: "postgresql://influencer@127.0.0.1:54329/influencer",
    Service.crm: "postgresql://crm@127.0.0.1:54329/crm",
}

ServiceOpt = Annotated[Service, typer.Option("--service", "-s", help="which service's keys")]
DsnOpt = Annotated[
    str | None,
    typer.Option("--database-url", help="overrides G3N_IFM_DATABASE_URL / G3N_CRM_DATABASE_URL"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def database_url(service: Service, override: str | None = None) -> str:
    return override or os.environ.get(_ENV[service]) or _DEFAULT_DSN[service]


def _run(dsn: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def main() -> T:
        await migrate(dsn, [KIT_MIGRATIONS])
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                return await work(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(main())
    except AppError as exc:
        details = f" {orjson.dumps(exc.details).decode()}" if exc.details else ""
        typer.echo(f"error: {exc.message}{details}", err=True)
        raise typer.Exit(2) from None
    except (OSError, asyncpg.PostgresError) as exc:
        typer.echo(f"error: database {dsn.rsplit('@', 1)[-1]}: {exc}", err=True)
        raise typer.Exit(1) from None


def _info_dict(k: ApiKeyInfo) -> dict[str, Any]:
    return {
        "key_id": k.key_id,
        "org": k.org_code,
        "roles": list(k.roles),
        "label": k.label,
        "created_at": k.created_at,
        "revoked_at": k.revoked_at,
        "active": k.revoked_at is None,
    }


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z).decode() + "\n")


@app.command()
def create(
    service: ServiceOpt,
    org: Annotated[str, typer.Option("--org", help="the organisation the key acts in")],
    role: Annotated[list[str], typer.Option("--role", "-r", help="a role; repeat for several")],
    label: Annotated[str | None, typer.Option("--label", help="who/what the key is for")] = None,
    as_json: JsonOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="print only the key (for scripts)")] = False,
    database_url_: DsnOpt = None,
) -> None:
    """Create a key for ORG with the given roles and print it ONCE."""
    allowed = roles_for_service(service.value)
    dsn = database_url(service, database_url_)
    key_id, plaintext = _run(dsn, lambda conn: create_api_key(conn, org, role, label, allowed_roles=allowed))
    roles = sorted(set(role))
    if quiet:
        typer.echo(plaintext)
        return
    if as_json:
        _print_json({"api_key": plaintext, "key_id": key_id, "org": org, "roles": roles, "label": label})
        return
    typer.echo(f"api key:  {plaintext}")
    typer.echo(f"key id:   {key_id}")
    typer.echo(f"org:      {org}")
    typer.echo(f"roles:    {', '.join(roles)}")
    typer.echo("Store the key now: it is not shown again (only its hash is kept).", err=True)


@app.command("list")
def list_(
    service: ServiceOpt,
    org: Annotated[str | None, typer.Option("--org", help="only this organisation")] = None,
    active: Annotated[bool, typer.Option("--active", help="hide revoked keys")] = False,
    as_json: JsonOpt = False,
    database_url_: DsnOpt = None,
) -> None:
    """List keys (never the secrets)."""
    dsn = database_url(service, database_url_)
    keys = _run(dsn, lambda conn: list_api_keys(conn, org, include_revoked=not active))
    if as_json:
        _print_json([_info_dict(k) for k in keys])
        return
    if not keys:
        typer.echo("no keys")
        return
    for k in keys:
        state = "active" if k.revoked_at is None else f"revoked {k.revoked_at:%Y-%m-%d %H:%M}"
        typer.echo(
            f"{k.key_id}  {k.org_code:<16} {','.join(k.roles):<40} {state:<24} "
            f"{k.created_at:%Y-%m-%d %H:%M}  {k.label or ''}".rstrip()
        )


@app.command()
def revoke(
    service: ServiceOpt,
    key_id: Annotated[str, typer.Argument(help="the key id (the part after g3n_)")],
    as_json: JsonOpt = False,
    database_url_: DsnOpt = None,
) -> None:
    """Revoke a key (takes effect within the services' auth cache TTL, 10 s by default)."""
    dsn = database_url(service, database_url_)
    revoked = _run(dsn, lambda conn: revoke_api_key(conn, key_id))
    if as_json:
        _print_json({"key_id": key_id, "revoked": revoked})
    elif revoked:
        typer.echo(f"revoked {key_id}")
    else:
        typer.echo(f"no active key {key_id}", err=True)
    if not revoked:
        raise typer.Exit(1)
