"""Processes identified by pid *and* start time, so a stale pid is never killed by mistake.

Everything the dev stack starts is stopped by pid, never by name. A pid read back from a state
file is only signalled while ``/proc/<pid>/stat`` still shows the start time recorded when the
process was started (pids are reused).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


def proc_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        state, start = fields[0], int(fields[19])
    except (IndexError, ValueError):
        return None
    if state == "Z":  # a zombie has already exited; only its parent's wait() is missing
        return None
    return start


@dataclass(frozen=True)
class ProcRef:
    """A process we started: name for messages, pid, and its start time for identity."""

    name: str
    pid: int
    start_time: int | None

    @classmethod
    def of(cls, name: str, pid: int) -> ProcRef:
        return cls(name=name, pid=pid, start_time=proc_start_time(pid))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProcRef:
        return cls(name=str(data["name"]), pid=int(data["pid"]), start_time=data.get("start_time"))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def alive(self) -> bool:
        current = proc_start_time(self.pid)
        return current is not None and (self.start_time is None or current == self.start_time)

    def send(self, sig: int) -> bool:
        """Send ``sig`` if this is still the same process; True if it was sent."""
        if not self.alive():
            return False
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def wait_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(self.pid)
            if not self.alive():
                return True
            time.sleep(0.05)
        _reap(self.pid)
        return not self.alive()

    def terminate(
        self, timeout: float = 10.0, first: int = signal.SIGTERM, then: int = signal.SIGKILL
    ) -> None:
        """``first``, wait up to ``timeout`` seconds, then ``then`` (SIGKILL) and wait again."""
        if not self.send(first):
            _reap(self.pid)
            return
        if self.wait_gone(timeout):
            return
        self.send(then)
        self.wait_gone(10.0)


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie (no-op otherwise)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 0.25) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no {path})"
    return "\n".join(text.splitlines()[-lines:])
