"""Named profiles, so base URLs, org and API keys are not typed on every call.

The file is TOML at ``$G3N_CONFIG``, else ``<user config dir>/g3n/config.toml``
(``$XDG_CONFIG_HOME/g3n/config.toml``, by default ``~/.config/g3n/config.toml``), written with
mode 0600 because it holds API keys::

    default_profile = "dev"

    [profiles.dev]
    org = "acme"

    [profiles.dev.influencer]
    base_url = "http://127.0.0.1:8010"
    api_key = "g3n_…"

    [profiles.dev.crm]
    base_url = "http://127.0.0.1:8020"
    api_key = "g3n_…"

A value under ``[profiles.<name>.<service>]`` wins over the same key under ``[profiles.<name>]``
(keys belong to one service's database, an org usually spans both).

Resolution of each setting for a call, first found wins: the command-line option, the
environment (``G3N_<SHORT>_BASE_URL``/``G3N_BASE_URL``, ``G3N_ORG``,
``G3N_<SHORT>_API_KEY``/``G3N_API_KEY``), the profile (``--profile``, else ``$G3N_PROFILE``, else
``default_profile``), then the local dev stack's address for the base URL.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from g3n_cli.errors import CliError, ExitCode
from g3n_cli.services import ServiceInfo

PROFILE_KEYS = ("base_url", "org", "api_key", "cc_code", "channel_code")


def config_path() -> Path:
    explicit = os.environ.get("G3N_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(typer.get_app_dir("g3n")) / "config.toml"


def load(path: Path | None = None) -> dict[str, Any]:
    path = path or config_path()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise CliError("config-error", f"cannot read {path}: {exc}", ExitCode.CONFIG) from None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _toml_key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() else json.dumps(key)


def dumps(data: Mapping[str, Any]) -> str:
    """TOML for the config's shape: scalars and nested tables (no arrays)."""
    lines: list[str] = []

    def table(prefix: tuple[str, ...], values: Mapping[str, Any]) -> None:
        scalars = {k: v for k, v in values.items() if not isinstance(v, Mapping)}
        tables = {k: v for k, v in values.items() if isinstance(v, Mapping)}
        if prefix and (scalars or not tables):
            if lines:
                lines.append("")
            lines.append("[" + ".".join(_toml_key(p) for p in prefix) + "]")
        for key, value in scalars.items():
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        for key, sub in tables.items():
            table((*prefix, key), sub)

    table((), data)
    return "\n".join(lines) + "\n"


def save(data: Mapping[str, Any], path: Path | None = None) -> Path:
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(dumps(data))
    tmp.replace(path)
    return path


def profile_values(data: Mapping[str, Any], name: str | None, service: ServiceInfo) -> dict[str, str]:
    """The profile's settings for ``service`` (service table over the profile's own keys)."""
    profiles = data.get("profiles", {})
    chosen = name or os.environ.get("G3N_PROFILE") or data.get("default_profile")
    if not chosen:
        return {}
    profile = profiles.get(chosen)
    if profile is None:
        if name or os.environ.get("G3N_PROFILE"):
            known = ", ".join(sorted(profiles)) or "none"
            raise CliError("config-error", f"no profile {chosen!r} (known: {known})", ExitCode.CONFIG)
        return {}
    values = {k: str(v) for k, v in profile.items() if k in PROFILE_KEYS}
    for alias in (service.name, service.short):
        per_service = profile.get(alias)
        if isinstance(per_service, Mapping):
            values.update({k: str(v) for k, v in per_service.items() if k in PROFILE_KEYS})
    return values


@dataclass(frozen=True)
class Target:
    """Where and as whom a call goes."""

    base_url: str
    org: str | None
    api_key: str | None
    cc_code: str | None = None
    channel_code: str | None = None


def default_base_url(service: ServiceInfo) -> str:
    """The local dev stack's address of the service (``G3N_<SHORT>_HTTP_HOST/PORT``)."""
    from g3n_devstack.supervisor import http_addresses

    host, port = http_addresses()[service.short]
    return f"http://{host}:{port}"


def resolve(
    service: ServiceInfo,
    *,
    base_url: str | None = None,
    org: str | None = None,
    api_key: str | None = None,
    profile: str | None = None,
    cc_code: str | None = None,
    channel_code: str | None = None,
) -> Target:
    env = os.environ
    short = service.short.upper()
    from_profile = profile_values(load(), profile, service)

    def pick(flag: str | None, env_names: tuple[str, ...], key: str) -> str | None:
        if flag:
            return flag
        for name in env_names:
            if env.get(name):
                return env[name]
        return from_profile.get(key) or None

    url = pick(base_url, (f"G3N_{short}_BASE_URL", "G3N_BASE_URL"), "base_url") or default_base_url(service)
    return Target(
        base_url=url.rstrip("/"),
        org=pick(org, ("G3N_ORG",), "org"),
        api_key=pick(api_key, (f"G3N_{short}_API_KEY", "G3N_API_KEY"), "api_key"),
        cc_code=pick(cc_code, ("G3N_CC_CODE",), "cc_code"),
        channel_code=pick(channel_code, ("G3N_CHANNEL_CODE",), "channel_code"),
    )
