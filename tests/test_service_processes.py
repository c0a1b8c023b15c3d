"""Each service runs as four separate processes built from one bootstrap, against the real stack."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from g3n_devstack.procs import free_port

PROCESSES = ("http", "consumer", "relay", "scheduler")


@pytest.mark.parametrize(("service", "short"), [("influencer", "IFM"), ("crm", "CRM")])
async def test_service_processes_start_report_stat_and_stop_cleanly(
    stack: Any, tmp_path: Path, service: str, short: str
) -> None:
    dsn = await stack.aensure_database(f"proc_{service}_{uuid.uuid4().hex[:6]}")
    port = free_port()
    env = {
        **os.environ,
        "G3N_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        f"G3N_{short}_DATABASE_URL": dsn,
        f"G3N_{short}_HTTP_HOST": "127.0.0.1",
        f"G3N_{short}_HTTP_PORT": str(port),
        f"G3N_{short}_METRICS_PORT_BASE": str(free_port()),
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = {p: tmp_path / f"{p}.log" for p in PROCESSES}
    try:
        for p in PROCESSES:
            procs[p] = subprocess.Popen(
                [sys.executable, "-m", f"g3n_{service}.entrypoints.{p}"],
                env=env,
                stdout=logs[p].open("wb"),
                stderr=subprocess.STDOUT,
            )
        prefix = "ifm" if short == "IFM" else "crm"
        stat: dict[str, Any] = {}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for _ in range(120):
                try:
                    resp = await client.get(f"/{prefix}/stat")
                    stat = resp.json()
                    if stat.get("ok"):
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.25)
            assert stat.get("ok"), {p: logs[p].read_text()[-1500:] for p in PROCESSES}
            assert stat["database"]["ok"] is True
            assert stat["outbox_backlog"] == 0
            assert f"{prefix}.scm" in stat["kafka"]["consumer_lag"]
            metrics = await client.get("/metrics")
            assert "g3n_http_request_seconds" in metrics.text
        for name, proc in procs.items():
            assert proc.poll() is None, f"{name} died: {logs[name].read_text()[-1500:]}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = {}
        for name, proc in procs.items():
            try:
                codes[name] = proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = "killed"
    assert all(code == 0 for code in codes.values()), (
        codes,
        {p: logs[p].read_text()[-800:] for p in PROCESSES},
    )
