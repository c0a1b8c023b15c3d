"""Pure ASGI middleware: correlation id, latency metric, and the last-resort 500 envelope.

Written against raw ASGI (not ``BaseHTTPMiddleware``) to keep per-request overhead small.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from g3n_kit.logging import correlation_id_var, new_correlation_id
from g3n_kit.metrics import HTTP_LATENCY
from g3n_kit.operations import internal_envelope

log = logging.getLogger("g3n_kit.http")

CORRELATION_HEADER = "x-logical-guid"
_CORRELATION_RE = re.compile(r"^[\x21-\x7e]{1,128}$")
STATE_CORRELATION_ID = "g3n_correlation_id"
STATE_CORRELATION_INVALID = "g3n_correlation_invalid"


def correlation_from_header(value: str | None) -> tuple[str, bool]:
    """``(correlation id, supplied value was invalid)``; a fresh id when absent or invalid."""
    if value is None:
        return new_correlation_id(), False
    if _CORRELATION_RE.match(value):
        return value, False
    return new_correlation_id(), True


class RequestContextMiddleware:
    """Sets the correlation id, echoes it, times the request and renders unhandled errors.

    ``labels`` maps a request path to its metric label (the operation name); other paths are
    labelled ``unmatched`` so the metric's cardinality stays bounded.
    """

    def __init__(self, app: ASGIApp, *, labels: Mapping[str, str]) -> None:
        self.app = app
        self.labels = dict(labels)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        supplied: str | None = None
        for name, value in scope["headers"]:
            if name == b"x-logical-guid":
                supplied = value.decode("latin-1")
                break
        cid, invalid = correlation_from_header(supplied)
        state: dict[str, Any] = scope.setdefault("state", {})
        state[STATE_CORRELATION_ID] = cid
        state[STATE_CORRELATION_INVALID] = invalid
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message)[CORRELATION_HEADER] = cid
            await send(message)

        token = correlation_id_var.set(cid)
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if not response_started:
                body = orjson.dumps(internal_envelope(cid))
                await send_wrapper(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
        finally:
            correlation_id_var.reset(token)
            label = self.labels.get(scope.get("path", ""), "unmatched")
            HTTP_LATENCY.labels(operation=label, status=str(status)).observe(time.perf_counter() - started)
