"""The HTTP side of the generated commands: one POST per call, the envelope back.

The CLI never runs an operation itself: it sends the body to the running service (``POST
{base_url}/{prefix}{path}``) with the g3n headers, so the CLI sees exactly what any other API
client sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from g3n_cli.config import Target
from g3n_cli.errors import CliError, ExitCode

USER_AGENT = "g3n-cli/0.1"


@dataclass(frozen=True)
class Envelope:
    status: int
    body: dict[str, Any]
    replayed: bool = False

    @property
    def data(self) -> Any:
        return self.body.get("data")


class ApiClient:
    """A small synchronous client for one service."""

    def __init__(self, target: Target, prefix: str, *, timeout: float = 30.0) -> None:
        self.target = target
        self.prefix = prefix
        self._http = httpx.Client(
            base_url=target.base_url, timeout=timeout, headers={"user-agent": USER_AGENT}
        )

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def headers(self, *, idempotency_key: str | None = None) -> dict[str, str]:
        h = {"content-type": "application/json"}
        t = self.target
        for name, value in (
            ("x-orgcode", t.org),
            ("x-api-key", t.api_key),
            ("x-cccode", t.cc_code),
            ("x-channel-code", t.channel_code),
            ("idempotency-key", idempotency_key),
        ):
            if value:
                h[name] = value
        return h

    def call(self, path: str, body: dict[str, Any], *, idempotency_key: str | None = None) -> Envelope:
        """POST the body; the success envelope, or :class:`CliError` for any failure."""
        url = f"/{self.prefix}{path}"
        try:
            response = self._http.post(
                url, content=orjson.dumps(body), headers=self.headers(idempotency_key=idempotency_key)
            )
        except httpx.TimeoutException as exc:
            raise CliError(
                "network", f"{self.target.base_url}{url}: timed out ({exc})", ExitCode.NETWORK
            ) from None
        except httpx.TransportError as exc:
            raise CliError(
                "network", f"{self.target.base_url}{url}: {type(exc).__name__}: {exc}", ExitCode.NETWORK
            ) from None
        try:
            parsed = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, dict) or "success" not in parsed:
            snippet = response.text[:200].strip()
            raise CliError(
                "internal" if response.status_code >= 500 else "bad-response",
                f"HTTP {response.status_code} from {url} is not a g3n envelope: {snippet!r}",
                ExitCode.SERVER,
                status=response.status_code,
            )
        if not parsed.get("success"):
            error = parsed.get("error") or {}
            details = error.get("details")
            raise CliError(
                str(error.get("code") or "internal"),
                str(error.get("message") or f"HTTP {response.status_code}"),
                details=details if isinstance(details, dict) else {},
                status=response.status_code,
            )
        return Envelope(
            response.status_code, parsed, replayed=response.headers.get("idempotent-replayed") == "true"
        )
