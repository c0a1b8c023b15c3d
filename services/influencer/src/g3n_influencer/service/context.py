"""Who is acting: the org, the audit identity and the surface the change came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Source = Literal["api", "scm", "scheduler", "accounting"]


@dataclass(frozen=True)
class Actor:
    org_code: str
    actor: str | None  # "api_key:<id>", "session:<id>", "consumer:ifm.scm", "job:auto-release"
    source: Source = "api"
    correlation_id: str | None = None
