"""Test helpers shared by the services' and libraries' test suites."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_app(
    app: Any, *, start_timeout: float = 5.0, stop_timeout: float = 15.0, **uvicorn_config: Any
) -> AsyncIterator[str]:
    """Serve `app` with an in-process uvicorn server on a free local port; yields its base URL.

    Defaults: no log config, no access log, no lifespan (the tests set the app up themselves);
    `uvicorn_config` overrides or adds to them. The server is stopped on exit.
    """
    port = free_port()
    options: dict[str, Any] = {"log_config": None, "access_log": False, "lifespan": "off", **uvicorn_config}
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **options))
    task = asyncio.create_task(srv.serve())
    for _ in range(max(1, round(start_timeout / 0.02))):
        if srv.started:
            break
        await asyncio.sleep(0.02)
    assert srv.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        await asyncio.wait_for(task, stop_timeout)
