"""The services the CLI (and its MCP command) know, and how to load their operation tables.

Everything the CLI generates -- `g3n influencer …`, `g3n crm …`, `g3n mcp …`, `g3n dlq … --service`
-- starts from ``build()`` of the service's composition root, so an operation added to a service's
table appears on every surface without code here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing a service is the slow part of the CLI: only commands that need it do
    from g3n_kit.operations import Operation
    from g3n_kit.runtime import ServiceDefinition


class ServiceName(StrEnum):
    influencer = "influencer"
    crm = "crm"


@dataclass(frozen=True)
class ServiceInfo:
    name: str  # "influencer": the CLI word
    short: str  # "ifm": HTTP prefix and settings prefix
    bootstrap: str  # module with build() -> ServiceDefinition
    help: str

    @property
    def env_prefix(self) -> str:
        return f"G3N_{self.short.upper()}_"

    @property
    def database_env(self) -> str:
        return f"{self.env_prefix}DATABASE_URL"

    def definition(self) -> ServiceDefinition:
        from g3n_kit.runtime import ServiceDefinition

        module = importlib.import_module(self.bootstrap)
        defn = module.build()
        if not isinstance(defn, ServiceDefinition):
            raise TypeError(f"{self.bootstrap}.build() returned {type(defn).__name__}")
        return defn

    def operations(self) -> list[Operation[Any, Any]]:
        return list(self.definition().operations)


SERVICES: dict[str, ServiceInfo] = {
    "influencer": ServiceInfo(
        "influencer",
        "ifm",
        "g3n_influencer.bootstrap",
        "Influencer (IFM) calls: profiles, campaigns, earnings…",
    ),
    "crm": ServiceInfo(
        "crm", "crm", "g3n_crm.bootstrap", "CRM calls: customers, consent, loyalty, gift cards."
    ),
}


def service(name: str) -> ServiceInfo:
    try:
        return SERVICES[name]
    except KeyError:
        raise ValueError(f"unknown service {name!r}; expected one of {', '.join(SERVICES)}") from None
