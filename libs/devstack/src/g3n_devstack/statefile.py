"""Reading a stack's state file and stopping what it lists (by pid or container id, never by name)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

from g3n_devstack.procs import ProcRef


def read_state(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def stop_recorded(state: dict[str, Any], timeout: float = 30.0) -> list[str]:
    """Stop the services, then Kafka and PostgreSQL (or their containers) that ``state`` lists.

    A pid is only signalled while its start time still matches the recorded one.
    Returns a description of each process or container that was stopped.
    """
    stopped: list[str] = []
    services = [ProcRef.from_json(item) for item in state.get("services", [])]
    for ref in services:
        if ref.send(signal.SIGTERM):
            stopped.append(f"{ref.name} (pid {ref.pid})")
    for ref in services:
        if not ref.wait_gone(10.0):
            ref.send(signal.SIGKILL)
            ref.wait_gone(5.0)
    for item in state.get("processes", []):
        ref = ProcRef.from_json(item)
        # SIGINT is PostgreSQL's fast shutdown; SIGTERM is the broker's controlled shutdown.
        first = signal.SIGINT if ref.name == "postgres" else signal.SIGTERM
        if ref.alive():
            stopped.append(f"{ref.name} (pid {ref.pid})")
            ref.terminate(timeout=timeout, first=first)
    containers: dict[str, str] = state.get("containers") or {}
    if containers and shutil.which("docker"):
        for name, container_id in containers.items():
            result = subprocess.run(
                ["docker", "rm", "-f", container_id], capture_output=True, check=False, timeout=60
            )
            if result.returncode == 0:
                stopped.append(f"{name} (container {container_id[:12]})")
    return stopped
