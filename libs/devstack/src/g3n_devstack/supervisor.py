"""`g3n dev up`: the whole system in the foreground, from one terminal.

Starts Kafka + PostgreSQL (unless ``G3N_KAFKA_BOOTSTRAP`` / ``G3N_IFM_DATABASE_URL`` /
``G3N_CRM_DATABASE_URL`` name existing ones), creates the ``influencer`` and ``crm`` databases
and the topics, then runs every service process (``python -m g3n_<svc>.entrypoints.<role>``)
as a child with its output prefixed by its name. SIGINT/SIGTERM stops the children by pid,
then the stack; a child that dies is reported. Pids go to ``$G3N_HOME/state.json`` so that
`g3n dev down` can stop a supervisor killed without cleaning up.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from g3n_devstack import ops
from g3n_devstack.paths import STATE_FILE_NAME, state_home
from g3n_devstack.procs import ProcRef
from g3n_devstack.stack import SERVICE_DATABASES, Stack, make_stack, unregister
from g3n_devstack.statefile import read_state, stop_recorded

#: Used until g3n_contracts.topics exists (it is the source of truth).
FALLBACK_TOPICS: tuple[str, ...] = (
    "scm.sales.v1",
    "accounting.payouts.v1",
    "accounting.payout-status.v1",
    "crm.stored-value.v1",
    "ifm.events.v1",
    "crm.events.v1",
)

#: (package suffix, short name used in env vars and process names, default HTTP port)
SERVICES: tuple[tuple[str, str, int], ...] = (("influencer", "ifm", 8010), ("crm", "crm", 8020))
ROLES: tuple[str, ...] = ("http", "consumer", "relay", "scheduler")


@dataclass(frozen=True)
class ProcessSpec:
    name: str  # e.g. "ifm-http"
    module: str  # e.g. "g3n_influencer.entrypoints.http"


def system_topics() -> list[str]:
    try:
        from g3n_contracts.topics import ALL_TOPICS
    except ImportError:
        return list(FALLBACK_TOPICS)
    return list(ALL_TOPICS)


def module_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package raises ModuleNotFoundError
        return False


def plan_processes(out: TextIO = sys.stderr) -> list[ProcessSpec]:
    """Every service process whose module exists; a missing one is skipped with a warning."""
    specs = []
    for package, short, _port in SERVICES:
        for role in ROLES:
            module = f"g3n_{package}.entrypoints.{role}"
            if module_available(module):
                specs.append(ProcessSpec(f"{short}-{role}", module))
            else:
                print(f"g3n dev: warning: {module} not found, {short}-{role} is not started", file=out)
    return specs


def http_addresses(env: Mapping[str, str] | None = None) -> dict[str, tuple[str, int]]:
    """``{"ifm": (host, port), "crm": (host, port)}`` from ``G3N_<SHORT>_HTTP_HOST/PORT``."""
    env = os.environ if env is None else env
    return {
        short: (
            env.get(f"G3N_{short.upper()}_HTTP_HOST", "127.0.0.1"),
            int(env.get(f"G3N_{short.upper()}_HTTP_PORT", str(port))),
        )
        for _package, short, port in SERVICES
    }


def service_env(kafka_bootstrap: str, ifm_dsn: str, crm_dsn: str) -> dict[str, str]:
    """The variables every service process gets (the same names docker-compose.yml uses)."""
    env = {
        "G3N_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "G3N_IFM_DATABASE_URL": ifm_dsn,
        "G3N_CRM_DATABASE_URL": crm_dsn,
    }
    for short, (host, port) in http_addresses().items():
        env[f"G3N_{short.upper()}_HTTP_HOST"] = host
        env[f"G3N_{short.upper()}_HTTP_PORT"] = str(port)
    return env


class Supervisor:
    """Runs the stack and the service processes until a signal arrives."""

    def __init__(
        self,
        *,
        services: bool = True,
        out: TextIO = sys.stdout,
        home: Path | None = None,
        stop_timeout: float = 10.0,
    ) -> None:
        self.run_services = services
        self.out = out
        self.home = home or state_home()
        self.stop_timeout = stop_timeout
        self.stack: Stack | None = None
        self.children: dict[str, asyncio.subprocess.Process] = {}
        self.refs: dict[str, ProcRef] = {}
        self._stopping = asyncio.Event()
        self._color = out.isatty()
        self._pumps: list[asyncio.Task[None]] = []

    @property
    def state_file(self) -> Path:
        return self.home / STATE_FILE_NAME

    def say(self, message: str) -> None:
        self._line("g3n", message)

    def _line(self, name: str, text: str) -> None:
        label = f"{name:<14}|"
        if self._color:
            code = 31 + (sum(map(ord, name)) % 6)
            label = f"\x1b[{code}m{label}\x1b[0m"
        self.out.write(f"{label} {text}\n")
        self.out.flush()

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(sig, self._stopping.set)
        try:
            return await self._run()
        finally:
            await self._shutdown()

    async def _run(self) -> int:
        self._take_over()
        kafka = os.environ.get("G3N_KAFKA_BOOTSTRAP")
        ifm_dsn = os.environ.get("G3N_IFM_DATABASE_URL")
        crm_dsn = os.environ.get("G3N_CRM_DATABASE_URL")
        need_kafka, need_pg = kafka is None, ifm_dsn is None or crm_dsn is None
        if need_kafka or need_pg:
            began = time.monotonic()
            what = " + ".join(n for n, needed in (("Kafka", need_kafka), ("PostgreSQL", need_pg)) if needed)
            self.say(f"starting {what} (state in {self.home}) ...")
            self.stack = make_stack(
                test=False, with_kafka=need_kafka, with_postgres=need_pg, databases=SERVICE_DATABASES
            )
            await asyncio.to_thread(self.stack.start)
            self.say(f"{what} ready in {time.monotonic() - began:.1f}s")
        stack = self.stack
        if kafka is None:
            assert stack is not None
            kafka = stack.kafka_bootstrap
        if ifm_dsn is None:
            assert stack is not None
            ifm_dsn = stack.dsn("influencer")
        if crm_dsn is None:
            assert stack is not None
            crm_dsn = stack.dsn("crm")
        topics = system_topics()
        await ops.create_topics(kafka, topics, partitions=4)
        self.say(f"kafka {kafka}: topics {', '.join(topics)}")
        self.say(f"influencer db {ifm_dsn}")
        self.say(f"crm db {crm_dsn}")
        env = service_env(kafka, ifm_dsn, crm_dsn)
        if self.run_services:
            for spec in plan_processes(self.out):
                if self._stopping.is_set():
                    break
                await self._spawn(spec, env)
        self._write_state(env)
        for short, (host, port) in http_addresses().items():
            if f"{short}-http" in self.children:
                self.say(f"{short} http on http://{host}:{port}")
        self.say("running; Ctrl-C stops everything")
        await self._stopping.wait()
        return 0

    def _take_over(self) -> None:
        """Refuse a second supervisor on one state dir; stop what a killed one left running."""
        previous = read_state(self.state_file)
        if previous is None:
            return
        owner = previous.get("owner")
        if owner and ProcRef.from_json(owner).alive() and int(owner["pid"]) != os.getpid():
            raise ops.StackError(f"g3n dev already runs (pid {owner['pid']}): stop it with `g3n dev down`")
        for line in stop_recorded(previous):
            self.say(f"stopped leftover {line}")

    async def _spawn(self, spec: ProcessSpec, env: Mapping[str, str]) -> None:
        child_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            spec.module,
            env=child_env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop the children in order
        )
        self.children[spec.name] = proc
        self.refs[spec.name] = ProcRef.of(spec.name, proc.pid)
        self._pumps.append(asyncio.create_task(self._pump(spec.name, proc)))
        self.say(f"started {spec.name} (pid {proc.pid}): python -m {spec.module}")

    async def _pump(self, name: str, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while True:
            try:
                raw = await proc.stdout.readline()
            except ValueError:  # a line longer than the stream limit: show it cut
                raw = await proc.stdout.read(65536)
            if not raw:
                break
            self._line(name, raw.decode(errors="replace").rstrip("\n"))
        code = await proc.wait()
        if not self._stopping.is_set():
            self.say(f"{name} (pid {proc.pid}) exited with code {code}")

    def _write_state(self, env: Mapping[str, str]) -> None:
        extra: dict[str, Any] = {
            "env": dict(env),
            "http": {short: f"http://{host}:{port}" for short, (host, port) in http_addresses().items()},
            "supervisor": ProcRef.of("supervisor", os.getpid()).to_json(),
        }
        services = list(self.refs.values())
        if self.stack is not None and self.stack.state_file is not None:
            self.stack.services = services
            self.stack.extra_state = extra
            self.stack.write_state()
            return
        # Everything external: the file lists our own children only.
        state = {
            "kind": "external",
            "owner": ProcRef.of("owner", os.getpid()).to_json(),
            "processes": [],
            "services": [ref.to_json() for ref in services],
            **extra,
        }
        self.home.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")

    async def _shutdown(self) -> None:
        self._stopping.set()
        if self.children:
            self.say("stopping services ...")
        for name, proc in self.children.items():
            if proc.returncode is None:
                self.refs[name].send(signal.SIGTERM)
        await asyncio.gather(*(self._wait_or_kill(name, p) for name, p in self.children.items()))
        for pump in self._pumps:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(pump, timeout=2)
        if self.stack is not None:
            self.say("stopping Kafka and PostgreSQL ...")
            await asyncio.to_thread(self.stack.stop)
            unregister(self.stack)
            self.stack.services = []
            self.stack.write_state()
        elif self.state_file.exists():
            self.state_file.unlink()
        self.say("stopped")

    async def _wait_or_kill(self, name: str, proc: asyncio.subprocess.Process) -> None:
        try:
            await asyncio.wait_for(proc.wait(), timeout=self.stop_timeout)
        except TimeoutError:
            self.say(f"{name} did not stop in {self.stop_timeout:.0f}s: SIGKILL")
            self.refs[name].send(signal.SIGKILL)
            await proc.wait()


def run_up(*, services: bool = True) -> int:
    """Run the system in the foreground until SIGINT/SIGTERM; the process exit code."""
    try:
        return asyncio.run(Supervisor(services=services).run())
    except ops.StackError as exc:
        print(f"g3n dev: {exc}", file=sys.stderr)
        return 1


def run_down(home: Path | None = None, timeout: float = 60.0) -> list[str]:
    """Stop what the state file lists: the supervisor first (it cleans up), then leftovers."""
    path = (home or state_home()) / STATE_FILE_NAME
    state = read_state(path)
    if state is None:
        return []
    stopped: list[str] = []
    supervisor = state.get("supervisor") or state.get("owner")
    if supervisor:
        ref = ProcRef.from_json(supervisor)
        if ref.pid != os.getpid() and ref.send(signal.SIGTERM):
            stopped.append(f"g3n dev up (pid {ref.pid})")
            ref.wait_gone(timeout)
    state = read_state(path) or state
    stopped += stop_recorded(state)
    return stopped


def describe(seq: Sequence[str]) -> str:
    return ", ".join(seq) if seq else "nothing"
