"""`g3n config …`: named profiles (base URL, org, API key per service) in the user's config file."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from g3n_cli import config
from g3n_cli.render import print_json
from g3n_cli.services import SERVICES, ServiceName

app = typer.Typer(
    no_args_is_help=True, help="Profiles: base URL, org and API keys, so they are not typed each time."
)


def _mask(key: str, value: Any) -> Any:
    if key == "api_key" and isinstance(value, str) and len(value) > 12:
        return value[:12] + "…"
    if isinstance(value, dict):
        return {k: _mask(k, v) for k, v in value.items()}
    return value


@app.command("set-profile")
def set_profile(
    name: Annotated[str, typer.Argument(help="profile name")],
    service: Annotated[
        ServiceName | None,
        typer.Option("--service", "-s", help="store base URL / key for this service only"),
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url")] = None,
    org: Annotated[str | None, typer.Option("--org")] = None,
    api_key: Annotated[str | None, typer.Option("--api-key")] = None,
    cc_code: Annotated[str | None, typer.Option("--cc-code")] = None,
    channel_code: Annotated[str | None, typer.Option("--channel-code")] = None,
    default: Annotated[bool, typer.Option("--default", help="make it the default profile")] = False,
) -> None:
    """Create or update a profile (only the values given change)."""
    data = config.load()
    profiles = data.setdefault("profiles", {})
    profile = profiles.setdefault(name, {})
    section = profile.setdefault(service.value, {}) if service is not None else profile
    given = {
        "base_url": base_url,
        "org": org,
        "api_key": api_key,
        "cc_code": cc_code,
        "channel_code": channel_code,
    }
    for key, value in given.items():
        if value is not None:
            section[key] = value
    if default or not data.get("default_profile"):
        data["default_profile"] = name
    path = config.save(data)
    typer.echo(f"profile {name} saved in {path}" + (" (default)" if data["default_profile"] == name else ""))


@app.command("use")
def use(name: Annotated[str, typer.Argument(help="profile name")]) -> None:
    """Make a profile the default."""
    data = config.load()
    if name not in data.get("profiles", {}):
        typer.echo(f"error: no profile {name!r}", err=True)
        raise typer.Exit(8)
    data["default_profile"] = name
    config.save(data)
    typer.echo(f"default profile: {name}")


@app.command("delete-profile")
def delete_profile(name: Annotated[str, typer.Argument(help="profile name")]) -> None:
    """Remove a profile."""
    data = config.load()
    if data.get("profiles", {}).pop(name, None) is None:
        typer.echo(f"error: no profile {name!r}", err=True)
        raise typer.Exit(8)
    if data.get("default_profile") == name:
        data.pop("default_profile")
    config.save(data)
    typer.echo(f"deleted profile {name}")


@app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    reveal: Annotated[bool, typer.Option("--reveal", help="print API keys in full")] = False,
) -> None:
    """The config file's profiles (API keys shortened unless --reveal)."""
    data = config.load()
    shown = data if reveal else {k: _mask(k, v) for k, v in data.items()}
    if as_json:
        print_json({"path": str(config.config_path()), **shown})
        return
    typer.echo(f"# {config.config_path()}")
    typer.echo(config.dumps(shown).rstrip() or "# (empty)")


@app.command("resolve")
def resolve(
    service: Annotated[ServiceName, typer.Argument(help="influencer or crm")],
    profile: Annotated[str | None, typer.Option("--profile")] = None,
) -> None:
    """Where a call to SERVICE would go, and as whom (after flags, env, profile, defaults)."""
    target = config.resolve(SERVICES[service.value], profile=profile)
    print_json(
        {
            "base_url": target.base_url,
            "org": target.org,
            "api_key": _mask("api_key", target.api_key),
            "cc_code": target.cc_code,
            "channel_code": target.channel_code,
        }
    )


@app.command("path")
def path() -> None:
    """Print the config file's path."""
    typer.echo(str(config.config_path()))
