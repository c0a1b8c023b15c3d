"""JSON log lines for every g3n process, with the caller's correlation id.

One JSON object per line on stderr: ``ts`` (UTC, ISO-8601 with ``Z``), ``level``, ``logger``,
``msg``, ``service``, ``process``, ``correlation_id`` and any ``extra={...}`` fields the caller
passed, plus ``exc`` (the formatted traceback) when an exception is logged. Plain stdlib logging:
libraries that log through ``logging`` (uvicorn, aiokafka, asyncpg) come out in the same shape.

The correlation id lives in a context variable, so it follows a request through ``await``
points and into tasks it spawns; the HTTP kit sets it from ``x-logical-guid`` and consumers set
it from the event envelope.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

import orjson

correlation_id_var: ContextVar[str | None] = ContextVar("g3n_correlation_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is emitted.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()) | {
    "message",
    "asctime",
    "taskName",
}


def get_correlation_id() -> str | None:
    return correlation_id_var.get()


@contextmanager
def correlation_scope(correlation_id: str | None) -> Iterator[None]:
    """Bind ``correlation_id`` for the duration of the block (restored afterwards)."""
    token = correlation_id_var.set(correlation_id)
    try:
        yield
    finally:
        correlation_id_var.reset(token)


def _default(value: Any) -> Any:
    return repr(value)


class JsonFormatter(logging.Formatter):
    """Render a record as one compact JSON object."""

    def __init__(self, *, service: str, process: str) -> None:
        super().__init__()
        self.service = service
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "service": self.service,
            "process": self.process,
            "correlation_id": getattr(record, "correlation_id", None) or correlation_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in out:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(out, default=_default, option=orjson.OPT_NON_STR_KEYS).decode()


def configure_logging(
    service: str, process: str, level: str | int = "INFO", *, stream: IO[str] | None = None
) -> logging.Handler:
    """Route all stdlib logging (root logger) to one JSON handler; returns that handler.

    Idempotent: calling it again replaces the handler it installed before. Uvicorn's loggers are
    made to propagate to the root so their lines are JSON too.
    """
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_g3n_json", False):
            root.removeHandler(existing)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service=service, process=process))
    handler._g3n_json = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    return handler


def new_correlation_id() -> str:
    """A fresh correlation id for calls that arrive without one."""
    return str(uuid.uuid4())
