"""The interface both back ends share, and the one switch that picks a back end.

``G3N_STACK=local`` forces local processes (Kafka from Maven Central jars, Debian's
PostgreSQL), ``G3N_STACK=docker`` forces testcontainers, and unset/``auto`` uses
testcontainers when a Docker engine answers ``docker info`` and local processes otherwise.
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Literal, Self

from g3n_devstack import ops
from g3n_devstack.procs import ProcRef

StackKind = Literal["local", "docker"]

#: Databases (each with a role of the same name) that the system needs.
SERVICE_DATABASES: tuple[str, ...] = ("influencer", "crm")


class Stack(abc.ABC):
    """A Kafka broker and a PostgreSQL server, started and stopped together."""

    kind: StackKind

    def __init__(self) -> None:
        #: processes started next to the stack (by `g3n dev up`), recorded in the state file
        self.services: list[ProcRef] = []
        #: more top-level keys for the state file (the supervisor adds HTTP addresses, ...)
        self.extra_state: dict[str, Any] = {}

    # --- what a back end provides ---------------------------------------------------------

    @property
    @abc.abstractmethod
    def kafka_bootstrap(self) -> str:
        """``host:port`` of the broker's PLAINTEXT listener."""

    @property
    @abc.abstractmethod
    def pg_host(self) -> str: ...

    @property
    @abc.abstractmethod
    def pg_port(self) -> int: ...

    @property
    def pg_admin_user(self) -> str:
        return "postgres"

    @property
    def pg_admin_password(self) -> str:
        return "postgres"

    @abc.abstractmethod
    def start(self) -> Self:
        """Start Kafka and PostgreSQL and wait until both are ready."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop everything this stack started (by pid / container id). Idempotent."""

    @abc.abstractmethod
    def pg_stop(self) -> None:
        """Stop PostgreSQL only (an outage); ``pg_start`` brings it back on the same port and data."""

    @abc.abstractmethod
    def pg_start(self) -> None: ...

    @abc.abstractmethod
    def _state(self) -> dict[str, Any]:
        """The back end's part of the state file (ports, pids or container ids, dsns)."""

    @property
    def state_file(self) -> Path | None:
        """Where :meth:`write_state` writes (None: nowhere)."""
        return None

    def state(self) -> dict[str, Any]:
        """What the state file records: the back end's part, services and extra keys."""
        return {
            **self._state(),
            "owner": ProcRef.of("owner", os.getpid()).to_json(),
            "services": [ref.to_json() for ref in self.services],
            **self.extra_state,
        }

    def write_state(self) -> None:
        """Write the state file atomically, if this stack has one."""
        path = self.state_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)

    # --- shared behaviour -----------------------------------------------------------------

    def dsn(self, db: str, user: str | None = None, password: str | None = None) -> str:
        """DSN of database ``db`` as its owner role (same name as the database by default)."""
        role = user or db
        secret = (
            password if password is not None else (self.pg_admin_password if role == "postgres" else role)
        )
        return f"postgresql://{role}:{secret}@{self.pg_host}:{self.pg_port}/{db}"

    @property
    def admin_dsn(self) -> str:
        return self.dsn("postgres", user=self.pg_admin_user, password=self.pg_admin_password)

    async def aensure_database(self, name: str, owner: str | None = None) -> str:
        await ops.ensure_database(self.admin_dsn, name, owner)
        return self.dsn(name, user=owner)

    def ensure_database(self, name: str, owner: str | None = None) -> str:
        """Create database ``name`` (and its owner role) unless it exists; return its DSN."""
        return ops.run_sync(self.aensure_database(name, owner))

    async def adrop_database(self, name: str) -> None:
        await ops.drop_database(self.admin_dsn, name)

    def drop_database(self, name: str) -> None:
        ops.run_sync(self.adrop_database(name))

    async def acreate_topics(self, names: Iterable[str], partitions: int = 4) -> None:
        await ops.create_topics(self.kafka_bootstrap, list(names), partitions=partitions)

    def create_topics(self, names: Iterable[str], partitions: int = 4) -> None:
        """Create topics explicitly (already existing ones are left as they are)."""
        ops.run_sync(self.acreate_topics(list(names), partitions))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# --- cleanup on exit and on SIGTERM/SIGHUP -----------------------------------------------------

_live: set[Stack] = set()
_live_lock = threading.Lock()
_atexit_registered = False
_handlers_installed = False


def register_for_cleanup(stack: Stack) -> None:
    """Stop ``stack`` at interpreter exit and before dying of SIGTERM/SIGHUP.

    Signal handlers can only be installed from the main thread; a stack started from another
    thread still gets the atexit hook, and the handlers once a stack starts on the main thread.
    """
    global _atexit_registered, _handlers_installed
    with _live_lock:
        _live.add(stack)
        if not _atexit_registered:
            _atexit_registered = True
            atexit.register(stop_all)
        if _handlers_installed or threading.current_thread() is not threading.main_thread():
            return
        _handlers_installed = True
    for sig in (signal.SIGTERM, signal.SIGHUP):
        _chain_signal(sig)


def unregister(stack: Stack) -> None:
    with _live_lock:
        _live.discard(stack)


def stop_all() -> None:
    with _live_lock:
        stacks = list(_live)
    for stack in stacks:
        with contextlib.suppress(Exception):
            stack.stop()


def _chain_signal(sig: signal.Signals) -> None:
    previous = signal.getsignal(sig)
    if previous is signal.SIG_IGN:
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop_all()
        if callable(previous):
            previous(signum, frame)
            return
        # Default action: die of the same signal, as if we had not been here.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(sig, handler)


# --- choosing a back end ----------------------------------------------------------------------


def docker_available() -> bool:
    """True when a Docker engine answers (the client alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=15, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def stack_kind() -> StackKind:
    """``G3N_STACK`` (local|docker|auto, default auto) resolved to a back end."""
    wanted = os.environ.get("G3N_STACK", "auto").strip().lower() or "auto"
    if wanted == "local":
        return "local"
    if wanted == "docker":
        return "docker"
    if wanted != "auto":
        raise ValueError(f"G3N_STACK must be local, docker or auto, not {wanted!r}")
    return "docker" if docker_available() else "local"


def make_stack(*, test: bool, kind: StackKind | None = None, **options: Any) -> Stack:
    """A not yet started stack of the chosen kind: ``test=True`` for throw-away test stacks."""
    chosen = kind or stack_kind()
    if chosen == "docker":
        from g3n_devstack.docker_stack import DockerStack

        return DockerStack(test=test, **options)
    from g3n_devstack.local import LocalStack

    return LocalStack.for_tests(**options) if test else LocalStack.for_dev(**options)
