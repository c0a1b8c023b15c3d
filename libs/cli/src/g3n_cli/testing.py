"""Helpers for tests of the surfaces: a service's real processes on a fresh database, keys, the CLI.

Used by the repository's ``tests/test_cli*.py``, ``test_mcp*.py``, ``test_walkthrough*.py`` and
``test_schemathesis*.py``; nothing in the CLI itself imports this module.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from g3n_cli.services import ServiceInfo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def prepare_database(stack: Any, info: ServiceInfo, prefix: str) -> str:
    """A fresh database for ``info`` with the kit's and the service's migrations applied."""
    from g3n_kit.migrations import migrate

    dsn: str = await stack.aensure_database(f"{prefix}_{uuid.uuid4().hex[:8]}")
    await migrate(dsn, info.definition().all_migrations)
    return dsn


async def create_key(dsn: str, info: ServiceInfo, org: str, roles: Sequence[str], label: str = "test") -> str:
    """A new API key's plaintext (as `g3n apikey create` makes it)."""
    import asyncpg
    from g3n_kit.apikeys import create_api_key

    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            _, plaintext = await create_api_key(
                conn, org, roles, label, allowed_roles=info.definition().roles
            )
    finally:
        await conn.close()
    return plaintext


def service_env(info: ServiceInfo, dsn: str, kafka_bootstrap: str, port: int) -> dict[str, str]:
    prefix = info.env_prefix
    return {
        **os.environ,
        f"{prefix}DATABASE_URL": dsn,
        f"{prefix}HTTP_HOST": "127.0.0.1",
        f"{prefix}HTTP_PORT": str(port),
        f"{prefix}LOG_LEVEL": "WARNING",
        "G3N_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PYTHONUNBUFFERED": "1",
    }


@dataclass
class ServiceProcesses:
    """A service's processes (``http`` plus any of ``relay``/``consumer``/``scheduler``)."""

    info: ServiceInfo
    dsn: str
    port: int
    log_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[IO[bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, process: str, env: Mapping[str, str]) -> None:
        log = (self.log_dir / f"{self.info.short}-{process}.log").open("ab")
        self._logs.append(log)
        self.procs[process] = subprocess.Popen(
            [sys.executable, "-m", f"g3n_{self.info.name}.entrypoints.{process}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
        )

    def wait_http(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"{self.base_url}/{self.info.short}/stat"
        while time.monotonic() < deadline:
            proc = self.procs["http"]
            if proc.poll() is not None:
                raise RuntimeError(f"{self.info.name} http exited {proc.returncode}: {self.log('http')}")
            try:
                httpx.get(url, timeout=2.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError(f"{self.info.name} http did not answer on {url}: {self.log('http')}")

    def log(self, process: str) -> str:
        path = self.log_dir / f"{self.info.short}-{process}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for log in self._logs:
            log.close()


def start_service(
    info: ServiceInfo,
    dsn: str,
    kafka_bootstrap: str,
    log_dir: Path,
    processes: Sequence[str] = ("http",),
    extra_env: Mapping[str, str] | None = None,
) -> ServiceProcesses:
    """Start the service's processes (``python -m g3n_<svc>.entrypoints.<process>``); waits for HTTP."""
    port = free_port()
    env = {**service_env(info, dsn, kafka_bootstrap, port), **(extra_env or {})}
    running = ServiceProcesses(info, dsn, port, log_dir)
    try:
        for process in processes:
            running.start(process, env)
        if "http" in processes:
            running.wait_http()
    except BaseException:
        running.stop()
        raise
    return running
